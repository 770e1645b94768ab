/**
 * The engine's receive path and advert TTLs over fake transports: which
 * TTL / hop limit each advert is sent with, and which arrivals the TTL check
 * drops (RFC 5798 §7.1 for multicast; none for unicast peers, as keepalived).
 */
import { strict as assert } from 'node:assert';
import type { LvsdConfig } from '../../src/config/types';
import { FakeKernel } from '../../src/kernel/fake';
import { FakeClock } from '../../src/lib/clock';
import { parseIp } from '../../src/lib/ip';
import { nullLogger } from '../../src/log';
import { VrrpEngine, ttlAcceptable } from '../../src/vrrp/engine';
import { advertTtl } from '../../src/vrrp/instance';
import { VRRP_GROUP_V4 } from '../../src/vrrp/io';
import { encodeVrrp } from '../../src/vrrp/packet';
import { conf } from '../reconcile/helpers';
import { FakeTransport, fakeOpener } from './fake-transport';

const ip = (t: string): Uint8Array => parseIp(t)!;

/** A VRRPv3 advert from `src` (default 192.0.2.12) for `vrid`, priority 200, encoded for `dst`. */
function advert(vrid: number, vip: string, dst: Uint8Array, src = '192.0.2.12'): Uint8Array {
  return encodeVrrp({ version: 3, vrid, priority: 200, maxAdvertInterval: 100, addresses: [ip(vip)] }, { family: 4, src: ip(src), dst });
}

describe('vrrp/engine: ttlAcceptable', () => {
  it('wants 255 on multicast, a peer\'s min_ttl..max_ttl on unicast, and passes an unknown TTL', () => {
    assert.equal(ttlAcceptable(true, 255, undefined), true);
    assert.equal(ttlAcceptable(true, 254, undefined), false);
    assert.equal(ttlAcceptable(true, 1, { minTtl: 0, maxTtl: 255 }), false, 'peer limits never relax multicast');
    assert.equal(ttlAcceptable(false, 1, { minTtl: 0, maxTtl: 255 }), true);
    assert.equal(ttlAcceptable(false, 249, { minTtl: 250, maxTtl: 255 }), false);
    assert.equal(ttlAcceptable(false, 250, { minTtl: 250, maxTtl: 255 }), true);
    assert.equal(ttlAcceptable(false, 65, { minTtl: 0, maxTtl: 64 }), false);
    assert.equal(ttlAcceptable(false, 3, undefined), true, 'not a peer: the state machine drops it as peer');
    assert.equal(ttlAcceptable(true, undefined, undefined), true, 'UDP carries no TTL');
  });
});

