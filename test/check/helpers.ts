/**
 * Test helpers for the checker tests: listeners on 127.0.0.1 port 0, a throw-away CA
 * and server certificates made with openssl at test time, temp dirs, process probes.
 */
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Listens on 127.0.0.1:0 and resolves the port. */
export function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Closes a server and every connection it still holds. */
export function closeServer(server: net.Server & { closeAllConnections?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** Tracks sockets of a net/tls server so a test can destroy them all at the end. */
export function trackSockets(server: net.Server): Set<net.Socket> {
  const set = new Set<net.Socket>();
  const add = (s: net.Socket): void => {
    set.add(s);
    s.on('close', () => set.delete(s));
  };
  server.on('connection', add);
  server.on('secureConnection', add);
  return set;
}

/** A port on 127.0.0.1 with nothing listening (bound then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await closeServer(s);
  return port;
}

/** A fresh temp directory; remove it with {@link rmTmp}. */
export function mkTmp(prefix = 'lvsd-check-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes a temp directory made by {@link mkTmp}. */
export function rmTmp(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Fails with a clear message when a tool the test needs is missing. */
export function requireTool(tool: string, debPackage: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`this test needs ${tool}: apt-get install -y ${debPackage}`);
  }
}

/** PEM paths of a throw-away CA and a server certificate it signed. */
export interface TestPki {
  caCert: string;
  key: string;
  cert: string;
  /** The DNS name in the server certificate's subjectAltName. */
  name: string;
}

/**
 * Makes a CA and a server certificate for `name` (valid `days` days) with openssl, in
 * `dir`. EC P-256 keys keep it fast.
 */
export function makePki(dir: string, name = 'rs.example.test', days = 365): TestPki {
  requireTool('openssl', 'openssl');
  const p = (f: string): string => path.join(dir, f);
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '30',
    '-subj', '/CN=lvsd test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ossl('req', ...ec, '-keyout', p('srv.key'), '-out', p('srv.csr'), '-subj', `/CN=${name}`);
  fs.writeFileSync(p('srv.ext'), `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth\n`);
  ossl('x509', '-req', '-in', p('srv.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'),
    '-CAcreateserial', '-out', p('srv.pem'), '-days', String(days), '-extfile', p('srv.ext'));
  return { caCert: p('ca.pem'), key: p('srv.key'), cert: p('srv.pem'), name };
}

/** True while `pid` exists and is not a zombie (a zombie has already died). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised comm (which may hold spaces).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Result of {@link run}. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program asynchronously (so in-process test servers keep answering). */
export function run(file: string, args: string[], env?: NodeJS.ProcessEnv, timeoutMs = 20000): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/**
 * Starts a child node process that listens on 127.0.0.1:0 with a tiny backlog and then
 * blocks its event loop, so it never accepts: once the accept queue is full, the
 * kernel drops further SYNs and connects hang. Resolves its port and the child.
 */
export function startBlackholeListener(): Promise<{ port: number; child: ChildProcess }> {
  const code = `
    const net = require('net');
    const s = net.createServer();
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(String(s.address().port) + '\\n', () => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      });
    });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), child }));
  });
}
