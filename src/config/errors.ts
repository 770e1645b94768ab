/**
 * Configuration problems: what `lvsd --check-config` prints, one per line, as
 * `FILE:LINE: message` (errors) or `FILE:LINE: warning: message` (warnings).
 *
 * A bad configuration is data (a list of problems), never an exception; the one
 * exception class here is for callers that must refuse to go on (a reload).
 */

/** Errors make a file invalid; warnings only inform (things about this host, odd but legal settings). */
export type Severity = 'error' | 'warning';

/** Stable problem codes, one per kind of failure, for callers and tests that branch on them. */
export const ProblemCode = {
  /** The file could not be read. */
  Read: 'CONFIG_READ',
  /** A line that is neither a section header, a key, a comment nor blank. */
  Syntax: 'CONFIG_SYNTAX',
  /** A section kind lvsd does not know, or a malformed section name. */
  UnknownSection: 'CONFIG_UNKNOWN_SECTION',
  /** The same section twice. */
  DuplicateSection: 'CONFIG_DUPLICATE_SECTION',
  /** A key the section does not take. */
  UnknownKey: 'CONFIG_UNKNOWN_KEY',
  /** A single-valued key given twice, or a `[]` key misused. */
  DuplicateKey: 'CONFIG_DUPLICATE_KEY',
  /** A required key is absent. */
  MissingKey: 'CONFIG_MISSING_KEY',
  /** A value outside what the key allows. */
  BadValue: 'CONFIG_BAD_VALUE',
  /** A name that refers to a section that does not exist. */
  DanglingReference: 'CONFIG_DANGLING_REFERENCE',
  /** Two settings that cannot hold together (duplicate VRID, auth with v3, ...). */
  Conflict: 'CONFIG_CONFLICT',
  /** Something about this machine (missing interface, script) — always a warning. */
  Host: 'CONFIG_HOST',
  /** A legal but doubtful setting — always a warning. */
  Doubtful: 'CONFIG_DOUBTFUL',
} as const;

/** One of {@link ProblemCode}'s values. */
export type ProblemCode = (typeof ProblemCode)[keyof typeof ProblemCode];

/** One thing wrong (or doubtful) in a configuration file, at a line (1-based; 0 = the file as a whole). */
export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly severity: Severity;
  readonly code: ProblemCode;
  readonly message: string;
}

/** Formats one problem as `FILE:LINE: message` or `FILE:LINE: warning: message`. */
export function formatProblem(p: Problem): string {
  return p.severity === 'warning' ? `${p.file}:${p.line}: warning: ${p.message}` : `${p.file}:${p.line}: ${p.message}`;
}

/**
 * Formats problems one per line, sorted by line (errors before warnings on the
 * same line), in the form `lvsd --check-config` prints.
 */
export function formatProblems(problems: readonly Problem[]): string[] {
  return sortProblems(problems).map(formatProblem);
}

/** A stable order: by file, then line, errors first, then original order. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) =>
        (a.p.file < b.p.file ? -1 : a.p.file > b.p.file ? 1 : 0) ||
        a.p.line - b.p.line ||
        (a.p.severity === b.p.severity ? 0 : a.p.severity === 'error' ? -1 : 1) ||
        a.i - b.i,
    )
    .map((x) => x.p);
}

/** True when any problem is an error: `--check-config` then exits non-zero and a reload changes nothing. */
export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** Thrown by {@link import('./load').loadConfigOrThrow} when the file has errors; carries all problems. */
export class ConfigInvalidError extends Error {
  /** Stable code for callers. */
  readonly code = 'ECONFIGINVALID';
  constructor(readonly file: string, readonly problems: readonly Problem[]) {
    super(`${file}: invalid configuration:\n` + formatProblems(problems.filter((p) => p.severity === 'error')).join('\n'));
    this.name = 'ConfigInvalidError';
  }
}

/** Collects problems for one file; handed to every stage of the loader. */
export class ProblemSink {
  readonly problems: Problem[] = [];
  constructor(readonly file: string) {}
  /** Records an error at `line`. */
  error(line: number, code: ProblemCode, message: string): void {
    this.problems.push({ file: this.file, line, severity: 'error', code, message });
  }
  /** Records a warning at `line`. */
  warn(line: number, code: ProblemCode, message: string): void {
    this.problems.push({ file: this.file, line, severity: 'warning', code, message });
  }
}
