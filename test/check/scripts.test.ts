/**
 * The ready check scripts in checks/, each run against a listener this test starts on
 * 127.0.0.1 port 0 that speaks just enough of the protocol, once up and once down, and
 * once with bad usage (exit 2).
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { closedPort, closeServer, listen, makePki, mkTmp, requireTool, rmTmp, run, trackSockets } from './helpers';

const CHECKS = path.resolve(__dirname, '../../../checks');
const script = (name: string): string => path.join(CHECKS, name);

/** A TCP server that runs `onConn` per connection and tracks sockets for cleanup. */
async function tcpServer(onConn: (s: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    onConn(s);
  });
  const socks = trackSockets(srv);
  const port = await listen(srv);
  return {
    port,
    close: async () => {
      for (const s of socks) s.destroy();
      await closeServer(srv);
    },
  };
}

describe('checks/: exit-code contract', () => {
  it('every script is executable and documents 0 up, 1 down, 2 usage at its top', () => {
    const names = ['check_tcp', 'check_http', 'check_dns', 'check_smtp', 'check_tls_expiry', 'check_pgsql', 'check_mysql', 'check_process'];
    for (const n of names) {
      const st = fs.statSync(script(n));
      assert.ok((st.mode & 0o111) !== 0, `${n} is not executable`);
      const head = fs.readFileSync(script(n), 'utf8').split('\n').slice(0, 15).join('\n');
      assert.match(head, /^#!\/bin\/(ba)?sh\n/, n);
      assert.match(head, /0\s+up/, n);
      assert.match(head, /1\s+down/, n);
      assert.match(head, /2\s+usage/, n);
    }
  });

  it('every script exits 2 on bad usage', async () => {
    const cases: Array<[string, string[]]> = [
      ['check_tcp', ['127.0.0.1']], ['check_tcp', ['127.0.0.1', 'http']],
      ['check_http', []], ['check_http', ['http://127.0.0.1/', 'ok']],
      ['check_dns', ['127.0.0.1']], ['check_dns', ['127.0.0.1', 'rs.example.test', 'BOGUS']],
      ['check_smtp', []], ['check_tls_expiry', ['127.0.0.1', '443']], ['check_pgsql', []],
      ['check_mysql', ['127.0.0.1', '99999']], ['check_process', []],
    ];
    for (const [n, args] of cases) {
      const r = await run(script(n), args);
      assert.equal(r.code, 2, `${n} ${args.join(' ')}: exit ${r.code}, ${r.stderr}`);
    }
  });
});

describe('checks/check_tcp', () => {
  it('0 when the port accepts, 1 when closed', async () => {
    const s = await tcpServer((c) => c.end());
    try {
      assert.equal((await run(script('check_tcp'), ['127.0.0.1', String(s.port), '2'])).code, 0);
    } finally {
      await s.close();
    }
    const r = await run(script('check_tcp'), ['127.0.0.1', String(await closedPort()), '2']);
    assert.equal(r.code, 1, r.stderr);
  });
});

describe('checks/check_http', () => {
  let srv: http.Server;
  let port: number;
  before(async () => {
    srv = http.createServer((req, res) => {
      res.statusCode = req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 503;
      res.end('x');
    });
    port = await listen(srv);
  });
  after(() => closeServer(srv));

  it('0 on 2xx, 1 on 503, a range or a code can be asked for', async () => {
    requireTool('curl', 'curl');
    const url = (p: string): string => `http://127.0.0.1:${port}${p}`;
    assert.equal((await run(script('check_http'), [url('/ok')])).code, 0);
    const bad = await run(script('check_http'), [url('/down')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /answered 503/);
    assert.equal((await run(script('check_http'), [url('/down'), '500-599'])).code, 0);
    assert.equal((await run(script('check_http'), [url('/moved'), '302'])).code, 0);
    assert.equal((await run(script('check_http'), [url('/moved')])).code, 1, 'redirects are not followed');
  });

  it('1 when nothing listens', async () => {
    const r = await run(script('check_http'), [`http://127.0.0.1:${await closedPort()}/`, '200', '2']);
    assert.equal(r.code, 1);
  });
});

/** Reads the QNAME at offset 12 of a DNS message (RFC 1035 §4.1.2, no compression). */
/** The question of a DNS query, or undefined when the datagram is not a whole one. */
function readQuestion(msg: Buffer): { name: string; type: number; end: number } | undefined {
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    if (msg[i]! > 63) return undefined;
    labels.push(msg.subarray(i + 1, i + 1 + msg[i]!).toString('ascii'));
    i += 1 + msg[i]!;
  }
  if (i + 5 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1), end: i + 5 };
}

