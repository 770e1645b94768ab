/**
 * unicast_ttl on the wire: every VRRP transport (raw IPv4 with IP_HDRINCL,
 * raw IPv6, UDP over IPv4 and IPv6) sends each advert with the TTL / hop
 * limit it is given, changing it from one send to the next, as read back by
 * capture sockets inside a throwaway namespace.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { Topology } from '../lib/netns';

const PROBE = path.join(__dirname, 'tools', 'ttl-probe.js');

describe('VRRP transports: the TTL / hop limit of each advert (unicast_ttl)', function () {
  this.timeout(30_000);
  let topo: Topology;

  before(async () => {
    topo = await Topology.create('ttl');
    await topo.addNamespace('h');
  });
  after(() => topo?.destroy());

  it('puts the TTL asked for in each packet, per send, on all four transports', async () => {
    const out = await topo.run('h', [process.execPath, PROBE, '7', '200', '255', '1'], { timeoutMs: 20_000 });
    const seen = JSON.parse(out) as Record<string, number[]>;
    for (const t of ['raw4', 'raw6', 'udp4', 'udp6']) {
      assert.deepEqual(seen[t], [7, 200, 255, 1], `${t}: ${out}`);
    }
  });

  it('reports the TTL / hop limit of each arrival on the raw transports, for the receive check', async () => {
    const out = await topo.run('h', [process.execPath, PROBE, '64', '255'], { timeoutMs: 20_000 });
    const seen = JSON.parse(out) as Record<string, number[]>;
    assert.deepEqual(seen.rxRaw4, [64, 255], out);
    assert.deepEqual(seen.rxRaw6, [64, 255], out);
  });
});
