/**
 * Reading one section's keys into typed values, reporting every problem with
 * its line: duplicates, `[]` misuse, bad values (saying what is allowed) and,
 * at `finish()`, keys nobody asked for (with "did you mean").
 *
 * A getter returns `undefined` both when the key is absent and when its value
 * was bad (the error is already recorded); callers then apply the default,
 * which is harmless because a file with errors yields no configuration.
 */
import { parseEndpoint, parseIp, parseIpPrefix, type Endpoint, type IpAddress, type Parsed } from './address';
import { ProblemCode, type ProblemSink } from './errors';
import type { SourceEntry, SourceSection } from './source';
import type { RunAs, Script } from './types';
import { resolveUser, type UserDb } from './users';

/** A value and the line it came from. */
export interface At<T> {
  readonly value: T;
  readonly line: number;
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The closest candidate, if it is near enough to be a typo: at most one edit
 * per three characters (at least one), and never a rewrite of the whole word.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lw = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(lw, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return bestD <= limit && bestD < word.length ? best : undefined;
}

/** keepalived spellings that lvsd writes differently, for a precise hint. */
const KEY_HINTS: Readonly<Record<string, string>> = {
  auth_type: 'use "authentication = PASS" (keepalived\'s auth_type)',
  nb_get_retry: 'keepalived\'s old name: use "retry"',
  lvs_sync_daemon_interface: 'use "lvs_sync_daemon = INTERFACE INSTANCE" in [global]',
  url: 'use "url_path" (and status_code, digest) in the check section',
  path: 'use "url_path"',
  real_server: 'real servers are sections: [real_server.VS.NAME]',
  preempt: 'lvsd preempts by default; to turn it off write "nopreempt = true"',
};

/** Splits `prog arg "arg with space" 'x'` into argv; backslash escapes outside single quotes. */
export function splitArgv(text: string): Parsed<string[]> {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return { ok: false, error: `unterminated ${quote} quote in "${text}"` };
  if (inWord) out.push(cur);
  if (out.length === 0) return { ok: false, error: 'empty command' };
  return { ok: true, value: out };
}

/** Options for a seconds-valued key. */
export interface SecondsOpts {
  readonly min?: number;
  readonly max?: number;
  /** Whole seconds only. */
  readonly whole?: boolean;
}

/** Reads one section's keys. Every getter marks its key as known. */
export class SectionReader {
  /**
   * Keys asked for, in order (repeats allowed). An array and a scan of the
   * section's few entries, not a Map and a Set per section: a file of 11,000
   * sections made 22,000 of them on every load.
   */
  private readonly known: string[] = [];

  constructor(
    readonly section: SourceSection,
    private readonly sink: ProblemSink,
  ) {}

  /** The entries of `key` in file order; undefined when there is none. */
  private entriesOf(key: string): SourceEntry[] | undefined {
    let out: SourceEntry[] | undefined;
    for (const e of this.section.entries) if (e.key === key) (out ??= []).push(e);
    return out;
  }

  /** `[kind.name]`, for messages. */
  get where(): string {
    return `[${this.section.header}]`;
  }

  /** Records an error at a line. */
  error(line: number, message: string, code: ProblemCode = ProblemCode.BadValue): void {
    this.sink.error(line, code, message);
  }

  /** Records a warning at a line. */
  warn(line: number, message: string, code: ProblemCode = ProblemCode.Doubtful): void {
    this.sink.warn(line, code, message);
  }

  /** Whether the key is present (marks it known). */
  has(key: string): boolean {
    this.known.push(key);
    return this.section.entries.some((e) => e.key === key);
  }

  /** Line of the key's first occurrence, or the section's line. */
  lineOf(key: string): number {
    return this.section.entries.find((e) => e.key === key)?.line ?? this.section.line;
  }

  /** The single entry of a one-valued key, reporting `[]` misuse and repeats. */
  private one(key: string): SourceEntry | undefined {
    this.known.push(key);
    const es = this.entriesOf(key);
    if (!es) return undefined;
    const arr = es.find((e) => e.array);
    if (arr) {
      this.error(arr.line, `"${key}" takes one value: write "${key} = ..." without []`, ProblemCode.DuplicateKey);
      return undefined;
    }
    for (const dup of es.slice(1)) {
      this.error(dup.line, `duplicate key "${key}" in ${this.where} (first at line ${es[0]!.line})`, ProblemCode.DuplicateKey);
    }
    return es[0];
  }

