/**
 * lvsctl: the operator's command line to a running lvsd, over the control
 * socket (src/control). Exit codes: 0 success, 1 the daemon failed or could
 * not be reached, 2 a usage error (unknown command, bad argument).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ini from 'ini';
import { ControlClientError, ControlRemoteError, DEFAULT_TIMEOUT_MS, request } from '../control/client';
import { ControlCommand } from '../control/types';
import type { EventsResult, LvsdEvent, ReloadResult, StatusResult } from '../control/types';
import { EVENT_CAPACITY, EVENT_SUBSYSTEMS } from '../events/types';
import { EVENTS_HEADER, formatEvent, formatEvents, formatReload, formatShowVrrp, formatStatus, isEventsResult, isReloadResult, isStatusResult } from '../control/format';
import { formatBgp, isBgpStatus } from '../control/format-bgp';
import { formatChecks, formatOverride, formatServices, isChecksResult, isOverrideResult, isServicesResult } from '../control/format-services';
import { loadChecked, problemLines } from '../main/check-config';
import { redactText } from '../notify/redact';

/** lvsctl's exit codes. */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/** The config file read for `control_socket` when `--config` is not given. */
export const DEFAULT_CONFIG = '/etc/lvsd/lvsd.conf';
/** The socket used when the config does not exist or does not say. */
export const DEFAULT_SOCKET = '/run/lvsd/lvsd.sock';

/** Where lvsctl writes; injectable for tests. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The wall clock, for "ago" columns and `--since DURATION`. */
  readonly now?: () => Date;
  /** Ends `events --follow` (default: SIGINT or SIGTERM). */
  readonly signal?: AbortSignal;
}

/** A parsed command line. */
export type CliCommand =
  | { readonly kind: 'status' }
  | { readonly kind: 'reload' }
  | {
      readonly kind: 'events';
      readonly limit?: number;
      /** `--since` as the user wrote it (resolved against the clock when run). */
      readonly since?: string;
      readonly follow?: boolean;
      readonly subsystems?: readonly string[];
    }
  | { readonly kind: 'show-vrrp' }
  | { readonly kind: 'show-services' }
  | { readonly kind: 'show-checks' }
  | { readonly kind: 'drain' | 'disable' | 'enable'; readonly vs: string; readonly rs: string }
  /** `drain` with no arguments and `undrain`: the director's BGP announcements. */
  | { readonly kind: 'drain-director' | 'undrain' }
  | { readonly kind: 'check-config'; readonly file?: string }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' };

/** Options and command from {@link parseArgs}. */
export interface CliArgs {
  readonly socket?: string;
  readonly config?: string;
  readonly json: boolean;
  readonly timeoutMs: number;
  readonly command: CliCommand;
}

