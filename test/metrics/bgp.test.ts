import { strict as assert } from 'node:assert';
import type { BgpStatus } from '../../src/bgp/service';
import { createMetrics, type MetricsSource } from '../../src/metrics/registry';

const BGP: BgpStatus = {
  birdSocket: '/run/bird/bird.ctl',
  routeTable: 100,
  vipInterface: 'lo',
  drained: false,
  vips: [
    { vip: '192.0.2.10', state: 'announced', cause: 'quorum gained: web', sinceS: 3, virtualServers: ['web'], route: true, routeError: null },
    { vip: '192.0.2.11', state: 'withdrawn', cause: 'quorum lost: dns', sinceS: 1, virtualServers: ['dns'], route: false, routeError: null },
  ],
  bird: { up: true, error: null, version: 'BIRD 2.0.12 ready.', polledAgoS: 0.4 },
  bfdExpected: true,
  protocols: [
    { name: 'router1', state: 'up', bgpState: 'Established', since: '18:07:46.958', neighbor: '203.0.113.1', lastError: '', exportedRoutes: 1, bfd: 'Up' },
    { name: 'router2', state: 'start', bgpState: 'Active', since: '18:08:04.438', neighbor: '203.0.113.3', lastError: 'Socket: Connection refused', exportedRoutes: null, bfd: 'Down' },
  ],
  bfdMissing: ['router2'],
  sysctlsManaged: true,
  sysctls: [
    { name: 'net.ipv4.vs.sloppy_tcp', want: '1', have: '1', ok: true, why: '' },
    { name: 'net.ipv4.vs.expire_nodest_conn', want: '1', have: '0', ok: false, why: '' },
  ],
  syncDaemon: null,
};

describe('metrics: the BGP series (issue 13)', () => {
  const source = (bgp: BgpStatus | undefined): MetricsSource => ({
    info: () => ({ version: '0.1.0', routerId: 'lvs-a' }),
    vrrp: () => undefined,
    director: () => undefined,
    transitions: () => ({}),
    // lvsd gives the source a bgp() only with [bgp].
    ...(bgp ? { bgp: () => bgp } : {}),
  });

  it('exports announced VIPs, BIRD, sessions, BFD and sysctls', async () => {
    const text = await createMetrics(source(BGP)).metrics();
    for (const line of [
      'lvsd_bgp_announced{vip="192.0.2.10"} 1',
      'lvsd_bgp_announced{vip="192.0.2.11"} 0',
      'lvsd_bgp_drained 0',
      'lvsd_bird_up 1',
      'lvsd_bgp_protocol_up{protocol="router1"} 1',
      'lvsd_bgp_protocol_up{protocol="router2"} 0',
      'lvsd_bgp_bfd_up{protocol="router1"} 1',
      'lvsd_bgp_bfd_up{protocol="router2"} 0',
      'lvsd_bgp_sysctl_ok{name="net.ipv4.vs.sloppy_tcp"} 1',
      'lvsd_bgp_sysctl_ok{name="net.ipv4.vs.expire_nodest_conn"} 0',
    ]) assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
  });

  it('a BIRD that does not answer is lvsd_bird_up 0; without [bgp] there is no BGP series', async () => {
    const down = await createMetrics(source({ ...BGP, bird: { up: false, error: 'ECONNREFUSED', version: null, polledAgoS: 1 } })).metrics();
    assert.ok(down.split('\n').includes('lvsd_bird_up 0'));
    const none = await createMetrics(source(undefined)).metrics();
    assert.ok(!/^lvsd_bird_up /m.test(none) && !/^lvsd_bgp_announced\{/m.test(none), none);
  });
});
