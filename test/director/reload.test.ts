/**
 * Issue 10.5: a director reload applies only the difference, in two phases
 * (prepareReload without side effects, then commitReload or abortReload),
 * and says what changed service by service.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RealServerChecks } from '../../src/check/types';
import type { LvsdConfig } from '../../src/config/types';
import { Director, DirectorError } from '../../src/director/director';
import { schedulerHealthSource, type HealthSource } from '../../src/director/health';
import { FakeIpvs } from '../../src/kernel/ipvs/fake';
import { FakeClock } from '../../src/lib/clock';
import { createMemoryLogger } from '../../src/log';
import { intervalAudit } from '../../src/reconcile/audit';
import * as desired from '../../src/reconcile/desired';
import { conf, tableLines } from '../reconcile/helpers';

async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

const writes = (ipvs: FakeIpvs) => ipvs.calls.filter((c) => !['services', 'dests', 'daemons', 'info'].includes(c.method));

/** `n` virtual servers × 10 real servers, no checks; `weight(v, r)` per real server. */
function big(n: number, weight: (v: number, r: number) => number = () => 1): string[] {
  const out = ['[global]', 'log_level = error'];
  for (let v = 0; v < n; v++) {
    const port = 1024 + v;
    out.push(`[virtual_server.vs${v}]`, `address = 192.0.2.100:${port}`, 'lb_algo = wlc', 'lb_kind = NAT');
    for (let r = 0; r < 10; r++) out.push(`[real_server.vs${v}.rs${r}]`, `address = 198.51.100.${r + 1}:${port}`, `weight = ${weight(v, r)}`);
  }
  return out;
}

/** A health source that records what the director sends it. */
function spyHealth(): HealthSource & { sets: RealServerChecks[][]; updates: [RealServerChecks[], string[]][] } {
  const inner = schedulerHealthSource({ clock: new FakeClock(), probe: async () => ({ ok: true, reason: 'ok', durationMs: 1 }), random: () => 0 });
  const sets: RealServerChecks[][] = [];
  const updates: [RealServerChecks[], string[]][] = [];
  return {
    sets,
    updates,
    set: (s) => {
      sets.push(s);
      inner.set(s);
    },
    update: (s, r) => {
      updates.push([s, r]);
      inner.update(s, r);
    },
    onStates: (fn) => inner.onStates(fn),
    onChange: (fn) => inner.onChange(fn),
    stop: () => inner.stop(),
  };
}

const WITH_CHECKS = [
  '[check.web_health]', 'type = TCP_CHECK', 'delay_loop = 2',
  '[check.other]', 'type = TCP_CHECK', 'delay_loop = 3',
  '[virtual_server.web]', 'address = 192.0.2.100:80', 'lb_algo = wlc', 'lb_kind = NAT', 'check = web_health',
  '[real_server.web.web1]', 'address = 198.51.100.1:80', 'weight = 1',
  '[real_server.web.web2]', 'address = 198.51.100.2:80', 'weight = 1',
  '[real_server.web.web3]', 'address = 198.51.100.3:80', 'check = other',
];

