/**
 * Text → sections and keys, each with its line number.
 *
 * The `ini` package decides what a value means (quotes, escapes, inline `;`/`#`
 * comments: its `unsafe()`), but it keeps no line numbers, merges duplicate
 * sections silently and nests dotted section names; so the lines are scanned
 * here, with ini's own rules for what a line is:
 *  - `;` or `#` first on a line: a comment; blank lines are skipped;
 *  - `[kind.name]` (optionally followed by a comment): a section header;
 *  - `key = value`, `key[] = value` (one more value of a list), or a bare `key`
 *    (ini reads it as `true`, as keepalived reads a bare `nopreempt`).
 * Two departures, both so the contract's sample reads as an operator means it:
 * a quoted value may be followed by an inline comment (`"a;b"  ; note` is `a;b`,
 * ini would give `"a`), and a comment may follow a section header.
 */
import * as ini from 'ini';
import { ProblemCode, type ProblemSink } from './errors';

/** One `key = value` line. */
export interface SourceEntry {
  /** The key without any `[]` suffix. */
  readonly key: string;
  /** True when written `key[] = ...`. */
  readonly array: boolean;
  /** The decoded value; `true` for a bare key with no `=`. */
  readonly value: string | true;
  /** 1-based line number. */
  readonly line: number;
}

/** One `[header]` and the entries under it, in file order. */
export interface SourceSection {
  /** The text between the brackets, trimmed. */
  readonly header: string;
  /** 1-based line of the header. */
  readonly line: number;
  readonly entries: SourceEntry[];
}

const SECTION_RE = /^\s*\[([^\]]*)\]\s*(?:[;#].*)?$/;
const KEY_RE = /^([^=]+)(=(.*))?$/;
/** Characters `ini.unsafe` gives a meaning to; a value without any is only trimmed. */
const SPECIAL_RE = /["'\\;#]/;
const BLANK_OR_COMMENT_RE = /^\s*(?:[;#]|$)/;

/**
 * Decodes a raw value the way `ini` does (`ini.unsafe`), except that a
 * fully quoted value may carry a trailing comment.
 */
export function decodeValue(raw: string): string {
  const t = raw.trim();
  // Nothing ini would read differently (no quote, escape or comment): the text itself.
  if (!SPECIAL_RE.test(t)) return t;
  const q = t[0];
  if (q === '"' || q === "'") {
    let i = 1;
    for (; i < t.length; i++) {
      // JSON escapes inside double quotes, as ini's JSON.parse reads them.
      if (q === '"' && t[i] === '\\') {
        i++;
        continue;
      }
      if (t[i] === q) break;
    }
    if (i < t.length) {
      const rest = t.slice(i + 1).trim();
      if (rest === '' || rest.startsWith(';') || rest.startsWith('#')) return String(ini.unsafe(t.slice(0, i + 1)));
    }
  }
  return String(ini.unsafe(t));
}

/** A key as ini reads it (`ini.unsafe`), without calling it for a plain one. */
function decodeKey(raw: string): string {
  const t = raw.trim();
  return SPECIAL_RE.test(t) ? String(ini.unsafe(t)) : t;
}

/**
 * Scans INI text into sections. Lines that are not INI (a key before any
 * section, a malformed header) are reported to `sink` as syntax errors and
 * skipped; nothing throws.
 */
export function scanIni(text: string, sink: ProblemSink): SourceSection[] {
  const sections: SourceSection[] = [];
  let current: SourceSection | undefined;
  let warnedOutside = false;
  const lines = text.split(/\r\n|\n|\r/);
  // A plain loop, and one test per line for blanks and comments: at 46,000 lines
  // (1,000 services x 10 real servers) this loop is a good part of a start.
  for (let idx = 0; idx < lines.length; idx++) {
    const lineText = lines[idx]!;
    const line = idx + 1;
    if (BLANK_OR_COMMENT_RE.test(lineText)) continue;
    const sec = lineText.includes('[') ? SECTION_RE.exec(lineText) : null;
    if (sec) {
      const header = sec[1]!.trim();
      if (header === '') {
        sink.error(line, ProblemCode.Syntax, 'empty section header "[]"');
        current = undefined;
        continue;
      }
      current = { header, line, entries: [] };
      sections.push(current);
      continue;
    }
    if (/^\s*\[/.test(lineText)) {
      sink.error(line, ProblemCode.Syntax, `malformed section header: expected "[kind.name]", found "${lineText.trim()}"`);
      current = undefined;
      continue;
    }
    const m = KEY_RE.exec(lineText);
    if (!m) {
      sink.error(line, ProblemCode.Syntax, `cannot read this line: expected "key = value"`);
      continue;
    }
    const keyRaw = decodeKey(m[1]!);
    if (keyRaw === '') {
      sink.error(line, ProblemCode.Syntax, 'a value without a key');
      continue;
    }
    if (!current) {
      if (!warnedOutside) sink.error(line, ProblemCode.Syntax, `"${keyRaw}" is outside any section: put it under [global] or another section`);
      warnedOutside = true;
      continue;
    }
    const array = keyRaw.length > 2 && keyRaw.endsWith('[]');
    const key = array ? keyRaw.slice(0, -2).trim() : keyRaw;
    const value: string | true = m[2] === undefined ? true : decodeValue(m[3]!);
    current.entries.push({ key, array, value, line });
  }
  return sections;
}