/** A bad command line; the message says what is wrong. */
export class UsageError extends Error {
  /** Stable error code. */
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The config file could not be used to find the socket. */
export class CliConfigError extends Error {
  /** Stable error code. */
  readonly code = 'CONFIG_UNREADABLE';
  constructor(message: string) {
    super(message);
    this.name = 'CliConfigError';
  }
}

/** The full help text: every command and option. */
export const USAGE = `usage: lvsctl [OPTIONS] COMMAND

Talk to a running lvsd over its control socket.

Commands:
  status          one line per VRRP instance: state, priorities, master, last change
  show vrrp       every detail of every VRRP instance
  events [N]      the last N events of every subsystem (default 50; the daemon
                  keeps ${EVENT_CAPACITY}, in state_dir, across restarts): VRRP
                  transitions, checks, reloads, operator commands, hook and
                  webhook failures, process restarts ...
    --since TIME|DURATION   only events since TIME (2026-01-10T12:00, 12:00)
                  or for DURATION back (90s, 10m, 2h, 1d, 1h30m)
    --follow, -f  print new events as they come, until interrupted
    --subsystem NAME[,NAME]  only these (${EVENT_SUBSYSTEMS.join(', ')})
  reload          re-read the configuration and apply only the differences
  show services   per virtual server: service, scheduler, kind, quorum; per real
                  server: address, weight configured/effective, health and
                  reason, override, kernel weight, active/inactive conns, cps
  show checks     per real server: its checks and the last reason
  drain VS RS     weight 0: no new connections, established ones continue
  drain           ([bgp]) withdraw every VIP this director announces; kept
                  in state_dir until undrain
  undrain         announce again the VIPs whose virtual servers have quorum
  disable VS RS   remove the real server from the table
  enable VS RS    clear a drain or disable
  check-config [FILE]
                  validate FILE (default: --config, else ${DEFAULT_CONFIG})
                  here, without the daemon: one FILE:LINE problem per line,
                  exit 0 when valid, 1 when not
  help            show this help
  version         show lvsctl's version

Options:
  --socket PATH   control socket (default: control_socket from the config, else ${DEFAULT_SOCKET})
  --config FILE   config file to read control_socket from (default: ${DEFAULT_CONFIG})
  --json          print the daemon's answer as JSON (events --follow: one
                  event per line)
  --timeout SEC   seconds to wait for the daemon (default: ${DEFAULT_TIMEOUT_MS / 1000})
  -h, --help      show this help
  -V, --version   show lvsctl's version

Exit status: 0 success, 1 daemon error or not reachable, 2 usage error.
`;

const HINT = "try 'lvsctl --help'";

/**
 * Parses lvsctl's arguments (without `node` and the script). Options may
 * come before or after the command. Throws {@link UsageError}.
 */
export function parseArgs(argv: readonly string[]): CliArgs {
  let socket: string | undefined;
  let config: string | undefined;
  let json = false;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  let wantHelp = false;
  let wantVersion = false;
  let since: string | undefined;
  let follow = false;
  const subsystems: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      words.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) {
        if (inline === '') throw new UsageError(`${name} needs a value`);
        return inline;
      }
      const v = argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${name} needs a value`);
      return v;
    };
    const flag = (): void => {
      if (inline !== undefined) throw new UsageError(`${name} takes no value`);
    };
    switch (name) {
      case '--socket':
        socket = value();
        break;
      case '--config':
        config = value();
        break;
      case '--timeout': {
        const v = value();
        const sec = Number(v);
        if (!/^\d+(\.\d+)?$/.test(v) || !(sec > 0) || sec > 3600) throw new UsageError(`--timeout takes seconds between 0 and 3600, not "${v}"`);
        timeoutMs = Math.round(sec * 1000);
        break;
      }
      case '--json':
        flag();
        json = true;
        break;
      case '--since':
        since = value();
        break;
      case '-f':
      case '--follow':
        flag();
        follow = true;
        break;
      case '--subsystem':
        for (const n of value().split(',')) {
          if (!(EVENT_SUBSYSTEMS as readonly string[]).includes(n)) throw new UsageError(`--subsystem: unknown subsystem "${n}" (known: ${EVENT_SUBSYSTEMS.join(', ')})`);
          subsystems.push(n);
        }
        break;
      case '-h':
      case '--help':
        flag();
        wantHelp = true;
        break;
      case '-V':
      case '--version':
        flag();
        wantVersion = true;
        break;
      default:
        throw new UsageError(`unknown option ${name}`);
    }
  }
  const base = { socket, config, json, timeoutMs };
  if (wantHelp) return { ...base, command: { kind: 'help' } };
  if (wantVersion) return { ...base, command: { kind: 'version' } };
  const [cmd, ...rest] = words;
  if ((since !== undefined || follow || subsystems.length) && cmd !== 'events' && !wantHelp) {
    throw new UsageError(`${since !== undefined ? '--since' : follow ? '--follow' : '--subsystem'} goes with "events" only`);
  }
  if (since !== undefined) parseSince(since, new Date()); // refused here, with the usage exit code
  const eventOpts = { ...(since !== undefined ? { since } : {}), ...(follow ? { follow } : {}), ...(subsystems.length ? { subsystems } : {}) };
  const noArgs = (kind: 'status' | 'reload' | 'help' | 'version'): CliArgs => {
    if (rest.length > 0) throw new UsageError(`${cmd} takes no arguments (got "${rest.join(' ')}")`);
    return { ...base, command: { kind } };
  };
  switch (cmd) {
    case undefined:
      throw new UsageError('no command given');
    case 'status':
    case 'reload':
    case 'help':
    case 'version':
      return noArgs(cmd);
    case 'events': {
      if (rest.length > 1) throw new UsageError(`events takes at most one argument (got "${rest.join(' ')}")`);
      if (rest.length === 0) return { ...base, command: { kind: 'events', ...eventOpts } };
      const n = rest[0]!;
      if (!/^[1-9]\d{0,5}$/.test(n)) throw new UsageError(`events N: N must be a positive whole number, not "${n}"`);
      return { ...base, command: { kind: 'events', limit: Number(n), ...eventOpts } };
    }
    case 'show': {
      const what = rest[0];
      if (what === undefined) throw new UsageError('show what? try "show vrrp", "show services" or "show checks"');
      if (what !== 'vrrp' && what !== 'services' && what !== 'checks') throw new UsageError(`cannot show "${what}": try "show vrrp", "show services" or "show checks"`);
      if (rest.length > 1) throw new UsageError(`show ${what} takes no more arguments (got "${rest.slice(1).join(' ')}")`);
      return { ...base, command: { kind: `show-${what}` } };
    }
    case 'undrain':
      if (rest.length > 0) throw new UsageError(`undrain takes no arguments (got "${rest.join(' ')}")`);
      return { ...base, command: { kind: 'undrain' } };
    case 'drain':
    case 'disable':
    case 'enable': {
      if (cmd === 'drain' && rest.length === 0) return { ...base, command: { kind: 'drain-director' } };
      if (rest.length !== 2) throw new UsageError(`${cmd} takes a virtual server and a real server: lvsctl ${cmd} VS RS (names from "lvsctl show services")`);
      return { ...base, command: { kind: cmd, vs: rest[0]!, rs: rest[1]! } };
    }
    case 'check-config': {
      if (rest.length > 1) throw new UsageError(`check-config takes at most one file (got "${rest.join(' ')}")`);
      return { ...base, command: rest.length ? { kind: 'check-config', file: rest[0]! } : { kind: 'check-config' } };
    }
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since`'s value as an ISO time: a DURATION back from `now` (`90s`,
 * `10m`, `2h`, `1d`, `1h30m`), or a TIME: ISO 8601 (`2026-01-10T12:00:00Z`;
 * without an offset, local time), `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DD`
 * (local midnight) or `HH:MM[:SS]` (today, local). Throws {@link UsageError}.
 */
