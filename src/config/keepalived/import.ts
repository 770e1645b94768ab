/**
 * `lvsd import-keepalived FILE [-o OUTPUT]`: keepalived.conf → lvsd.conf.
 *
 * Exit status (returned by {@link importKeepalived}):
 *  - 0: everything was imported;
 *  - 3: the output was written, but some keepalived keywords were not
 *    imported: each is printed to stderr as `FILE:LINE: not imported:
 *    KEYWORD (WHY)` and repeated in comments at the top of the output;
 *  - 1: the keepalived file (or an included one) cannot be read or parsed
 *    (`FILE:LINE: what`), or the output cannot be written; nothing is written.
 * Notes (`FILE:LINE: note: ...`: a group expanded, a conditional line
 * skipped, a renamed section) go to stderr and the header too, and do not
 * change the status.
 *
 * The output always loads with zero errors in lvsd's own loader: it is
 * checked with `parseConfig` before it is written, and a key or section the
 * loader refuses (a value out of lvsd's range, a reference to something not
 * imported) is taken out and listed against the keepalived line it came from,
 * with the loader's reason.
 */
import * as fs from 'node:fs';
import { parseConfig } from '../load';
import type { UserDb } from '../users';
import { Ctx, type ImportNote, type NotImported } from './context';
import { KeepalivedConfigError } from './errors';
import { renderIni, type IniEntry, type IniSection } from './ini-doc';
import type { LexOptions } from './lexer';
import { parseKeepalived } from './parser';
import { translate } from './translate';

/**
 * Every user and group name resolves (to placeholder ids the importer never
 * uses): the output is judged as a file, and its script_user and `user` names
 * are checked by `lvsd --check-config` on the host that runs it. Dropping them
 * here because this host lacks the user would silently run the scripts as root.
 */
const ANY_USER: UserDb = {
  userByName: (name) => ({ name, uid: 0, gid: 0 }),
  userById: (uid) => ({ name: String(uid), uid, gid: 0 }),
  groupByName: (name) => ({ name, gid: 0 }),
};

/** Exit statuses of {@link importKeepalived}. */
export const ImportStatus = { Ok: 0, Failed: 1, Partial: 3 } as const;
export type ImportStatus = (typeof ImportStatus)[keyof typeof ImportStatus];

/** Importer options. */
export interface ImportOptions extends LexOptions {
  /** Where messages go; default process.stderr. */
  readonly stderr?: { write(s: string): unknown };
}

/** The result of {@link convertKeepalived}. */
export interface Conversion {
  /** The lvsd.conf text, report comments included. */
  readonly text: string;
  /** The INI without the header comments (what the loader was given). */
  readonly body: string;
  readonly notImported: NotImported[];
  readonly notes: ImportNote[];
  /** Files read, main file first. */
  readonly files: string[];
  /** 0 when everything mapped, 3 when something is listed as not imported. */
  readonly status: 0 | 3;
}

/** Formats one not-imported item as printed on stderr. */
export function formatNotImported(n: NotImported): string {
  return `${n.file}:${n.line}: not imported: ${n.keyword} (${n.why})`;
}

/** Formats one note as printed on stderr. */
export function formatNote(n: ImportNote): string {
  return `${n.file}:${n.line}: note: ${n.text}`;
}

/**
 * Reads `file` (with its includes) and converts it. Throws
 * {@link KeepalivedConfigError} when it cannot be read or parsed. Pure
 * otherwise: nothing is written.
 */
