/**
 * `npm run bench -- memory`: the resident memory of every lvsd process — the
 * parent, the VRRP process (and its standby), the director and its checker —
 * with 1,000 virtual servers × 10 real servers and 10,000 × 4 (issue #14:
 * memory stays flat with size). lvsd runs on this host with `--dry-run`, so
 * the director keeps the IPVS table in its own memory (an in-memory IPVS):
 * its figure is an upper bound of what it holds beside a real kernel table.
 * Every real server has a TCP check (delay_loop 60 s) against a listener in
 * this process, so the checker holds a real check set. The figures are read
 * from /proc (VmRSS now, VmHWM the peak since the process began) once every
 * process is running and the table has been written, after a few seconds of
 * quiet.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { request } from '../src/control/client';
import type { StatusResult } from '../src/control/types';
import { LVSD } from '../test/lib/director';
import { printTable } from './lib/stats';
import type { BenchOptions } from './options';

/** The configuration: `n` services × `per` real servers, each with a TCP check against `checkPort` on loopback. */
function configText(dir: string, n: number, per: number, checkPort: number): string {
  const out = [
    '[global]',
    `control_socket = ${path.join(dir, 'lvsd.sock')}`,
    `pid_file = ${path.join(dir, 'lvsd.pid')}`,
    `state_dir = ${path.join(dir, 'state')}`,
    'log_level = warn',
    '[check.tcp]',
    'type = TCP_CHECK',
    'delay_loop = 60',
    'connect_ip = 127.0.0.1',
    `connect_port = ${checkPort}`,
  ];
  for (let v = 0; v < n; v++) {
    const port = 1024 + (v % 60000);
    out.push(`[virtual_server.vs${v}]`, `address = 192.0.2.${100 + Math.floor(v / 60000)}:${port}`, 'lb_algo = wlc', 'lb_kind = NAT', 'check = tcp');
    for (let r = 0; r < per; r++) out.push(`[real_server.vs${v}.rs${r}]`, `address = 198.51.100.${r + 1}:${port}`);
  }
  return `${out.join('\n')}\n`;
}

interface Proc {
  pid: number;
  role: string;
  rssMb: number;
  peakMb: number;
}

function statusKb(pid: number, key: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${key}:`));
  return line ? Number(line.split(/\s+/)[1]) : NaN;
}

/** `pid` and every process below it, each named by its role. */
function tree(root: number): Proc[] {
  const parentOf = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parentOf.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out: Proc[] = [];
  const visit = (pid: number): void => {
    let role = 'other';
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const at = argv.findIndex((a) => a.endsWith('child.js'));
      if (at >= 0) role = argv[at + 1]! + (argv.includes('--standby') ? ' (standby)' : '');
      else if (argv.some((a) => a.endsWith('worker.js'))) role = 'checker';
      else if (pid === root) role = 'parent';
      out.push({ pid, role, rssMb: statusKb(pid, 'VmRSS') / 1024, peakMb: statusKb(pid, 'VmHWM') / 1024 });
    } catch {
      return;
    }
    for (const [p, pp] of parentOf) if (pp === pid) visit(p);
  };
  visit(root);
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function measure(n: number, per: number, checkPort: number, dir: string, verbose: boolean): Promise<{ readyMs: number; procs: Proc[] }> {
  const conf = path.join(dir, 'lvsd.conf');
  writeFileSync(conf, configText(dir, n, per, checkPort));
  const t0 = performance.now();
  const p: ChildProcess = spawn(process.execPath, [LVSD, '--config', conf, '--dry-run', '--log-level', 'warn'], { stdio: ['ignore', verbose ? 'inherit' : 'ignore', 'inherit'] });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  try {
    const sock = path.join(dir, 'lvsd.sock');
    let readyMs = 0;
    for (;;) {
      if (p.exitCode !== null || p.signalCode !== null) throw new Error(`lvsd exited (${p.exitCode ?? p.signalCode}) before it was running`);
      if (performance.now() - t0 > 300_000) throw new Error('lvsd not running after 300 s');
      const s = (await request(sock, 'status', {}, 5000).catch(() => undefined)) as StatusResult | undefined;
      const ps = s?.processes;
      if (ps && Object.values(ps).length >= 2 && Object.values(ps).every((x) => x.state === 'running')) {
        readyMs = performance.now() - t0;
        break;
      }
      await sleep(200);
    }
    await sleep(5000); // the standby VRRP process, the checker's first round, the heap settled
    return { readyMs, procs: tree(p.pid!) };
  } finally {
    p.kill('SIGTERM');
    await Promise.race([exited, sleep(20_000)]);
  }
}

export async function memoryBench(o: BenchOptions): Promise<void> {
  const sizes: Array<[number, number]> = o.servers ? o.servers.map((n) => [n, 10]) : [[1000, 10], [10000, 4]];
  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const checkPort = (server.address() as net.AddressInfo).port;
  const rows: (string | number)[][] = [];
  const json: Record<string, unknown> = {};
  try {
    for (const [n, per] of sizes) {
      const dir = mkdtempSync(path.join(tmpdir(), 'lvsd-bench-memory-'));
      try {
        const { readyMs, procs } = await measure(n, per, checkPort, dir, o.verbose);
        const label = `${n} x ${per}`;
        for (const x of procs) rows.push([label, x.role, x.pid, x.rssMb.toFixed(1), x.peakMb.toFixed(1)]);
        const sum = procs.reduce((a, x) => a + x.rssMb, 0);
        rows.push([label, 'all', '', sum.toFixed(1), '']);
        json[label] = { readyMs: Math.round(readyMs), rssMb: Object.fromEntries(procs.map((x) => [x.role, +x.rssMb.toFixed(1)])), peakMb: Object.fromEntries(procs.map((x) => [x.role, +x.peakMb.toFixed(1)])), totalRssMb: +sum.toFixed(1) };
        console.error(`${label}: every process running ${(readyMs / 1000).toFixed(1)} s after the start`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    server.close();
  }
  console.log('resident memory of each lvsd process (--dry-run: the director holds the IPVS table in memory; a TCP check on every real server)');
  printTable(['table', 'process', 'pid', 'RSS MB', 'peak RSS MB'], rows);
  console.log(JSON.stringify({ bench: 'memory', ...json }));
}
