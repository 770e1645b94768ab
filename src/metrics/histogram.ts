/**
 * Health-check durations as a Prometheus histogram whose counts are kept
 * where the checks run (the checker process) and only read by the metrics:
 * {@link DurationHistogram} accumulates, its {@link DurationHistogram.snapshot}
 * is plain JSON that crosses IPC, and {@link registerCheckMetrics} exposes
 * snapshots as `lvsd_check_duration_seconds` (with `lvsd_check_results_total`).
 */
import { Counter, type Histogram, type Registry } from 'prom-client';
import type { CheckStatsView } from './registry';

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

/**
 * Registers `lvsd_check_results_total` and `lvsd_check_duration_seconds` on
 * `registry`, both read from `checks()` at scrape time (one call per scrape
 * when the caller shares it).
 */
export function registerCheckMetrics(registry: Registry, checks: () => Promise<readonly CheckStatsView[] | undefined>): void {
  const checkLabels = (c: CheckStatsView): Record<string, string> => ({ virtual_server: c.virtualServer, real_server: c.realServer, address: c.address, check: c.check });
  new Counter({
    name: 'lvsd_check_results_total',
    help: 'Health check runs per real server and check, by result (ok, failed).',
    labelNames: ['virtual_server', 'real_server', 'address', 'check', 'result'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of (await checks()) ?? []) {
        this.inc({ ...checkLabels(c), result: 'ok' }, c.ok);
        this.inc({ ...checkLabels(c), result: 'failed' }, c.failed);
      }
    },
  });
  // prom-client's Histogram only observes; this one exposes counts kept by the checker.
  const name = 'lvsd_check_duration_seconds';
  const help = 'How long health checks took, per real server and check (failures at their timeout included).';
  registry.registerMetric({
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    labelNames: ['virtual_server', 'real_server', 'address', 'check'],
    reset() {},
    async get() {
      const values = ((await checks()) ?? []).flatMap((c) => {
        const labels = checkLabels(c);
        return [
          ...c.durations.buckets.map(([le, n]) => ({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: n })),
          { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: c.durations.count },
          { metricName: `${name}_sum`, labels, value: c.durations.sum },
          { metricName: `${name}_count`, labels, value: c.durations.count },
        ];
      });
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  } as unknown as Histogram);
}
