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
  cancelled: boolean;
}

/**
 * A fake clock for tests (and for a dry run): time moves only through {@link advance},
 * which fires due timers in time order and lets pending promise callbacks run after each.
 * Timers sit in a binary min-heap on (due time, creation order), so tens of thousands
 * of checks stay cheap.
 */
export class FakeTime implements Clock, Timers {
  private t = 0;
  private seq = 0;
  private live = 0;
  private readonly heap: FakeTimer[] = [];

  /** Current fake time, ms. */
  now(): number {
    return this.t;
  }

  /** Schedules `fn` at now + max(0, ms). */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    this.live++;
    return timer;
  }

  /** Cancels a pending timer; unknown or already fired handles are ignored. */
  clearTimeout(h: TimerHandle): void {
    const timer = h as FakeTimer;
    if (timer && timer.cancelled === false) {
      timer.cancelled = true;
      this.live--;
    }
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.live;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way (including ones that
   * firing timers schedule), each at its own due time, and flushing promise callbacks
   * and I/O callbacks (one setImmediate turn) after each.
   */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    while (this.heap.length > 0 && this.heap[0].at <= end) {
      const timer = this.pop();
      if (timer.cancelled) continue;
      timer.cancelled = true; // fired: a later clearTimeout is a no-op
      this.live--;
      this.t = timer.at;
      timer.fn();
      await flush();
    }
    this.t = end;
  }

  private less(a: FakeTimer, b: FakeTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(x: FakeTimer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): FakeTimer {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as FakeTimer;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function flush(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
