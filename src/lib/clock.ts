/**
 * Time as an input. Protocol code (VRRP, the check scheduler, the reconciler
 * and the director) reads `now()` from an injected {@link Clock} and
 * schedules through it, so tests drive a {@link FakeClock} and never sleep.
 * The real clock is monotonic (performance.now), never `Date`.
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

interface FakeTimer {
  readonly at: number;
  /** Creation order: ties on `at` fire first-created first. */
  readonly seq: number;
  readonly fn: () => void;
  /** Fired or cleared: a later {@link FakeClock.clear} does nothing. */
  done: boolean;
}

/**
 * A clock that moves only when told: for tests. {@link advance} fires due
 * timers synchronously (the VRRP side, the reconciler); {@link advanceAsync}
 * also lets promise callbacks and one I/O turn run before and after each
 * timer, for code whose timers start async work (the check scheduler's
 * probes). Timers sit in a binary min-heap on (due time, creation order), so
 * tens of thousands of checks stay cheap.
 */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private live = 0;
  private readonly heap: FakeTimer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  at(at: number, fn: () => void): TimerHandle {
    const timer: FakeTimer = { at, seq: this.seq++, fn, done: false };
    this.push(timer);
    this.live++;
    return timer as unknown as TimerHandle;
  }

  clear(handle: TimerHandle | undefined): void {
    const timer = handle as unknown as FakeTimer | undefined;
    if (timer && timer.done === false) {
      timer.done = true;
      this.live--;
    }
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.live;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way (including
   * ones that firing timers set), each at its own due time, in time order
   * (ties in creation order).
   */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let timer = this.nextDue(end); timer; timer = this.nextDue(end)) this.fire(timer);
    this.t = end;
  }

  /**
   * Like {@link advance}, but flushes promise callbacks and I/O callbacks
   * (one setImmediate turn) before the first timer and after each.
   */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (let timer = this.nextDue(end); timer; timer = this.nextDue(end)) {
      this.fire(timer);
      await settle();
    }
    this.t = end;
  }

  private fire(timer: FakeTimer): void {
    this.t = Math.max(this.t, timer.at);
    timer.fn();
  }

  /** Takes the earliest live timer due by `end` off the heap, marked done. */
  private nextDue(end: number): FakeTimer | undefined {
    while (this.heap.length > 0 && this.heap[0].at <= end) {
      const timer = this.pop();
      if (timer.done) continue;
      timer.done = true;
      this.live--;
      return timer;
    }
    return undefined;
  }

  private static less(a: FakeTimer, b: FakeTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(x: FakeTimer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!FakeClock.less(h[i], h[p])) break;
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
        if (l < h.length && FakeClock.less(h[l], h[m])) m = l;
        if (r < h.length && FakeClock.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/** Resolves after pending promise callbacks and one turn of I/O callbacks. */
function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
