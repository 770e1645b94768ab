/**
 * keepalived.conf text → tokens, each with the file and line it came from.
 *
 * What keepalived's reader does before its keyword parser, as its manual
 * (keepalived.conf(5), 2.2.7) describes it, in the same order:
 *  1. `include PATTERN` (and the variants includer/includem/includew/includeb/
 *     includea) at the start of a line: the files matching PATTERN, relative to
 *     the including file's directory (keepalived changes into the directory of
 *     each file it reads; the main file's own relative name is taken from the
 *     current directory), in sorted order, are read in its place, recursively.
 *     A file that includes itself (directly or not) is an error here;
 *     keepalived would recurse until it ran out of descriptors. An include
 *     that matches nothing loses whatever it was meant to bring: keepalived
 *     only warns ("Config files missing"), the import lists it as not imported.
 *  2. Conditional lines `@ID rest` / `@^ID rest`: kept when ID is (is not) the
 *     config id, which defaults to the host name up to its first dot.
 *  3. Parameter definitions `$NAME=VALUE` and substitution of `$NAME` (followed
 *     by white space or the end) and `${NAME}`; undefined names stay as written.
 *  4. Words split on white space; `"..."` groups a word (no escapes);
 *     `#` and `!` outside quotes start a comment, anywhere on a line; `{` and
 *     `}` are tokens of their own even when written against a word.
 * Skipped conditional lines and includes that match nothing are returned as
 * notes, never silently dropped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeepalivedConfigError, KeepalivedErrorCode } from './errors';

/** Token kinds. `eol` ends a physical line (statements are line-based). */
export const TokenKind = { Word: 'word', Open: 'open', Close: 'close', Eol: 'eol' } as const;
export type TokenKind = (typeof TokenKind)[keyof typeof TokenKind];

/** One token and where it was written. */
export interface Token {
  readonly kind: TokenKind;
  /** The word without its quotes; `{`, `}` or '' for the others. */
  readonly text: string;
  /** True when any part of the word was inside double quotes. */
  readonly quoted: boolean;
  readonly file: string;
  readonly line: number;
}

/** Something the reader did that the operator should know about (not an error). */
export interface LexNote {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  /**
   * Set when configuration was lost (an include that matches no file): the
   * keyword to list as not imported, which makes the import exit 3.
   */
  readonly lost?: string;
}

/** Reader options. */
export interface LexOptions {
  /** keepalived's `--config-id`; default: the host name up to its first dot (keepalived's default). */
  readonly configId?: string;
}

/** What {@link lexFile} returns. */
export interface LexResult {
  readonly tokens: Token[];
  readonly notes: LexNote[];
  /** Every file read, main file first, in reading order. */
  readonly files: string[];
}

const INCLUDE_RE = /^\s*(include[rmwba]?)\s+(.*)$/;
const PARAM_DEF_RE = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
const COND_RE = /^\s*@(\^?)(\S+)\s*(.*)$/;

/** The config id keepalived would use on this host. */
export function defaultConfigId(): string {
  return os.hostname().split('.')[0] ?? '';
}

/**
 * Reads `file` and everything it includes into one token stream.
 * Throws {@link KeepalivedConfigError} when a file cannot be read, a quote is
 * left open, or an include cycle is found (at the including line).
 */
export function lexFile(file: string, opts: LexOptions = {}): LexResult {
  const state: LexState = {
    configId: opts.configId ?? defaultConfigId(),
    params: new Map([
      ['_HASH', '#'],
      ['_BANG', '!'],
    ]),
    tokens: [],
    notes: [],
    files: [],
    stack: [],
  };
  lexOne(file, state, undefined);
  return { tokens: state.tokens, notes: state.notes, files: state.files };
}

interface LexState {
  readonly configId: string;
  readonly params: Map<string, string>;
  readonly tokens: Token[];
  readonly notes: LexNote[];
  readonly files: string[];
  /** Real paths of the files being read, outermost first, with the line that included the next. */
  readonly stack: { real: string; file: string }[];
}

function lexOne(file: string, st: LexState, from: { file: string; line: number } | undefined): void {
  let real: string;
  let text: string;
  try {
    real = fs.realpathSync(file);
    text = fs.readFileSync(real, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const at = from ?? { file, line: 0 };
    const what = from ? `cannot read included file ${file}` : 'cannot read the configuration';
    throw new KeepalivedConfigError(KeepalivedErrorCode.Read, at.file, at.line, `${what}: ${err.code ?? err.message}`);
  }
  const cycleAt = st.stack.findIndex((s) => s.real === real);
  if (cycleAt >= 0) {
    const chain = [...st.stack.slice(cycleAt).map((s) => s.file), file].join(' -> ');
    throw new KeepalivedConfigError(KeepalivedErrorCode.IncludeCycle, from!.file, from!.line, `include cycle: ${chain}`);
  }
  st.stack.push({ real, file });
  st.files.push(file);
  const lines = text.split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    lexLine(lines[i]!, file, i + 1, st);
  }
  st.stack.pop();
}

