/**
 * Pure rules of the supervisor: when to restart a dead child, and whether a
 * restarted VRRP child may resume an instance as MASTER.
 */

/** A child that ran at least this long is restarted at once (keepalived's rule). */
export const STABLE_RUN_MS = 60_000;
/** The longest wait before a restart. */
export const MAX_BACKOFF_MS = 60_000;

/** Deaths in a row (each after a run shorter than {@link STABLE_RUN_MS}) that make a crash loop. */
export const CRASH_LOOP_RUNS = 3;

/**
 * How long a child may go without a heartbeat before the parent kills it as
 * stuck. The VRRP process's loop must never stall for long (at advert_int 1
 * a peer takes over after 3.6 s anyway); the director's may, briefly, on a
 * large table under emulation.
 */
export const HUNG_MS = { vrrp: 3_000, director: 8_000 } as const;

/**
 * The delay before restarting a child that ran `ranMs` and is the
 * `shortRuns`-th consecutive short-lived death (1 for the first): 0 when it
 * ran over {@link STABLE_RUN_MS} or for the first death, so a crashed VRRP
 * process is back within the window in which it may resume its masters
 * ({@link mayResumeMaster}); then 1, 2, 4 … 60 s (keepalived's backoff,
 * KEEPALIVED-FACTS "Process model and signals").
 */
export function restartDelayMs(ranMs: number, shortRuns: number): number {
  if (ranMs >= STABLE_RUN_MS || shortRuns <= 1) return 0;
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (shortRuns - 2));
}

/**
 * Whether a restarted VRRP child may take instance X back as MASTER at once,
 * keeping its VIPs, instead of starting as BACKUP.
 *
 * The rule: X was MASTER when the previous VRRP child died, every VIP of X
 * is still on its interface, and the time since that death is under
 * 2 × advert_int at the moment the resumed master sends its first advert.
 *
 * Why it is safe (RFC 5798 §6.4.2): a backup declares the master down only
 * when no advert came for Master_Down_Interval = 3 × Master_Adver_Interval +
 * Skew_Time, and Skew_Time ≥ 0. The dead master's last advert left at most
 * one advert_int before it died; the resumed master advertises within
 * 2 × advert_int of the death; so no backup ever saw a gap of 3 × advert_int
 * and none can have become master. The VIP check guards against anything
 * else having removed them (an operator, a FAULT on the way down). When the
 * window is missed (a slow restart, a sub-second advert_int) the child starts
 * as BACKUP, as keepalived would after a crash.
 */
export function mayResumeMaster(opts: { readonly wasMaster: boolean; readonly vipsPresent: boolean; readonly sinceDeathMs: number; readonly advertIntervalMs: number }): boolean {
  return opts.wasMaster && opts.vipsPresent && opts.sinceDeathMs < 2 * opts.advertIntervalMs;
}
