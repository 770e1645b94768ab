/**
 * Issue #10 items 3-4: a reload changes running VRRP instances in place.
 * The engine runs over fake transports, the fake kernel and the fake clock:
 * each case takes an instance to MASTER (or BACKUP), reloads one setting and
 * checks that the state is kept (no transition), that the adverts carry the
 * new values at once, and that exactly the VIP delta reaches the kernel.
 */
import { strict as assert } from 'node:assert';
import { diffConfig } from '../../src/config/diff';
import type { LvsdConfig } from '../../src/config/types';
import { FakeKernel } from '../../src/kernel/fake';
import { FakeClock } from '../../src/lib/clock';
import { formatIp, parseIp } from '../../src/lib/ip';
import { nullLogger } from '../../src/log';
import { EngineStartError, VrrpEngine } from '../../src/vrrp/engine';
import type { Transition } from '../../src/vrrp/instance';
import { identityChanges, settingChanges } from '../../src/vrrp/reload';
import { type Arrival, type TransportOptions, VRRP_GROUP_V4, type VrrpTransport } from '../../src/vrrp/io';
import { decodeVrrp, encodeVrrp } from '../../src/vrrp/packet';
import { conf } from '../reconcile/helpers';

const ip = (t: string): Uint8Array => parseIp(t)!;

/** An advert as sent: when, to whom, priority, interval (cs) and VIPs. */
interface Sent {
  at: number;
  dst: string;
  priority: number;
  interval: number;
  vips: string[];
  /** VRRPv2 only: the auth data field as text (the PASS password, NUL-padded). */
  auth?: string;
}

class FakeTransport implements VrrpTransport {
  readonly sent: Sent[] = [];
  closed = false;
  private listener: ((a: Arrival) => void) | undefined;
  constructor(readonly kind: 'raw' | 'udp', readonly options: TransportOptions, private readonly clock: FakeClock) {}
  sendTo(payload: Uint8Array, dst: Uint8Array): void {
    const r = decodeVrrp(payload, { family: 4, src: this.options.source, dst });
    if (!r.ok) throw new Error('the engine sent an advert that does not decode');
    const p = r.packet;
    this.sent.push({
      at: this.clock.now(), dst: formatIp(dst), priority: p.priority, vips: p.addresses.map(formatIp),
      ...(p.version === 3 ? { interval: p.maxAdvertInterval } : { interval: p.advertInterval * 100, auth: Buffer.from(p.authData).toString('latin1').replace(/\0+$/, '') }),
    });
  }
  onArrival(listener: (a: Arrival) => void): void {
    this.listener = listener;
  }
  deliver(a: Arrival): void {
    this.listener!(a);
  }
  close(): void {
    this.closed = true;
  }
}

/** VI_1 on eth0, VRID 51, v3, advert_int 0.1, with `extra` lines and `priority`. */
function instanceLines(extra: readonly string[] = [], priority = 150): string[] {
  return ['[vrrp_instance.VI_1]', 'interface = eth0', 'virtual_router_id = 51', `priority = ${priority}`, 'version = 3', 'advert_int = 0.1', ...extra];
}