export function convertKeepalived(file: string, opts: LexOptions = {}): Conversion {
  const parsed = parseKeepalived(file, opts);
  const ctx = new Ctx();
  for (const n of parsed.notes) {
    if (n.lost) ctx.skip(n, n.lost, n.text);
    else ctx.note(n, n.text);
  }
  const t = translate(parsed.nodes, ctx);
  const sections = loadable(t.sections, ctx, file);
  const body = renderIni(sections).text;
  const order = (f: string) => parsed.files.indexOf(f);
  const byPlace = <T extends { file: string; line: number }>(a: T, b: T) => order(a.file) - order(b.file) || a.line - b.line;
  const notImported = [...ctx.notImported].sort(byPlace);
  const notes = [...ctx.notes].sort(byPlace);
  const header = [
    `; lvsd.conf imported from ${file} by "lvsd import-keepalived" (keys keep keepalived's names; see lvsd.conf(5): man lvsd.conf).`,
    ...(notImported.length
      ? [`; Not imported (${notImported.length}): lvsd has no equivalent; review before use.`, ...notImported.map((n) => `;   ${formatNotImported(n)}`)]
      : ['; Everything was imported.']),
    ...(notes.length ? [`; Notes (${notes.length}):`, ...notes.map((n) => `;   ${formatNote(n)}`)] : []),
    '',
  ];
  return { text: header.join('\n') + '\n' + body, body, notImported, notes, files: parsed.files, status: notImported.length ? 3 : 0 };
}

/**
 * Renders the sections and asks lvsd's loader; takes out what it refuses
 * and lists it, until it loads (each round removes at least one line).
 */
function loadable(input: readonly IniSection[], ctx: Ctx, file: string): IniSection[] {
  let cur: IniSection[] = input.map((s) => ({ ...s, entries: [...s.entries] }));
  for (;;) {
    const r = renderIni(cur);
    const errors = parseConfig(r.text, file, { users: ANY_USER }).problems.filter((p) => p.severity === 'error');
    if (errors.length === 0) return cur;
    const dropSections = new Set<IniSection>();
    const dropEntries = new Set<IniEntry>();
    for (const e of errors) {
      const at = r.lines[e.line];
      if (!at) throw new Error(`import-keepalived: the loader reports line ${e.line}, which the importer did not write: ${e.message}`);
      if (at.entry) {
        if (dropEntries.has(at.entry)) continue;
        dropEntries.add(at.entry);
        ctx.skip(at.entry.origin, at.entry.origin.keyword, `lvsd rejects it: ${e.message}`);
      } else if (!dropSections.has(at.section)) {
        dropSections.add(at.section);
        ctx.skip(at.section.origin, at.section.origin.keyword, `lvsd rejects it: ${e.message}`);
      }
    }
    // A virtual server's real servers go with it (they would only dangle).
    for (const s of [...dropSections]) {
      if (!s.header.startsWith('virtual_server.')) continue;
      const prefix = `real_server.${s.header.slice('virtual_server.'.length)}.`;
      for (const rs of cur) {
        if (rs.header.startsWith(prefix) && !dropSections.has(rs)) {
          dropSections.add(rs);
          ctx.skip(rs.origin, rs.origin.keyword, `its virtual_server (line ${s.origin.line}) was not imported`);
        }
      }
    }
    cur = cur.filter((s) => !dropSections.has(s)).map((s) => ({ ...s, entries: s.entries.filter((e) => !dropEntries.has(e)) }));
  }
}

/**
 * The CLI entry point: converts `file` and writes lvsd.conf to `output` (or
 * stdout); prints the report to stderr. Returns the exit status (0, 1 or 3,
 * see the file's doc). Never throws for a bad input file.
 */
export async function importKeepalived(file: string, output?: string, opts: ImportOptions = {}): Promise<number> {
  const err = opts.stderr ?? process.stderr;
  let conv: Conversion;
  try {
    conv = convertKeepalived(file, opts);
  } catch (e) {
    if (e instanceof KeepalivedConfigError) {
      err.write(`${e.message}\n`);
      return ImportStatus.Failed;
    }
    throw e;
  }
  for (const n of conv.notImported) err.write(`${formatNotImported(n)}\n`);
  for (const n of conv.notes) err.write(`${formatNote(n)}\n`);
  try {
    if (output) await fs.promises.writeFile(output, conv.text);
    else await new Promise<void>((resolve, reject) => process.stdout.write(conv.text, (e) => (e ? reject(e) : resolve())));
  } catch (e) {
    err.write(`${output ?? '<stdout>'}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return ImportStatus.Failed;
  }
  return conv.status;
}
