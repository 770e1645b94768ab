/**
 * What lvsd accepts as a configuration, in one place for start, reload,
 * `lvsd --check-config` and `lvsctl check-config`: the loader's verdict plus
 * enable_script_security on the vrrp_script and MISC_CHECK programs. Kept
 * free of the logger and the daemon so lvsctl starts quickly.
 */
import { type LvsdConfig, formatProblems, hasErrors, loadConfig } from '../config';
import type { Problem } from '../config/errors';
import { redactText } from '../notify/redact';
import { type ScriptProblem, configScriptProblems } from '../notify/security';

/** A configuration as lvsd accepts it: the loader's verdict plus the script security check. */
export interface CheckedConfig {
  /** Set when the file loaded without errors and no program was refused. */
  readonly config?: LvsdConfig;
  /** The loader's problems, then the programs enable_script_security refuses. */
  readonly problems: readonly (Problem | ScriptProblem)[];
  readonly valid: boolean;
}

/**
 * Loads `file` and, when it loads, applies enable_script_security to its
 * vrrp_script and MISC_CHECK programs ({@link configScriptProblems}): what
 * start, reload and both check-config commands accept alike.
 */
export function loadChecked(file: string): CheckedConfig {
  const loaded = loadConfig(file);
  if (!loaded.config || hasErrors(loaded.problems)) return { problems: loaded.problems, valid: false };
  const refused = configScriptProblems(loaded.config);
  if (refused.length) return { problems: [...loaded.problems, ...refused], valid: false };
  return { config: loaded.config, problems: loaded.problems, valid: true };
}

/**
 * Problems as `FILE:LINE: message` lines (the loader's order, refused
 * scripts last), URLs without credentials or query (a webhook `url` the
 * loader refuses is quoted in its message).
 */
export function problemLines(problems: readonly (Problem | ScriptProblem)[]): string[] {
  const own = problems.filter((p): p is ScriptProblem => p.code === 'SCRIPT_INSECURE');
  return [...formatProblems(problems.filter((p): p is Problem => p.code !== 'SCRIPT_INSECURE')), ...own.map((p) => `${p.file}:${p.line}: ${p.message}`)].map(redactText);
}
