/**
 * TCP_CHECK, HTTP_GET/SSL_GET and MISC_CHECK probes against real listeners on
 * 127.0.0.1 port 0 that each test starts and closes.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { httpCheck, parseStatusCodes, sniName, statusAccepted, StatusCodeSpecError } from '../../src/check/http';
import { judgeExit, miscCheck, miscSpawnOptions, splitCommandLine } from '../../src/check/misc';
import { tcpCheck } from '../../src/check/tcp';
import { HttpCheckOptions } from '../../src/check/types';
import {
  alive, closedPort, closeServer, listen, makePki, mkTmp, rmTmp, startBlackholeListener, trackSockets,
} from './helpers';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('check/tcp: TCP_CHECK', () => {
  it('is up when the port accepts', async () => {
    const srv = net.createServer((s) => s.destroy());
    const port = await listen(srv);
    try {
      const r = await tcpCheck({ type: 'TCP_CHECK', connect_ip: '127.0.0.1', connect_port: port, connect_timeout: 2 });
      assert.equal(r.ok, true, r.reason);
      assert.ok(r.durationMs >= 0 && r.durationMs < 2000);
    } finally {
      await closeServer(srv);
    }
  });

  it('is down with ECONNREFUSED when nothing listens', async () => {
    const port = await closedPort();
    const r = await tcpCheck({ type: 'TCP_CHECK', connect_ip: '127.0.0.1', connect_port: port, connect_timeout: 2 });
    assert.equal(r.ok, false);
    assert.equal(r.reason, 'ECONNREFUSED');
  });

  it('judges only the handshake: a server that resets after accepting is still up', async () => {
    // keepalived's TCP_CHECK succeeds on connect; the later RST must not throw.
    // (A reset at the very instant of accept races with the connect report: not tested.)
    const srv = net.createServer((s) => {
      s.on('error', () => undefined);
      setTimeout(() => s.resetAndDestroy(), 50);
    });
    const port = await listen(srv);
    try {
      const r = await tcpCheck({ type: 'TCP_CHECK', connect_ip: '127.0.0.1', connect_port: port, connect_timeout: 2 });
      assert.equal(r.ok, true, r.reason);
    } finally {
      await closeServer(srv);
    }
  });

  it('times out after connect_timeout when SYNs are dropped (full accept queue)', async function () {
    this.timeout(10000);
    const { port, child } = await startBlackholeListener();
    const fillers: net.Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        fillers.push(s);
      }
      await sleep(300);
      const r = await tcpCheck({ type: 'TCP_CHECK', connect_ip: '127.0.0.1', connect_port: port, connect_timeout: 0.4 });
      assert.equal(r.ok, false);
      assert.match(r.reason, /connect timeout/);
      assert.ok(r.durationMs >= 390 && r.durationMs < 1000, `took ${r.durationMs} ms`);
    } finally {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    }
  });

  it('binds to bindto as the source address', async () => {
    let seen = '';
    const srv = net.createServer((s) => {
      seen = s.remoteAddress ?? '';
      s.destroy();
    });
    const port = await listen(srv, '0.0.0.0');
    try {
      const r = await tcpCheck({ type: 'TCP_CHECK', connect_ip: '127.0.0.1', connect_port: port, bindto: '127.0.0.2', connect_timeout: 2 });
      assert.equal(r.ok, true, r.reason);
      await sleep(20);
      assert.equal(seen.replace(/^::ffff:/, ''), '127.0.0.2');
    } finally {
      await closeServer(srv);
    }
  });

  it('ends at once, down, when aborted', async () => {
    const { port, child } = await startBlackholeListener();
    const fillers = [0, 1, 2, 3].map(() => net.connect(port, '127.0.0.1').on('error', () => undefined));
    try {
      await sleep(200);
      const ac = new AbortController();
      const p = tcpCheck({ type: 'TCP_CHECK', connect_ip: '127.0.0.1', connect_port: port, connect_timeout: 5 }, ac.signal);
      setTimeout(() => ac.abort(), 50);
      const r = await p;
      assert.equal(r.ok, false);
      assert.equal(r.reason, 'aborted');
      assert.ok(r.durationMs < 1000);
    } finally {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    }
  });
});

describe('check/http: status_code parsing', () => {
  it('defaults to 2xx and reads codes, ranges and lists', () => {
    assert.deepEqual(parseStatusCodes(undefined), [{ from: 200, to: 299 }]);
    assert.deepEqual(parseStatusCodes(204), [{ from: 204, to: 204 }]);
    assert.deepEqual(parseStatusCodes('200,301-302 404'), [
      { from: 200, to: 200 }, { from: 301, to: 302 }, { from: 404, to: 404 },
    ]);
    assert.deepEqual(parseStatusCodes([200, { from: 500, to: 503 }]), [{ from: 200, to: 200 }, { from: 500, to: 503 }]);
    const r = parseStatusCodes('200-299,301');
    assert.equal(statusAccepted(250, r), true);
    assert.equal(statusAccepted(301, r), true);
    assert.equal(statusAccepted(302, r), false);
  });

  it('rejects nonsense with a stable code', () => {
    for (const bad of ['abc', '299-200', '99', '600', '', [] as number[]]) {
      assert.throws(() => parseStatusCodes(bad), (e: unknown) => e instanceof StatusCodeSpecError && e.code === 'ERR_CHECK_STATUS_CODE', String(bad));
    }
  });
});

describe('check/http: SNI name', () => {
  it('comes from servername, else a DNS-name virtualhost, never an address', () => {
    assert.equal(sniName({ servername: 'a.example.test', virtualhost: 'b.example.test' }), 'a.example.test');
    assert.equal(sniName({ virtualhost: 'b.example.test:8443' }), 'b.example.test');
    assert.equal(sniName({ virtualhost: '192.0.2.1:443' }), undefined);
    assert.equal(sniName({ virtualhost: '[2001:db8::1]:443' }), undefined);
    assert.equal(sniName({ virtualhost: '2001:db8::1' }), undefined);
    assert.equal(sniName({}), undefined);
  });
});

describe('check/http: HTTP_GET against a local server', () => {
  let srv: http.Server;
  let port: number;
  let lastHost: string | undefined;
  let lastPath: string | undefined;
  const body = 'hello from rs1\n';
  const md5 = crypto.createHash('md5').update(body).digest('hex');

  before(async () => {
    srv = http.createServer((req, res) => {
      lastHost = req.headers.host;
      lastPath = req.url;
      const u = req.url ?? '/';
      if (u === '/ok') res.end(body);
      else if (u === '/fail') {
        res.statusCode = 500;
        res.end('boom');
      } else if (u === '/moved') {
        res.statusCode = 301;
        res.setHeader('Location', '/ok');
        res.end();
      } else if (u === '/slow-headers') {
        // Never answers: the check must give up at connect_timeout.
      } else if (u === '/trickle') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        const t = setInterval(() => res.write('x'), 50);
        res.on('close', () => clearInterval(t));
      } else if (u === '/big') {
        res.end(Buffer.alloc(64 * 1024, 'a'));
      } else if (u === '/reset') {
        req.socket.resetAndDestroy();
      } else {
        res.statusCode = 404;
        res.end('no');
      }
    });
    port = await listen(srv);
  });
  after(() => closeServer(srv));

  const opts = (o: Partial<HttpCheckOptions>): HttpCheckOptions => ({
    type: 'HTTP_GET', connect_ip: '127.0.0.1', connect_port: port, connect_timeout: 2, ...o,
  });

  it('is up on 200 and sends url_path', async () => {
    const r = await httpCheck(opts({ url_path: '/ok' }));
    assert.equal(r.ok, true, r.reason);
    assert.equal(r.reason, 'status 200');
    assert.equal(lastPath, '/ok');
  });

  it('is down on a bad status (500), default 2xx', async () => {
    const r = await httpCheck(opts({ url_path: '/fail' }));
    assert.equal(r.ok, false);
    assert.equal(r.reason, 'status 500');
  });

  it('accepts a status range and does not follow redirects', async () => {
    assert.equal((await httpCheck(opts({ url_path: '/moved', status_code: '200-299,301' }))).ok, true);
    const r = await httpCheck(opts({ url_path: '/moved' }));
    assert.equal(r.ok, false);
    assert.equal(r.reason, 'status 301');
    assert.equal((await httpCheck(opts({ url_path: '/nope', status_code: [{ from: 400, to: 404 }] }))).ok, true);
  });

  it('checks the MD5 digest of the body: match and mismatch', async () => {
    const good = await httpCheck(opts({ url_path: '/ok', digest: md5.toUpperCase() }));
    assert.equal(good.ok, true, good.reason);
    const bad = await httpCheck(opts({ url_path: '/ok', digest: '0'.repeat(32) }));
    assert.equal(bad.ok, false);
    assert.equal(bad.reason, `digest mismatch: ${md5}`);
  });

  it('checks a regex on the body', async () => {
    assert.equal((await httpCheck(opts({ url_path: '/ok', regex: 'from rs[0-9]' }))).ok, true);
    const r = await httpCheck(opts({ url_path: '/ok', regex: '^maintenance' }));
    assert.equal(r.ok, false);
    assert.match(r.reason, /regex/);
  });

  it('sends virtualhost as the Host header, else ip:port', async () => {
    await httpCheck(opts({ url_path: '/ok', virtualhost: 'www.example.test' }));
    assert.equal(lastHost, 'www.example.test');
    await httpCheck(opts({ url_path: '/ok' }));
    assert.equal(lastHost, `127.0.0.1:${port}`);
  });

  it('gives up on slow headers at connect_timeout', async () => {
    const r = await httpCheck(opts({ url_path: '/slow-headers', connect_timeout: 0.5 }));
    assert.equal(r.ok, false);
    assert.match(r.reason, /timeout after 500 ms/);
    assert.ok(r.durationMs >= 490 && r.durationMs < 800, `took ${r.durationMs} ms`);
  });

  it('does not let a slow-trickle body hold the check past connect_timeout', async () => {
    const t0 = Date.now();
    const r = await httpCheck(opts({ url_path: '/trickle', connect_timeout: 0.5, digest: md5 }));
    const took = Date.now() - t0;
    assert.equal(r.ok, false);
    assert.match(r.reason, /timeout after 500 ms reading body/);
    assert.ok(took >= 490 && took < 800, `took ${took} ms`);
  });

  it('caps the body at max_body', async () => {
    const r = await httpCheck(opts({ url_path: '/big', digest: md5, max_body: 1024 }));
    assert.equal(r.ok, false);
    assert.equal(r.reason, 'body larger than max_body 1024 bytes');
  });

  it('is down when the connection is reset', async () => {
    const r = await httpCheck(opts({ url_path: '/reset' }));
    assert.equal(r.ok, false);
    assert.match(r.reason, /ECONNRESET|socket hang up/);
  });

  it('is down, not thrown, when nothing listens or options are bad', async () => {
    const r = await httpCheck(opts({ connect_port: await closedPort() }));
    assert.equal(r.ok, false);
    assert.match(r.reason, /ECONNREFUSED/);
    const bad = await httpCheck(opts({ status_code: 'two hundred' }));
    assert.equal(bad.ok, false);
    assert.match(bad.reason, /^bad options: status_code/);
  });
});

describe('check/http: SSL_GET with SNI and a private CA', () => {
  let dir: string;
  let srv: https.Server;
  let port: number;
  let sni: string | false | undefined;

  before(async () => {
    dir = mkTmp();
    const pki = makePki(dir);
    srv = https.createServer({ key: fs.readFileSync(pki.key), cert: fs.readFileSync(pki.cert) }, (_req, res) => res.end('tls ok'));
    srv.on('secureConnection', (s) => {
      sni = (s as unknown as { servername?: string | false }).servername;
    });
    trackSockets(srv);
    port = await listen(srv);
  });
  after(async () => {
    await closeServer(srv);
    rmTmp(dir);
  });

  const opts = (o: Partial<HttpCheckOptions>): HttpCheckOptions => ({
    type: 'SSL_GET', connect_ip: '127.0.0.1', connect_port: port, connect_timeout: 2, url_path: '/',
    ca_file: path.join(dir, 'ca.pem'), ...o,
  });

  it('is up with the right server name, sent as SNI, verified against ca_file', async () => {
    const r = await httpCheck(opts({ servername: 'rs.example.test', regex: 'tls ok' }));
    assert.equal(r.ok, true, r.reason);
    assert.equal(sni, 'rs.example.test');
  });

  it('takes the SNI name from virtualhost when no servername is given', async () => {
    const r = await httpCheck(opts({ virtualhost: 'rs.example.test' }));
    assert.equal(r.ok, true, r.reason);
    assert.equal(sni, 'rs.example.test');
  });

  it('is down with a wrong server name', async () => {
    const r = await httpCheck(opts({ servername: 'other.example.test' }));
    assert.equal(r.ok, false);
    assert.match(r.reason, /ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  it('is down when the CA is not trusted (no ca_file)', async () => {
    const r = await httpCheck(opts({ servername: 'rs.example.test', ca_file: undefined }));
    assert.equal(r.ok, false);
    assert.match(r.reason, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to verify/i);
  });

  it('is up with a wrong name and untrusted CA when verify is off', async () => {
    const r = await httpCheck(opts({ servername: 'other.example.test', ca_file: undefined, verify: false }));
    assert.equal(r.ok, true, r.reason);
  });
});

describe('check/misc: MISC_CHECK', () => {
  let dir: string;
  before(() => {
    dir = mkTmp();
  });
  after(() => rmTmp(dir));

  const script = (name: string, body: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return p;
  };

  it('splits misc_path without a shell: quotes kept, nothing expanded', () => {
    assert.deepEqual(splitCommandLine(`/x/chk 'a b' "c \\"d\\"" $HOME e\\ f`), ['/x/chk', 'a b', 'c "d"', '$HOME', 'e f']);
    assert.throws(() => splitCommandLine(`/x 'open`), /unclosed single quote/);
    assert.throws(() => splitCommandLine('   '), /empty command/);
  });

  it('maps exit codes as keepalived (pure)', () => {
    assert.deepEqual(judgeExit(0, null, true), { ok: true, reason: 'exit 0' });
    assert.deepEqual(judgeExit(1, null, true), { ok: false, reason: 'exit 1' });
    assert.deepEqual(judgeExit(2, null, true), { ok: true, reason: 'exit 2', weight: 0 });
    assert.deepEqual(judgeExit(255, null, true), { ok: true, reason: 'exit 255', weight: 253 });
    assert.deepEqual(judgeExit(7, null, false), { ok: false, reason: 'exit 7' });
    assert.deepEqual(judgeExit(null, 'SIGKILL', true), { ok: false, reason: 'killed by SIGKILL' });
  });

  it('exit 0 is up, exit 1 is down', async () => {
    const up = await miscCheck({ type: 'MISC_CHECK', misc_path: script('up', 'exit 0'), misc_timeout: 5 });
    assert.equal(up.ok, true, up.reason);
    const down = await miscCheck({ type: 'MISC_CHECK', misc_path: script('down', 'exit 1'), misc_timeout: 5 });
    assert.deepEqual([down.ok, down.reason], [false, 'exit 1']);
  });

  it('misc_dynamic: exit 7 is up with weight 5; without it exit 7 is down', async () => {
    const p = script('dyn', 'exit 7');
    const r = await miscCheck({ type: 'MISC_CHECK', misc_path: p, misc_dynamic: true, misc_timeout: 5 });
    assert.deepEqual([r.ok, r.weight], [true, 5]);
    const s = await miscCheck({ type: 'MISC_CHECK', misc_path: p, misc_timeout: 5 });
    assert.deepEqual([s.ok, s.weight], [false, undefined]);
  });

  it('passes arguments literally (no shell)', async () => {
    const out = path.join(dir, 'args.out');
    const p = script('args', `printf '%s|' "$@" > "${out}"`);
    const r = await miscCheck({ type: 'MISC_CHECK', misc_path: `${p} '$HOME' "a b" ;ls`, misc_timeout: 5 });
    assert.equal(r.ok, true, r.reason);
    assert.equal(fs.readFileSync(out, 'utf8'), '$HOME|a b|;ls|');
  });

  it('is down, not thrown, when the program does not exist', async () => {
    const r = await miscCheck({ type: 'MISC_CHECK', misc_path: path.join(dir, 'missing'), misc_timeout: 5 });
    assert.equal(r.ok, false);
    assert.match(r.reason, /cannot run .*ENOENT/);
  });

  it("runs as keepalived's user: the uid and gid go into the spawn options, none without it", () => {
    const as = miscSpawnOptions({ user: { uid: 65534, gid: 65534 } });
    assert.deepEqual([as.uid, as.gid, as.detached, as.shell, as.stdio], [65534, 65534, true, false, 'ignore']);
    const own = miscSpawnOptions({});
    assert.ok(!('uid' in own) && !('gid' in own), JSON.stringify(own));
  });

  it('as root: a MISC_CHECK with user nobody sees id -u 65534', async function () {
    if (process.getuid?.() !== 0) throw new Error('this test starts a check as nobody: run it as root');
    fs.chmodSync(dir, 0o755); // nobody must reach the script
    const p = script('whoami', 'test "$(id -u):$(id -g)" = 65534:65534');
    const as = await miscCheck({ type: 'MISC_CHECK', misc_path: p, misc_timeout: 5, user: { uid: 65534, gid: 65534 } });
    assert.equal(as.ok, true, as.reason);
    const own = await miscCheck({ type: 'MISC_CHECK', misc_path: p, misc_timeout: 5 });
    assert.deepEqual([own.ok, own.reason], [false, 'exit 1'], 'the same check as root fails');
  });

  it('on timeout kills the whole process group: the script and the child it spawned', async () => {
    const pids = path.join(dir, 'pids');
    const p = script('hang', `sleep 60 &\necho "$$ $!" > "${pids}"\nwait`);
    const r = await miscCheck({ type: 'MISC_CHECK', misc_path: p, misc_timeout: 0.5 });
    assert.equal(r.ok, false);
    assert.match(r.reason, /timeout after 500 ms, process group killed/);
    assert.ok(r.durationMs >= 490 && r.durationMs < 1500, `took ${r.durationMs} ms`);
    const [shPid, sleepPid] = fs.readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    assert.ok(shPid > 0 && sleepPid > 0);
    // SIGKILL is delivered at once, but give the kernel a moment to tear them down.
    for (let i = 0; i < 50 && (alive(shPid) || alive(sleepPid)); i++) await sleep(20);
    assert.equal(alive(shPid), false, 'script still alive');
    assert.equal(alive(sleepPid), false, 'its child still alive');
  });
});
