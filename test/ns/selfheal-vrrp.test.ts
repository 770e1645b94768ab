/**
 * Issue 11, the VRRP side of self-healing, on real namespaces (advert_int
 * 0.1 s, v3): a VIP deleted from the MASTER comes back and is announced; a
 * VIP added on the BACKUP is reported; the master's veth deleted and
 * re-created beside a keepalived 2.2.7 peer converges to one MASTER; link
 * down/up; lvsd started while one of its two interfaces is missing; hostile
 * adverts (v3 interval 0, a flood of higher-priority adverts with a wrong
 * password). Each prints its time to heal. Root only; fails (never skips)
 * without root, keepalived, tcpdump.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { type NsProcess, Topology, requireTestbed, waitFor } from '../lib/netns';
import {
  type InstanceSpec, LVSD, REPO, Scratch, holders, keepalivedConfig, lvsdConfig, lvsdStatus, startKeepalived, startLvsd, waitHolder,
} from '../lib/director';

const D = ['d1', 'd2'] as const;
const VIP = '192.0.2.100';
const ADVERT = 0.1;
/** Master_Down_Interval of priority 100 at advert 0.1 s, v3 (RFC 5798 §6.1), in ms. */
const MASTER_DOWN_100 = (3 * ADVERT + ((256 - 100) * ADVERT) / 256) * 1000;

function spec(priority: number, extra: Partial<InstanceSpec> = {}): InstanceSpec {
  return { priority, version: 3, advertInt: ADVERT, vips: [`${VIP}/24`], ...extra };
}

/** A bridge with d1 (192.0.2.11), d2 (.12) and a client (.50). */
async function pair(prefix: string): Promise<{ topo: Topology; macs: Record<string, string> }> {
  const topo = await Topology.create(prefix);
  const macs: Record<string, string> = {};
  macs.d1 = await topo.addHost('d1', ['192.0.2.11/24']);
  macs.d2 = await topo.addHost('d2', ['192.0.2.12/24']);
  await topo.addHost('client', ['192.0.2.50/24']);
  return { topo, macs };
}

/** Starts `tcpdump -l` of ARP on the client's eth0 and waits until it listens. */
async function arpWatch(topo: Topology): Promise<NsProcess> {
  const p = topo.spawn('client', ['tcpdump', '-i', 'eth0', '-n', '-l', '-e', 'arp']);
  await waitFor('tcpdump listening', () => p.output().includes('listening on'), { timeoutMs: 10_000 });
  return p;
}

/** Gratuitous ARPs for `vip` in `out` (sender = target = VIP; tcpdump calls them Announcements), with the sender MAC. */
function garps(out: string, vip: string): string[] {
  const re = new RegExp(`Request who-has ${vip.replace(/\./g, '\\.')} (\\(\\S+\\) )?tell ${vip.replace(/\./g, '\\.')},|Announcement ${vip.replace(/\./g, '\\.')},`);
  return out.split('\n').filter((l) => re.test(l));
}

/** `ip -ts monitor address` in `host`, to time deletion → re-addition from the kernel's own events. */
function addrMonitor(topo: Topology, host: string): NsProcess {
  return topo.spawn(host, ['ip', '-ts', 'monitor', 'address', 'dev', 'eth0']);
}

/** A transition without its wall-clock time (derived from the monotonic clock, it jitters by a millisecond between reads). */
function moved(t: { reason: string } | null): string {
  const x = t as { from?: string; to?: string; reason: string } | null;
  return x ? `${x.from} -> ${x.to}: ${x.reason}` : 'none';
}

/** ms between the first line matching `first` and the next matching `then`, from ip -ts timestamps. */
function monitorGap(out: string, first: RegExp, then: RegExp): number | undefined {
  const at = (l: string): number => {
    const m = /^\[\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d\.\d+)\]/.exec(l);
    return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 : NaN;
  };
  const lines = out.split('\n');
  const i = lines.findIndex((l) => first.test(l));
  if (i < 0) return undefined;
  const j = lines.findIndex((l, k) => k > i && then.test(l));
  if (j < 0) return undefined;
  return at(lines[j]!) - at(lines[i]!);
}

