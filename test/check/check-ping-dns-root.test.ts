/**
 * Issue 12: the scripts the keepalived importer translates PING_CHECK and
 * DNS_CHECK into. check_ping against hosts in a namespace this test builds
 * (one that answers, one address nobody holds) and loopback; check_dns with
 * keepalived DNS_CHECK's default query, "." SOA, against a UDP server on
 * loopback that answers only that.
 */
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import { Topology } from '../lib/netns';
import { closedPort, requireTool, run } from './helpers';

const CHECKS = path.resolve(__dirname, '../../../checks');
const script = (name: string): string => path.join(CHECKS, name);

describe('checks/check_ping', function () {
  this.timeout(60_000);
  let topo: Topology;
  before(async () => {
    topo = await Topology.create('ckping');
    await topo.addHost('a', ['192.0.2.1/24', '2001:db8::1/64']);
    await topo.addHost('b', ['192.0.2.2/24', '2001:db8::2/64']);
  });
  after(async () => {
    await topo?.destroy();
  });

  it('0 when the host answers an echo (IPv4 and IPv6), 1 when nobody holds the address, within its timeout', async () => {
    requireTool('ping', 'iputils-ping');
    for (const host of ['192.0.2.2', '2001:db8::2']) {
      const up = await topo.exec('a', [script('check_ping'), host, '2']);
      assert.equal(up.code, 0, `${host}: ${up.stderr}`);
    }
    const t0 = performance.now();
    const down = await topo.exec('a', [script('check_ping'), '192.0.2.3', '1']);
    assert.equal(down.code, 1, down.stderr);
    assert.match(down.stderr, /no echo reply from 192\.0\.2\.3 within 1 s/);
    assert.ok(performance.now() - t0 < 5000, 'the timeout bounds it');
    assert.equal((await run(script('check_ping'), ['::1', '1'])).code, 0, 'loopback, IPv6');
  });

  it('exits 2 on bad usage', async () => {
    for (const args of [[], ['127.0.0.1', 'soon'], ['127.0.0.1', '0'], ['127.0.0.1', '1', 'x'], ['-c9 127.0.0.1']]) {
      assert.equal((await run(script('check_ping'), args)).code, 2, args.join(' '));
    }
  });
});

describe('checks/check_dns: the root name (keepalived DNS_CHECK default "." SOA)', () => {
  let sock: dgram.Socket;
  let port: number;
  const seen: string[] = [];

  before(async () => {
    // Answers the root SOA (name = one zero byte, type 6) with one record; everything else REFUSED.
    sock = dgram.createSocket('udp4');
    sock.on('message', (q, rinfo) => {
      const root = q.length >= 17 && q[12] === 0 && q.readUInt16BE(13) === 6;
      seen.push(root ? 'root SOA' : `other ${q.subarray(12).toString('hex')}`);
      const hdr = Buffer.alloc(12);
      hdr.writeUInt16BE(q.readUInt16BE(0), 0);
      hdr.writeUInt16BE(root ? 0x8180 : 0x8185, 2);
      hdr.writeUInt16BE(1, 4);
      hdr.writeUInt16BE(root ? 1 : 0, 6);
      const question = q.subarray(12, root ? 17 : q.length);
      // An SOA record for the root: name pointer, type 6, class 1, TTL, and a short rdata.
      const rdata = Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
      const answer = root ? Buffer.concat([Buffer.from([0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 0, 60, 0, rdata.length]), rdata]) : Buffer.alloc(0);
      sock.send(Buffer.concat([hdr, question, answer]), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    port = sock.address().port;
  });
  after(() => new Promise<void>((r) => sock.close(() => r())));

  for (const [label, env] of [['with dig', {}], ['with the built-in query', { LVSD_CHECK_DNS_NO_DIG: '1' }]] as const) {
    it(`${label}: "." SOA is asked as the root and answered; no server gives 1`, async () => {
      if (!('LVSD_CHECK_DNS_NO_DIG' in env)) requireTool('dig', 'bind9-dnsutils');
      seen.length = 0;
      const up = await run(script('check_dns'), [`127.0.0.1#${port}`, '.', 'SOA', '2'], env);
      assert.equal(up.code, 0, `${up.stderr}; the server saw: ${seen.join(', ') || 'nothing'}`);
      assert.deepEqual(seen, ['root SOA']);
      const none = await run(script('check_dns'), [`127.0.0.1#${await closedPort()}`, '.', 'SOA', '1'], env);
      assert.equal(none.code, 1);
    });
  }
});