  /** Raw text of a one-valued key; a bare key (no `=`) is an error here. */
  raw(key: string): At<string> | undefined {
    const e = this.one(key);
    if (!e) return undefined;
    if (e.value === true) {
      this.error(e.line, `"${key}" needs a value: "${key} = ..."`);
      return undefined;
    }
    return { value: e.value, line: e.line };
  }

  /** All values of a list key (`key[] = v` lines; one `key = v` line is a one-element list). */
  list(key: string): At<string>[] {
    this.known.push(key);
    const es = this.entriesOf(key) ?? [];
    const plain = es.filter((e) => !e.array);
    if (plain.length > 1) {
      this.error(
        plain[1]!.line,
        `"${key}" given twice without []: to give several values write "${key}[] = ..." on each line`,
        ProblemCode.DuplicateKey,
      );
    }
    const out: At<string>[] = [];
    for (const e of es) {
      if (e.value === true || e.value === '') this.error(e.line, `"${key}" needs a value`);
      else out.push({ value: e.value, line: e.line });
    }
    return out;
  }

  /** Applies a parser to a one-valued key; reports `key: <parser's message>` on failure. */
  parsed<T>(key: string, parse: (text: string) => Parsed<T>): At<T> | undefined {
    const r = this.raw(key);
    if (!r) return undefined;
    const p = parse(r.value.trim());
    if (!p.ok) {
      this.error(r.line, `${key}: ${p.error}`);
      return undefined;
    }
    return { value: p.value, line: r.line };
  }

  /** A non-empty string. */
  string(key: string): At<string> | undefined {
    return this.parsed(key, (t) => (t === '' ? { ok: false, error: 'must not be empty' } : { ok: true, value: t }));
  }

  /** A whole number in [min, max]. */
  int(key: string, min: number, max: number): At<number> | undefined {
    return this.parsed(key, (t) => parseIntText(t, min, max));
  }

  /** true/false (also yes/no, on/off, 1/0); a bare key is true. */
  bool(key: string): At<boolean> | undefined {
    const e = this.one(key);
    if (!e) return undefined;
    if (e.value === true) return { value: true, line: e.line };
    const p = parseBool(e.value);
    if (!p.ok) {
      this.error(e.line, `${key}: ${p.error}`);
      return undefined;
    }
    return { value: p.value, line: e.line };
  }

  /** Seconds (decimal allowed unless `whole`), returned in milliseconds. */
  seconds(key: string, opts: SecondsOpts = {}): At<number> | undefined {
    return this.parsed(key, (t) => parseSecondsMs(t, opts));
  }

  /** One of `allowed` (matched case-insensitively, returned as written in `allowed`). */
  oneOf<T extends string>(key: string, allowed: readonly T[]): At<T> | undefined {
    return this.parsed(key, (t) => parseOneOf(t, allowed));
  }

  /** A command line → argv. */
  script(key: string): Script | undefined {
    const r = this.parsed(key, splitArgv);
    return r && { argv: r.value, line: r.line };
  }

  /** `USER [GROUP]`, resolved to ids against `db` (see users.ts). */
  runAs(key: string, db: UserDb): RunAs | undefined {
    const r = this.parsed(key, (t) => resolveUser(t, db));
    return r && { ...r.value, line: r.line };
  }

  /** A bare IP address. */
  ip(key: string): At<IpAddress> | undefined {
    return this.parsed(key, parseIp);
  }

  /** `ADDRESS[/PREFIX]`. */
  ipPrefix(key: string): At<IpAddress> | undefined {
    return this.parsed(key, parseIpPrefix);
  }

  /** `ADDRESS:PORT` / `[ADDRESS]:PORT`. */
  endpoint(key: string, portOptional = false): At<Endpoint> | undefined {
    return this.parsed(key, (t) => parseEndpoint(t, portOptional));
  }