function lexLine(raw: string, file: string, line: number, st: LexState): void {
  // keepalived looks for include before conditionals and parameters (keepalived.conf(5)).
  const inc = INCLUDE_RE.exec(raw);
  if (inc) {
    const words = splitWords(inc[2]!, file, line).filter((t) => t.kind === TokenKind.Word);
    if (words.length === 0) {
      st.notes.push({ file, line, text: `${inc[1]} without a file name: ignored` });
      return;
    }
    const pattern = words[0]!.text;
    const dir = path.dirname(path.resolve(file));
    const matches = expandGlob(pattern, dir);
    if (matches.length === 0) {
      const where = path.isAbsolute(pattern) ? '' : ` (relative to ${dir}, the directory of ${file})`;
      st.notes.push({ file, line, text: `no file matches ${pattern}${where}: whatever it holds is missing from the import`, lost: `${inc[1]} ${pattern}` });
    }
    for (const m of matches) lexOne(m, st, { file, line });
    return;
  }
  let text = raw;
  const cond = COND_RE.exec(text);
  if (cond) {
    const negate = cond[1] === '^';
    const id = cond[2]!;
    const keep = negate ? id !== st.configId : id === st.configId;
    if (!keep) {
      const rest = stripComment(cond[3]!).trim();
      if (rest !== '') {
        st.notes.push({
          file,
          line,
          text: `conditional line "@${negate ? '^' : ''}${id} ${rest}" skipped: the config id is "${st.configId}" (set it with --config-id as keepalived's -i)`,
        });
      }
      return;
    }
    text = cond[3]!;
  }
  const def = PARAM_DEF_RE.exec(text);
  if (def) {
    st.params.set(def[1]!, stripComment(def[2]!).trim());
    return;
  }
  text = substitute(text, st.params);
  st.tokens.push(...splitWords(text, file, line));
}

/** Replaces `${NAME}` and `$NAME` (followed by white space or the end) with defined values, recursively. */
export function substitute(text: string, params: ReadonlyMap<string, string>): string {
  if (!text.includes('$')) return text;
  let out = text;
  // Bounded: a definition that refers to itself must not loop forever.
  for (let round = 0; round < 16; round++) {
    const next = out
      .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, n: string) => params.get(n) ?? m)
      .replace(/\$([A-Za-z_][A-Za-z0-9_]*)(?=\s|$)/g, (m, n: string) => params.get(n) ?? m);
    if (next === out) break;
    out = next;
  }
  return out;
}

/** The text before a `#` or `!` that is outside double quotes. */
function stripComment(text: string): string {
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') q = !q;
    else if (!q && (c === '#' || c === '!')) return text.slice(0, i);
  }
  return text;
}

/** Splits one line into word/brace tokens and a final `eol`. */
export function splitWords(text: string, file: string, line: number): Token[] {
  const out: Token[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  const flush = () => {
    if (inWord) out.push({ kind: TokenKind.Word, text: cur, quoted, file, line });
    cur = '';
    inWord = false;
    quoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new KeepalivedConfigError(KeepalivedErrorCode.Syntax, file, line, 'unterminated " quote');
      cur += text.slice(i + 1, end);
      inWord = true;
      quoted = true;
      i = end;
    } else if (c === '#' || c === '!') {
      break;
    } else if (c === '{' || c === '}') {
      flush();
      out.push({ kind: c === '{' ? TokenKind.Open : TokenKind.Close, text: c, quoted: false, file, line });
    } else if (/\s/.test(c)) {
      flush();
    } else {
      cur += c;
      inWord = true;
    }
  }
  flush();
  out.push({ kind: TokenKind.Eol, text: '', quoted: false, file, line });
  return out;
}

/** Expands `{a,b}` brace alternatives (csh style, nested), as glob(GLOB_BRACE) does. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close < 0) return [pattern];
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const bounds = [open, ...commas, close];
  const out: string[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    for (const alt of expandBraces(pattern.slice(bounds[k]! + 1, bounds[k + 1]!))) out.push(...expandBraces(head + alt + tail));
  }
  return out;
}

/** A glob segment (`*`, `?`, `[...]`) as a regular expression; a leading dot must be matched explicitly. */
function segmentRe(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = seg.slice(i + 1, end);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Files matching a glob pattern (`*`, `?`, `[...]`, `{a,b}`), relative to
 * `baseDir` (itself taken from the current directory when relative) unless absolute, sorted within each brace alternative (glob(3)).
 * Only regular files (or links to them) are returned; no match → [].
 */
export function expandGlob(pattern: string, baseDir: string): string[] {
  const out: string[] = [];
  for (const alt of expandBraces(pattern)) {
    const abs = path.resolve(baseDir, alt);
    const segs = abs.split('/').filter((s, i) => s !== '' || i === 0);
    let cur = ['/'];
    for (const seg of segs.slice(1)) {
      const next: string[] = [];
      for (const dir of cur) {
        if (!/[*?[]/.test(seg)) {
          const p = path.join(dir, seg);
          if (fs.existsSync(p)) next.push(p);
          continue;
        }
        let names: string[];
        try {
          names = fs.readdirSync(dir);
        } catch {
          continue;
        }
        const re = segmentRe(seg);
        for (const n of names.sort()) if ((!n.startsWith('.') || seg.startsWith('.')) && re.test(n)) next.push(path.join(dir, n));
      }
      cur = next;
    }
    for (const p of cur) {
      try {
        if (fs.statSync(p).isFile()) out.push(p);
      } catch {
        // A dangling link matches the pattern but cannot be read: glob would list it, keepalived would fail to open it.
        out.push(p);
      }
    }
  }
  return out;
}