describe('checks/check_dns', () => {
  let sock: dgram.Socket;
  let port: number;
  const queries: string[] = [];

  before(async () => {
    // Answers one name, A 198.51.100.1; every other name gets NXDOMAIN.
    sock = dgram.createSocket('udp4');
    sock.on('message', (q, rinfo) => {
      const question = readQuestion(q);
      if (!question) {
        // Recorded, so the test that sent it fails saying what arrived.
        queries.push(`malformed datagram ${q.toString('hex')}`);
        return;
      }
      const { name, type, end } = question;
      queries.push(`${name}/${type}`);
      const known = name === 'rs.example.test' && type === 1;
      const hdr = Buffer.alloc(12);
      hdr.writeUInt16BE(q.readUInt16BE(0), 0); // ID echoed
      hdr.writeUInt16BE(known ? 0x8180 : 0x8183, 2); // QR RD RA, RCODE 0 or 3 (NXDOMAIN)
      hdr.writeUInt16BE(1, 4);
      hdr.writeUInt16BE(known ? 1 : 0, 6);
      const asked = q.subarray(12, end);
      const answer = known
        ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 1])
        : Buffer.alloc(0);
      sock.send(Buffer.concat([hdr, asked, answer]), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    port = sock.address().port;
  });
  after(() => new Promise<void>((r) => sock.close(() => r())));

  for (const [label, env] of [['with dig', {}], ['with the built-in /dev/udp query', { LVSD_CHECK_DNS_NO_DIG: '1' }]] as const) {
    it(`${label}: 0 for a known name, 1 for NXDOMAIN, 1 when no server answers`, async () => {
      if (!('LVSD_CHECK_DNS_NO_DIG' in env)) requireTool('dig', 'bind9-dnsutils');
      queries.length = 0;
      const up = await run(script('check_dns'), [`127.0.0.1#${port}`, 'rs.example.test', 'A', '2'], env);
      assert.equal(up.code, 0, `${up.stderr}; the server saw: ${queries.join(', ') || 'nothing'}`);
      assert.deepEqual(queries, ['rs.example.test/1'], 'the server saw the query');
      const nx = await run(script('check_dns'), [`127.0.0.1#${port}`, 'gone.example.test', 'A', '2'], env);
      assert.equal(nx.code, 1, nx.stderr);
      const none = await run(script('check_dns'), [`127.0.0.1#${await closedPort()}`, 'rs.example.test', 'A', '1'], env);
      assert.equal(none.code, 1);
      assert.ok(none.ms < 5000, `took ${none.ms} ms`);
    });
  }

  it('the built-in query goes out as one datagram even when it holds a newline byte (a 10-byte label)', async () => {
    // bash's printf flushes at each newline byte: written straight to /dev/udp, this
    // query would leave as three datagrams and never be answered.
    queries.length = 0;
    const nx = await run(script('check_dns'), [`127.0.0.1#${port}`, 'abcdefghij.example.test', 'A', '2'], { LVSD_CHECK_DNS_NO_DIG: '1' });
    assert.equal(nx.code, 1, nx.stderr);
    assert.deepEqual(queries, ['abcdefghij.example.test/1']);
  });
});

describe('checks/check_smtp', () => {
  it('0 on a 220 banner (and sends QUIT), 1 on 554, 1 when closed', async () => {
    let quit = '';
    const good = await tcpServer((c) => {
      c.write('220 mx.example.test ESMTP lvsd-test\r\n');
      c.on('data', (d) => (quit += d.toString()));
    });
    const bad = await tcpServer((c) => c.end('554 no SMTP service here\r\n'));
    try {
      const r = await run(script('check_smtp'), ['127.0.0.1', String(good.port), '3']);
      assert.equal(r.code, 0, r.stderr);
      await new Promise((res) => setTimeout(res, 50));
      assert.equal(quit, 'QUIT\r\n');
      assert.equal((await run(script('check_smtp'), ['127.0.0.1', String(bad.port), '3'])).code, 1);
      assert.equal((await run(script('check_smtp'), ['127.0.0.1', String(await closedPort()), '3'])).code, 1);
    } finally {
      await good.close();
      await bad.close();
    }
  });

  it('1 when the banner never comes (timeout)', async () => {
    const mute = await tcpServer(() => undefined);
    try {
      const r = await run(script('check_smtp'), ['127.0.0.1', String(mute.port), '1']);
      assert.equal(r.code, 1);
      assert.ok(r.ms >= 900 && r.ms < 4000, `took ${r.ms} ms`);
    } finally {
      await mute.close();
    }
  });
});

describe('checks/check_tls_expiry', () => {
  let dir: string;
  let srv: tls.Server;
  let port: number;
  before(async () => {
    dir = mkTmp();
    const pki = makePki(dir, 'rs.example.test', 365);
    srv = tls.createServer({ key: fs.readFileSync(pki.key), cert: fs.readFileSync(pki.cert) }, (s) => s.end());
    srv.on('tlsClientError', () => undefined);
    trackSockets(srv);
    port = await listen(srv);
  });
  after(async () => {
    await closeServer(srv);
    rmTmp(dir);
  });

  it('0 when the certificate outlives DAYS, 1 when it expires within DAYS, 1 when closed', async () => {
    requireTool('openssl', 'openssl');
    const ok = await run(script('check_tls_expiry'), ['127.0.0.1', String(port), '30', '5']);
    assert.equal(ok.code, 0, ok.stderr);
    const soon = await run(script('check_tls_expiry'), ['127.0.0.1', String(port), '400', '5']);
    assert.equal(soon.code, 1);
    assert.match(soon.stderr, /expires within 400 days/);
    assert.equal((await run(script('check_tls_expiry'), ['127.0.0.1', String(await closedPort()), '30', '5'])).code, 1);
  });
});

describe('checks/check_pgsql', () => {
  it("0 when an SSLRequest is answered 'N', 1 on another answer, 1 when closed", async () => {
    const seen: Buffer[] = [];
    const pg = await tcpServer((c) => c.once('data', (d) => {
      seen.push(d);
      c.end('N');
    }));
    const notPg = await tcpServer((c) => c.once('data', () => c.end('HTTP/1.0 400 Bad Request\r\n\r\n')));
    try {
      const r = await run(script('check_pgsql'), ['127.0.0.1', String(pg.port), '3']);
      assert.equal(r.code, 0, r.stderr);
      // SSLRequest: length 8, code 80877103.
      assert.deepEqual([...seen[0]], [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
      assert.equal((await run(script('check_pgsql'), ['127.0.0.1', String(notPg.port), '3'])).code, 1);
      assert.equal((await run(script('check_pgsql'), ['127.0.0.1', String(await closedPort()), '3'])).code, 1);
    } finally {
      await pg.close();
      await notPg.close();
    }
  });
});

describe('checks/check_mysql', () => {
  /** A MySQL packet: 3-byte little-endian length, sequence id, payload. */
  const packet = (payload: Buffer): Buffer => {
    const h = Buffer.alloc(4);
    h.writeUIntLE(payload.length, 0, 3);
    return Buffer.concat([h, payload]);
  };

  it('0 on a protocol-10 handshake, 1 on an error packet, 1 when closed', async () => {
    const greeting = packet(Buffer.concat([
      Buffer.from([0x0a]), Buffer.from('8.0.36-lvsd-test\0'), Buffer.from([1, 0, 0, 0]),
      Buffer.from('abcdefgh\0'), Buffer.alloc(20),
    ]));
    const blocked = packet(Buffer.concat([Buffer.from([0xff, 0x69, 0x04]), Buffer.from('Host is blocked')]));
    const my = await tcpServer((c) => c.write(greeting));
    const err = await tcpServer((c) => c.end(blocked));
    try {
      const r = await run(script('check_mysql'), ['127.0.0.1', String(my.port), '3']);
      assert.equal(r.code, 0, r.stderr);
      const b = await run(script('check_mysql'), ['127.0.0.1', String(err.port), '3']);
      assert.equal(b.code, 1);
      assert.match(b.stderr, /no MySQL handshake/);
      assert.equal((await run(script('check_mysql'), ['127.0.0.1', String(await closedPort()), '3'])).code, 1);
    } finally {
      await my.close();
      await err.close();
    }
  });
});

describe('checks/check_process', () => {
  it('0 while a process of that name runs, 1 once it is gone', async () => {
    requireTool('pgrep', 'procps');
    const dir = mkTmp();
    const name = `lvsdchk${process.pid % 100000}`;
    const bin = path.join(dir, name);
    fs.copyFileSync('/bin/sleep', bin);
    fs.chmodSync(bin, 0o755);
    const child = spawn(bin, ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      assert.equal((await run(script('check_process'), [name])).code, 0);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const r = await run(script('check_process'), [name]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no process named/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmTmp(dir);
    }
  });
});