  /**
   * Reports every key no getter asked for. `elsewhere(key)` may explain a key
   * that belongs to another variant (e.g. another check type).
   */
  finish(elsewhere?: (key: string) => string | undefined): void {
    const entries = this.section.entries;
    for (let i = 0; i < entries.length; i++) {
      const key = entries[i]!.key;
      if (this.known.includes(key) || entries.findIndex((e) => e.key === key) < i) continue; // asked for, or reported at its first line
      const es = this.entriesOf(key)!;
      const other = elsewhere?.(key);
      let msg: string;
      if (other) msg = `"${key}" ${other}`;
      else {
        msg = `unknown key "${key}" in ${this.where}`;
        const hint = KEY_HINTS[key];
        const near = closest(key, this.known);
        if (near) msg += `; did you mean "${near}"?`;
        else if (hint) msg += `: ${hint}`;
      }
      for (const e of es) this.error(e.line, msg, ProblemCode.UnknownKey);
    }
  }
}

/** Parses a whole number in [min, max]. */
export function parseIntText(t: string, min: number, max: number): Parsed<number> {
  if (!/^-?[0-9]+$/.test(t)) return { ok: false, error: `"${t}" is not a whole number (allowed: ${min}–${max})` };
  const n = Number(t);
  if (n < min || n > max) return { ok: false, error: `${n} is out of range (allowed: ${min}–${max})` };
  return { ok: true, value: n };
}

/**
 * Parses keepalived's trailing `WORD N` options (`id 1 port 8848`,
 * `min_ttl 254 max_ttl 255`): each WORD (matched case-insensitively) at most
 * once, with a whole number in its range. `unknown(word)` phrases the error
 * for a word not in `ranges`. Returns the numbers given, by word.
 */
export function parseNumberOptions(
  words: readonly string[],
  ranges: Readonly<Record<string, readonly [number, number]>>,
  unknown: (word: string) => string,
): Parsed<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < words.length; i += 2) {
    const word = words[i]!.toLowerCase();
    const range = Object.hasOwn(ranges, word) ? ranges[word] : undefined;
    if (!range) return { ok: false, error: unknown(words[i]!) };
    const arg = words[i + 1];
    if (arg === undefined) return { ok: false, error: `"${word}" needs a value` };
    if (word in out) return { ok: false, error: `"${word}" given twice` };
    const n = parseIntText(arg, range[0], range[1]);
    if (!n.ok) return { ok: false, error: `${word}: ${n.error}` };
    out[word] = n.value;
  }
  return { ok: true, value: out };
}

/** Parses true/false, yes/no, on/off, 1/0. */
export function parseBool(t: string): Parsed<boolean> {
  const v = t.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(v)) return { ok: true, value: true };
  if (['false', 'no', 'off', '0'].includes(v)) return { ok: true, value: false };
  return { ok: false, error: `"${t}" is not a boolean (allowed: true | false)` };
}

/** Parses decimal seconds into whole milliseconds. */
export function parseSecondsMs(t: string, opts: SecondsOpts = {}): Parsed<number> {
  const min = opts.min ?? 0;
  const range = opts.max === undefined ? `at least ${min}` : `${min}–${opts.max}`;
  const re = opts.whole ? /^[0-9]+$/ : /^[0-9]+(\.[0-9]+)?$|^\.[0-9]+$/;
  if (!re.test(t)) {
    return { ok: false, error: `"${t}" is not ${opts.whole ? 'a whole number of seconds' : 'a number of seconds'} (allowed: ${range})` };
  }
  const s = Number(t);
  const ms = Math.round(s * 1000);
  if (Math.abs(s * 1000 - ms) > 1e-6) return { ok: false, error: `"${t}" is finer than a millisecond` };
  if (s < min || (opts.max !== undefined && s > opts.max)) return { ok: false, error: `${t} s is out of range (allowed: ${range} s)` };
  return { ok: true, value: ms };
}

/** Matches one of `allowed`, case-insensitively. */
export function parseOneOf<T extends string>(t: string, allowed: readonly T[]): Parsed<T> {
  const hit = allowed.find((a) => a.toLowerCase() === t.toLowerCase());
  if (hit) return { ok: true, value: hit };
  const near = closest(t, allowed);
  return { ok: false, error: `"${t}" is not one of ${allowed.join(' | ')}${near ? `; did you mean "${near}"?` : ''}` };
}
