/**
 * lvsd's VIP routes against the real kernel (issue 13): IPv4 and IPv6, a
 * table id below and above 255 (RTA_TABLE), idempotent add, delete of an
 * absent route, and only lvsd's own protocol read back (a route someone
 * else put in the table is left alone).
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { Topology, requireTestbed } from '../lib/netns';

const ROUTES = path.resolve(__dirname, '../../src/bgp/routes.js');

describe('bgp/routes: VIP routes in lvsd\'s table, in a namespace', function () {
  this.timeout(30_000);
  let topo: Topology;
  before(async () => {
    requireTestbed(['ip']);
    topo = await Topology.create('bgpr');
    await topo.addNamespace('d1');
  });
  after(async () => topo?.destroy());

  it('adds, lists and deletes /32 and /128 routes in tables 100 and 4242', async () => {
    await topo.run('d1', ['ip', 'route', 'add', '192.0.2.99/32', 'dev', 'lo', 'table', '100', 'proto', 'static']);
    const script = `
      const { KernelVipRoutes } = require(${JSON.stringify(ROUTES)});
      (async () => {
        const r = new KernelVipRoutes();
        await r.add('192.0.2.10', 'lo', 100);
        await r.add('192.0.2.10', 'lo', 100);
        await r.add('2001:db8::10', 'lo', 100);
        await r.add('203.0.113.7', 'lo', 4242);
        const listed = [await r.list(100), await r.list(4242)];
        await r.del('2001:db8::10', 'lo', 100);
        await r.del('2001:db8::10', 'lo', 100);
        await r.del('203.0.113.7', 'lo', 4242);
        const after = [await r.list(100), await r.list(4242)];
        r.close();
        process.stdout.write(JSON.stringify({ listed, after }));
      })().catch((e) => { process.stderr.write(String(e.stack)); process.exit(1); });`;
    const out = JSON.parse(await topo.run('d1', [process.execPath, '-e', script])) as { listed: string[][]; after: string[][] };
    assert.deepEqual(out.listed, [['192.0.2.10', '2001:db8::10'], ['203.0.113.7']]);
    assert.deepEqual(out.after, [['192.0.2.10'], []]);
    const v4 = await topo.run('d1', ['ip', 'route', 'show', 'table', '100']);
    assert.match(v4, /^192\.0\.2\.10 dev lo proto 250 scope link/m);
    assert.match(v4, /^192\.0\.2\.99 dev lo proto static/m, 'the foreign route stays');
    assert.equal((await topo.run('d1', ['ip', '-6', 'route', 'show', 'table', '100'])).trim(), '');
  });
});