describe('director: reload applies the difference, in two phases (issue 10.5)', () => {
  let dir: string;
  const directors: Director[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-reload-'));
  });
  afterEach(async () => {
    for (const d of directors.splice(0)) await d.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const make = (config: LvsdConfig, ipvs: FakeIpvs, health: HealthSource = spyHealth()): Director => {
    const clock = new FakeClock();
    const d = new Director({ config, ipvs, logger: createMemoryLogger('error'), clock, health, audit: intervalAudit(3600, clock), stateDir: path.join(dir, 'state') });
    directors.push(d);
    return d;
  };

  it('one weight changed at 1,000 × 10: one netlink write, one virtual server recomputed, no checks touched', async function () {
    this.timeout(60_000);
    const ipvs = new FakeIpvs();
    const health = spyHealth();
    const d = make(conf(big(1000)), ipvs, health);
    await d.start();
    await settle();
    assert.equal(ipvs.size.dests, 10_000);
    ipvs.clearCalls();
    const next = conf(big(1000, (v, r) => (v === 500 && r === 3 ? 2 : 1)));
    const real = desired.desiredServiceOf;
    let recomputed = 0;
    (desired as { desiredServiceOf: typeof real }).desiredServiceOf = (...a) => {
      recomputed++;
      return real(...a);
    };
    let changes: string[];
    const t0 = performance.now();
    try {
      changes = await d.reload(next);
    } finally {
      (desired as { desiredServiceOf: typeof real }).desiredServiceOf = real;
    }
    const ms = performance.now() - t0;
    assert.deepEqual(changes, ['virtual_server vs500: real_server rs3 weight 1 -> 2']);
    const w = writes(ipvs);
    assert.deepEqual(w.map((c) => c.method), ['editDest'], 'exactly one netlink write');
    assert.deepEqual((w[0]!.args[1] as { address: string; weight: number }), { address: '198.51.100.4', port: 1524, fwdMethod: 'NAT', weight: 2, upperThreshold: 0, lowerThreshold: 0 });
    assert.equal(recomputed, 1, 'only vs500 recomputed');
    assert.equal(health.updates.length, 0, 'no check changed: nothing sent to the checker');
    assert.equal(health.sets.length, 1, 'the whole check set is sent at start only');
    console.log(`      one-weight reload at 1,000 x 10 (director apply, fake IPVS): ${ms.toFixed(1)} ms`);
  });

  it('prepareReload has no side effect; abortReload drops the plan; a newer plan makes an older one stale; commit applies', async () => {
    const ipvs = new FakeIpvs();
    const health = spyHealth();
    const d = make(conf(WITH_CHECKS), ipvs, health);
    await d.start();
    await settle();
    const before = await tableLines(ipvs);
    ipvs.clearCalls();
    const next = conf(WITH_CHECKS.map((l) => (l === 'delay_loop = 2' ? 'delay_loop = 5' : l)).concat(['[real_server.web.web4]', 'address = 198.51.100.4:80', 'weight = 3']));
    const plan = await d.prepareReload(next);
    assert.deepEqual(plan.changes, ['virtual_server web: real_server web4 added', 'check web_health: delay_loop 2 -> 5']);
    assert.deepEqual(ipvs.calls, [], 'prepare touches no IPVS');
    assert.equal(health.updates.length, 0, 'prepare sends no check');
    d.abortReload(plan);
    await assert.rejects(d.commitReload(plan), (e: unknown) => e instanceof DirectorError && e.code === 'DIRECTOR_RELOAD_STALE');
    assert.deepEqual(await tableLines(ipvs), before);
    const older = await d.prepareReload(next);
    const newer = await d.prepareReload(next);
    await assert.rejects(d.commitReload(older), (e: unknown) => e instanceof DirectorError && e.code === 'DIRECTOR_RELOAD_STALE');
    await d.commitReload(newer);
    assert.deepEqual(await tableLines(ipvs), [...before, '  -> 198.51.100.4:80 NAT w=3']);
    // The checker gets web1, web2 (their check changed) and web4 (new); web3 runs another check: untouched.
    assert.deepEqual(health.updates.map(([s, r]) => [s.map((x) => x.rs), r]), [[['web/web4', 'web/web1', 'web/web2'], []]]);
    // A plan made against the configuration that was replaced no longer applies.
    await assert.rejects(d.commitReload(newer), (e: unknown) => e instanceof DirectorError && e.code === 'DIRECTOR_RELOAD_STALE');
  });

  it('says what changed, virtual server by virtual server', async () => {
    const ipvs = new FakeIpvs();
    const d = make(conf(WITH_CHECKS), ipvs);
    await d.start();
    const next = conf([
      ...WITH_CHECKS.filter((l) => l !== '[real_server.web.web3]' && l !== 'address = 198.51.100.3:80' && l !== 'check = other').map((l) => (l === 'lb_algo = wlc' ? 'lb_algo = rr' : l)),
      '[virtual_server.api]', 'address = 192.0.2.101:443', 'lb_kind = NAT',
      '[real_server.api.a]', 'address = 198.51.100.7:443', '[real_server.api.b]', 'address = 198.51.100.8:443', '[real_server.api.c]', 'address = 198.51.100.9:443',
    ]);
    const changes = await d.reload(next);
    assert.deepEqual(changes, [
      'virtual_server web: lb_algo wlc -> rr',
      'virtual_server web: real_server web3 removed',
      'virtual_server api: added (3 real servers)',
    ]);
    const t = await tableLines(ipvs);
    assert.ok(t.includes('TCP 192.0.2.100:80 rr') && t.includes('TCP 192.0.2.101:443 wlc'), t.join('\n'));
  });

  it('refuses a configuration it cannot apply, with a code, and changes nothing', async () => {
    const ipvs = new FakeIpvs();
    const cfg = conf(WITH_CHECKS);
    const d = make(cfg, ipvs);
    await d.start();
    const before = await tableLines(ipvs);
    const web = cfg.virtualServers.get('web')!;
    const twin = { ...cfg, virtualServers: new Map([...cfg.virtualServers, ['twin', { ...web, name: 'twin' }]]) };
    await assert.rejects(d.prepareReload(twin), (e: unknown) => e instanceof DirectorError && e.code === 'DIRECTOR_RELOAD_INVALID' && /"web" and "twin"/.test(e.message));
    assert.deepEqual(await tableLines(ipvs), before);
  });

  it('a virtual server whose address changes is re-created; one removed is deleted; the others are not touched', async () => {
    const ipvs = new FakeIpvs();
    const two = [...WITH_CHECKS, '[virtual_server.api]', 'address = 192.0.2.101:443', 'lb_kind = NAT', '[real_server.api.a]', 'address = 198.51.100.7:443'];
    const d = make(conf(two), ipvs);
    await d.start();
    await settle();
    ipvs.clearCalls();
    const moved = WITH_CHECKS.map((l) => (l === 'address = 192.0.2.100:80' ? 'address = 192.0.2.100:8080' : l));
    const changes = await d.reload(conf(moved));
    assert.deepEqual(changes, [
      'virtual_server web: address 192.0.2.100:80 -> 192.0.2.100:8080',
      'virtual_server web: the service is re-created (its address, port, protocol or fwmark changed)',
      'virtual_server api: removed (1 real server)',
    ]);
    const t = await tableLines(ipvs);
    assert.deepEqual(t.filter((l) => !l.startsWith('  ')), ['TCP 192.0.2.100:8080 wlc']);
    assert.equal(t.length, 4, t.join('\n'));
    const w = writes(ipvs).map((c) => c.method);
    assert.deepEqual(w.filter((m) => m === 'delService').length, 2);
    assert.deepEqual(w.filter((m) => m === 'addService').length, 1);
  });

  it('reads only the director\'s sections of next: empty VRRP maps (as the lead sends them) change nothing', async () => {
    const ipvs = new FakeIpvs();
    const withVrrp = [...WITH_CHECKS, '[vrrp_instance.VI_1]', 'interface = eth0', 'virtual_router_id = 51', 'virtual_ipaddress[] = 192.0.2.100/24'];
    const d = make(conf(withVrrp), ipvs);
    await d.start();
    await settle();
    ipvs.clearCalls();
    const parsed = conf(withVrrp.map((l) => (l === 'address = 198.51.100.3:80' ? 'address = 198.51.100.3:80\nweight = 4' : l)));
    const next: LvsdConfig = { ...parsed, vrrpInstances: new Map(), vrrpScripts: new Map(), vrrpSyncGroups: new Map() };
    assert.deepEqual(await d.reload(next), ['virtual_server web: real_server web3 weight 1 -> 4']);
    assert.deepEqual(writes(ipvs).map((c) => c.method), ['editDest']);
  });
});
