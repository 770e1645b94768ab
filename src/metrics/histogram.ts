/**
 * Health-check durations as a Prometheus histogram whose counts are kept
 * where the checks run (the checker process) and only read by the metrics:
 * {@link DurationHistogram} accumulates, its {@link DurationHistogram.snapshot}
 * is plain JSON that crosses IPC, and {@link registerCheckMetrics} exposes
 * snapshots as `lvsd_check_duration_seconds` (with `lvsd_check_results_total`).
 */
import { Counter, type Histogram, type Registry } from 'prom-client';
import type { CheckStatsView } from './registry';


export { CHECK_DURATION_BUCKETS, DurationHistogram, type HistogramSnapshot } from '../lib/histogram';

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
