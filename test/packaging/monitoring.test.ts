/**
 * packaging/monitoring: the Prometheus alerting rules pass `promtool check
 * rules` and their unit tests (`promtool test rules`, Debian's prometheus
 * package, installed by test/setup.sh); a rule changed against its tests
 * fails them (so the tests can fail); the rules and the Grafana dashboard
 * name only metrics lvsd exports (with every optional source wired), and the
 * dashboard is well-formed (unique panel ids, one datasource variable, a
 * 24-column grid).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createMetrics } from '../../src/metrics/registry';

const TOP = path.resolve(__dirname, '../../..');
const DIR = path.join(TOP, 'packaging/monitoring');
const RULES = path.join(DIR, 'lvsd-alerts.yml');
const RULE_TESTS = path.join(DIR, 'lvsd-alerts.test.yml');
const DASHBOARD = path.join(DIR, 'lvsd-dashboard.json');

function promtool(args: readonly string[], cwd = DIR): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool: ${r.error.message} (install Debian's prometheus package: test/setup.sh does)`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Every lvsd_* metric family lvsd can export, with all optional sources given. */
function exported(): Set<string> {
  const m = createMetrics({
    info: () => ({ version: '0', routerId: 'x' }),
    vrrp: () => undefined,
    director: () => undefined,
    transitions: () => ({}),
    events: () => [],
    reloads: () => ({ ok: 0, failed: 0, lastOk: null }),
    childRestarts: () => ({}),
    notifyFailures: () => ({}),
    checks: () => [],
  });
  return new Set(m.registry.getMetricsAsArray().map((x) => x.name));
}

/** The lvsd_* metric families an expression uses (a histogram's _bucket, _sum and _count series are its family). */
const namesIn = (expr: string): string[] => [...expr.matchAll(/\blvsd_[a-z0-9_]+/g)].map((x) => x[0].replace(/^(lvsd_[a-z0-9_]+_seconds)_(?:bucket|sum|count)$/, '$1'));

describe('packaging/monitoring: alerting rules and dashboard', function () {
  this.timeout(60_000);

  before(() => {
    if (!existsSync('/usr/bin/promtool')) throw new Error('promtool is missing: install Debian\'s prometheus package (test/setup.sh does)');
  });

  it('promtool check rules accepts the rules', () => {
    const r = promtool(['check', 'rules', RULES]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS: 10 rules found/);
  });

  it('promtool test rules passes the rules\' unit tests', () => {
    const r = promtool(['test', 'rules', RULE_TESTS]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it('the unit tests catch a changed rule (a quorum alert that waits 10 minutes fails them)', () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'lvsd-rules-'));
    try {
      copyFileSync(RULE_TESTS, path.join(tmp, 'lvsd-alerts.test.yml'));
      const rules = readFileSync(RULES, 'utf8');
      const changed = rules.replace(/(expr: lvsd_virtual_server_quorum_up\{job="lvsd"\} == 0\n\s+for: )30s/, '$110m');
      assert.notEqual(changed, rules, 'the quorum rule was not found to change');
      writeFileSync(path.join(tmp, 'lvsd-alerts.yml'), changed);
      const r = promtool(['test', 'rules', 'lvsd-alerts.test.yml'], tmp);
      assert.notEqual(r.status, 0, r.out);
      assert.match(r.out, /LvsdVirtualServerBelowQuorum/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('the rules name only metrics lvsd exports, and cover every alert the issue asks for', () => {
    const have = exported();
    const text = readFileSync(RULES, 'utf8');
    const exprs = [...text.matchAll(/expr: (\|\n(?:\s{10,}.*\n)+|.*)/g)].map((m) => m[1]!);
    assert.equal(exprs.length, 10);
    for (const e of exprs) for (const n of namesIn(e)) assert.ok(have.has(n), `the rules use ${n}, which lvsd does not export`);
    const alerts = [...text.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    for (const a of ['LvsdVrrpNoMaster', 'LvsdVrrpSplitBrain', 'LvsdVirtualServerBelowQuorum', 'LvsdRealServerDown', 'LvsdReconcilerErrors', 'LvsdChildCrashLoop', 'LvsdCrashLoop', 'LvsdReloadFailed']) {
      assert.ok(alerts.includes(a), `no ${a} alert`);
      assert.match(readFileSync(RULE_TESTS, 'utf8'), new RegExp(`alertname: ${a}\\n`), `${a} has no unit test`);
    }
  });

  it('every dashboard query parses as PromQL (promtool check rules over them, variables filled in)', () => {
    const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }>; annotations: { list: Array<{ expr?: string }> } };
    const exprs = [...d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...d.annotations.list.flatMap((a) => (a.expr ? [a.expr] : []))];
    assert.ok(exprs.length >= 25, `only ${exprs.length} queries`);
    const filled = exprs.map((e) => e.replace(/\$__rate_interval/g, '5m').replace(/\$(job|director|virtual_server)\b/g, '.*'));
    const tmp = mkdtempSync(path.join(tmpdir(), 'lvsd-dash-'));
    try {
      const file = path.join(tmp, 'dashboard-queries.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${filled.map((e, n) => `      - record: lvsd_dashboard_query_${n}\n        expr: ${JSON.stringify(e)}\n`).join('')}`);
      const r = promtool(['check', 'rules', file], tmp);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, new RegExp(`SUCCESS: ${filled.length} rules found`));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('the dashboard is valid JSON over lvsd\'s metrics, with unique panel ids on a 24-column grid', () => {
    const have = exported();
    const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      uid: string;
      templating: { list: Array<{ name: string; type: string; definition?: string }> };
      panels: Array<{ id: number; type: string; title: string; gridPos: { x: number; w: number; h: number; y: number }; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
    };
    assert.equal(d.uid, 'lvsd-overview');
    assert.deepEqual(d.templating.list.filter((v) => v.type === 'datasource').map((v) => v.name), ['datasource']);
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids repeat');
    const used = new Set<string>();
    for (const p of d.panels) {
      assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title} leaves the grid`);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, '${datasource}', `${p.title} does not use the datasource variable`);
      assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`);
      for (const t of p.targets ?? []) for (const n of namesIn(t.expr)) {
        assert.ok(have.has(n), `panel "${p.title}" uses ${n}, which lvsd does not export`);
        used.add(n);
      }
    }
    for (const v of d.templating.list) for (const n of namesIn(v.definition ?? '')) assert.ok(have.has(n), `variable ${v.name} uses ${n}`);
    // The headline metrics each have a panel.
    for (const n of ['lvsd_vrrp_state', 'lvsd_vrrp_priority', 'lvsd_real_server_up', 'lvsd_virtual_server_quorum_up', 'lvsd_ipvs_real_server_active_connections', 'lvsd_reconciler_errors_total', 'lvsd_child_restarts_total']) {
      assert.ok(used.has(n), `no panel shows ${n}`);
    }
  });
});
