/**
 * Issue 14: `lvsctl show services` (and `--json`), the status page and every
 * Prometheus scrape are served from the reconciler's snapshot plus one
 * batched read of the kernel's counters. A director at 1,000 virtual servers
 * × 10 real servers on the real IpvsClient over a recording netlink kernel
 * (test/kernel/ipvs-netlink-kernel.ts): a status answer and a scrape each send
 * one netlink request (a GET_SERVICE dump), not one dest dump per service
 * (1,001 before), and the figures are the kernel's: service counters fresh,
 * dest weights and connection counts from /proc/net/ip_vs, dest traffic
 * counters from the background read, with their age.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../src/config/load';
import { formatServices } from '../../src/control/format-services';
import { Director } from '../../src/director/director';
import { IPVS_CMD } from '../../src/kernel/ipvs/wire/constants';
import { FakeClock } from '../../src/lib/clock';
import { createMemoryLogger } from '../../src/log';
import { createMetrics } from '../../src/metrics/registry';
import { intervalAudit } from '../../src/reconcile/audit';
import { IpvsNetlinkKernel } from '../kernel/ipvs-netlink-kernel';
import { allUpHealth } from '../lib/health-source';

const SERVICES = 1000;
const REAL_SERVERS = 10;

function configText(n: number): string {
  const out = ['[global]', 'log_level = error'];
  for (let v = 0; v < n; v++) {
    out.push(`[virtual_server.vs${v}]`, `address = 192.0.2.100:${1024 + v}`, 'lb_algo = wlc', 'lb_kind = NAT');
    for (let r = 0; r < REAL_SERVERS; r++) out.push(`[real_server.vs${v}.rs${r}]`, `address = 198.51.100.${r + 1}:80`, `weight = ${r + 1}`);
  }
  return out.join('\n');
}

const allUp = allUpHealth;

async function quiet(kernel: IpvsNetlinkKernel): Promise<void> {
  // Until no request arrived for 100 ms (the background read of the dests has ended).
  let seen = -1;
  while (seen !== kernel.count()) {
    seen = kernel.count();
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('status and metrics at 1,000 × 10: one batched kernel read (issue 14)', function () {
  this.timeout(180_000);
  let dir: string;
  let kernel: IpvsNetlinkKernel;
  let director: Director;
  const clock = new FakeClock();

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lvsd-scrape-'));
    const parsed = parseConfig(configText(SERVICES), 'scrape.conf', { host: null });
    assert.ok(parsed.config, 'config');
    kernel = new IpvsNetlinkKernel();
    const ipvs = kernel.client({ procPath: path.join(dir, 'ip_vs') });
    director = new Director({ config: parsed.config, ipvs, logger: createMemoryLogger('error'), clock, health: allUp(), audit: intervalAudit(3600, clock), stateDir: path.join(dir, 'state') });
    const r = await director.start();
    assert.deepEqual(r.errors, []);
    assert.equal(kernel.table.size.dests, SERVICES * REAL_SERVERS);
    await kernel.writeProc(path.join(dir, 'ip_vs'));
  });

  after(async () => {
    await director?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('show services --json: one GET_SERVICE dump per answer, the dests from /proc/net/ip_vs, their traffic counters read in the background with their age', async () => {
    kernel.tick = 5;
    const n0 = kernel.count();
    const first = await director.status();
    const firstRequests = kernel.requests.slice(n0).filter((q) => q.cmd === IPVS_CMD.GET_SERVICE);
    assert.equal(firstRequests.length, 1, 'one services dump');
    assert.equal(first.kernelError, null);
    assert.deepEqual(first.kernelCounters && { services: first.kernelCounters.services, connections: first.kernelCounters.connections }, { services: 'fresh', connections: 'fresh' });
    assert.equal(first.virtualServers.length, SERVICES);
    const vs7 = first.virtualServers[7]!;
    assert.equal(vs7.inKernel, true);
    assert.equal(vs7.stats?.conns, 5 * 1000 + 1031, 'service counters from the dump of this answer');
    assert.deepEqual(
      vs7.realServers.map((rs) => [rs.kernel?.weight, rs.kernel?.activeConns, rs.kernel?.inactConns]),
      Array.from({ length: REAL_SERVERS }, (_, r) => [r + 1, 2, 1]),
      'weights and connection counts from /proc/net/ip_vs',
    );
    // The background read of every service's dests (the only per-service dumps), on the reader's socket.
    await quiet(kernel);
    const sweep = kernel.requests.slice(n0).filter((q) => q.cmd === IPVS_CMD.GET_DEST);
    assert.equal(sweep.length, SERVICES, 'one background dest dump per service, once');
    assert.ok(sweep.every((q) => q.socket === 1), 'on the reader socket, not the reconciler one');

    kernel.tick = 6;
    clock.advance(3000);
    const counts: number[] = [];
    let second = first;
    for (let i = 0; i < 3; i++) {
      const n = kernel.count();
      second = JSON.parse(JSON.stringify(await director.status()));
      counts.push(kernel.count() - n);
    }
    assert.deepEqual(counts, [1, 1, 1], 'netlink requests per show services --json');
    const v = second.virtualServers[7]!;
    assert.equal(v.stats?.conns, 6 * 1000 + 1031, 'service counters fresh');
    const rs3 = v.realServers[3]!;
    assert.equal(rs3.kernel?.conns, 5 * 1000 + 1031 + 80 * 7, 'dest traffic counters: the background read at tick 5');
    assert.equal(rs3.kernel?.statsAgeMs, 3000, 'with their age');
    assert.equal(second.kernelCounters?.destStatsMaxAgeMs, 3000);
    assert.match(formatServices(second), /\nkernel: KWEIGHT, ACTIVE and INACT read now; CPS up to 3 s old \(re-read in the background every 10 s at most\)\n$/);
  });

  it('a Prometheus scrape sends one netlink request, whatever the table size', async () => {
    const m = createMetrics({ info: () => ({ version: 't', routerId: 'r' }), vrrp: () => undefined, director: () => director.status(), transitions: () => ({}) });
    const counts: number[] = [];
    let text = '';
    for (let i = 0; i < 2; i++) {
      const n = kernel.count();
      text = await m.metrics();
      counts.push(kernel.count() - n);
    }
    assert.deepEqual(counts, [1, 1], 'netlink requests per scrape');
    assert.match(text, /lvsd_ipvs_real_server_active_connections\{virtual_server="vs999",real_server="rs9",address="198\.51\.100\.10:80"\} 2\n/);
    assert.match(text, /lvsd_ipvs_service_connections_total\{virtual_server="vs0",service="TCP 192\.0\.2\.100:1024"\} 7024\n/);
    assert.match(text, /lvsd_ipvs_real_server_stats_age_seconds 3\n/);
    const n = kernel.count();
    await m.status();
    assert.equal(kernel.count() - n, 1, 'netlink requests per status page document');
  });

  it('a status read while the reconciler dumps the table does not fail with EBUSY', async () => {
    // A whole-table read by the reconciler (the audit: one dest dump per service) with status asked meanwhile.
    const n0 = kernel.count();
    const audit = director.reconcile('start');
    await new Promise((r) => setImmediate(r));
    const answers = await Promise.all([director.status(), director.status()]);
    await audit;
    assert.ok(kernel.requests.slice(n0).some((q) => q.cmd === IPVS_CMD.GET_DEST && q.socket === 0), 'the reconciler dumped on its socket');
    assert.deepEqual(
      answers.map((a) => a.kernelError),
      [null, null],
    );
  });
});
