/**
 * Time as an input. Protocol code reads `now()` from an injected {@link Clock}
 * and schedules through it, so tests drive a {@link FakeClock} and never
 * sleep. The real clock is monotonic (performance.now), never `Date`.
 */

/** A timer registration; pass it to {@link Clock.clear}. */
export type TimerHandle = { readonly __timer: unique symbol };

/** A monotonic clock with one-shot timers, in milliseconds. */
export interface Clock {
  /** Monotonic milliseconds (fractional). */
  now(): number;
  /** Calls `fn` once, at or after monotonic time `at`. */
  at(at: number, fn: () => void): TimerHandle;
  /** Cancels a timer; clearing a fired or cleared timer does nothing. */
  clear(handle: TimerHandle | undefined): void;
}

/** The process's monotonic clock over setTimeout. */
export const systemClock: Clock = {
  now: () => performance.now(),
  at(at, fn) {
    // setTimeout may fire up to 1 ms early relative to performance.now(); re-arm until due.
    const arm = (): NodeJS.Timeout =>
      setTimeout(() => {
        if (performance.now() + 0.5 < at) {
          box.t = arm();
          return;
        }
        fn();
      }, Math.max(0, at - performance.now()));
    const box = { t: arm() };
    return box as unknown as TimerHandle;
  },
  clear(handle) {
    if (handle) clearTimeout((handle as unknown as { t: NodeJS.Timeout }).t);
  },
};

/** A clock that moves only when told: for tests. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  at(at: number, fn: () => void): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at, fn });
    return id as unknown as TimerHandle;
  }

  clear(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.timers.delete(handle as unknown as number);
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in time order (ties in creation order). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) {
        if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
}