describe('self-healing VRRP: VIPs changed by someone else (two lvsd, advert 0.1 s)', function () {
  this.timeout(90_000);
  let topo: Topology;
  let scratch: Scratch;
  const procs: Record<string, NsProcess> = {};
  const sock = (h: string): string => scratch.path(`${h}.sock`);

  before(async () => {
    requireTestbed(['ip', 'tcpdump']);
    ({ topo } = await pair('heal'));
    scratch = new Scratch();
    for (const [h, p] of [['d1', 150], ['d2', 100]] as const) {
      procs[h] = await startLvsd(topo, h, scratch.file(`${h}.conf`, lvsdConfig(h, sock(h), [spec(p)])), sock(h));
    }
    await waitHolder(topo, D, VIP, 'd1', performance.now(), 10_000);
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('adds back a VIP deleted from the MASTER within 100 ms, announces it (GARP at the client) and stays MASTER', async () => {
    const dump = await arpWatch(topo);
    const mon = addrMonitor(topo, 'd1');
    await new Promise((r) => setTimeout(r, 300));
    const garpsBefore = garps(dump.output(), VIP).length;
    const t0 = performance.now();
    await topo.run('d1', ['ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
    await waitFor('VIP back on d1', async () => (await holders(topo, D, VIP)).join() === 'd1', { timeoutMs: 5000, intervalMs: 10 });
    const polled = performance.now() - t0;
    await waitFor('the re-addition in ip monitor', () => monitorGap(mon.output(), new RegExp(`^\\S+ Deleted .*inet ${VIP}/24`), new RegExp(`^\\S+ \\d+: eth0\\s+inet ${VIP}/24`)) !== undefined, { timeoutMs: 3000 });
    const gap = monitorGap(mon.output(), new RegExp(`^\\S+ Deleted .*inet ${VIP}/24`), new RegExp(`^\\S+ \\d+: eth0\\s+inet ${VIP}/24`))!;
    await waitFor('a gratuitous ARP for the VIP at the client', () => garps(dump.output(), VIP).length > garpsBefore, { timeoutMs: 3000 });
    const garp = garps(dump.output(), VIP).slice(garpsBefore)[0]!;
    const st = (await lvsdStatus(topo, 'd1', sock('d1'))).instances[0]!;
    console.log(`      ip addr del on the MASTER: VIP back after ${gap.toFixed(1)} ms (kernel events; ${polled.toFixed(0)} ms by polling), GARP seen: ${garp.slice(0, 120)}`);
    assert.equal(st.state, 'MASTER');
    assert.ok(gap < 100, `VIP back after ${gap} ms`);
    assert.match(procs.d1!.output(), /VI_1: VIP 192\.0\.2\.100\/24 was removed from eth0 by someone else while MASTER/);
    dump.child.kill('SIGTERM');
    mon.child.kill('SIGTERM');
  });

  it('reports a VIP added on the BACKUP and leaves it there', async () => {
    const before = procs.d2!.output().length;
    await topo.run('d2', ['ip', 'addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
    try {
      await waitFor('the report in d2\'s log', () => /VI_1: VIP 192\.0\.2\.100\/24 is on eth0 while BACKUP/.test(procs.d2!.output().slice(before)), { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual((await holders(topo, D, VIP)).sort(), ['d1', 'd2'], 'reported, not removed');
      assert.equal((await lvsdStatus(topo, 'd2', sock('d2'))).instances[0]!.state, 'BACKUP');
    } finally {
      await topo.run('d2', ['ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
    }
  });

  it('link down on the MASTER: FAULT and the peer takes over; up again: back to one MASTER', async () => {
    let t0 = performance.now();
    await topo.run('d1', ['ip', 'link', 'set', 'eth0', 'down']);
    const over = await waitHolder(topo, D, VIP, 'd2', t0, 5000);
    assert.equal((await lvsdStatus(topo, 'd1', sock('d1'))).instances[0]!.state, 'FAULT');
    t0 = performance.now();
    await topo.run('d1', ['ip', 'link', 'set', 'eth0', 'up']);
    const back = await waitHolder(topo, D, VIP, 'd1', t0, 5000);
    console.log(`      link down: d2 holds the VIP alone after ${over.toFixed(0)} ms; link up: d1 alone again after ${back.toFixed(0)} ms`);
    assert.equal((await lvsdStatus(topo, 'd2', sock('d2'))).instances[0]!.state, 'BACKUP');
  });
});

describe('self-healing VRRP: the master\'s veth deleted and re-created beside a keepalived 2.2.7 peer', function () {
  this.timeout(90_000);
  let topo: Topology;
  let scratch: Scratch;
  let macs: Record<string, string>;
  let lvsd: NsProcess;
  const sock = (h: string): string => scratch.path(`${h}.sock`);

  before(async () => {
    requireTestbed(['ip', 'keepalived']);
    ({ topo, macs } = await pair('heal2'));
    scratch = new Scratch();
    lvsd = await startLvsd(topo, 'd1', scratch.file('d1.conf', lvsdConfig('d1', sock('d1'), [spec(150)])), sock('d1'));
    startKeepalived(topo, 'd2', scratch, keepalivedConfig('ka-d2', [spec(100)]));
    await waitHolder(topo, D, VIP, 'd1', performance.now(), 10_000);
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('FAULT while the interface is gone (the peer takes over), fresh sockets on the new one: exactly one MASTER within a few advert intervals', async () => {
    await topo.run('d1', ['ip', 'link', 'del', 'eth0']);
    await waitHolder(topo, D, VIP, 'd2', performance.now(), 5000);
    await waitFor('d1 FAULT', async () => (await lvsdStatus(topo, 'd1', sock('d1'))).instances[0]!.state === 'FAULT', { timeoutMs: 3000 });
    // Re-create it as before: a new veth into the bridge, same MAC and address.
    const outer = `vr${topo.id}`.slice(0, 15);
    await topo.run('sw', ['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', topo.ns('d1')]);
    await topo.run('sw', ['ip', 'link', 'set', outer, 'master', 'br0', 'up']);
    await topo.run('d1', ['ip', 'link', 'set', 'eth0', 'address', macs.d1!]);
    await topo.run('d1', ['ip', 'addr', 'add', '192.0.2.11/24', 'dev', 'eth0']);
    const t0 = performance.now();
    await topo.run('d1', ['ip', 'link', 'set', 'eth0', 'up']);
    const ms = await waitHolder(topo, D, VIP, 'd1', t0, 5000);
    // It stays that way: one MASTER, the keepalived peer its BACKUP.
    await new Promise((r) => setTimeout(r, 10 * ADVERT * 1000));
    assert.deepEqual(await holders(topo, D, VIP), ['d1']);
    const st = (await lvsdStatus(topo, 'd1', sock('d1'))).instances[0]!;
    assert.equal(st.state, 'MASTER');
    // The link went down before it went away (FAULT for 'interface eth0 down'), then the socket was closed.
    assert.match(lvsd.output(), /VI_1: interface eth0 does not exist/);
    assert.match(lvsd.output(), /VI_1: VRRP socket open on eth0 \(index \d+\) again/);
    console.log(`      veth re-created: d1 (lvsd) the only holder ${ms.toFixed(0)} ms after link up (Master_Down_Interval of the peer ${MASTER_DOWN_100.toFixed(0)} ms)`);
    // Bound: the re-created node waits one Master_Down_Interval (of its own priority 150 < this) as BACKUP, then preempts.
    assert.ok(ms < 10 * MASTER_DOWN_100, `${ms} ms`);
  });
});

describe('self-healing VRRP: lvsd started while one of its two interfaces is missing', function () {
  this.timeout(90_000);
  let topo: Topology;
  let scratch: Scratch;
  let proc: NsProcess;
  const sock = (s: Scratch): string => s.path('d1.sock');

  before(async () => {
    requireTestbed(['ip']);
    topo = await Topology.create('heal3');
    await topo.addHost('d1', ['192.0.2.11/24']);
    scratch = new Scratch();
    const config = lvsdConfig('d1', sock(scratch), [
      spec(150, { name: 'VI_1' }),
      spec(150, { name: 'VI_2', interface: 'eth1', vrid: 52, vips: ['198.51.100.100/24'] }),
    ]);
    const file = scratch.file('d1.conf', config);
    // --check-config still says so, as a warning: the configuration is valid.
    const check = await topo.exec('d1', [process.execPath, LVSD, '--check-config', '--config', file]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout + check.stderr, /interface eth1 does not exist on this host/);
    proc = await startLvsd(topo, 'd1', file, sock(scratch));
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('runs the other instance all along, and starts the late one when its interface appears 5 s later', async () => {
    await waitFor('VI_1 MASTER', async () => (await lvsdStatus(topo, 'd1', sock(scratch))).instances.find((i) => i.name === 'VI_1')!.state === 'MASTER', { timeoutMs: 5000 });
    let st = await lvsdStatus(topo, 'd1', sock(scratch));
    const vi2 = st.instances.find((i) => i.name === 'VI_2')!;
    assert.equal(vi2.state, 'FAULT');
    assert.match(vi2.lastTransition!.reason, /interface eth1 does not exist/);
    const vi1Since = moved(st.instances.find((i) => i.name === 'VI_1')!.lastTransition);
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(proc.child.exitCode, null, 'lvsd still running');
    const wall0 = Date.now();
    await topo.addHost('d1', ['198.51.100.11/24'], { ifname: 'eth1', bridge: 'br1' });
    const t0 = performance.now();
    await waitFor('VI_2 MASTER', async () => (await lvsdStatus(topo, 'd1', sock(scratch))).instances.find((i) => i.name === 'VI_2')!.state === 'MASTER', { timeoutMs: 5000, intervalMs: 20 });
    const ms = performance.now() - t0;
    st = await lvsdStatus(topo, 'd1', sock(scratch));
    assert.equal(moved(st.instances.find((i) => i.name === 'VI_1')!.lastTransition), vi1Since, 'VI_1 never moved');
    assert.ok(await topo.run('d1', ['ip', '-br', 'addr', 'show', 'eth1']).then((o) => o.includes('198.51.100.100/24')));
    const at = Date.parse((st.instances.find((i) => i.name === 'VI_2')!.lastTransition as unknown as { at: string }).at);
    console.log(`      late interface: VI_2 MASTER ${at - wall0} ms after eth1 was created (lvsd's transition time; seen by polling ${ms.toFixed(0)} ms after the set-up returned; alone on its link it waits one Master_Down_Interval, ${((3 * ADVERT + (106 * ADVERT) / 256) * 1000).toFixed(0)} ms)`);
  });
});

describe('self-healing VRRP: hostile adverts (two lvsd, advert 0.1 s; a v2 instance with PASS auth)', function () {
  this.timeout(90_000);
  let topo: Topology;
  let scratch: Scratch;
  const sock = (h: string): string => scratch.path(`${h}.sock`);
  const tool = path.join(REPO, 'dist', 'test', 'ns', 'tools', 'send-vrrp.js');
  const VIP2 = '192.0.2.101';

  before(async () => {
    requireTestbed(['ip']);
    ({ topo } = await pair('heal4'));
    scratch = new Scratch();
    for (const [h, p] of [['d1', 150], ['d2', 100]] as const) {
      const config = lvsdConfig(h, sock(h), [
        spec(p, { name: 'VI_1' }),
        { name: 'VI_2', vrid: 52, priority: p, version: 2, advertInt: 1, vips: [`${VIP2}/24`], authPass: 'secret' },
      ]);
      await startLvsd(topo, h, scratch.file(`${h}.conf`, config), sock(h));
    }
    await waitHolder(topo, D, VIP, 'd1', performance.now(), 10_000);
    await waitHolder(topo, D, VIP2, 'd1', performance.now(), 10_000);
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('drops v3 adverts with Max Adver Int 0 (counted as interval): no takeover, no flap', async () => {
    const before = await Promise.all(D.map((h) => lvsdStatus(topo, h, sock(h))));
    // 50 adverts, priority 254, 20 ms apart, from a spoofed address.
    await topo.run('client', [process.execPath, tool, 'interval0', '192.0.2.66', '51', VIP, '50', '20']);
    await new Promise((r) => setTimeout(r, 500));
    const after = await Promise.all(D.map((h) => lvsdStatus(topo, h, sock(h))));
    for (const [i, h] of D.entries()) {
      const a = after[i]!.instances.find((x) => x.name === 'VI_1')!;
      const b = before[i]!.instances.find((x) => x.name === 'VI_1')!;
      assert.ok((a.drops.interval ?? 0) - (b.drops.interval ?? 0) >= 50, `${h} drops ${JSON.stringify(a.drops)}`);
      assert.equal(moved(a.lastTransition), moved(b.lastTransition), `${h} did not move`);
    }
    assert.deepEqual(await holders(topo, D, VIP), ['d1']);
  });

  it('a flood of higher-priority v2 adverts with a wrong password takes nothing over (counted as auth)', async () => {
    const before = await lvsdStatus(topo, 'd1', sock('d1'));
    // 2,000 adverts, priority 254, 1 ms apart (about 1,000 a second for 2 s and more), from a spoofed address.
    await topo.run('client', [process.execPath, tool, 'badauth', '192.0.2.66', '52', VIP2, '2000', '1']);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await lvsdStatus(topo, 'd1', sock('d1'));
    const a = after.instances.find((x) => x.name === 'VI_2')!;
    const b = before.instances.find((x) => x.name === 'VI_2')!;
    assert.equal(a.state, 'MASTER');
    assert.equal(moved(a.lastTransition), moved(b.lastTransition));
    assert.ok((a.drops.auth ?? 0) - (b.drops.auth ?? 0) >= 1000, `auth drops ${JSON.stringify(a.drops)}`);
    assert.deepEqual(await holders(topo, D, VIP2), ['d1']);
    // The other instance, sharing the socket, heard its master all along: nobody moved.
    const d2 = [await lvsdStatus(topo, 'd2', sock('d2'))];
    for (const i of d2[0]!.instances) assert.equal(i.state, 'BACKUP', `d2 ${i.name}`);
    assert.equal(moved(after.instances.find((x) => x.name === 'VI_1')!.lastTransition), moved(before.instances.find((x) => x.name === 'VI_1')!.lastTransition));
  });
});
