import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import { createMetrics, type MetricsSource, type VrrpView } from '../../src/metrics/registry';
import { MetricsListenError, MetricsServer } from '../../src/metrics/server';
import { sampleServices } from '../control/fixtures';

/** A fake source whose answers the test changes, counting how often each is asked. */
function fakeSource(): MetricsSource & { vrrpView: VrrpView | undefined; asked: { vrrp: number; director: number }; counts: Record<string, Record<string, number>> } {
  const src = {
    asked: { vrrp: 0, director: 0 },
    counts: { VI_1: { BACKUP: 1, MASTER: 2 } } as Record<string, Record<string, number>>,
    vrrpView: {
      instances: [
        { name: 'VI_1', state: 'MASTER', basePriority: 150, effectivePriority: 90, drops: { ttl: 2 }, counters: { advertsSent: 41, advertsReceived: 7 } },
        { name: 'VI_2', state: 'BACKUP', basePriority: 100, effectivePriority: 100, drops: {}, counters: { advertsSent: 0, advertsReceived: 33 } },
      ],
      drops: { vrid: 3 },
    } as VrrpView | undefined,
    info: () => ({ version: '0.1.0', routerId: 'lvs-a' }),
    vrrp: async () => {
      src.asked.vrrp++;
      return src.vrrpView;
    },
    director: async () => {
      src.asked.director++;
      return sampleServices();
    },
    transitions: () => src.counts,
  };
  return src;
}

