import { strict as assert } from 'node:assert';
import { FakeClock } from '../../src/lib/clock';
import { nullLogger } from '../../src/log';
import { type AnnouncedAddress, GarpSchedule } from '../../src/vrrp/garp';
import { VrrpInstanceRuntime } from '../../src/vrrp/instance';
import type { VrrpTransport } from '../../src/vrrp/io';
import { conf } from '../reconcile/helpers';

const V4: AnnouncedAddress = { address: '192.0.2.100', family: 4 };
const V4B: AnnouncedAddress = { address: '192.0.2.101', family: 4 };
const V6: AnnouncedAddress = { address: '2001:db8::100', family: 6 };

/** A schedule whose announcements are recorded as [time, addresses, count, why]. */
function recorder(clock: FakeClock, settings: ConstructorParameters<typeof GarpSchedule>[1], addresses: readonly AnnouncedAddress[] = [V4]) {
  const sent: Array<[number, string, number, string]> = [];
  const g = new GarpSchedule(clock, settings, addresses, (a, n, why) => sent.push([clock.now(), a.join(' '), n, why]));
  return { g, sent };
}

describe('vrrp/garp schedule', () => {
  it('sends a burst at once, a second after garp_master_delay, then refreshes', () => {
    const clock = new FakeClock(1000);
    const { g, sent } = recorder(clock, { delayMs: 5000, repeat: 5, refreshMs: 10000 });
    g.start();
    clock.advance(26000);
    assert.deepEqual(sent, [
      [1000, '192.0.2.100', 5, 'became master'],
      [6000, '192.0.2.100', 5, 'garp_master_delay'],
      [16000, '192.0.2.100', 1, 'garp_master_refresh'],
      [26000, '192.0.2.100', 1, 'garp_master_refresh'],
    ]);
  });
  it('stops completely when the instance leaves master', () => {
    const clock = new FakeClock();
    let count = 0;
    const g = new GarpSchedule(clock, { delayMs: 5000, repeat: 3, refreshMs: 1000 }, [V4], (_a, n) => (count += n));
    g.start();
    g.stop();
    clock.advance(60000);
    assert.equal(count, 3);
    assert.equal(clock.pending, 0);
  });
  it('never refreshes with garp_master_refresh 0', () => {
    const clock = new FakeClock();
    const { g, sent } = recorder(clock, { delayMs: 5000, repeat: 5, refreshMs: 0 });
    g.start();
    clock.advance(600000);
    assert.deepEqual(sent.map((s) => s[3]), ['became master', 'garp_master_delay']);
    assert.equal(clock.pending, 0);
  });
});

describe('vrrp/garp: a reload (issue #10)', () => {
  it('announces only the added addresses, paced per family, and later bursts use the new list', () => {
    const clock = new FakeClock();
    const { g, sent } = recorder(clock, { delayMs: 5000, repeat: 2, refreshMs: 10000, gnaIntervalMs: 100 }, [V4]);
    g.start();
    g.setAddresses([V4, V4B, V6]);
    g.burst('reload added VIPs', [V4B.address, V6.address]);
    clock.advance(200);
    assert.deepEqual(sent, [
      [0, '192.0.2.100', 2, 'became master'],
      [0, '192.0.2.101', 2, 'reload added VIPs'],
      [0, '2001:db8::100', 1, 'reload added VIPs'],
      [100, '2001:db8::100', 1, 'reload added VIPs'],
    ]);
    clock.advance(5000);
    assert.deepEqual(sent.slice(4).map((x) => x[1]), ['192.0.2.100 192.0.2.101', '2001:db8::100', '2001:db8::100'], 'garp_master_delay covers the new list');
  });
});