describe('vrrp/reload: instances change in place (issue #10)', () => {
  let clock: FakeClock;
  let k: FakeKernel;
  let engine: VrrpEngine;
  let config: LvsdConfig;
  let transitions: Transition[];
  const transports: FakeTransport[] = [];

  async function start(lines: readonly string[]): Promise<void> {
    config = conf(lines);
    await engine.start(config);
  }
  /** Reloads to `lines`; returns the change lines. */
  async function reload(lines: readonly string[]): Promise<string[]> {
    const next = conf(lines);
    const changes = await engine.reload(next, diffConfig(config, next));
    config = next;
    await flush();
    return changes;
  }
  async function flush(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
  const mc = (): FakeTransport => transports.find((t) => t.options.peers.length === 0 && !t.closed)!;
  const vi = () => engine.instance('VI_1')!;
  const vipCalls = (from: number): string[] => k.calls.slice(from).filter((c) => c.op === 'addr.add' || c.op === 'addr.remove').map((c) => `${c.op === 'addr.add' ? 'addAddress' : 'removeAddress'} ${c.args.join(' ')}`);

  async function toMaster(): Promise<void> {
    clock.advance(1000);
    await flush();
    assert.equal(vi().state, 'MASTER');
  }

  beforeEach(async () => {
    transports.length = 0;
    transitions = [];
    k = new FakeKernel();
    k.addLink({ name: 'eth0' });
    k.addLink({ name: 'eth1' });
    await k.addresses.add('eth0', '192.0.2.11/24');
    await k.addresses.add('eth1', '198.51.100.11/24');
    clock = new FakeClock();
    engine = new VrrpEngine({
      clock,
      log: nullLogger,
      links: k.links,
      addresses: k.addresses,
      announcer: k.announcer,
      openTransport: (kind, opts) => {
        const t = new FakeTransport(kind, opts, clock);
        transports.push(t);
        return t;
      },
      onTransition: (t) => transitions.push(t),
    });
  });
  afterEach(() => engine.stop());

  it('priority 150 -> 140 on a MASTER: stays MASTER, the next advert at once carries 140, VIPs untouched', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']));
    await toMaster();
    const t0 = transitions.length;
    const calls = k.calls.length;
    const sent = mc().sent.length;
    const at = clock.now();
    const changes = await reload(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24'], 140));
    assert.deepEqual(changes, ['vrrp_instance VI_1: priority 150 -> 140']);
    assert.equal(vi().state, 'MASTER');
    assert.equal(transitions.length, t0, 'no transition');
    assert.deepEqual(mc().sent.slice(sent).map((s) => [s.at, s.priority]), [[at, 140]], 'one advert at once, priority 140');
    clock.advance(300);
    assert.deepEqual(mc().sent.slice(sent + 1).map((s) => [s.at - at, s.priority]), [[100, 140], [200, 140], [300, 140]], 'then every 100 ms');
    assert.deepEqual(vipCalls(calls), [], 'no VIP removed or re-added');
    assert.equal(vi().status().basePriority, 140);
    assert.equal(vi().status().effectivePriority, 140);
  });

  it('VIPs added and removed one by one on a MASTER: only the delta reaches the kernel, only the added VIP is announced', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24', 'virtual_ipaddress[] = 192.0.2.102/24', 'garp_master_delay = 0']));
    await toMaster();
    let calls = k.calls.length;
    k.announcer.sent.length = 0;
    let changes = await reload(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24', 'virtual_ipaddress[] = 192.0.2.102/24', 'virtual_ipaddress[] = 192.0.2.101/24', 'garp_master_delay = 0']));
    assert.deepEqual(changes, ['vrrp_instance VI_1: virtual_ipaddress +192.0.2.101/24']);
    assert.deepEqual(vipCalls(calls), ['addAddress eth0 192.0.2.101/24']);
    assert.deepEqual([...new Set(k.announcer.sent.map((s) => s.vip))], ['192.0.2.101'], 'the added VIP is announced, the others not');
    assert.equal(k.announcer.sent.length, 5, 'garp_master_repeat (5) messages');
    assert.deepEqual(mc().sent.at(-1)!.vips.sort(), ['192.0.2.100', '192.0.2.101', '192.0.2.102'], 'the advert lists the new VIP at once');
    assert.ok(k.addressesOf('eth0').includes('192.0.2.101/24'));

    calls = k.calls.length;
    k.announcer.sent.length = 0;
    changes = await reload(instanceLines(['virtual_ipaddress[] = 192.0.2.101/24', 'virtual_ipaddress_excluded[] = 203.0.113.5/32', 'garp_master_delay = 0']));
    assert.deepEqual(changes, [
      'vrrp_instance VI_1: virtual_ipaddress -192.0.2.100/24 -192.0.2.102/24',
      'vrrp_instance VI_1: virtual_ipaddress_excluded +203.0.113.5/32',
    ]);
    assert.deepEqual(vipCalls(calls), ['addAddress eth0 203.0.113.5/32', 'removeAddress eth0 192.0.2.100/24', 'removeAddress eth0 192.0.2.102/24']);
    assert.deepEqual([...new Set(k.announcer.sent.map((s) => s.vip))], ['203.0.113.5']);
    assert.deepEqual(mc().sent.at(-1)!.vips, ['192.0.2.101']);
    assert.equal(vi().state, 'MASTER');
    assert.deepEqual(transitions.map((t) => t.to), ['BACKUP', 'MASTER'], 'only the startup transitions');
  });

  it('a VIP whose prefix changes is added with the new prefix before the old one goes: never absent', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']));
    await toMaster();
    const calls = k.calls.length;
    const changes = await reload(instanceLines(['virtual_ipaddress[] = 192.0.2.100/25']));
    assert.deepEqual(changes, ['vrrp_instance VI_1: virtual_ipaddress +192.0.2.100/25 -192.0.2.100/24']);
    assert.deepEqual(vipCalls(calls), ['addAddress eth0 192.0.2.100/25', 'removeAddress eth0 192.0.2.100/24']);
    assert.ok(k.addressesOf('eth0').includes('192.0.2.100/25'));
    assert.equal(vi().state, 'MASTER');
  });

  it('VIPs changed on a BACKUP: nothing reaches the kernel; they are added when it becomes MASTER', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']));
    const calls = k.calls.length;
    await reload(instanceLines(['virtual_ipaddress[] = 192.0.2.101/24']));
    assert.equal(vi().state, 'BACKUP');
    assert.deepEqual(vipCalls(calls), []);
    await toMaster();
    assert.deepEqual(vipCalls(calls), ['addAddress eth0 192.0.2.101/24']);
  });

  it('advert_int 0.1 -> 1 on a MASTER: an advert with the new interval at once, then one a second', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']));
    await toMaster();
    const sent = mc().sent.length;
    const at = clock.now();
    const changes = await reload([...instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']).filter((l) => !l.startsWith('advert_int')), 'advert_int = 1']);
    assert.deepEqual(changes, ['vrrp_instance VI_1: advert_int 0.1 -> 1']);
    clock.advance(2000);
    assert.deepEqual(mc().sent.slice(sent).map((s) => [s.at - at, s.interval]), [[0, 100], [1000, 100], [2000, 100]]);
    assert.equal(vi().state, 'MASTER');
    assert.equal(vi().status().advertIntervalMs, 1000);
  });

  it('notify scripts, garp settings, preempt settings and a [global] default change in place, state kept, no advert change', async () => {
    const base = ['[global]', 'vrrp_garp_interval = 0', ...instanceLines(['virtual_ipaddress[] = 192.0.2.100/24'])];
    await start(base);
    await toMaster();
    const t0 = transitions.length;
    const calls = k.calls.length;
    const changes = await reload([
      '[global]', 'vrrp_garp_interval = 0.01',
      ...instanceLines(['virtual_ipaddress[] = 192.0.2.100/24', 'notify_master = /bin/true master', 'garp_master_repeat = 2', 'garp_master_refresh = 1', 'nopreempt = true', 'preempt_delay = 5']),
    ]);
    assert.deepEqual(changes.sort(), [
      'vrrp_instance VI_1: garp_interval 0 -> 10',
      'vrrp_instance VI_1: garp_master_refresh 0 -> 1',
      'vrrp_instance VI_1: garp_master_repeat 5 -> 2',
      'vrrp_instance VI_1: nopreempt false -> true',
      'vrrp_instance VI_1: notify_master none -> /bin/true master',
      'vrrp_instance VI_1: preempt_delay 0 -> 5',
    ]);
    assert.equal(vi().state, 'MASTER');
    assert.equal(transitions.length, t0);
    assert.deepEqual(vipCalls(calls), []);
    assert.deepEqual(vi().config.notifyMaster?.argv, ['/bin/true', 'master']);
    // The new refresh (1 s, 2 messages spaced by garp_interval) runs from now on.
    k.announcer.sent.length = 0;
    clock.advance(6500);
    assert.ok(k.announcer.sent.length >= 2, `refresh announces with the new settings (${k.announcer.sent.length})`);
  });

  it('a track_interface weight changes in place: the effective priority is re-judged, MASTER kept', async () => {
    k.setLink('eth1', { up: false });
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24', 'track_interface[] = eth1 weight -20']));
    await toMaster();
    assert.equal(vi().status().effectivePriority, 130);
    const t0 = transitions.length;
    const changes = await reload(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24', 'track_interface[] = eth1 weight -30']));
    assert.deepEqual(changes, ['vrrp_instance VI_1: track_interface eth1 weight -20 -> eth1 weight -30']);
    assert.equal(vi().status().effectivePriority, 120);
    assert.equal(vi().state, 'MASTER');
    assert.equal(transitions.length, t0);
    clock.advance(100);
    assert.equal(mc().sent.at(-1)!.priority, 120);
  });

  it('a MASTER lowered below a peer it heard says so, and gives way to it with the reload as the reason', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']));
    // A peer at 145 is master first; we preempt it (150 > 145).
    const peer = (priority: number): void => mc().deliver({
      family: 4, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4, ttl: 255,
      payload: encodeVrrp({ version: 3, vrid: 51, priority, maxAdvertInterval: 10, addresses: [ip('192.0.2.100')] }, { family: 4, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4 }),
    });
    peer(145);
    await toMaster();
    const changes = await reload(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24'], 90));
    assert.deepEqual(changes, ['vrrp_instance VI_1: priority 150 -> 90 (will give up MASTER: a peer with priority 145 was heard, 192.0.2.12, if it preempts)']);
    assert.equal(vi().state, 'MASTER', 'still MASTER until the peer acts');
    clock.advance(350); // the peer's down timer runs out; it takes over
    peer(145);
    await flush();
    assert.equal(vi().state, 'BACKUP');
    assert.match(transitions.at(-1)!.reason, /^reload: priority 150 -> 90 \(higher priority 145 from 192\.0\.2\.12\)$/);
  });

  it('a BACKUP raised above its master says it will take over, and does by the protocol', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24'], 100));
    const peer = (): void => mc().deliver({
      family: 4, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4, ttl: 255,
      payload: encodeVrrp({ version: 3, vrid: 51, priority: 120, maxAdvertInterval: 10, addresses: [ip('192.0.2.100')] }, { family: 4, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4 }),
    });
    peer();
    const changes = await reload(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24'], 130));
    assert.deepEqual(changes, ['vrrp_instance VI_1: priority 100 -> 130 (will take over MASTER from 192.0.2.12, priority 120)']);
    assert.equal(vi().state, 'BACKUP');
    for (let i = 0; i < 5; i++) {
      clock.advance(100);
      peer();
    }
    await flush();
    assert.equal(vi().state, 'MASTER');
    assert.match(transitions.at(-1)!.reason, /^reload: priority 100 -> 130 \(master down timer expired/);
  });

  it('unicast peers change: the socket is swapped, the state kept, the old socket closed', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24', 'unicast_src_ip = 192.0.2.11', 'unicast_peer[] = 192.0.2.12']));
    await toMaster();
    const old = transports.find((t) => !t.closed)!;
    const t0 = transitions.length;
    const changes = await reload(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24', 'unicast_src_ip = 192.0.2.11', 'unicast_peer[] = 192.0.2.13']));
    assert.deepEqual(changes, ['vrrp_instance VI_1: unicast_peer 192.0.2.12 -> 192.0.2.13']);
    assert.equal(old.closed, true);
    const now = transports.find((t) => !t.closed)!;
    assert.notEqual(now, old);
    assert.deepEqual(now.options.peers.map(formatIp), ['192.0.2.13']);
    clock.advance(100);
    assert.ok(now.sent.length > 0 && now.sent.every((s) => s.dst === '192.0.2.13'));
    assert.equal(vi().state, 'MASTER');
    assert.equal(transitions.length, t0);
  });

  it('a new PASS password (VRRPv2) is in the next advert at once; the state is kept', async () => {
    const v2 = (pass: string): string[] => instanceLines(['virtual_ipaddress[] = 192.0.2.100/24', 'authentication = PASS', `auth_pass = ${pass}`])
      .map((l) => (l === 'version = 3' ? 'version = 2' : l === 'advert_int = 0.1' ? 'advert_int = 1' : l));
    await start(v2('old'));
    clock.advance(4000);
    await flush();
    assert.equal(vi().state, 'MASTER');
    assert.equal(mc().sent.at(-1)!.auth, 'old');
    const t0 = transitions.length;
    const at = clock.now();
    const changes = await reload(v2('new'));
    assert.deepEqual(changes, ['vrrp_instance VI_1: auth_pass changed']);
    assert.deepEqual(mc().sent.at(-1), { at, dst: '224.0.0.18', priority: 150, interval: 100, vips: ['192.0.2.100'], auth: 'new' });
    assert.equal(vi().state, 'MASTER');
    assert.equal(transitions.length, t0);
  });

  it('joining a sync group in place: the state is kept, and from then on the group moves it', async () => {
    const two = (grouped: boolean): string[] => [
      ...instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']),
      '[vrrp_instance.VI_2]', 'interface = eth0', 'virtual_router_id = 52', 'priority = 150', 'version = 3', 'advert_int = 0.1', 'virtual_ipaddress[] = 192.0.2.200/24',
      ...(grouped ? ['[vrrp_sync_group.G]', 'group[] = VI_1', 'group[] = VI_2'] : []),
    ];
    await start(two(false));
    await toMaster();
    assert.equal(engine.instance('VI_2')!.state, 'MASTER');
    const t0 = transitions.length;
    const changes = await reload(two(true));
    assert.deepEqual(changes.sort(), ['vrrp_instance VI_1: vrrp_sync_group none -> G', 'vrrp_instance VI_2: vrrp_sync_group none -> G', 'vrrp_sync_group G: added']);
    assert.equal(transitions.length, t0, 'no transition');
    assert.equal(vi().status().syncGroup, 'G');
    // VI_2 hears a higher priority master: the group takes VI_1 to BACKUP with it.
    mc().deliver({
      family: 4, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4, ttl: 255,
      payload: encodeVrrp({ version: 3, vrid: 52, priority: 200, maxAdvertInterval: 10, addresses: [ip('192.0.2.200')] }, { family: 4, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4 }),
    });
    await flush();
    assert.equal(engine.instance('VI_2')!.state, 'BACKUP');
    assert.equal(vi().state, 'BACKUP');
    assert.match(transitions.at(-1)!.reason, /sync group G: VI_2 went BACKUP/);
  });

  it('an interface change re-creates the instance, says so, and prepare alone changes nothing', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']));
    await toMaster();
    const next = conf(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']).map((l) => (l === 'interface = eth0' ? 'interface = eth1' : l)));
    const sent = mc().sent.length;
    const calls = k.calls.length;
    const plan = await engine.prepareReload(next, diffConfig(config, next));
    assert.deepEqual(plan.changes, ['vrrp_instance VI_1: interface eth0 -> eth1: re-created (leaves MASTER)']);
    assert.equal(transports.length, 1, 'prepare opens no socket (the commit attaches the new instance, or holds it in FAULT with the reason)');
    assert.equal(mc().sent.length, sent);
    assert.deepEqual(vipCalls(calls), []);
    assert.equal(vi().state, 'MASTER');
    engine.abortReload(plan);
    assert.equal(transports[0]!.closed, false);
    await assert.rejects(engine.commitReload(plan), (e: EngineStartError) => e.code === 'ESTALE');

    const plan2 = await engine.prepareReload(next, diffConfig(config, next));
    await engine.commitReload(plan2);
    assert.equal(vi().config.interface, 'eth1');
    assert.equal(vi().state, 'BACKUP');
    assert.equal(transports[0]!.closed, true);
  });

  it('a plan prepared before another commit is refused as stale', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']));
    const a = conf(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24'], 140));
    const b = conf(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24'], 130));
    const pa = await engine.prepareReload(a, diffConfig(config, a));
    const pb = await engine.prepareReload(b, diffConfig(config, b));
    await engine.commitReload(pa);
    await assert.rejects(engine.commitReload(pb), (e: EngineStartError) => e.code === 'ESTALE');
    assert.equal(vi().status().basePriority, 140);
  });

  it('a new instance whose address went between prepare and commit: the rest is applied, it waits in FAULT with the reason', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']));
    const next = conf([
      ...instanceLines(['virtual_ipaddress[] = 192.0.2.100/24'], 140),
      '[vrrp_instance.VI_2]', 'interface = eth1', 'virtual_router_id = 52', 'version = 3', 'virtual_ipaddress[] = 198.51.100.200/24',
    ]);
    const plan = await engine.prepareReload(next, diffConfig(config, next));
    await k.addresses.remove('eth1', '198.51.100.11/24');
    await engine.commitReload(plan);
    assert.equal(vi().status().basePriority, 140, 'the in-place change is applied');
    assert.equal(engine.instance('VI_2')!.state, 'FAULT');
    assert.match(engine.instance('VI_2')!.status().lastTransition!.reason, /eth1 has no IPv4 address/);
    assert.equal(transports.filter((t) => !t.closed).length, 1, 'no socket for VI_2');
  });

  it('a new instance without a source address is held in FAULT, as at start; the running ones change as asked', async () => {
    await start(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']));
    k.addLink({ name: 'eth2' });
    const next = conf([
      ...instanceLines(['virtual_ipaddress[] = 192.0.2.100/24'], 140),
      '[vrrp_instance.VI_2]', 'interface = eth2', 'virtual_router_id = 52', 'version = 3', 'virtual_ipaddress[] = 192.0.2.200/24',
    ]);
    await engine.reload(next, diffConfig(config, next));
    assert.equal(vi().status().basePriority, 140);
    assert.equal(engine.instance('VI_2')!.state, 'FAULT');
    assert.match(engine.instance('VI_2')!.status().lastTransition!.reason, /eth2 has no IPv4 address/);
  });
});

describe('vrrp/reload: change lines', () => {
  const inst = (lines: readonly string[]) => conf(lines).vrrpInstances.get('VI_1')!;
  it('names each identity change; the rest is in place', () => {
    const a = inst(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24']));
    const b = inst(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24', 'transport = udp', 'unicast_src_ip = 192.0.2.11', 'unicast_peer[] = 192.0.2.12']).map((l) => (l === 'virtual_router_id = 51' ? 'virtual_router_id = 61' : l)));
    assert.deepEqual(identityChanges(a, b), ['virtual_router_id 51 -> 61', 'transport raw -> udp']);
    assert.deepEqual(identityChanges(a, inst(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24'], 90))), []);
  });
  it('a reordered VIP list or a moved line is no change worth a line', () => {
    const a = inst(instanceLines(['virtual_ipaddress[] = 192.0.2.100/24', 'virtual_ipaddress[] = 192.0.2.101/24']));
    const b = inst(['', '', ...instanceLines(['virtual_ipaddress[] = 192.0.2.101/24', 'virtual_ipaddress[] = 192.0.2.100/24'])]);
    assert.deepEqual(settingChanges(a, b), []);
  });
});
