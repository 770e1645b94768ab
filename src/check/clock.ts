/**
 * Time for the check scheduler, injected so tests run on a fake clock and never sleep.
 * `now()` is monotonic milliseconds; never wall-clock time.
 */
import { performance } from 'node:perf_hooks';

/** A monotonic clock in milliseconds. */
export interface Clock {
  now(): number;
}

/** Opaque handle of a pending timer. */
export type TimerHandle = object;

/** One-shot timers. `setTimeout` never calls `fn` synchronously. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle): void;
}

/** The real clock and timers: performance.now() and Node's setTimeout. */
export const realTime: Clock & Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)) as unknown as TimerHandle,
  clearTimeout: (h) => clearTimeout(h as unknown as NodeJS.Timeout),
};

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A fake clock for tests (and for a dry run): time moves only through {@link advance},
 * which fires due timers in time order and lets pending promise callbacks run after each.
 */
export class FakeTime implements Clock, Timers {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<object, FakeTimer>();

  /** Current fake time, ms. */
  now(): number {
    return this.t;
  }

  /** Schedules `fn` at now + max(0, ms). */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const h = {};
    this.timers.set(h, { at: this.t + Math.max(0, ms), seq: this.seq++, fn });
    return h;
  }

  /** Cancels a pending timer; unknown handles are ignored. */
  clearTimeout(h: TimerHandle): void {
    this.timers.delete(h);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way (including ones that
   * firing timers schedule), each at its own due time, and flushing promise callbacks
   * and I/O callbacks (one setImmediate turn) after each.
   */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      let next: [object, FakeTimer] | undefined;
      for (const e of this.timers) {
        if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq))) next = e;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await flush();
    }
    this.t = end;
  }
}

function flush(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
