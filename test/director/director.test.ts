/**
 * The director end to end over FakeIpvs: real hysteresis from an in-process
 * check scheduler on a fake clock with scripted probes, a real state file in
 * a temporary directory, and a real notify script. Nothing sleeps.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CheckOptions, CheckResult } from '../../src/check/types';
import { formatServices } from '../../src/control/format-services';
import { Director, DirectorError } from '../../src/director/director';
import { schedulerHealthSource } from '../../src/director/health';
import { STATE_FILE } from '../../src/director/state';
import { FakeIpvs } from '../../src/kernel/ipvs/fake';
import type { ServiceKey } from '../../src/kernel/ipvs/types';
import { FakeClock } from '../../src/lib/clock';
import { createMemoryLogger } from '../../src/log';
import { NotifyRunner } from '../../src/notify/scripts';
import { intervalAudit } from '../../src/reconcile/audit';
import { conf, tableLines, WEB } from '../reconcile/helpers';

const KEY: ServiceKey = { family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 };
const WEB_TABLE = ['TCP 192.0.2.100:80 wlc', '  -> 198.51.100.1:80 NAT w=1', '  -> 198.51.100.2:80 NAT w=2'];

async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Checks every second, up after 2 good results, down after 1 bad one (no retry). */
const CHECK = ['[check.tcp]', 'type = TCP_CHECK', 'delay_loop = 1', 'retry = 0', 'rise = 2', 'fall = 1'];

function webLines(dir: string, extraGlobal: string[] = []): string[] {
  return ['[global]', `notify = ${dir}/notify.sh`, ...extraGlobal, ...CHECK, ...WEB.slice(2)];
}

interface Env {
  dir: string;
  ipvs: FakeIpvs;
  clock: FakeClock;
  /** The checks' own clock, apart from the director's (a checker process has its own). */
  checkClock: FakeClock;
  probes: Map<string, boolean>;
  notify: NotifyRunner;
  make(lines: string[]): Director;
  notified(): string[];
}

