/**
 * A duration histogram with fixed buckets whose state is plain JSON: kept
 * where the health checks run (the checker process, which loads no metrics
 * library), read by the metrics through IPC (src/metrics/histogram.ts).
 */

/** Upper bounds in seconds: from a fast local TCP connect to a check at its timeout. */
export const CHECK_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A histogram's state: cumulative counts per upper bound (ascending), the sum and the count (+Inf). */
export interface HistogramSnapshot {
  readonly buckets: ReadonlyArray<readonly [le: number, cumulative: number]>;
  readonly sum: number;
  readonly count: number;
}

/** Counts observed durations into fixed buckets. */
export class DurationHistogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[] = CHECK_DURATION_BUCKETS) {
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError('histogram bounds must ascend');
    this.counts = bounds.map(() => 0);
  }

  /** Adds one duration in seconds (a negative or non-finite one is ignored). */
  observe(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    this.sum += seconds;
    this.count++;
    const i = this.bounds.findIndex((b) => seconds <= b);
    if (i >= 0) this.counts[i]!++;
  }

  /** The cumulative state, as Prometheus exposes it. */
  snapshot(): HistogramSnapshot {
    let acc = 0;
    return { buckets: this.bounds.map((le, i) => [le, (acc += this.counts[i]!)] as const), sum: this.sum, count: this.count };
  }
}
