/**
 * The status page's document (/status.json) and the listener's page routes:
 * what the page shows comes from the metrics' sources, field by field; no
 * secret a status answer might carry (auth_pass, a webhook URL with its
 * token) reaches it; the static page is served with a strict CSP.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sampleServices, sampleStatus } from '../control/fixtures';
import { createMetrics, type MetricsSource, STATUS_REUSE_MS } from '../../src/metrics/registry';
import { MetricsServer } from '../../src/metrics/server';
import { buildStatus, redact, STATUS_EVENTS, timelineEvent } from '../../src/metrics/status';

const NOW = new Date('2026-12-03T12:00:00Z');

/** A source like the supervisor's: the control status (with secrets planted in it) and the director's. */
function source(over: Partial<MetricsSource> = {}): MetricsSource {
  const st = sampleStatus(NOW);
  const leaky = {
    ...st,
    instances: st.instances.map((i, n) => ({
      ...i,
      authPass: 's3cret-pass',
      auth_pass: 's3cret-pass',
      notify: 'https://ops:hunter2@hooks.example.net/lvsd?token=abc123',
      ...(n === 0 ? { tracking: [{ kind: 'script', name: 'chk_nginx', state: 'down', weight: -60, contribution: -60 }, { kind: 'interface', name: 'eth1', state: 'up', weight: 0, contribution: 0 }] } : {}),
    })),
  };
  const dir = sampleServices();
  const leakyDir = { ...dir, webhook: 'https://hooks.example.net/x?token=abc123', virtualServers: dir.virtualServers.map((vs) => ({ ...vs, realServers: vs.realServers.map((rs) => ({ ...rs, authPass: 's3cret-pass' })) })) };
  return {
    info: () => ({ version: '0.1.0', routerId: 'lvs-a' }),
    vrrp: async () => leaky,
    director: async () => leakyDir,
    transitions: () => ({}),
    events: () => [
      { at: '2026-12-03T11:57:00.000Z', instance: 'VI_1', from: 'INIT', to: 'BACKUP', reason: 'startup' },
      { seq: 7, at: '2026-12-03T11:58:00.000Z', subsystem: 'vrrp', severity: 'info', subject: 'VI_1', message: 'BACKUP -> MASTER: master down timer expired', fields: { from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' }, instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' },
      { seq: 8, at: '2026-12-03T11:58:30.000Z', subsystem: 'check', severity: 'warn', subject: 'web/rs3', message: 'DOWN: ECONNREFUSED', fields: { from: 'up', to: 'down' } },
      { seq: 9, at: '2026-12-03T11:59:00.000Z', subsystem: 'notify', severity: 'error', subject: 'ops', message: 'delivery to https://ops:hunter2@hooks.example.net/lvsd?token=abc123 failed: HTTP 500', fields: {} },
    ],
    ...over,
  };
}

describe('status document (/status.json)', () => {
  it('shows the instances with priority and why, the services with their real servers, and the timeline', async () => {
    const doc = await buildStatus(source(), () => NOW);
    assert.equal(doc.schema, 1);
    assert.equal(doc.generatedAt, NOW.toISOString());
    assert.deepEqual(doc.lvsd, { version: '0.1.0', routerId: 'lvs-a' });
    const vi1 = doc.vrrp!.instances[0]!;
    assert.deepEqual(
      { name: vi1.name, state: vi1.state, vrid: vi1.vrid, interface: vi1.interface, base: vi1.basePriority, eff: vi1.effectivePriority, master: vi1.master, group: vi1.syncGroup },
      { name: 'VI_1', state: 'MASTER', vrid: 51, interface: 'eth0', base: 150, eff: 90, master: { address: '192.0.2.11', priority: 90 }, group: 'G1' },
    );
    assert.deepEqual(vi1.lastTransition, { from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired', at: new Date(NOW.getTime() - 125_000).toISOString() });
    assert.deepEqual(vi1.tracking, [
      { kind: 'script', name: 'chk_nginx', state: 'down', weight: -60, contribution: -60 },
      { kind: 'interface', name: 'eth1', state: 'up', weight: 0, contribution: 0 },
    ]);
    assert.deepEqual(doc.vrrp!.instances[1]!.tracking, []);
    assert.equal(doc.vrrp!.instances[1]!.lastTransition, null);
    const web = doc.director!.virtualServers[0]!;
    assert.deepEqual({ name: web.name, service: web.service, quorum: web.quorum, rate: web.rate }, { name: 'web', service: 'TCP 192.0.2.100:80', quorum: { up: true, weightSum: 3, quorum: 1 }, rate: { cps: 2, inbps: 500, outbps: 4000 } });
    assert.deepEqual(web.realServers.map((r) => [r.name, r.health, r.configuredWeight, r.effectiveWeight, r.kernel?.weight ?? null, r.kernel?.activeConns ?? null, r.kernel?.inactConns ?? null, r.override]), [
      ['rs1', 'up', 1, 1, 1, 7, 3, null],
      ['rs2', 'up', 2, 0, 0, 1, 0, 'drain'],
      ['rs3', 'down', 1, null, null, null, null, null],
    ]);
    assert.equal(web.realServers[2]!.reason, 'ECONNREFUSED');
    assert.deepEqual(doc.events.map((e) => [e.kind, e.severity, e.subject, e.from, e.to, e.message]), [
      ['vrrp', 'info', 'VI_1', 'INIT', 'BACKUP', 'startup'],
      ['vrrp', 'info', 'VI_1', 'BACKUP', 'MASTER', 'master down timer expired'],
      ['check', 'warn', 'web/rs3', 'up', 'down', 'DOWN: ECONNREFUSED'],
      ['notify', 'error', 'ops', null, null, 'delivery to https://hooks.example.net/lvsd failed: HTTP 500'],
    ]);
  });

  it('carries no secret: auth_pass, webhook credentials and query strings never appear', async () => {
    const text = JSON.stringify(await buildStatus(source(), () => NOW));
    for (const secret of ['s3cret-pass', 'hunter2', 'abc123', 'token', 'authPass', 'auth_pass', 'hooks.example.net/lvsd?']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.match(text, /delivery to https:\/\/hooks\.example\.net\/lvsd failed: HTTP 500/);
  });

  it('redact() drops URL credentials, queries and fragments, and leaves other text alone', () => {
    assert.equal(redact('POST https://u:p@h.example.net:8443/a/b?token=x&y=1 failed'), 'POST https://h.example.net:8443/a/b failed');
    assert.equal(redact('http://h.example.net/x#frag'), 'http://h.example.net/x');
    assert.equal(redact('status 503 from 198.51.100.1:80'), 'status 503 from 198.51.100.1:80');
  });

  it('pages asking within a second share one answer: the director is asked once', async () => {
    let asked = 0;
    const m = createMetrics(source({ director: async () => (asked++, sampleServices()) }));
    const [a, b] = await Promise.all([m.status(), m.status()]);
    await m.status();
    assert.equal(asked, 1, 'three requests within a second');
    assert.equal(a, b);
    await new Promise((r) => setTimeout(r, STATUS_REUSE_MS + 50));
    await m.status();
    assert.equal(asked, 2, 'a request after a second is answered afresh');
  });

  it('a part that fails or is absent is null / empty, not a failed page', async () => {
    const doc = await buildStatus(source({ vrrp: async () => { throw new Error('VRRP process restarting'); }, director: () => undefined, events: undefined }));
    assert.equal(doc.vrrp, null);
    assert.equal(doc.director, null);
    assert.deepEqual(doc.events, []);
  });

  it('keeps the newest events only, and skips records without a time', async () => {
    const many = Array.from({ length: STATUS_EVENTS + 5 }, (_, n) => ({ at: new Date(NOW.getTime() + n * 1000).toISOString(), instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: `#${n}` }));
    const doc = await buildStatus(source({ events: () => many }));
    assert.equal(doc.events.length, STATUS_EVENTS);
    assert.equal(doc.events[0]!.message, '#5');
    assert.equal(timelineEvent({ instance: 'VI_1' }), null);
    assert.equal(timelineEvent({ at: 0, subsystem: 'RELOAD', message: 'ok' })!.kind, 'reload');
  });
});

function get(port: number, p: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('status page routes on the metrics listener', () => {
  it('serves the page, its script and style with a strict CSP, and /status.json', async () => {
    const server = new MetricsServer(createMetrics(source()));
    const { port } = await server.listen('127.0.0.1', 0);
    try {
      const page = await get(port, '/');
      assert.equal(page.status, 200);
      assert.match(page.headers['content-type'] ?? '', /^text\/html/);
      assert.match(String(page.headers['content-security-policy'] ?? ''), /script-src 'self'/);
      assert.match(page.body, /<script src="\/status\.js" defer><\/script>/);
      assert.ok(!/<script>/.test(page.body), 'no inline script (the CSP forbids it)');
      const js = await get(port, '/status.js');
      assert.equal(js.status, 200);
      assert.match(js.headers['content-type'] ?? '', /^text\/javascript/);
      assert.match(js.body, /\/status\.json/);
      assert.ok(!/innerHTML/.test(js.body), 'the page never parses text as HTML');
      assert.equal((await get(port, '/status.css')).status, 200);
      const json = await get(port, '/status.json');
      assert.equal(json.status, 200);
      assert.match(json.headers['content-type'] ?? '', /^application\/json/);
      assert.equal(json.headers['cache-control'], 'no-store');
      assert.equal((JSON.parse(json.body) as { vrrp: { instances: unknown[] } }).vrrp.instances.length, 2);
      assert.equal((await get(port, '/status.json', 'POST')).status, 405);
      assert.equal((await get(port, '/', 'HEAD')).body, '');
      for (const p of ['/index.html', '/../package.json', '/status', '/page/status.js']) assert.equal((await get(port, p)).status, 404, p);
    } finally {
      await server.close();
    }
  });

  it('says the page is not installed when its files are missing, and still serves the data', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'lvsd-page-'));
    const server = new MetricsServer(createMetrics(source()), undefined, empty);
    const { port } = await server.listen('127.0.0.1', 0);
    try {
      const r = await get(port, '/');
      assert.equal(r.status, 500);
      assert.match(r.body, /status page is not installed .*index\.html missing: run "npm run build"/);
      assert.equal((await get(port, '/status.json')).status, 200);
      assert.equal((await get(port, '/metrics')).status, 200);
    } finally {
      await server.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
