/**
 * Issue 12: [global] vrrp_mcast_group4 / vrrp_mcast_group6 reach the wire.
 * Over fake transports: each multicast instance's transport joins its
 * family's configured group, adverts go to it, and an arrival whose
 * destination the transport cannot tell is checked (v3 checksum) against it.
 */
import { strict as assert } from 'node:assert';
import { FakeKernel } from '../../src/kernel/fake';
import { FakeClock } from '../../src/lib/clock';
import { formatIp, parseIp } from '../../src/lib/ip';
import { nullLogger } from '../../src/log';
import { VrrpEngine } from '../../src/vrrp/engine';
import type { Arrival, TransportOptions, VrrpTransport } from '../../src/vrrp/io';
import { encodeVrrp } from '../../src/vrrp/packet';
import { conf } from '../reconcile/helpers';

class FakeTransport implements VrrpTransport {
  readonly sent: string[] = [];
  private listener: ((a: Arrival) => void) | undefined;
  constructor(readonly kind: 'raw' | 'udp', readonly options: TransportOptions) {}
  sendTo(_payload: Uint8Array, dst: Uint8Array): void {
    this.sent.push(formatIp(dst));
  }
  onArrival(listener: (a: Arrival) => void): void {
    this.listener = listener;
  }
  deliver(a: Arrival): void {
    this.listener!(a);
  }
  close(): void {}
}

const ip = (t: string): Uint8Array => parseIp(t)!;

describe('vrrp/engine: vrrp_mcast_group4 / vrrp_mcast_group6 (issue 12)', () => {
  const run = async (global: string[]) => {
    const config = conf([
      '[global]', ...global,
      '[vrrp_instance.V4]', 'interface = eth0', 'virtual_router_id = 51', 'priority = 150', 'version = 3', 'virtual_ipaddress[] = 192.0.2.100/24',
      '[vrrp_instance.V6]', 'interface = eth0', 'virtual_router_id = 52', 'priority = 150', 'version = 3', 'virtual_ipaddress[] = 2001:db8::100/64',
    ]);
    const k = new FakeKernel();
    k.addLink({ name: 'eth0' });
    await k.addresses.add('eth0', '192.0.2.11/24');
    k.addresses.addLinkLocal('eth0');
    const clock = new FakeClock();
    const transports: FakeTransport[] = [];
    const engine = new VrrpEngine({
      clock, log: nullLogger, links: k.links, addresses: k.addresses, announcer: k.announcer,
      openTransport: (kind, opts) => {
        const t = new FakeTransport(kind, opts);
        transports.push(t);
        return t;
      },
      onTransition: () => {},
    });
    await engine.start(config);
    return { engine, clock, transports, v4: transports.find((t) => t.options.family === 4)!, v6: transports.find((t) => t.options.family === 6)! };
  };

  it('joins, sends to and checks arrivals against the configured groups', async () => {
    const { engine, clock, v4, v6 } = await run(['vrrp_mcast_group4 = 224.0.0.19', 'vrrp_mcast_group6 = ff02::1:19']);
    try {
      assert.deepEqual([formatIp(v4.options.group!), formatIp(v6.options.group!)], ['224.0.0.19', 'ff02::1:19']);
      clock.advance(4000); // past Master_Down_Interval: both advertise
      assert.ok(v4.sent.length > 0 && v4.sent.every((d) => d === '224.0.0.19'), v4.sent.join(' '));
      assert.ok(v6.sent.length > 0 && v6.sent.every((d) => d === 'ff02::1:19'), v6.sent.join(' '));
      // A better master's advert, its destination unknown to the transport: the v3 checksum only holds for the configured group.
      const payload = encodeVrrp({ version: 3, vrid: 51, priority: 200, maxAdvertInterval: 100, addresses: [ip('192.0.2.100')] }, { family: 4, src: ip('192.0.2.12'), dst: ip('224.0.0.19') });
      v4.deliver({ family: 4, payload, src: ip('192.0.2.12'), dst: undefined, ttl: 255 });
      const st = engine.status().instances.find((i) => i.name === 'V4')!;
      assert.deepEqual([st.state, st.drops], ['BACKUP', {}]);
    } finally {
      await engine.stop();
    }
  });

  it('defaults to the RFC groups', async () => {
    const { engine, clock, v4, v6 } = await run([]);
    try {
      assert.deepEqual([formatIp(v4.options.group!), formatIp(v6.options.group!)], ['224.0.0.18', 'ff02::12']);
      clock.advance(4000);
      assert.deepEqual([v4.sent[0], v6.sent[0]], ['224.0.0.18', 'ff02::12']);
    } finally {
      await engine.stop();
    }
  });
});