export function parseSince(text: string, now: Date): string {
  const t = text.trim();
  if (/^(\d+(ms|s|m|h|d))+$/.test(t)) {
    let ms = 0;
    for (const m of t.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    return new Date(now.getTime() - ms).toISOString();
  }
  let candidate = t;
  if (/^\d{1,2}:\d{2}(:\d{2})?$/.test(t)) {
    const p = (n: number | string): string => String(n).padStart(2, '0');
    candidate = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}T${t.split(':').map(p).join(':')}`;
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(t)) candidate = `${t}T00:00`;
  else if (/^\d{4}-\d{2}-\d{2} \d/.test(t)) candidate = t.replace(' ', 'T');
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(candidate) ? Date.parse(candidate) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--since takes a time (2026-01-10T12:00, 12:00) or a duration (90s, 10m, 2h, 1d), not "${text}"`);
  return new Date(ms).toISOString();
}

/**
 * The control socket lvsctl talks to: `--socket` if given; else
 * `control_socket` of the `[global]` section of the config (`--config`, or
 * {@link DEFAULT_CONFIG}); else {@link DEFAULT_SOCKET} when that config does
 * not exist or has no such key. A `--config` that cannot be read, or a
 * default config that exists but cannot be read, throws {@link CliConfigError}.
 */
