/**
 * lvsd's logger: a small `Logger` interface so the rest of the code never
 * imports winston, plus a factory and two test loggers. Console lines are
 * written in batches at the end of each event-loop turn (see `pending`);
 * winston writes the log file.
 *
 * Line format (journald-friendly): `level message key=value ...`, one line per
 * record, no timestamp (journald adds its own), colours only when the stream
 * is a TTY. Errors go to stderr, everything else to stdout. Under systemd
 * (stdout or stderr is the stream `JOURNAL_STREAM` names) every line starts
 * with its syslog priority, `<3>` error, `<4>` warn, `<6>` info, `<7>` debug
 * (sd-daemon(3)), so `journalctl -p err -u lvsd` shows the errors. A log file
 * gets the same line (without the prefix) after an ISO time. Every URL in a
 * message or field loses its credentials and query (notify/redact.ts): a
 * webhook's token never reaches a log.
 */
import { fstatSync } from 'node:fs';
import * as winston from 'winston';
import { redactText } from './notify/redact';

/** The levels lvsd knows, most severe first (config `log_level`). */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Structured key/value context attached to a record. */
export type LogFields = Readonly<Record<string, unknown>>;

/** True when `s` names a level of {@link LOG_LEVELS}. */
export function isLogLevel(s: unknown): s is LogLevel {
  return typeof s === 'string' && (LOG_LEVELS as readonly string[]).includes(s);
}

/**
 * What every lvsd component logs through. Methods never throw; fields are
 * rendered as `key=value` after the message.
 */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** The current threshold: records less severe than this are dropped. */
  readonly level: LogLevel;
  /** Changes the threshold at run time (config reload). Shared with children. */
  setLevel(level: LogLevel): void;
  /** A logger that adds `fields` to every record (e.g. `{ instance: 'VI_1' }`). */
  child(fields: LogFields): Logger;
}

/** Thrown by {@link createLogger} for an unknown level. */
export class LogLevelError extends Error {
  /** Stable error code. */
  readonly code = 'LOG_LEVEL_INVALID';
  constructor(level: unknown) {
    super(`unknown log level ${JSON.stringify(level)}: use one of ${LOG_LEVELS.join(', ')}`);
    this.name = 'LogLevelError';
  }
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Threshold; default `info`. */
  readonly level?: LogLevel;
  /** One JSON object per line instead of `level message key=value`. */
  readonly json?: boolean;
  /** Also append to this file (with an ISO timestamp per line). */
  readonly file?: string;
  /**
   * Where console lines go instead of stdout (tests). Colours are never used
   * for a stream given here. Errors go here too unless `errorStream` is given.
   */
  readonly stream?: NodeJS.WritableStream;
  /** Where error lines go instead of stderr (tests). */
  readonly errorStream?: NodeJS.WritableStream;
  /**
   * Prefix every console line with its syslog priority (`<3>` ...); default:
   * on when stdout or stderr is the journal stream (see {@link underJournal}).
   */
  readonly journal?: boolean;
  /** Force colours on/off; default: on only when stdout is a TTY. */
  readonly colors?: boolean;
}

// A bare token is printed as is; anything else is JSON-quoted so a line can
// be split back into key=value pairs unambiguously (logfmt style).
const BARE = /^[A-Za-z0-9_.:/@+\-\[\]%,]+$/;

function renderValue(v: unknown): string {
  let s: string;
  if (v instanceof Error) s = v.message;
  else if (typeof v === 'string') s = v;
  else if (v === undefined) s = 'undefined';
  else if (typeof v === 'object' && v !== null) {
    try {
      s = JSON.stringify(v);
    } catch {
      s = String(v);
    }
  } else s = String(v);
  s = redactText(s);
  return BARE.test(s) ? s : JSON.stringify(s);
}

/**
 * Renders one record as `level message key=value ...` on a single line:
 * newlines in the message are escaped so journald keeps one record per line.
 */
