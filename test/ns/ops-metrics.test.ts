/**
 * Scrapes a running lvsd's /metrics inside a namespace: VRRP state, priority
 * and adverts from a live instance; real-server health from live TCP checks
 * (one real server listening, one refusing); 404 off /metrics. The director
 * runs over --dry-run's in-memory IPVS (the host kernel has no IPVS), so the
 * kernel counters are those of the fake table. Root only; fails without.
 */
import { strict as assert } from 'node:assert';
import { Topology, waitFor } from '../lib/netns';
import { LVSCTL, LVSD, Scratch, lvsdConfig } from '../lib/director';

const SCRAPE = `
const http = require('node:http');
const [url] = process.argv.slice(1);
http.get(url, (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => { process.stdout.write(JSON.stringify({ status: res.statusCode, type: res.headers['content-type'], body: b })); }); })
  .on('error', (e) => { process.stderr.write(e.message); process.exit(1); });`;

const LISTEN = `require('node:net').createServer((s) => s.end()).listen(8080, '198.51.100.1');`;

describe('ops: lvsd serves Prometheus metrics on metrics_listen', function () {
  this.timeout(60_000);
  let topo: Topology;
  let scratch: Scratch;
  let sock: string;

  const scrape = async (path: string): Promise<{ status: number; type: string; body: string }> =>
    JSON.parse(await topo.run('d1', [process.execPath, '-e', SCRAPE, `http://127.0.0.1:9650${path}`])) as { status: number; type: string; body: string };
  const series = (text: string, re: RegExp): number | undefined => {
    const m = text.split('\n').find((l) => re.test(l));
    return m === undefined ? undefined : Number(m.split(' ').pop());
  };

  before(async () => {
    topo = await Topology.create('opsm');
    scratch = new Scratch();
    await topo.addHost('d1', ['192.0.2.11/24']);
    await topo.run('d1', ['ip', 'addr', 'add', '198.51.100.1/32', 'dev', 'lo']);
    topo.spawn('d1', [process.execPath, '-e', LISTEN]);
    sock = scratch.path('d1.sock');
    const conf = lvsdConfig('lvs-m', sock, [{ name: 'VI_1', priority: 150, advertInt: 0.1, vips: ['192.0.2.100/24'] }], [
      'metrics_listen = 127.0.0.1:9650',
      `state_dir = ${scratch.path('state')}`,
    ]) + [
      '[check.tcp]', 'type = TCP_CHECK', 'connect_timeout = 1', 'delay_loop = 1', 'retry = 0', '',
      '[virtual_server.web]', 'address = 192.0.2.100:80', 'protocol = TCP', 'lb_algo = rr', 'lb_kind = NAT', 'check = tcp', '',
      '[real_server.web.rs1]', 'address = 198.51.100.1:8080', 'weight = 3', '',
      '[real_server.web.rs2]', 'address = 198.51.100.1:8081', 'weight = 2', '',
    ].join('\n');
    const file = scratch.file('d1.conf', conf);
    const p = topo.spawn('d1', [process.execPath, LVSD, '--config', file, '--dry-run']);
    await waitFor('lvsd to answer', async () => {
      if (p.child.exitCode !== null) throw new Error(`lvsd exited ${p.child.exitCode}: ${p.output().slice(-2000)}`);
      return (await topo.exec('d1', [process.execPath, LVSCTL, '--socket', sock, 'status'])).code === 0;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    await waitFor('/metrics to answer', async () => (await topo.exec('d1', [process.execPath, '-e', SCRAPE, 'http://127.0.0.1:9650/metrics'])).code === 0, { timeoutMs: 15_000, intervalMs: 200 });
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('exports the live VRRP instance: MASTER, effective priority, adverts sent, a transition', async () => {
    const text = await waitFor('VI_1 master in the metrics', async () => {
      const r = await scrape('/metrics');
      // The state is read from the VRRP process and the transition counts in the parent, each at its
      // own moment of the scrape: a scrape taken as the transition happens can hold one and not the other.
      const master = series(r.body, /^lvsd_vrrp_state\{instance="VI_1",state="MASTER"\} /) === 1;
      return master && series(r.body, /^lvsd_vrrp_transitions_total\{instance="VI_1",state="MASTER"\} /) !== undefined ? r : undefined;
    }, { timeoutMs: 5000, intervalMs: 100 });
    assert.equal(text.status, 200);
    assert.match(text.type, /^text\/plain/);
    assert.equal(series(text.body, /^lvsd_vrrp_state\{instance="VI_1",state="BACKUP"\} /), 0);
    assert.equal(series(text.body, /^lvsd_vrrp_priority\{instance="VI_1"\} /), 150);
    assert.equal(series(text.body, /^lvsd_vrrp_transitions_total\{instance="VI_1",state="MASTER"\} /), 1);
    const sent1 = series(text.body, /^lvsd_vrrp_adverts_sent_total\{instance="VI_1"\} /)!;
    assert.ok(sent1 >= 1, `adverts sent ${sent1}`);
    await new Promise((r) => setTimeout(r, 500));
    const sent2 = series((await scrape('/metrics')).body, /^lvsd_vrrp_adverts_sent_total\{instance="VI_1"\} /)!;
    assert.ok(sent2 >= sent1 + 3, `read on scrape: ${sent1} then ${sent2} after 0.5 s at advert 0.1 s`);
    assert.match(text.body, /^lvsd_info\{version="[^"]+",router_id="lvs-m"\} 1$/m);
  });

  it('exports real-server health and weights from live checks, and the (dry-run) table', async () => {
    const r = await waitFor('rs1 up and rs2 down', async () => {
      const x = await scrape('/metrics');
      const up1 = series(x.body, /^lvsd_real_server_up\{virtual_server="web",real_server="rs1",address="198\.51\.100\.1:8080"\} /);
      const up2 = series(x.body, /^lvsd_real_server_up\{virtual_server="web",real_server="rs2",address="198\.51\.100\.1:8081"\} /);
      return up1 === 1 && up2 === 0 ? x : undefined;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    assert.equal(series(r.body, /^lvsd_real_server_weight\{virtual_server="web",real_server="rs1",/), 3);
    assert.equal(series(r.body, /^lvsd_real_server_weight\{virtual_server="web",real_server="rs2",/), undefined, 'a down real server is out');
    assert.equal(series(r.body, /^lvsd_ipvs_real_server_weight\{virtual_server="web",real_server="rs1",/), 3, 'the table holds rs1 at weight 3');
    assert.equal(series(r.body, /^lvsd_ipvs_real_server_active_connections\{virtual_server="web",real_server="rs1",/), 0);
    assert.equal(series(r.body, /^lvsd_virtual_server_quorum_up\{virtual_server="web",/), 1);
    // The checker's own figures, per real server and check: runs by result and how long they took.
    const ok1 = series(r.body, /^lvsd_check_results_total\{virtual_server="web",real_server="rs1",address="198\.51\.100\.1:8080",check="tcp",result="ok"\} /);
    const failed2 = series(r.body, /^lvsd_check_results_total\{virtual_server="web",real_server="rs2",address="198\.51\.100\.1:8081",check="tcp",result="failed"\} /);
    assert.ok(ok1 !== undefined && ok1 >= 1, `rs1's successful runs counted: ${ok1}`);
    assert.ok(failed2 !== undefined && failed2 >= 1, `rs2's failed runs counted: ${failed2}`);
    const count1 = series(r.body, /^lvsd_check_duration_seconds_count\{virtual_server="web",real_server="rs1",address="198\.51\.100\.1:8080",check="tcp"\} /);
    assert.ok(count1 !== undefined && count1 >= ok1, `every run of rs1 timed: ${count1}`);
  });

  it('answers 404 off /metrics, /status.json and the status page', async () => {
    for (const p of ['/status', '/metrics/x', '/index.html']) assert.equal((await scrape(p)).status, 404, p);
  });
});