describe('vrrp/garp: garp_interval and gna_interval', () => {
  it('spaces the N messages of a burst at 0, i, 2i … on timers', () => {
    const clock = new FakeClock(1000);
    const { g, sent } = recorder(clock, { delayMs: 0, repeat: 5, refreshMs: 0, garpIntervalMs: 150 });
    g.start();
    assert.deepEqual(sent, [[1000, '192.0.2.100', 1, 'became master']], 'the first at once, the rest later: nothing blocks');
    clock.advance(1000);
    assert.deepEqual(sent.map((s) => s[0]), [1000, 1150, 1300, 1450, 1600]);
    assert.ok(sent.every((s) => s[1] === '192.0.2.100' && s[2] === 1));
    assert.equal(clock.pending, 0);
  });

  it('keeps interval 0 back to back: one call for the whole burst', () => {
    const clock = new FakeClock();
    const { g, sent } = recorder(clock, { delayMs: 0, repeat: 5, refreshMs: 0, garpIntervalMs: 0, gnaIntervalMs: 0 }, [V4, V6, V4B]);
    g.start();
    assert.deepEqual(sent, [[0, '192.0.2.100 2001:db8::100 192.0.2.101', 5, 'became master']]);
    assert.equal(clock.pending, 0);
  });

  it('spaces every message of one family, address after address in each round', () => {
    const clock = new FakeClock();
    const { g, sent } = recorder(clock, { delayMs: 0, repeat: 2, refreshMs: 0, garpIntervalMs: 100 }, [V4, V4B]);
    g.start();
    clock.advance(1000);
    assert.deepEqual(sent.map((s) => `${s[0]} ${s[1]}`), ['0 192.0.2.100', '100 192.0.2.101', '200 192.0.2.100', '300 192.0.2.101']);
  });

  it('gives ARP and NA their own spacing', () => {
    const clock = new FakeClock();
    const { g, sent } = recorder(clock, { delayMs: 0, repeat: 3, refreshMs: 0, garpIntervalMs: 100, gnaIntervalMs: 0 }, [V4, V6]);
    g.start();
    clock.advance(1000);
    assert.deepEqual(sent.map((s) => `${s[0]} ${s[1]} ${s[2]}`), ['0 2001:db8::100 3', '0 192.0.2.100 1', '100 192.0.2.100 1', '200 192.0.2.100 1']);
    const c2 = new FakeClock();
    const two = recorder(c2, { delayMs: 0, repeat: 2, refreshMs: 0, garpIntervalMs: 300, gnaIntervalMs: 200 }, [V4, V6]);
    two.g.start();
    c2.advance(1000);
    assert.deepEqual(two.sent.map((s) => `${s[0]} ${s[1]}`), ['0 192.0.2.100', '0 2001:db8::100', '200 2001:db8::100', '300 192.0.2.100']);
  });

  it('queues a burst that starts during another behind it, keeping the spacing', () => {
    const clock = new FakeClock();
    const { g, sent } = recorder(clock, { delayMs: 250, repeat: 3, refreshMs: 0, garpIntervalMs: 100 });
    g.start();
    clock.advance(2000);
    assert.deepEqual(sent.map((s) => `${s[0]} ${s[3]}`), [
      '0 became master', '100 became master', '200 became master',
      '300 garp_master_delay', '400 garp_master_delay', '500 garp_master_delay',
    ]);
  });

  it('coalesces repeated bursts while a paced one is queued: a lasting split brain cannot grow the queue (issue 11)', () => {
    const clock = new FakeClock();
    const { g, sent } = recorder(clock, { delayMs: 0, repeat: 5, refreshMs: 0, garpIntervalMs: 100 }, [V4, V4B]);
    // The other master's adverts every 100 ms each ask for a burst, for 10 s.
    for (let t = 0; t < 10_000; t += 100) {
      g.burst('lower priority advert');
      clock.advance(100);
    }
    const during = sent.length;
    clock.advance(60_000);
    // At most one burst's worth (5 rounds × 2 addresses) is ever waiting: it drains within a second.
    assert.ok(sent.length - during <= 10, `${sent.length - during} messages after the split brain ended`);
    assert.ok(sent.every((s, i) => i === 0 || s[0] - sent[i - 1]![0] >= 100), 'spacing kept');
    assert.equal(clock.pending, 0);
    // And it still sends a full burst when the queue is empty.
    const before = sent.length;
    g.burst('again');
    clock.advance(2000);
    assert.equal(sent.length - before, 10);
  });

  it('stop() drops the rest of a burst in progress', () => {
    const clock = new FakeClock();
    const { g, sent } = recorder(clock, { delayMs: 5000, repeat: 5, refreshMs: 1000, garpIntervalMs: 100 });
    g.start();
    clock.advance(150);
    g.stop();
    clock.advance(60000);
    assert.deepEqual(sent.map((s) => s[0]), [0, 100]);
    assert.equal(clock.pending, 0);
  });

  it('leaving MASTER cancels the rest of the burst (the instance driver)', async () => {
    const c = conf([
      '[vrrp_instance.VI_1]', 'interface = eth0', 'virtual_router_id = 51', 'priority = 150', 'version = 3', 'advert_int = 1',
      'virtual_ipaddress[] = 192.0.2.100/24', 'garp_master_repeat = 5', 'garp_interval = 0.5', 'garp_master_delay = 0',
    ]).vrrpInstances.get('VI_1')!;
    assert.equal(c.garpIntervalMs, 500);
    const clock = new FakeClock();
    const announced: Array<[number, string, number]> = [];
    const transport: VrrpTransport = {
      kind: 'raw',
      options: { family: 4, ifname: 'eth0', source: Uint8Array.of(192, 0, 2, 11), peers: [] },
      sendTo: () => {},
      onArrival: () => {},
      close: () => {},
    };
    const effects = {
      addVip: async () => undefined,
      removeVip: async () => undefined,
      announce: async (_ifname: string, addrs: readonly string[], count: number) => announced.push([clock.now(), addrs.join(' '), count]),
    };
    const states: string[] = [];
    const r = new VrrpInstanceRuntime(c, Uint8Array.of(192, 0, 2, 11), transport, effects, clock, nullLogger, (t) => states.push(t.to));
    r.start();
    clock.advance(3500); // Master_Down_Interval = 3 × 1 s + (256 − 150)/256 s
    assert.equal(r.state, 'MASTER');
    const became = clock.now();
    await new Promise((res) => setImmediate(res)); // the VIPs are added, then the burst starts
    clock.advance(1200);
    assert.deepEqual(announced.map((a) => a[0] - became), [0, 500, 1000], 'three of five so far, 500 ms apart');
    r.setFault(true, 'test: leaving MASTER');
    assert.equal(r.state, 'FAULT');
    await new Promise((res) => setImmediate(res)); // the VIPs go, and the burst with them
    assert.equal(clock.pending, 0, 'no timer left: the queued messages are gone, not just muted');
    clock.advance(10000);
    assert.equal(announced.length, 3, 'the last two messages of the burst were dropped');
    assert.deepEqual(states, ['BACKUP', 'MASTER', 'FAULT']);
  });
});
