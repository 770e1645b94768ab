/**
 * Check durations: the checker-side accumulator (DurationHistogram) and the
 * exposition of its snapshots as lvsd_check_duration_seconds, with the
 * results counter beside it, from the optional `checks` source.
 */
import { strict as assert } from 'node:assert';
import { CHECK_DURATION_BUCKETS, DurationHistogram } from '../../src/metrics/histogram';
import { type CheckStatsView, createMetrics } from '../../src/metrics/registry';

describe('check durations', () => {
  it('DurationHistogram counts into cumulative buckets, with sum and count', () => {
    const h = new DurationHistogram([0.01, 0.1, 1]);
    for (const s of [0.002, 0.01, 0.05, 0.7, 3, -1, Number.NaN]) h.observe(s);
    assert.deepEqual(h.snapshot(), { buckets: [[0.01, 2], [0.1, 3], [1, 4]], sum: 0.002 + 0.01 + 0.05 + 0.7 + 3, count: 5 });
    assert.throws(() => new DurationHistogram([1, 1]), RangeError);
    assert.deepEqual(new DurationHistogram().snapshot().buckets.map(([le]) => le), CHECK_DURATION_BUCKETS);
  });

  it('exports lvsd_check_duration_seconds and lvsd_check_results_total per real server and check', async () => {
    const h = new DurationHistogram([0.01, 0.1, 1]);
    [0.004, 0.02, 0.03, 1.5].forEach((s) => h.observe(s));
    let asked = 0;
    const stats: CheckStatsView[] = [{ virtualServer: 'web', realServer: 'rs1', address: '198.51.100.1:80', check: 'web_health', ok: 3, failed: 1, durations: h.snapshot() }];
    const m = createMetrics({
      info: () => ({ version: '0', routerId: 'x' }),
      vrrp: () => undefined,
      director: () => undefined,
      transitions: () => ({}),
      checks: () => (asked++, stats),
    });
    const text = await m.metrics();
    assert.equal(asked, 1, 'one scrape asks the checks once');
    const l = 'virtual_server="web",real_server="rs1",address="198.51.100.1:80",check="web_health"';
    assert.match(text, /^# TYPE lvsd_check_duration_seconds histogram$/m);
    for (const line of [
      `lvsd_check_duration_seconds_bucket{${l},le="0.01"} 1`,
      `lvsd_check_duration_seconds_bucket{${l},le="0.1"} 3`,
      `lvsd_check_duration_seconds_bucket{${l},le="1"} 3`,
      `lvsd_check_duration_seconds_bucket{${l},le="+Inf"} 4`,
      `lvsd_check_duration_seconds_sum{${l}} 1.554`,
      `lvsd_check_duration_seconds_count{${l}} 4`,
      `lvsd_check_results_total{${l},result="ok"} 3`,
      `lvsd_check_results_total{${l},result="failed"} 1`,
    ]) assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
    stats.length = 0;
    const after = await m.metrics();
    assert.equal(asked, 2);
    assert.ok(!after.includes('lvsd_check_duration_seconds_bucket{'), 'a real server gone: its series go');
  });
});
