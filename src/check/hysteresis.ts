/**
 * Rise/fall counting of one check, as a pure state machine without time.
 *
 * keepalived's checker semantics: while a check is up, a failed attempt is not believed
 * at once; it is retried up to `retry` more times, spaced `delay_before_retry`. Only when
 * the first attempt and all its retries fail is one failure *confirmed*; any success on
 * the way clears it. lvsd adds keepalived's vrrp_script counters on top: `fall`
 * confirmed failures in a row take the check down, `rise` successes in a row bring it
 * back up. With rise = fall = 1 (the defaults) this is exactly keepalived's checker.
 *
 * The machine never looks at a clock: the driver (scheduler.ts) feeds it attempt
 * outcomes and waits `delay_before_retry` or `delay_loop` as the answer says.
 */

/** Counts that parameterise the machine; all non-negative integers, rise/fall ≥ 1. */
export interface HysteresisOptions {
  retry: number;
  rise: number;
  fall: number;
}

/** The machine's whole state. Treat as immutable; {@link hysteresisStep} returns a new one. */
export interface HysteresisState {
  readonly up: boolean;
  /** Failed attempts in the current retry series (0 when none is open). */
  readonly attemptsFailed: number;
  /** Confirmed failures in a row while up. */
  readonly fails: number;
  /** Successes in a row while down. */
  readonly successes: number;
}

/** What the driver should wait before the next attempt. */
export const NextWait = {
  /** The normal period: `delay_loop`. */
  delay_loop: 'delay_loop',
  /** A retry of a failed attempt: `delay_before_retry`. */
  delay_before_retry: 'delay_before_retry',
} as const;
/** One of {@link NextWait}'s values. */
export type NextWait = (typeof NextWait)[keyof typeof NextWait];

/** The answer of one step. `changed` is true exactly when `state.up` flipped. */
export interface HysteresisStepResult {
  state: HysteresisState;
  changed: boolean;
  next: NextWait;
}

/** Initial state: up, unless keepalived's `alpha` asks to start down. */
export function hysteresisInit(alpha = false): HysteresisState {
  return { up: !alpha, attemptsFailed: 0, fails: 0, successes: 0 };
}

/**
 * Feeds one attempt's outcome. Pure: same inputs, same output.
 *
 * - up, success: counters cleared, wait delay_loop.
 * - up, failure: if fewer than `retry + 1` attempts of this series failed, wait
 *   delay_before_retry; else the failure is confirmed; at `fall` confirmed failures the
 *   check goes down.
 * - down, success: at `rise` successes in a row the check goes up.
 * - down, failure: stays down; no retries (a down check has nothing to confirm).
 */
export function hysteresisStep(
  opts: HysteresisOptions,
  s: HysteresisState,
  ok: boolean,
): HysteresisStepResult {
  const rise = Math.max(1, opts.rise);
  const fall = Math.max(1, opts.fall);
  if (s.up) {
    if (ok) {
      return { state: { up: true, attemptsFailed: 0, fails: 0, successes: 0 }, changed: false, next: 'delay_loop' };
    }
    const attemptsFailed = s.attemptsFailed + 1;
    if (attemptsFailed <= Math.max(0, opts.retry)) {
      return { state: { ...s, attemptsFailed }, changed: false, next: 'delay_before_retry' };
    }
    const fails = s.fails + 1;
    if (fails >= fall) {
      return { state: { up: false, attemptsFailed: 0, fails: 0, successes: 0 }, changed: true, next: 'delay_loop' };
    }
    return { state: { up: true, attemptsFailed: 0, fails, successes: 0 }, changed: false, next: 'delay_loop' };
  }
  if (!ok) {
    return { state: { up: false, attemptsFailed: 0, fails: 0, successes: 0 }, changed: false, next: 'delay_loop' };
  }
  const successes = s.successes + 1;
  if (successes >= rise) {
    return { state: { up: true, attemptsFailed: 0, fails: 0, successes: 0 }, changed: true, next: 'delay_loop' };
  }
  return { state: { up: false, attemptsFailed: 0, fails: 0, successes }, changed: false, next: 'delay_loop' };
}