export function formatLine(level: LogLevel, message: string, fields?: LogFields): string {
  const msg = redactText(message).replace(/\r?\n/g, '\\n');
  const parts = [level, msg];
  if (fields) {
    for (const [k, v] of Object.entries(fields)) parts.push(`${k}=${renderValue(v)}`);
  }
  return parts.join(' ');
}

/** Each level's syslog priority (RFC 5424 severity), as journald reads it from a `<N>` prefix. */
export const SYSLOG_PRIORITY: Readonly<Record<LogLevel, number>> = { error: 3, warn: 4, info: 6, debug: 7 };

/**
 * True when `JOURNAL_STREAM` (set by systemd as `DEVICE:INODE`) names the
 * file behind one of `fds`: lvsd's output goes to journald itself, not merely
 * to a process started from a unit (systemd.exec(5) says to compare both
 * numbers, since a child may inherit the variable with other outputs).
 */
export function underJournal(env: NodeJS.ProcessEnv = process.env, fds: readonly number[] = [1, 2]): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  for (const fd of fds) {
    try {
      const st = fstatSync(fd, { bigint: true });
      if (st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!)) return true;
    } catch {
      /* a closed descriptor is not the journal */
    }
  }
  return false;
}

const LEVEL_NUM: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const COLOR: Record<LogLevel, string> = { error: '\x1b[31m', warn: '\x1b[33m', info: '\x1b[32m', debug: '\x1b[36m' };

const SPLAT_KEYS = new Set(['level', 'message']);

function fieldsOf(info: Record<string | symbol, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(info)) if (!SPLAT_KEYS.has(k)) out[k] = info[k];
  return out;
}

/**
 * Console lines not yet written, in the order logged, across every logger of
 * the process. They are written at the end of the event loop's turn (and at
 * exit), consecutive lines for one stream joined into writes of at most
 * {@link CHUNK_BYTES}: a burst of 11,000 lines (a table's first pass) costs a
 * few hundred writes instead of 11,000 trips through winston and a
 * synchronous pipe, and each write still reaches a pipe whole (POSIX: writes
 * up to PIPE_BUF are never interleaved with another process's, and the
 * children share the parent's stdout).
 */
const pending: { stream: NodeJS.WritableStream; text: string; bytes: number }[] = [];
let flushQueued = false;
let exitHooked = false;
/** PIPE_BUF on Linux. */
const CHUNK_BYTES = 4096;
const NON_ASCII = /[^\x00-\x7f]/;

function queueLine(stream: NodeJS.WritableStream, line: string): void {
  const text = `${line}\n`;
  pending.push({ stream, text, bytes: NON_ASCII.test(text) ? Buffer.byteLength(text) : text.length });
  if (flushQueued) return;
  flushQueued = true;
  setImmediate(flushLogLines);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', flushLogLines); // process.exit() and a crash still write what was logged
  }
}

/** Writes every queued console line now (see {@link pending}). */
export function flushLogLines(): void {
  flushQueued = false;
  let i = 0;
  while (i < pending.length) {
    const { stream } = pending[i]!;
    let chunk = pending[i]!.text;
    let bytes = pending[i]!.bytes;
    for (i++; i < pending.length && pending[i]!.stream === stream && bytes + pending[i]!.bytes <= CHUNK_BYTES; i++) {
      chunk += pending[i]!.text;
      bytes += pending[i]!.bytes;
    }
    try {
      stream.write(chunk);
    } catch {
      /* a closed stream loses its lines, never the caller */
    }
  }
  pending.length = 0;
}

