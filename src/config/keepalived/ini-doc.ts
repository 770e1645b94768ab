/**
 * The importer's output before it is text: INI sections and keys, each
 * remembering the keepalived keyword (file, line) it came from, so a key the
 * loader refuses can be reported against the keepalived line that made it.
 */

/** Where in the keepalived configuration something was written. */
export interface Origin {
  readonly file: string;
  readonly line: number;
  /** The keepalived keyword, for the report. */
  readonly keyword: string;
}

/** One `key = value` or `key[] = value` line. */
export interface IniEntry {
  readonly key: string;
  readonly value: string;
  /** Written `key[] = ...`. */
  readonly array: boolean;
  readonly origin: Origin;
}

/** One `[header]` and its keys. */
export interface IniSection {
  readonly header: string;
  readonly origin: Origin;
  readonly entries: IniEntry[];
}

/** Rendered text and, for each line (1-based index), what it came from. */
export interface Rendered {
  readonly text: string;
  /** `lines[n]` is the section (and entry, when not the header) on line n. */
  readonly lines: ({ section: IniSection; entry?: IniEntry } | undefined)[];
}

/**
 * Encodes a value so lvsd's INI reader (the `ini` package) gives it back
 * unchanged: plain when safe, else a JSON string (ini decodes `"..."` with
 * JSON.parse). Unsafe: `;`/`#` (comments), surrounding quotes or blanks.
 */
export function encodeIniValue(v: string): string {
  const plain = v !== '' && !/[;#"'\\\r\n]/.test(v) && v === v.trim();
  return plain ? v : JSON.stringify(v);
}

/** Renders sections; a blank line between sections. */
export function renderIni(sections: readonly IniSection[]): Rendered {
  const out: string[] = [];
  const lines: Rendered['lines'] = [undefined];
  for (const s of sections) {
    if (out.length > 0) {
      out.push('');
      lines.push(undefined);
    }
    out.push(`[${s.header}]`);
    lines.push({ section: s });
    for (const e of s.entries) {
      out.push(`${e.key}${e.array ? '[]' : ''} = ${encodeIniValue(e.value)}`);
      lines.push({ section: s, entry: e });
    }
  }
  return { text: out.join('\n') + (out.length ? '\n' : ''), lines };
}