function env(): Env {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-director-'));
  const out = path.join(dir, 'notify.out');
  fs.writeFileSync(path.join(dir, 'notify.sh'), `#!/bin/sh\necho "$@" >> '${out}'\n`, { mode: 0o755 });
  const e: Env = {
    dir,
    ipvs: new FakeIpvs(),
    clock: new FakeClock(),
    checkClock: new FakeClock(),
    probes: new Map(),
    notify: new NotifyRunner({ timeoutMs: 10_000 }),
    make(lines) {
      const probe = async (o: CheckOptions): Promise<CheckResult> => {
        const ip = (o as { connect_ip: string }).connect_ip;
        const ok = e.probes.get(ip) ?? true;
        return { ok, reason: ok ? 'connected' : 'ECONNREFUSED', durationMs: 1 };
      };
      return new Director({
        config: conf(lines),
        ipvs: e.ipvs,
        logger: createMemoryLogger(),
        clock: e.clock,
        health: schedulerHealthSource({ clock: e.checkClock, probe, random: () => 0 }),
        notify: e.notify,
        audit: intervalAudit(60, e.clock),
        stateDir: path.join(dir, 'state'),
      });
    },
    notified() {
      try {
        return fs.readFileSync(out, 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    },
  };
  return e;
}

const writes = (ipvs: FakeIpvs) => ipvs.calls.filter((c) => !['services', 'dests', 'daemons', 'info'].includes(c.method)).map((c) => c.method);

describe('director', () => {
  let e: Env;
  const directors: Director[] = [];
  beforeEach(() => {
    e = env();
  });
  afterEach(async () => {
    for (const d of directors.splice(0)) await d.stop();
    await e.notify.close();
    fs.rmSync(e.dir, { recursive: true, force: true });
  });
  const start = async (lines: string[]) => {
    const d = e.make(lines);
    directors.push(d);
    await d.start();
    await settle();
    return d;
  };

  it('builds the table at start, leaves a foreign service alone, and records what it owns', async () => {
    const foreign: ServiceKey = { family: 4, protocol: 'UDP', address: '203.0.113.5', port: 53 };
    await e.ipvs.addService({ key: foreign, scheduler: 'rr', flags: { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false }, timeoutS: 0, netmask: 32 });
    await start(webLines(e.dir));
    assert.deepEqual(await tableLines(e.ipvs), [...WEB_TABLE, 'UDP 203.0.113.5:53 rr']);
    const state = JSON.parse(fs.readFileSync(path.join(e.dir, 'state', STATE_FILE), 'utf8'));
    assert.deepEqual(state, { version: 1, overrides: {}, managed: ['TCP/4/192.0.2.100/80'] });
  });

  it('a real server that fails its check leaves the table within one pass, and returns after rise', async () => {
    await start(webLines(e.dir));
    e.probes.set('198.51.100.2', false);
    await e.checkClock.advanceAsync(1000);
    await settle();
    assert.deepEqual(await tableLines(e.ipvs), WEB_TABLE.slice(0, 2));
    await e.notify.idle();
    assert.deepEqual(e.notified(), ['RS [198.51.100.2]:tcp:80 [192.0.2.100]:tcp:80 DOWN']);
    e.probes.set('198.51.100.2', true);
    await e.checkClock.advanceAsync(1000); // one success of the two rise needs
    await settle();
    assert.deepEqual(await tableLines(e.ipvs), WEB_TABLE.slice(0, 2));
    await e.checkClock.advanceAsync(1000);
    await settle();
    assert.deepEqual(await tableLines(e.ipvs), WEB_TABLE);
    await e.notify.idle();
    assert.deepEqual(e.notified(), ['RS [198.51.100.2]:tcp:80 [192.0.2.100]:tcp:80 DOWN', 'RS [198.51.100.2]:tcp:80 [192.0.2.100]:tcp:80 UP']);
  });

  it('drain keeps the dest at weight 0; disable removes it; enable restores it', async () => {
    const d = await start(webLines(e.dir));
    await d.drain('web', 'rs1');
    assert.deepEqual(await tableLines(e.ipvs), [WEB_TABLE[0], '  -> 198.51.100.1:80 NAT w=0', WEB_TABLE[2]]);
    await d.disable('web', 'rs2');
    assert.deepEqual(await tableLines(e.ipvs), [WEB_TABLE[0], '  -> 198.51.100.1:80 NAT w=0']);
    await d.enable('web', 'rs1');
    await d.enable('web', 'rs2');
    assert.deepEqual(await tableLines(e.ipvs), WEB_TABLE);
    await assert.rejects(d.drain('web', 'nope'), (x: unknown) => x instanceof DirectorError && x.code === 'DIRECTOR_UNKNOWN_REAL_SERVER');
  });

  it('overrides survive a restart (new Director, same state dir) and the restart adopts the table without changes', async () => {
    const d1 = await start(webLines(e.dir));
    await d1.drain('web', 'rs2');
    await d1.stop();
    directors.splice(0);
    e.ipvs.clearCalls();
    const d2 = await start(webLines(e.dir));
    assert.deepEqual(writes(e.ipvs), [], 'nothing rewritten on restart');
    assert.deepEqual(await tableLines(e.ipvs), [WEB_TABLE[0], WEB_TABLE[1], '  -> 198.51.100.2:80 NAT w=0']);
    assert.deepEqual([...d2.listOverrides()], [['web/rs2', 'drain']]);
    const st = await d2.status();
    assert.equal(st.virtualServers[0]!.realServers[1]!.override, 'drain');
    assert.equal(st.virtualServers[0]!.realServers[1]!.effectiveWeight, 0);
  });

  it('reload touches only the changed real server; untouched ones keep their health', async () => {
    const d = await start(webLines(e.dir));
    e.probes.set('198.51.100.1', false);
    await e.checkClock.advanceAsync(1000);
    await settle();
    assert.deepEqual(await tableLines(e.ipvs), [WEB_TABLE[0], WEB_TABLE[2]]);
    e.ipvs.clearCalls();
    const next = webLines(e.dir).map((l) => (l === 'weight = 2' ? 'weight = 5' : l));
    const changes = await d.reload(conf(next));
    assert.deepEqual(changes, ['virtual_server web: real_server rs2 weight 2 -> 5']);
    assert.deepEqual(
      e.ipvs.calls.filter((c) => !['services', 'dests'].includes(c.method)).map((c) => [c.method, (c.args[1] as { address: string }).address]),
      [['editDest', '198.51.100.2']],
    );
    // rs1 is still known down: not re-added by the reload.
    assert.deepEqual(await tableLines(e.ipvs), [WEB_TABLE[0], '  -> 198.51.100.2:80 NAT w=5']);
    const st = await d.status();
    assert.equal(st.virtualServers[0]!.realServers[0]!.health, 'down');
    assert.equal(st.virtualServers[0]!.realServers[0]!.reason, 'TCP_CHECK: ECONNREFUSED');
  });

  it('a virtual server removed while lvsd was down is deleted at restart; foreign services stay', async () => {
    const two = [...webLines(e.dir), '[virtual_server.dns]', 'address = 192.0.2.100:53', 'protocol = UDP', 'lb_algo = rr', '[real_server.dns.a]', 'address = 198.51.100.5:53'];
    const d1 = await start(two);
    await e.ipvs.addService({ key: { family: 4, protocol: 'TCP', address: '203.0.113.7', port: 25 }, scheduler: 'rr', flags: { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false }, timeoutS: 0, netmask: 32 });
    await d1.stop();
    directors.splice(0);
    await start(webLines(e.dir));
    assert.deepEqual(await tableLines(e.ipvs), [...WEB_TABLE, 'TCP 203.0.113.7:25 rr']);
  });

  it('the audit repairs drift injected by hand', async () => {
    await start(webLines(e.dir));
    await e.ipvs.editDest(KEY, { address: '198.51.100.1', port: 80, fwdMethod: 'NAT', weight: 50, upperThreshold: 0, lowerThreshold: 0 });
    await e.ipvs.delDest(KEY, { address: '198.51.100.2', port: 80 });
    e.clock.advance(60_000);
    await settle();
    assert.deepEqual(await tableLines(e.ipvs), WEB_TABLE);
  });

  it('the sync daemon follows the VRRP state of its instance', async () => {
    const d = await start(webLines(e.dir, ['lvs_sync_daemon = eth1 VI_IN id 4']).concat(['[vrrp_instance.VI_IN]', 'interface = eth1', 'virtual_router_id = 51']));
    assert.deepEqual((await e.ipvs.daemons()).map((x) => [x.state, x.ifname, x.syncId]), [['backup', 'eth1', 4]]);
    await d.onVrrpState('VI_IN', 'MASTER');
    assert.deepEqual((await e.ipvs.daemons()).map((x) => x.state), ['master']);
    await d.onVrrpState('VI_IN', 'BACKUP');
    assert.deepEqual((await e.ipvs.daemons()).map((x) => x.state), ['backup']);
    await d.stop();
    directors.splice(0);
    assert.deepEqual(await e.ipvs.daemons(), []);
  });

  it('status reports weights, health with reason, overrides and kernel figures', async () => {
    const d = await start(webLines(e.dir));
    e.probes.set('198.51.100.2', false);
    await e.checkClock.advanceAsync(1000);
    await settle();
    const st = await d.status();
    const vs = st.virtualServers[0]!;
    assert.equal(vs.service, 'TCP 192.0.2.100:80');
    assert.equal(vs.inKernel, true);
    assert.deepEqual(vs.quorum, { up: true, weightSum: 1, quorum: 1, hysteresis: 0 });
    assert.deepEqual(
      vs.realServers.map((r) => [r.name, r.address, r.configuredWeight, r.effectiveWeight, r.health, r.reason, r.disposition, r.kernel?.weight ?? null]),
      [
        ['rs1', '198.51.100.1:80', 1, 1, 'up', 'TCP_CHECK: not checked yet', 'up', 1],
        ['rs2', '198.51.100.2:80', 2, null, 'down', 'TCP_CHECK: ECONNREFUSED', 'down-removed', null],
      ],
    );
    assert.equal(st.kernelError, null);
    assert.equal(st.reconciler.errors, 0);
  });

  it('stop with lvs_flush_onstop = VS deletes only lvsd\'s services; the default leaves the table', async () => {
    const d = await start(webLines(e.dir));
    await d.stop();
    directors.splice(0);
    assert.deepEqual(await tableLines(e.ipvs), WEB_TABLE, 'default: connections continue after stop');
    await e.ipvs.addService({ key: { family: 4, protocol: 'TCP', address: '203.0.113.7', port: 25 }, scheduler: 'rr', flags: { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false }, timeoutS: 0, netmask: 32 });
    const d2 = await start(webLines(e.dir, ['lvs_flush_onstop = VS']));
    await d2.stop();
    directors.splice(0);
    assert.deepEqual(await tableLines(e.ipvs), ['TCP 203.0.113.7:25 rr']);
  });

  it('issue 11.5: a virtual server the kernel refuses is reported (status, onIpvsError) while the others keep changing', async () => {
    const ipvs = e.ipvs;
    ipvs.removeScheduler('twos');
    const seen: [string, string | null, string | null][] = [];
    const probe = async (o: CheckOptions): Promise<CheckResult> => {
      const ok = e.probes.get((o as { connect_ip: string }).connect_ip) ?? true;
      return { ok, reason: ok ? 'connected' : 'ECONNREFUSED', durationMs: 1 };
    };
    const lines = [...webLines(e.dir), '[virtual_server.api]', 'address = 192.0.2.101:80', 'lb_algo = twos', 'lb_kind = NAT', '[real_server.api.a]', 'address = 198.51.100.5:80'];
    const d = new Director({
      config: conf(lines), ipvs, logger: createMemoryLogger(), clock: e.clock, notify: e.notify, audit: intervalAudit(60, e.clock), stateDir: path.join(e.dir, 'state'),
      health: schedulerHealthSource({ clock: e.checkClock, probe, random: () => 0 }),
      onIpvsError: (x, state) => seen.push([state, x.virtualServer, x.realServer]),
    });
    directors.push(d);
    await d.start();
    await settle();
    assert.deepEqual(seen, [['failing', 'api', null]]);
    const st = await d.status();
    assert.deepEqual(st.errors?.map((x) => [x.virtualServer, x.realServer, x.service, x.code, x.operation]), [['api', null, 'TCP 192.0.2.101:80', 'ENOENT', 'add service TCP 192.0.2.101:80 twos']]);
    assert.match(st.virtualServers[1]!.error ?? '', /ENOENT/);
    assert.equal(st.virtualServers[0]!.error, null);
    assert.equal(st.reconciler.failing, 1);
    const shown = formatServices(st).split('\n');
    assert.ok(shown.some((l) => /^api +TCP 192\.0\.2\.101:80 \(not in kernel\) \(IPVS error\) +twos/.test(l)), shown.join('\n'));
    assert.ok(shown.includes('IPVS errors (each retried on its own; everything else is applied as usual):'), shown.join('\n'));
    assert.ok(shown.some((l) => /^ {2}api: add service TCP 192\.0\.2\.101:80 twos: .*ENOENT \(1 attempt, next in 1 s\)$/.test(l)), shown.join('\n'));
    // web still follows its health, with one write.
    ipvs.clearCalls();
    e.probes.set('198.51.100.2', false);
    await e.checkClock.advanceAsync(1000);
    await settle();
    assert.deepEqual(writes(ipvs), ['delDest']);
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE.slice(0, 2));
    ipvs.restoreScheduler('twos');
    e.clock.advance(1000);
    await settle();
    assert.deepEqual(seen.map((x) => x[0]), ['failing', 'recovered']);
    assert.deepEqual((await d.status()).errors, []);
  });
});