/** The value of the series `name{labels}` in a text exposition, or undefined. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && line.split(' ')[0] !== name) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(',').filter(Boolean);
    if (got.length === want.length && want.every((w) => got.includes(w))) return Number(m[3]);
  }
  return undefined;
}

describe('metrics registry over a fake source', () => {
  it('exports VRRP state, transitions, adverts, drops and priorities', async () => {
    const src = fakeSource();
    const text = await createMetrics(src).metrics();
    assert.equal(value(text, 'lvsd_info', { version: '0.1.0', router_id: 'lvs-a' }), 1);
    assert.equal(value(text, 'lvsd_vrrp_state', { instance: 'VI_1', state: 'MASTER' }), 1);
    assert.equal(value(text, 'lvsd_vrrp_state', { instance: 'VI_1', state: 'BACKUP' }), 0);
    assert.equal(value(text, 'lvsd_vrrp_state', { instance: 'VI_2', state: 'BACKUP' }), 1);
    assert.equal(value(text, 'lvsd_vrrp_state', { instance: 'VI_2', state: 'FAULT' }), 0);
    assert.equal(value(text, 'lvsd_vrrp_transitions_total', { instance: 'VI_1', state: 'MASTER' }), 2);
    assert.equal(value(text, 'lvsd_vrrp_adverts_sent_total', { instance: 'VI_1' }), 41);
    assert.equal(value(text, 'lvsd_vrrp_adverts_received_total', { instance: 'VI_2' }), 33);
    assert.equal(value(text, 'lvsd_vrrp_drops_total', { instance: 'VI_1', reason: 'ttl' }), 2);
    assert.equal(value(text, 'lvsd_vrrp_drops_total', { instance: '', reason: 'vrid' }), 3);
    assert.equal(value(text, 'lvsd_vrrp_priority', { instance: 'VI_1' }), 90);
    assert.equal(value(text, 'lvsd_vrrp_base_priority', { instance: 'VI_1' }), 150);
    assert.match(text, /# TYPE lvsd_vrrp_transitions_total counter/);
    assert.match(text, /# TYPE lvsd_vrrp_state gauge/);
  });

  it('exports real-server health and weights and the IPVS counters', async () => {
    const text = await createMetrics(fakeSource()).metrics();
    const rs = (name: string, address: string): Record<string, string> => ({ virtual_server: 'web', real_server: name, address });
    assert.equal(value(text, 'lvsd_real_server_up', rs('rs1', '198.51.100.1:80')), 1);
    assert.equal(value(text, 'lvsd_real_server_up', rs('rs3', '198.51.100.3:80')), 0);
    assert.equal(value(text, 'lvsd_real_server_weight', rs('rs2', '198.51.100.2:80')), 0);
    assert.equal(value(text, 'lvsd_real_server_weight', rs('rs3', '198.51.100.3:80')), undefined, 'no weight while lvsd wants it out');
    assert.equal(value(text, 'lvsd_virtual_server_quorum_up', { virtual_server: 'web', service: 'TCP 192.0.2.100:80' }), 1);
    const svc = { virtual_server: 'web', service: 'TCP 192.0.2.100:80' };
    assert.equal(value(text, 'lvsd_ipvs_service_connections_total', svc), 40);
    assert.equal(value(text, 'lvsd_ipvs_service_in_packets_total', svc), 400);
    assert.equal(value(text, 'lvsd_ipvs_service_out_bytes_total', svc), 300000);
    assert.equal(value(text, 'lvsd_ipvs_real_server_active_connections', rs('rs1', '198.51.100.1:80')), 7);
    assert.equal(value(text, 'lvsd_ipvs_real_server_inactive_connections', rs('rs1', '198.51.100.1:80')), 3);
    assert.equal(value(text, 'lvsd_ipvs_real_server_connections_total', rs('rs1', '198.51.100.1:80')), 20);
    assert.equal(value(text, 'lvsd_ipvs_real_server_in_packets_total', rs('rs1', '198.51.100.1:80')), 50);
    assert.equal(value(text, 'lvsd_ipvs_real_server_out_bytes_total', rs('rs1', '198.51.100.1:80')), 40000);
    assert.equal(value(text, 'lvsd_ipvs_real_server_weight', rs('rs1', '198.51.100.1:80')), 1);
    assert.equal(value(text, 'lvsd_ipvs_real_server_active_connections', rs('rs3', '198.51.100.3:80')), undefined, 'not in the kernel: no series');
  });

  it('collects on scrape: one source call per scrape, fresh values each time, vanished instances gone', async () => {
    const src = fakeSource();
    const m = createMetrics(src);
    assert.deepEqual(src.asked, { vrrp: 0, director: 0 }, 'nothing is read before a scrape');
    await m.metrics();
    assert.deepEqual(src.asked, { vrrp: 1, director: 1 });
    src.vrrpView = { instances: [{ name: 'VI_2', state: 'MASTER', basePriority: 100, effectivePriority: 100, drops: {}, counters: { advertsSent: 5, advertsReceived: 33 } }], drops: {} };
    src.counts = { VI_2: { MASTER: 1 } };
    const text = await m.metrics();
    assert.deepEqual(src.asked, { vrrp: 2, director: 2 });
    assert.equal(value(text, 'lvsd_vrrp_state', { instance: 'VI_2', state: 'MASTER' }), 1);
    assert.equal(value(text, 'lvsd_vrrp_state', { instance: 'VI_1', state: 'MASTER' }), undefined);
    assert.equal(value(text, 'lvsd_vrrp_transitions_total', { instance: 'VI_1', state: 'MASTER' }), undefined);
  });

  it('exports the reconciler, the sync daemon, the kernel\'s rates and the VRID of each instance', async () => {
    const src = fakeSource();
    const dir = sampleServices();
    src.director = async () => ({ ...dir, reconciler: { ...dir.reconciler, errors: 4, driftRepaired: 2 }, syncDaemon: { interface: 'eth0', instance: 'VI_1', syncId: 51, port: 8848, wanted: 'master', running: 'master', errors: 0, lastError: null } });
    src.vrrpView = { instances: [{ name: 'VI_1', state: 'MASTER', basePriority: 150, effectivePriority: 150, drops: {}, vrid: 51, interface: 'eth0' }], drops: {} };
    const text = await createMetrics(src).metrics();
    assert.equal(value(text, 'lvsd_reconciler_errors_total', {}), 4);
    assert.equal(value(text, 'lvsd_reconciler_drift_repaired_total', {}), 2);
    assert.equal(value(text, 'lvsd_reconciler_passes_total', {}), 3);
    assert.equal(value(text, 'lvsd_reconciler_operations_total', {}), 5);
    assert.equal(value(text, 'lvsd_sync_daemon_state', { role: 'master' }), 1);
    assert.equal(value(text, 'lvsd_sync_daemon_state', { role: 'backup' }), 0);
    const svc = { virtual_server: 'web', service: 'TCP 192.0.2.100:80' };
    assert.equal(value(text, 'lvsd_ipvs_service_connections_per_second', svc), 2);
    assert.equal(value(text, 'lvsd_ipvs_service_in_bytes_per_second', svc), 500);
    assert.equal(value(text, 'lvsd_ipvs_service_out_packets_per_second', svc), 4);
    const rs1 = { virtual_server: 'web', real_server: 'rs1', address: '198.51.100.1:80' };
    assert.equal(value(text, 'lvsd_ipvs_real_server_connections_per_second', rs1), 2);
    assert.equal(value(text, 'lvsd_ipvs_real_server_out_bytes_per_second', rs1), 4000);
    assert.equal(value(text, 'lvsd_ipvs_real_server_connections_per_second', { ...rs1, real_server: 'rs3', address: '198.51.100.3:80' }), undefined, 'not in the kernel: no rate');
    assert.equal(value(text, 'lvsd_vrrp_instance_info', { instance: 'VI_1', vrid: '51', interface: 'eth0' }), 1);
    const start = value(text, 'lvsd_start_time_seconds', {})!;
    assert.ok(Math.abs(start - (Date.now() / 1000 - process.uptime())) < 5, `start time ${start}`);
    assert.equal(value(text, 'lvsd_reloads_total', { result: 'ok' }), undefined, 'no reload series without the source');
    assert.equal(value(text, 'lvsd_child_restarts_total', { process: 'vrrp' }), undefined);
  });

  it('exports reloads, child restarts and notify failures from the optional sources, read on scrape', async () => {
    const src = fakeSource();
    let reloads: { ok: number; refused?: number; failed: number; lastOk: boolean | null } = { ok: 3, failed: 0, lastOk: true };
    const restarts: Record<string, number> = { vrrp: 0, director: 2 };
    const m = createMetrics({ ...src, reloads: () => reloads, childRestarts: () => restarts, notifyFailures: () => ({ hook: 1, webhook: 5 }) });
    let text = await m.metrics();
    assert.equal(value(text, 'lvsd_reloads_total', { result: 'ok' }), 3);
    assert.equal(value(text, 'lvsd_reloads_total', { result: 'failed' }), 0);
    assert.equal(value(text, 'lvsd_config_last_reload_successful', {}), 1);
    assert.equal(value(text, 'lvsd_child_restarts_total', { process: 'director' }), 2);
    assert.equal(value(text, 'lvsd_notify_failures_total', { kind: 'webhook' }), 5);
    assert.match(text, /# TYPE lvsd_child_restarts_total counter/);
    assert.equal(value(text, 'lvsd_reloads_total', { result: 'refused' }), 0);
    reloads = { ok: 3, refused: 2, failed: 1, lastOk: false };
    restarts.vrrp = 1;
    text = await m.metrics();
    assert.equal(value(text, 'lvsd_reloads_total', { result: 'failed' }), 1);
    assert.equal(value(text, 'lvsd_reloads_total', { result: 'refused' }), 2);
    assert.equal(value(text, 'lvsd_config_last_reload_successful', {}), 0);
    assert.equal(value(text, 'lvsd_child_restarts_total', { process: 'vrrp' }), 1);
  });

  it('exports each child process\'s state, one series per state, 1 for the current one', async () => {
    const states: Record<string, string> = { vrrp: 'running', director: 'crash-loop' };
    const m = createMetrics({ ...fakeSource(), childStates: () => states });
    let text = await m.metrics();
    assert.equal(value(text, 'lvsd_child_process_state', { process: 'director', state: 'crash-loop' }), 1);
    assert.equal(value(text, 'lvsd_child_process_state', { process: 'director', state: 'running' }), 0);
    assert.equal(value(text, 'lvsd_child_process_state', { process: 'vrrp', state: 'running' }), 1);
    states.director = 'running';
    text = await m.metrics();
    assert.equal(value(text, 'lvsd_child_process_state', { process: 'director', state: 'crash-loop' }), 0);
    assert.equal(value(text, 'lvsd_child_process_state', { process: 'director', state: 'running' }), 1);
  });

  it('a source that fails or has nothing gives no series, not a failed scrape', async () => {
    const src = fakeSource();
    src.vrrp = async () => {
      throw new Error('VRRP process not answering');
    };
    src.director = () => undefined;
    const text = await createMetrics(src).metrics();
    assert.equal(value(text, 'lvsd_vrrp_state', { instance: 'VI_1', state: 'MASTER' }), undefined);
    assert.equal(value(text, 'lvsd_real_server_up', { virtual_server: 'web', real_server: 'rs1', address: '198.51.100.1:80' }), undefined);
    assert.equal(value(text, 'lvsd_info', { version: '0.1.0', router_id: 'lvs-a' }), 1);
  });
});

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metrics HTTP server', () => {
  it('serves /metrics in the text format and 404 elsewhere, 405 for other methods', async () => {
    const server = new MetricsServer(createMetrics(fakeSource()));
    const addr = await server.listen('127.0.0.1', 0);
    try {
      const ok = await get(addr.port, '/metrics');
      assert.equal(ok.status, 200);
      assert.match(ok.type ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(ok.body, /^lvsd_vrrp_state\{instance="VI_1",state="MASTER"\} 1$/m);
      for (const p of ['/metricsx', '/debug', '/status']) assert.equal((await get(addr.port, p)).status, 404, p);
      assert.equal((await get(addr.port, '/metrics', 'POST')).status, 405);
    } finally {
      await server.close();
    }
  });

  it('fails to listen with a stable code and the address in the message', async () => {
    const a = new MetricsServer(createMetrics(fakeSource()));
    const bound = await a.listen('127.0.0.1', 0);
    const b = new MetricsServer(createMetrics(fakeSource()));
    try {
      await assert.rejects(b.listen('127.0.0.1', bound.port), (e: unknown) => e instanceof MetricsListenError && e.code === 'METRICS_LISTEN' && e.message.includes(`127.0.0.1:${bound.port}`));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
