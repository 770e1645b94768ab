/**
 * README's "Metrics" section and lvsd(8)'s METRICS name every metric family
 * lvsd exports (every optional source given), and name none it does not:
 * the names are the contract with dashboards, so the docs must stay true.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createMetrics } from '../../src/metrics/registry';

const TOP = path.resolve(__dirname, '../../..');

/** Every lvsd_* metric family lvsd can export. */
function exported(): string[] {
  const m = createMetrics({
    info: () => ({ version: '0', routerId: 'x' }),
    vrrp: () => undefined,
    director: () => undefined,
    transitions: () => ({}),
    reloads: () => ({ ok: 0, failed: 0, lastOk: null }),
    childRestarts: () => ({}),
    childStates: () => ({}),
    notifyFailures: () => ({}),
    checks: () => [],
    bgp: () => undefined,
  });
  return m.registry.getMetricsAsArray().map((x) => x.name).sort();
}

/** lvsd_* names in `text`, with `{in,out}` expanded. */
function named(text: string): string[] {
  const out = new Set<string>();
  for (const [word] of text.matchAll(/lvsd_[a-z0-9_]*(?:\{in,out\}[a-z0-9_]*)?/g)) {
    if (word.includes('{in,out}')) for (const d of ['in', 'out']) out.add(word.replace('{in,out}', d));
    else out.add(word);
  }
  return [...out].sort();
}

describe('metrics documentation', () => {
  it('README "Metrics and the status page" lists exactly the exported metrics', () => {
    const readme = readFileSync(path.join(TOP, 'README.md'), 'utf8');
    const start = readme.indexOf('### Metrics and the status page');
    assert.ok(start > 0, 'README has no "### Metrics and the status page"');
    const section = readme.slice(start, readme.indexOf('#### Dashboard and alerts', start));
    assert.deepEqual(named(section), exported());
  });

  it('lvsd(8) METRICS lists exactly the exported metrics', () => {
    const man = readFileSync(path.join(TOP, 'packaging/man/lvsd.8'), 'utf8');
    const section = man.slice(man.indexOf('.SH METRICS'), man.indexOf('.SH "STATUS PAGE"'));
    assert.deepEqual(named(section), exported());
  });
});
