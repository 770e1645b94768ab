/**
 * Option and result types of lvsd's health checkers.
 *
 * These are lvsd's own small types, independent of the config loader: the daemon maps
 * `[check.NAME]` sections onto them. Field names are keepalived's keywords, and like
 * keepalived's they are in **seconds** (fractions allowed) unless said otherwise.
 */

import type { RunAsIds } from '../lib/run-as';

/**
 * What every probe returns. A probe never throws and never rejects: any failure,
 * including a bug-shaped one, becomes `{ ok: false, reason }`.
 * `weight` is only set by a MISC_CHECK with `misc_dynamic` (exit code − 2).
 */
export interface CheckResult {
  ok: boolean;
  /** Short human text: why it is up or down (`"status 200"`, `"ECONNREFUSED"`). */
  reason: string;
  /** Wall time the probe took, from a monotonic clock, in milliseconds. */
  durationMs: number;
  weight?: number;
}

/** The checker kinds keepalived names, as an `as const` object and its union type. */
export const CheckType = {
  TCP_CHECK: 'TCP_CHECK',
  HTTP_GET: 'HTTP_GET',
  SSL_GET: 'SSL_GET',
  MISC_CHECK: 'MISC_CHECK',
} as const;
/** One of {@link CheckType}'s values. */
export type CheckType = (typeof CheckType)[keyof typeof CheckType];

/**
 * Scheduling keywords shared by all checkers (keepalived's names, seconds).
 * Defaults (see {@link scheduleDefaults}): delay_loop 60, retry 1 (MISC_CHECK 0),
 * delay_before_retry 1 (HTTP_GET/SSL_GET 3), warmup = delay_loop, rise 1, fall 1.
 */
export interface ScheduleOptions {
  /** Seconds between two rounds of a check. */
  delay_loop?: number;
  /** Extra attempts after a failed one before the failure counts (keepalived `retry`). */
  retry?: number;
  /** Seconds between those extra attempts. */
  delay_before_retry?: number;
  /** The first round starts after a random delay in [0, warmup] seconds. */
  warmup?: number;
  /** Counted successes in a row needed to go from down to up. */
  rise?: number;
  /** Counted (retry-confirmed) failures in a row needed to go from up to down. */
  fall?: number;
  /** keepalived `alpha`: start the check down instead of up. */
  alpha?: boolean;
}

/** TCP_CHECK: up when a TCP connection to connect_ip:connect_port opens in time. */
export interface TcpCheckOptions extends ScheduleOptions {
  type: 'TCP_CHECK';
  /** Address to connect to (keepalived defaults it to the real server's address). */
  connect_ip: string;
  connect_port: number;
  /** Local source address to bind. */
  bindto?: string;
  /** Local source port to bind. */
  bind_port?: number;
  /** Seconds to wait for the connection; default 5. */
  connect_timeout?: number;
}

/**
 * One accepted HTTP status: a single code or an inclusive range.
 * The default acceptance is `[{ from: 200, to: 299 }]`.
 */
export interface StatusRange {
  from: number;
  to: number;
}

/** HTTP_GET and SSL_GET: a GET of url_path, judged on status, body digest and regex. */
export interface HttpCheckOptions extends ScheduleOptions {
  type: 'HTTP_GET' | 'SSL_GET';
  connect_ip: string;
  connect_port: number;
  /** Path and query, starting with `/`; default `/`. */
  url_path?: string;
  /**
   * Accepted statuses: a number, a list, ranges, or keepalived-style text such as
   * `"200"`, `"200-299"`, `"200,301-302"`. Default 2xx.
   */
  status_code?: number | string | ReadonlyArray<number | StatusRange>;
  /** MD5 of the body, hex (case-insensitive); when set, the body must match. */
  digest?: string;
  /** A JavaScript regular expression (source text) the body must match. */
  regex?: string;
  /** Host header to send; default connect_ip[:connect_port]. */
  virtualhost?: string;
  /** SSL_GET: SNI name; default virtualhost when it is a name, none for an address. */
  servername?: string;
  /** SSL_GET: PEM file of the CA(s) to trust instead of the system store. */
  ca_file?: string;
  /** SSL_GET: verify the certificate chain and name; default true. */
  verify?: boolean;
  bindto?: string;
  /** Seconds for the whole exchange (connect, headers, body); default 5. */
  connect_timeout?: number;
  /** Most body bytes read (not a keepalived keyword); default 1 MiB. */
  max_body?: number;
}

/** MISC_CHECK: run a program; its exit code says up or down. */
export interface MiscCheckOptions extends ScheduleOptions {
  type: 'MISC_CHECK';
  /**
   * Program and arguments, split on blanks with '…' and "…" quoting, then run
   * without a shell, as keepalived's `misc_path`.
   */
  misc_path: string;
  /** Seconds before the whole process group is killed; default delay_loop. */
  misc_timeout?: number;
  /** Exit 2–255 means up with weight code − 2. */
  misc_dynamic?: boolean;
  /** keepalived's `user` (or the global script_user), as the ids the loader resolved; absent: the checker's own user. */
  user?: RunAsIds;
}

/** Any one check. */
export type CheckOptions = TcpCheckOptions | HttpCheckOptions | MiscCheckOptions;

/** The checks of one real server; it is up only when all of them are up. */
export interface RealServerChecks {
  /** Key chosen by the caller, e.g. `"web/rs1"`; echoed in every event. */
  rs: string;
  checks: CheckOptions[];
  /**
   * The real server's last known health (kept by the director across a checker or
   * director restart). A real server new to the scheduler starts from it instead of
   * "up" (or "down" with alpha), so a restart neither puts a server known down back
   * into the table nor announces it up. Ignored for a real server the scheduler
   * already runs (its own state is newer).
   */
  known?: KnownHealth;
}

/** A real server's health carried over a restart; see {@link RealServerChecks.known}. */
export interface KnownHealth {
  up: boolean;
  reason: string;
  weight?: number;
}

/** A change of a real server's health, emitted only when up/weight changes. */
export interface RsChange {
  rs: string;
  up: boolean;
  /** Why: the reason of the check that decided it. */
  reason: string;
  /** Set when a misc_dynamic check reported a weight. */
  weight?: number;
}

/** Resolved scheduling numbers in milliseconds and counts; see {@link scheduleDefaults}. */
export interface ResolvedSchedule {
  delayLoopMs: number;
  retry: number;
  delayBeforeRetryMs: number;
  warmupMs: number;
  rise: number;
  fall: number;
  alpha: boolean;
}

/** keepalived's default connect_timeout, seconds. */
export const DEFAULT_CONNECT_TIMEOUT = 5;

/**
 * Fills keepalived's defaults for one check and converts seconds to milliseconds.
 * Never throws: negative or non-finite numbers fall back to the default.
 */
export function scheduleDefaults(c: CheckOptions): ResolvedSchedule {
  const num = (v: number | undefined, d: number): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : d;
  const delayLoop = num(c.delay_loop, 60);
  const isHttp = c.type === 'HTTP_GET' || c.type === 'SSL_GET';
  return {
    delayLoopMs: delayLoop * 1000,
    retry: Math.floor(num(c.retry, c.type === 'MISC_CHECK' ? 0 : 1)),
    delayBeforeRetryMs: num(c.delay_before_retry, isHttp ? 3 : 1) * 1000,
    warmupMs: num(c.warmup, delayLoop) * 1000,
    rise: Math.max(1, Math.floor(num(c.rise, 1))),
    fall: Math.max(1, Math.floor(num(c.fall, 1))),
    alpha: c.alpha === true,
  };
}