describe('vrrp/engine: advert TTL (unicast_ttl) and the receive TTL check', () => {
  let config: LvsdConfig;
  let clock: FakeClock;
  let engine: VrrpEngine;
  const transports: FakeTransport[] = [];
  const pool = (multicast: boolean): FakeTransport => transports.find((t) => (t.options.peers.length === 0) === multicast)!;

  let k: FakeKernel;
  beforeEach(async () => {
    transports.length = 0;
    config = conf([
      '[vrrp_instance.MC]', 'interface = eth0', 'virtual_router_id = 51', 'priority = 150', 'version = 3',
      'virtual_ipaddress[] = 192.0.2.100/24',
      '[vrrp_instance.UC]', 'interface = eth0', 'virtual_router_id = 52', 'priority = 150', 'version = 3',
      'virtual_ipaddress[] = 192.0.2.101/24', 'unicast_src_ip = 192.0.2.11', 'unicast_peer[] = 192.0.2.12', 'unicast_peer[] = 192.0.2.13 min_ttl 250', 'unicast_ttl = 64',
    ]);
    k = new FakeKernel();
    k.addLink({ name: 'eth0' });
    await k.addresses.add('eth0', '192.0.2.11/24');
    clock = new FakeClock();
    engine = new VrrpEngine({
      clock,
      log: nullLogger,
      links: k.links,
      addresses: k.addresses,
      announcer: k.announcer,
      openTransport: fakeOpener(transports),
      onTransition: () => {},
    });
    await engine.start(config);
  });
  afterEach(() => engine.stop());

  it('chooses 255 for multicast and unicast_ttl for unicast peers', () => {
    assert.equal(advertTtl(config.vrrpInstances.get('MC')!), 255);
    assert.equal(advertTtl(config.vrrpInstances.get('UC')!), 64);
    assert.equal(advertTtl({ unicastPeers: [], unicastTtl: 64 }), 255, 'unicast_ttl never applies to the group');
  });

  it('sends multicast adverts with TTL 255 and unicast ones with unicast_ttl, to each peer', () => {
    clock.advance(4000); // past Master_Down_Interval: both become master and advertise
    assert.equal(engine.instance('MC')!.state, 'MASTER');
    assert.equal(engine.instance('UC')!.state, 'MASTER');
    const mc = pool(true).sent;
    const uc = pool(false).sent;
    assert.ok(mc.length > 0 && uc.length > 0);
    assert.ok(mc.every((s) => s.dst === '224.0.0.18' && s.ttl === 255), JSON.stringify(mc));
    assert.deepEqual([...new Set(uc.map((s) => `${s.dst} ${s.ttl}`))].sort(), ['192.0.2.12 64', '192.0.2.13 64']);
  });

  it('drops a multicast advert whose TTL is not 255, counted as ttl', () => {
    const mc = engine.instance('MC')!;
    pool(true).deliver({ family: 4, payload: advert(51, '192.0.2.100', VRRP_GROUP_V4), src: ip('192.0.2.12'), dst: VRRP_GROUP_V4, ttl: 254 });
    assert.deepEqual(mc.status().drops, { ttl: 1 });
    assert.equal(mc.status().counters.advertsReceived, 0);
    pool(true).deliver({ family: 4, payload: advert(51, '192.0.2.100', VRRP_GROUP_V4), src: ip('192.0.2.12'), dst: VRRP_GROUP_V4, ttl: 255 });
    assert.equal(mc.status().counters.advertsReceived, 1);
  });

  it('accepts a unicast advert from a peer whatever its TTL (keepalived checks TTL only for multicast)', () => {
    const uc = engine.instance('UC')!;
    for (const ttl of [64, 1, 255]) {
      pool(false).deliver({ family: 4, payload: advert(52, '192.0.2.101', ip('192.0.2.11')), src: ip('192.0.2.12'), dst: ip('192.0.2.11'), ttl });
    }
    assert.deepEqual(uc.status().drops, {});
    assert.equal(uc.status().counters.advertsReceived, 3);
    assert.equal(uc.status().master?.address, '192.0.2.12', 'the advert was acted on');
  });

  it("drops a unicast advert outside its peer's min_ttl..max_ttl, counted as ttl", () => {
    const uc = engine.instance('UC')!;
    const from13 = (ttl: number): void =>
      pool(false).deliver({ family: 4, payload: advert(52, '192.0.2.101', ip('192.0.2.11'), '192.0.2.13'), src: ip('192.0.2.13'), dst: ip('192.0.2.11'), ttl });
    from13(64);
    from13(249);
    assert.deepEqual(uc.status().drops, { ttl: 2 });
    assert.equal(uc.status().counters.advertsReceived, 0);
    from13(250);
    from13(255);
    assert.deepEqual(uc.status().drops, { ttl: 2 });
    assert.equal(uc.status().counters.advertsReceived, 2);
  });

  it('announces with the link its subscription holds: no RTM_GETLINK before the first frame of a takeover', async () => {
    const before = k.callsOf('links.get').length;
    clock.advance(4000);
    await new Promise((r) => setImmediate(r));
    const sent = k.callsOf('announce');
    assert.ok(sent.length > 0, 'announced on becoming master');
    assert.ok(sent.every((c) => (c.args[2] as { link?: { name: string } }).link?.name === 'eth0'), JSON.stringify(sent.map((c) => c.args[2])));
    assert.equal(k.callsOf('links.get').length, before);
  });
});