export function resolveSocketPath(opts: { readonly socket?: string; readonly config?: string }): string {
  if (opts.socket !== undefined) return opts.socket;
  const file = opts.config ?? DEFAULT_CONFIG;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && opts.config === undefined) return DEFAULT_SOCKET;
    throw new CliConfigError(`cannot read config ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  // Only [global] control_socket matters here; the full loader (src/config)
  // validates everything else, and lvsctl must work even with a config the
  // daemon would reject.
  const global = (ini.parse(text) as Record<string, unknown>).global;
  if (global && typeof global === 'object') {
    const v = (global as Record<string, unknown>).control_socket;
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return DEFAULT_SOCKET;
}

/** lvsd's version, from package.json, or `unknown`. */
export function packageVersion(): string {
  // dist/src/cli/lvsctl.js → the checkout's package.json.
  for (const p of [path.resolve(__dirname, '../../../package.json'), path.resolve(__dirname, '../../package.json')]) {
    try {
      const v = (JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string });
      if (v.name === 'lvsd' && typeof v.version === 'string') return v.version;
    } catch {
      /* try the next */
    }
  }
  return 'unknown';
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/** A well-formed answer of an unexpected shape. */
function badShape(cmd: string): never {
  throw new ShapeError(`the daemon answered "${cmd}" with an unexpected shape (is lvsctl the same version as lvsd?)`);
}

class ShapeError extends Error {
  readonly code = 'ANSWER_SHAPE';
}

/**
 * Runs lvsctl with `argv` (without `node` and the script) and resolves with
 * the exit code. Never rejects for expected failures; prints to `io`.
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`lvsctl: ${e.message}\n${HINT}\n`);
    return ExitCode.USAGE;
  }
  const cmd = args.command;
  if (cmd.kind === 'help') {
    io.stdout(USAGE);
    return ExitCode.OK;
  }
  if (cmd.kind === 'version') {
    io.stdout(`lvsctl ${packageVersion()}\n`);
    return ExitCode.OK;
  }
  if (cmd.kind === 'check-config') return checkConfig(cmd.file ?? args.config ?? DEFAULT_CONFIG, args.json, io);
  let socket: string;
  try {
    socket = resolveSocketPath(args);
  } catch (e) {
    if (!(e instanceof CliConfigError)) throw e;
    io.stderr(`lvsctl: ${e.message}\n`);
    return args.config !== undefined ? ExitCode.USAGE : ExitCode.FAILURE;
  }
  // Ages are computed when the answer arrives, against the daemon's timestamps.
  const clock = io.now ?? (() => new Date());
  const json = (v: unknown): void => io.stdout(JSON.stringify(v, null, 2) + '\n');
  try {
    switch (cmd.kind) {
      case 'status':
      case 'show-vrrp': {
        const res = await request(socket, ControlCommand.STATUS, {}, args.timeoutMs);
        if (args.json) {
          json(res);
          return ExitCode.OK;
        }
        if (!isStatusResult(res)) badShape('status');
        io.stdout(cmd.kind === 'status' ? formatStatus(res as StatusResult, clock()) : formatShowVrrp(res as StatusResult, clock()));
        return ExitCode.OK;
      }
      case 'events':
        return await events(socket, args, cmd, io, clock);
      case 'reload': {
        const res = await request(socket, ControlCommand.RELOAD, {}, args.timeoutMs);
        if (args.json) {
          json(res);
          return ExitCode.OK;
        }
        if (!isReloadResult(res)) badShape('reload');
        const r = res as ReloadResult;
        io.stdout(formatReload(r));
        for (const w of r.warnings ?? []) io.stderr(`warning: ${w}\n`);
        return ExitCode.OK;
      }
      case 'show-services':
      case 'show-checks': {
        const name = cmd.kind === 'show-services' ? 'show services' : 'show checks';
        const res = await request(socket, cmd.kind === 'show-services' ? ControlCommand.SHOW_SERVICES : ControlCommand.SHOW_CHECKS, {}, args.timeoutMs);
        if (args.json) {
          json(res);
          return ExitCode.OK;
        }
        if (cmd.kind === 'show-services') {
          if (!isServicesResult(res)) badShape(name);
          io.stdout(formatServices(res));
        } else {
          if (!isChecksResult(res)) badShape(name);
          io.stdout(formatChecks(res));
        }
        return ExitCode.OK;
      }
      case 'drain-director':
      case 'undrain': {
        const res = await request(socket, cmd.kind === 'undrain' ? ControlCommand.UNDRAIN : ControlCommand.DRAIN, {}, args.timeoutMs);
        if (args.json) {
          json(res);
          return ExitCode.OK;
        }
        if (!isBgpStatus(res)) badShape(cmd.kind);
        io.stdout(formatBgp(res));
        return ExitCode.OK;
      }
      case 'drain':
      case 'disable':
      case 'enable': {
        const res = await request(socket, cmd.kind, { vs: cmd.vs, rs: cmd.rs }, args.timeoutMs);
        if (args.json) {
          json(res);
          return ExitCode.OK;
        }
        if (!isOverrideResult(res)) badShape(cmd.kind);
        io.stdout(formatOverride(res));
        return ExitCode.OK;
      }
    }
  } catch (e) {
    if (e instanceof ControlRemoteError) {
      io.stderr(`lvsctl: lvsd refused ${cmd.kind === 'show-vrrp' ? 'status' : cmd.kind.replace('-', ' ')} (${e.remoteCode}): ${e.message}\n`);
      return ExitCode.FAILURE;
    }
    if (e instanceof ControlClientError || e instanceof ShapeError) {
      io.stderr(`lvsctl: ${e.message}\n`);
      return ExitCode.FAILURE;
    }
    throw e;
  }
}

/** How long one `--follow` request waits in the daemon for a new event. */
export const FOLLOW_WAIT_MS = 25_000;

/**
 * `lvsctl events`: asks once and prints; with `--follow`, then asks for
 * newer events again and again (each request waits in the daemon up to
 * {@link FOLLOW_WAIT_MS} for one) until `io.signal` (default: SIGINT or
 * SIGTERM) fires. A daemon that goes away (a restart) is waited for: the
 * follow resumes after the last event seen, since the store keeps them.
 */
async function events(socket: string, args: CliArgs, cmd: Extract<CliCommand, { kind: 'events' }>, io: CliIo, clock: () => Date): Promise<number> {
  const filter = cmd.subsystems?.length ? { subsystem: cmd.subsystems } : {};
  const first = { ...filter, ...(cmd.limit !== undefined ? { limit: cmd.limit } : {}), ...(cmd.since !== undefined ? { since: parseSince(cmd.since, clock()) } : {}) };
  const res = await request(socket, ControlCommand.EVENTS, first, args.timeoutMs);
  if (!cmd.follow) {
    if (args.json) io.stdout(JSON.stringify(res, null, 2) + '\n');
    else {
      if (!isEventsResult(res)) badShape('events');
      io.stdout(formatEvents(res as EventsResult));
    }
    return ExitCode.OK;
  }
  if (!isEventsResult(res)) badShape('events');
  const print = (list: readonly LvsdEvent[]): void => {
    for (const e of list) io.stdout(args.json ? JSON.stringify(e) + '\n' : formatEvent(e));
  };
  const r0 = res as EventsResult;
  // An lvsd from before the event store answers without a seq and ignores "after": following it would repeat its answer forever.
  if (typeof r0.seq !== 'number') throw new ShapeError('this lvsd cannot be followed (its "events" answer has no seq: is lvsctl newer than lvsd?)');
  if (!args.json) io.stdout(EVENTS_HEADER);
  print(r0.events);
  let seq = r0.seq;
  let stop: (() => void) | undefined;
  let signal = io.signal;
  if (!signal) {
    const ac = new AbortController();
    stop = (): void => ac.abort();
    process.once('SIGINT', stop).once('SIGTERM', stop);
    signal = ac.signal;
  }
  let lost = false;
  try {
    while (!signal.aborted) {
      let r: EventsResult;
      try {
        const v = await request(socket, ControlCommand.EVENTS, { ...filter, after: seq, wait: FOLLOW_WAIT_MS }, FOLLOW_WAIT_MS + args.timeoutMs, signal);
        if (!isEventsResult(v)) badShape('events');
        r = v as EventsResult;
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof ControlRemoteError || !(e instanceof ControlClientError)) throw e;
        if (!lost) io.stderr(`lvsctl: ${e.message}; waiting for lvsd to come back\n`);
        lost = true;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          signal!.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
        continue;
      }
      if (lost) io.stderr('lvsctl: lvsd answers again\n');
      lost = false;
      print(r.events);
      // A daemon whose history started afresh (an unwritable state_dir) counts from 0 again.
      seq = typeof r.seq === 'number' ? r.seq : seq;
    }
  } finally {
    if (stop) process.off('SIGINT', stop).off('SIGTERM', stop);
  }
  return ExitCode.OK;
}

/**
 * `lvsctl check-config [FILE]`: runs the configuration loader here (no
 * daemon), prints one `FILE:LINE: message` per problem, and returns 0 when
 * the file is valid (warnings allowed), 1 when it is not. With `json`, prints
 * `{ file, valid, problems: [{file, line, severity, code, message}] }`.
 */
export function checkConfig(file: string, asJson: boolean, io: CliIo): number {
  const r = loadChecked(file);
  const valid = r.valid;
  if (asJson) {
    io.stdout(JSON.stringify({ file, valid, problems: r.problems.map((p) => ({ ...p, message: redactText(p.message) })) }, null, 2) + '\n');
  } else {
    const lines = problemLines(r.problems);
    if (lines.length) io.stdout(`${lines.join('\n')}\n`);
    if (valid) io.stdout(`${file}: configuration valid\n`);
  }
  return valid ? ExitCode.OK : ExitCode.FAILURE;
}