/**
 * Builds a {@link Logger} (winston-backed for a log file). Throws {@link LogLevelError} for an
 * unknown level. Console output goes to stdout (or `stream`).
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  if (!isLogLevel(level)) throw new LogLevelError(level);
  const out = opts.stream ?? process.stdout;
  const errOut = opts.errorStream ?? (opts.stream ? opts.stream : process.stderr);
  const journal = opts.journal ?? underJournal();
  const colors = journal || opts.stream ? false : (opts.colors ?? Boolean(process.stdout.isTTY && process.stderr.isTTY));
  const render = (info: Record<string | symbol, unknown>, withTime: boolean): string => {
    const lvl = info.level as LogLevel;
    const fields = fieldsOf(info);
    if (opts.json) {
      const rec: Record<string, unknown> = withTime ? { time: new Date().toISOString() } : {};
      const clean = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? redactText(v) : v]));
      return JSON.stringify({ ...rec, level: lvl, message: redactText(String(info.message)), ...clean });
    }
    let line = formatLine(lvl, String(info.message), fields);
    if (colors && !withTime) line = COLOR[lvl] + lvl + '\x1b[0m' + line.slice(lvl.length);
    return withTime ? `${new Date().toISOString()} ${line}` : line;
  };
  const consoleLine = (i: Record<string | symbol, unknown>): string => (journal ? `<${SYSLOG_PRIORITY[i.level as LogLevel]}>` : '') + render(i, false);
  // Console lines go straight to the batch below (errors to stderr, the rest to
  // stdout); winston only writes the log file, when there is one.
  let w: winston.Logger | undefined;
  if (opts.file) {
    w = winston.createLogger({
      levels: LEVEL_NUM,
      level,
      transports: [new winston.transports.File({ filename: opts.file, format: winston.format.printf((i) => render(i as Record<string | symbol, unknown>, true)) })],
      exitOnError: false,
    });
    // winston transports emit 'error' (e.g. an unwritable log file): logging
    // must never take the daemon down, so swallow it after one stderr note.
    w.on('error', (err: Error) => process.stderr.write(`lvsd: log transport error: ${err.message}\n`));
  }
  const state = { level: level as LogLevel };
  const sink = (lvl: LogLevel, message: string, fields: LogFields): void => {
    try {
      const info = { ...fields, level: lvl, message };
      queueLine(lvl === 'error' ? errOut : out, consoleLine(info));
      w?.log(info);
    } catch {
      /* logging never throws into the caller */
    }
  };
  return buildLogger(state, {}, sink, {}, (l) => {
    if (w) w.level = l;
  });
}

/**
 * The one builder behind every {@link Logger} here: drops records less severe
 * than `state.level` (shared with children), merges `base` under each record's
 * fields and hands the record to `sink`. `extra` is spread into the logger and
 * into each child (the memory logger's `records` and `lines`); `onSetLevel`
 * runs after a valid {@link Logger.setLevel}.
 */
function buildLogger<X extends object>(
  state: { level: LogLevel },
  base: LogFields,
  sink: (level: LogLevel, message: string, fields: LogFields) => void,
  extra: X,
  onSetLevel?: (level: LogLevel) => void,
): Logger & X {
  const emit = (lvl: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVEL_NUM[lvl] > LEVEL_NUM[state.level]) return;
    sink(lvl, message, { ...base, ...fields });
  };
  return {
    ...extra,
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
    get level() {
      return state.level;
    },
    setLevel(l: LogLevel) {
      if (!isLogLevel(l)) throw new LogLevelError(l);
      state.level = l;
      onSetLevel?.(l);
    },
    child: (fields: LogFields) => buildLogger(state, { ...base, ...fields }, sink, extra, onSetLevel),
  };
}

/** One record kept by a {@link MemoryLogger}. */
export interface LogRecord {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A {@link Logger} that keeps records in memory (tests). */
export interface MemoryLogger extends Logger {
  /** Every record at or above the level, oldest first; shared with children. */
  readonly records: LogRecord[];
  /** The records rendered with {@link formatLine}. */
  lines(): string[];
}

/** Creates a {@link MemoryLogger}; level defaults to `debug` (keep everything). */
export function createMemoryLogger(level: LogLevel = 'debug'): MemoryLogger {
  const records: LogRecord[] = [];
  const extra = { records, lines: () => records.map((r) => formatLine(r.level, r.message, r.fields)) };
  const sink = (lvl: LogLevel, message: string, fields: LogFields): void => {
    records.push({ level: lvl, message, fields });
  };
  return buildLogger({ level }, {}, sink, extra);
}

/** A {@link Logger} that discards everything. */
export const nullLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  level: 'error',
  setLevel() {},
  child: () => nullLogger,
};
