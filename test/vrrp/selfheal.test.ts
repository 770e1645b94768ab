/**
 * Issue 11, the VRRP side of self-healing, on the fake kernel and a fake
 * clock: VIPs someone else removes from a MASTER come back and are
 * announced; VIPs that appear on a BACKUP are reported and left; an
 * interface missing at start holds only its own instances in FAULT, and
 * they start when it appears; an interface deleted and re-created gets
 * fresh sockets; a v3 advert with interval 0 is dropped; a UDP socket that
 * cannot bind puts its instance in FAULT instead of a silent MASTER.
 */
import { strict as assert } from 'node:assert';
import type { LvsdConfig } from '../../src/config/types';
import { FakeKernel } from '../../src/kernel/fake';
import { FakeClock } from '../../src/lib/clock';
import { parseIp } from '../../src/lib/ip';
import { createMemoryLogger, type MemoryLogger } from '../../src/log';
import { type EngineEvent, VrrpEngine } from '../../src/vrrp/engine';
import { VRRP_GROUP_V4 } from '../../src/vrrp/io';
import { encodeVrrp } from '../../src/vrrp/packet';
import { conf } from '../reconcile/helpers';
import { FakeTransport, fakeOpener } from './fake-transport';

const ip = (t: string): Uint8Array => parseIp(t)!;
/** Lets promise chains (VIP queue, attach passes) run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

function instance(name: string, ifname: string, vrid: number, vip: string, extra: string[] = []): string[] {
  return [`[vrrp_instance.${name}]`, `interface = ${ifname}`, `virtual_router_id = ${vrid}`, 'priority = 150', 'version = 3', 'advert_int = 0.1', `virtual_ipaddress[] = ${vip}`, ...extra];
}

describe('vrrp/engine: self-healing (issue 11)', () => {
  let k: FakeKernel;
  let clock: FakeClock;
  let log: MemoryLogger;
  let engine: VrrpEngine;
  let opened: FakeTransport[];
  let events: EngineEvent[];

  async function startWith(config: LvsdConfig): Promise<void> {
    engine = new VrrpEngine({
      clock, log, links: k.links, addresses: k.addresses, announcer: k.announcer,
      openTransport: fakeOpener(opened),
      onTransition: () => {},
      onEvent: (e) => events.push(e),
    });
    await engine.start(config);
    await settle();
  }
  const state = (n: string): string => engine.instance(n)!.state;
  const reason = (n: string): string => engine.instance(n)!.status().lastTransition?.reason ?? '';
  const warnings = (): string[] => log.records.filter((r) => r.level === 'warn').map((r) => r.message);

  beforeEach(async () => {
    k = new FakeKernel();
    k.addLink({ name: 'eth0' });
    k.addAddress('eth0', '192.0.2.11/24');
    clock = new FakeClock(1000);
    log = createMemoryLogger();
    opened = [];
    events = [];
  });
  afterEach(async () => {
    await engine?.stop();
  });

  it('adds back a VIP someone removed from a MASTER, announces it, and warns naming the instance and VIP', async () => {
    await startWith(conf(instance('VI_1', 'eth0', 51, '192.0.2.100/24')));
    clock.advance(1000);
    await settle();
    assert.equal(state('VI_1'), 'MASTER');
    assert.ok(k.addressesOf('eth0').includes('192.0.2.100/24'));
    const announced = k.announcer.sent.length;
    k.removeAddress('eth0', '192.0.2.100/24');
    await settle();
    assert.ok(k.addressesOf('eth0').includes('192.0.2.100/24'), `VIP back: ${k.addressesOf('eth0').join(' ')}`);
    assert.ok(k.announcer.sent.slice(announced).some((s) => s.vip === '192.0.2.100'), 'announced again');
    assert.equal(state('VI_1'), 'MASTER', 'no transition');
    assert.ok(warnings().some((w) => w.includes('VI_1') && w.includes('192.0.2.100/24') && w.includes('removed')), warnings().join('\n'));
    assert.deepEqual(events.filter((e) => e.kind === 'vip-restored'), [{ kind: 'vip-restored', instance: 'VI_1', interface: 'eth0', vip: '192.0.2.100/24', state: 'MASTER' }]);
  });

  it('restores every VIP of an `ip addr flush` with one announcement per instance', async () => {
    await startWith(conf([...instance('VI_1', 'eth0', 51, '192.0.2.100/24'), 'virtual_ipaddress[] = 192.0.2.101/24']));
    clock.advance(1000);
    await settle();
    const calls = k.callsOf('announce').length;
    k.removeAddress('eth0', '192.0.2.100/24');
    k.removeAddress('eth0', '192.0.2.101/24');
    await settle();
    assert.ok(['192.0.2.100/24', '192.0.2.101/24'].every((v) => k.addressesOf('eth0').includes(v)));
    // One burst: garp_master_repeat (5) rounds over both VIPs in one announce call each.
    assert.equal(k.callsOf('announce').length - calls, 5);
  });

  it('does not fight its own step-down: a VIP removed by a MASTER turning BACKUP stays removed', async () => {
    await startWith(conf(instance('VI_1', 'eth0', 51, '192.0.2.100/24')));
    clock.advance(1000);
    await settle();
    const t = opened[0]!;
    const higher = encodeVrrp({ version: 3, vrid: 51, priority: 200, maxAdvertInterval: 10, addresses: [ip('192.0.2.100')] }, { family: 4, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4 });
    t.deliver({ family: 4, payload: higher, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4, ttl: 255 });
    await settle();
    assert.equal(state('VI_1'), 'BACKUP');
    assert.ok(!k.addressesOf('eth0').includes('192.0.2.100/24'));
    assert.deepEqual(events.filter((e) => e.kind === 'vip-restored' || e.kind === 'vip-foreign'), []);
  });

  it('reports a VIP that appears on a BACKUP and leaves it in place (keepalived acts only on deletions)', async () => {
    await startWith(conf(instance('VI_1', 'eth0', 51, '192.0.2.100/24')));
    assert.equal(state('VI_1'), 'BACKUP');
    const removes = k.callsOf('addr.remove').length;
    k.addAddress('eth0', '192.0.2.100/24');
    await settle();
    assert.ok(k.addressesOf('eth0').includes('192.0.2.100/24'));
    assert.equal(k.callsOf('addr.remove').length, removes, 'not removed');
    assert.ok(warnings().some((w) => w.includes('VI_1') && w.includes('192.0.2.100/24') && w.includes('BACKUP')), warnings().join('\n'));
    assert.deepEqual(events.filter((e) => e.kind === 'vip-foreign'), [{ kind: 'vip-foreign', instance: 'VI_1', interface: 'eth0', vip: '192.0.2.100/24', state: 'BACKUP' }]);
  });

  it('runs every other instance when an interface is missing at start; the missing one is FAULT and starts when it appears', async () => {
    await startWith(conf([...instance('VI_1', 'eth0', 51, '192.0.2.100/24'), '', ...instance('VI_9', 'eth9', 52, '198.51.100.100/24')]));
    assert.equal(state('VI_9'), 'FAULT');
    assert.match(reason('VI_9'), /interface eth9 does not exist/);
    clock.advance(1000);
    await settle();
    assert.equal(state('VI_1'), 'MASTER');
    assert.equal(state('VI_9'), 'FAULT');
    // It appears without an address first, then gets one.
    k.addLink({ name: 'eth9' });
    await settle();
    assert.equal(state('VI_9'), 'FAULT');
    assert.match(events.filter((e) => e.kind === 'detached').map((e) => (e as { reason: string }).reason).join('\n'), /eth9 has no IPv4 address/);
    k.addAddress('eth9', '198.51.100.11/24');
    await settle();
    assert.equal(state('VI_9'), 'BACKUP');
    assert.match(reason('VI_9'), /VRRP socket open on eth9/);
    const t9 = opened.find((t) => t.options.ifname === 'eth9')!;
    assert.deepEqual([...t9.options.source], [198, 51, 100, 11]);
    clock.advance(1000);
    await settle();
    assert.equal(state('VI_9'), 'MASTER');
    assert.ok(t9.sent.length > 0, 'advertises on the new socket');
    assert.ok(k.addressesOf('eth9').includes('198.51.100.100/24'));
  });

  it('goes FAULT without VIP errors when its interface is deleted, and gets a fresh socket when it is re-created', async () => {
    await startWith(conf(instance('VI_1', 'eth0', 51, '192.0.2.100/24')));
    clock.advance(1000);
    await settle();
    assert.equal(state('VI_1'), 'MASTER');
    const first = opened[0]!;
    const index = k.link('eth0')!.index;
    k.removeLink('eth0');
    await settle();
    assert.equal(state('VI_1'), 'FAULT');
    assert.match(reason('VI_1'), /interface eth0 does not exist/);
    assert.equal(engine.instance('VI_1')!.status().counters.vipErrors, 0);
    assert.ok(first.closed, 'the socket on the deleted index is closed');
    assert.ok(!log.records.some((r) => r.level === 'error'), log.lines().join('\n'));
    k.addLink({ name: 'eth0' });
    assert.notEqual(k.link('eth0')!.index, index);
    k.addAddress('eth0', '192.0.2.11/24');
    await settle();
    assert.equal(opened.length, 2, 'a new socket');
    assert.equal(state('VI_1'), 'BACKUP');
    const sent = opened[1]!.sent.length;
    clock.advance(1000);
    await settle();
    assert.equal(state('VI_1'), 'MASTER');
    assert.ok(opened[1]!.sent.length > sent);
    assert.ok(k.addressesOf('eth0').includes('192.0.2.100/24'));
    // It hears its peer on the new socket: a higher priority master makes it step down.
    const higher = encodeVrrp({ version: 3, vrid: 51, priority: 200, maxAdvertInterval: 10, addresses: [ip('192.0.2.100')] }, { family: 4, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4 });
    opened[1]!.deliver({ family: 4, payload: higher, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4, ttl: 255 });
    assert.equal(state('VI_1'), 'BACKUP');
  });

  it('re-opens the socket when the same name comes back with a new index and no deletion was seen (events lost)', async () => {
    await startWith(conf(instance('VI_1', 'eth0', 51, '192.0.2.100/24')));
    const index = k.link('eth0')!.index;
    k.addLink({ name: 'eth0', index: index + 10 });
    k.addAddress('eth0', '192.0.2.11/24');
    k.resync();
    await settle();
    assert.ok(opened[0]!.closed);
    assert.equal(opened.length, 2);
    assert.equal(state('VI_1'), 'BACKUP');
  });

  it('retries a socket whose configured source was not there yet (a bind that needs the address) when the address comes', async () => {
    // Like a UDP bind: the configured unicast_src_ip must be on the interface.
    const open = fakeOpener(opened);
    engine = new VrrpEngine({
      clock, log, links: k.links, addresses: k.addresses, announcer: k.announcer, onTransition: () => {},
      openTransport: (kind, opts) => {
        if (!k.addressesOf(opts.ifname).some((a) => a.startsWith('198.51.100.11/'))) throw Object.assign(new Error('bind: cannot assign requested address'), { code: 'EADDRNOTAVAIL' });
        return open(kind, opts);
      },
    });
    await engine.start(conf([...instance('VI_U', 'eth9', 53, '198.51.100.100/24'), 'transport = udp', 'unicast_src_ip = 198.51.100.11', 'unicast_peer[] = 198.51.100.12']));
    await settle();
    assert.equal(state('VI_U'), 'FAULT');
    k.addLink({ name: 'eth9' });
    await settle();
    assert.equal(state('VI_U'), 'FAULT');
    k.addAddress('eth9', '198.51.100.11/24');
    await settle();
    assert.equal(state('VI_U'), 'BACKUP');
    assert.equal(opened.length, 1);
  });

  it('drops a v3 advert with Max Adver Int 0, counted as interval, instead of collapsing Master_Down to the skew', async () => {
    await startWith(conf(instance('VI_1', 'eth0', 51, '192.0.2.100/24')));
    const t = opened[0]!;
    const adv = (interval: number): Uint8Array =>
      encodeVrrp({ version: 3, vrid: 51, priority: 200, maxAdvertInterval: interval, addresses: [ip('192.0.2.100')] }, { family: 4, src: ip('192.0.2.12'), dst: VRRP_GROUP_V4 });
    t.deliver({ family: 4, payload: adv(10), src: ip('192.0.2.12'), dst: VRRP_GROUP_V4, ttl: 255 });
    assert.equal(state('VI_1'), 'BACKUP');
    t.deliver({ family: 4, payload: adv(0), src: ip('192.0.2.12'), dst: VRRP_GROUP_V4, ttl: 255 });
    assert.deepEqual(engine.instance('VI_1')!.status().drops, { interval: 1 });
    assert.equal(engine.instance('VI_1')!.status().advertIntervalMs, 100, 'the master\'s interval is kept');
    clock.advance(250); // under 3 × 100 ms + skew: the master is still alive
    assert.equal(state('VI_1'), 'BACKUP');
  });

  it('puts an instance whose UDP socket cannot bind in FAULT with the reason (EADDRINUSE), never a silent MASTER', async function () {
    const port = 20000 + Math.floor(Math.random() * 20000);
    k.addLink({ name: 'lo' });
    const udp = (name: string, vrid: number, peer: string): string[] =>
      [...instance(name, 'lo', vrid, `203.0.113.${vrid}/32`), 'transport = udp', `udp_port = ${port}`, 'unicast_src_ip = 127.0.0.1', `unicast_peer[] = ${peer}`, ''];
    engine = new VrrpEngine({ clock, log, links: k.links, addresses: k.addresses, announcer: k.announcer, onTransition: () => {}, onEvent: (e) => events.push(e) });
    await engine.start(conf([...udp('VI_A', 61, '127.0.0.2'), ...udp('VI_B', 62, '127.0.0.3')]));
    await settle();
    const states = [state('VI_A'), state('VI_B')];
    const failed = states[0] === 'FAULT' ? 'VI_A' : 'VI_B';
    const ok = failed === 'VI_A' ? 'VI_B' : 'VI_A';
    assert.equal(state(failed), 'FAULT', `one of the two binds fails: ${states.join(' ')}`);
    assert.match(reason(failed), /cannot open the udp VRRP socket on lo: .*EADDRINUSE/);
    assert.equal(state(ok), 'BACKUP');
    clock.advance(2000);
    await settle();
    assert.equal(state(failed), 'FAULT', 'never MASTER');
    assert.equal(state(ok), 'MASTER');
  });

  it('says why the priority is what it is: tracking in status, and each change logged and reported with its cause', async () => {
    k.addLink({ name: 'eth1' });
    k.addAddress('eth1', '198.51.100.11/24');
    const tracked: Array<{ instance: string; message: string }> = [];
    engine = new VrrpEngine({
      clock, log, links: k.links, addresses: k.addresses, announcer: k.announcer,
      openTransport: fakeOpener(opened),
      onTransition: () => {},
      onTrack: (e) => tracked.push(e),
    });
    await engine.start(conf(instance('VI_1', 'eth0', 51, '192.0.2.100/24', ['track_interface[] = eth1 weight -30'])));
    await settle();
    const st = (): { effectivePriority: number; tracking: Array<{ name: string; state: string; contribution: number }> } => engine.instance('VI_1')!.status();
    assert.deepEqual(st().tracking.map((t) => [t.name, t.state, t.contribution]), [['eth0', 'up', 0], ['eth1', 'up', 0]]);
    k.setLink('eth1', { up: false });
    await settle();
    assert.equal(st().effectivePriority, 120);
    assert.deepEqual(st().tracking.find((t) => t.name === 'eth1'), { kind: 'interface', name: 'eth1', state: 'down', weight: -30, reverse: false, contribution: -30, fault: false });
    assert.deepEqual(tracked.map((t) => t.message), [
      'interface eth1 up -> down: priority -30',
      'effective priority 150 -> 120 (base 150: interface eth1 down -30)',
    ]);
    assert.ok(log.records.some((r) => r.level === 'info' && r.message === 'VI_1: effective priority 150 -> 120 (base 150: interface eth1 down -30)'));
  });
});
