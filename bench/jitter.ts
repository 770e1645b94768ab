/**
* `npm run bench -- jitter`: how late a master's VRRP adverts are while its
 * director health-checks 0, 1,000 and 10,000 real servers (TCP_CHECK,
 * delay_loop 1, so N checks per second), lvsd beside keepalived.
 *
 * Topology: a (master, priority 150, advert_int 0.1, VRRPv3) and b (backup,
 * priority 100, VRRP only) on bridge br0; a reaches the real servers over
 * br1, where namespace rs runs one node process listening on ports 20000…
 * of 198.51.100.10 and counting accepted connections (so the checks per
 * second actually done are measured, not assumed). The adverts are captured
 * by tcpdump in an observer namespace on b's bridge (kernel receive
 * timestamps: what b receives, without b's processes in the way); lateness = inter-arrival −
 * advert_int for consecutive adverts of a within the measuring window.
 * CPU seconds and peak RSS of a's processes (VRRP and checker apart) are
 * read from /proc over the same window.
 *
 * keepalived's checker exits at once when the kernel has no IPVS ("IPVS:
 * Can't initialize ipvs", permanent error FATAL, seen with 2.2.7 on this
 * host), so where there is no IPVS the whole benchmark re-runs itself in the
 * VM test bed, both daemons there with the real IPVS table. `--host` runs it
 * here instead, for lvsd alone (with --dry-run: an in-memory IPVS).
 * `--dry-run` runs lvsd with its in-memory IPVS in the VM too (keepalived
 * still programs the real table): lvsd's director programs the table before
 * VRRP starts, one destination at a time, which under the VM's software
 * emulation took minutes for 1,000 destinations.
 */
import { execFileSync } from 'node:child_process';
import { keepalivedConfig, LVSD, lvsdConfig, Scratch } from '../test/lib/director';
import { type NsProcess, Topology, waitFor } from '../test/lib/netns';
import { Capture, type CaptureEvent } from './lib/capture';
import { DAEMONS, type Daemon, killAll, sleep, waitEmpty } from './lib/pair';
import { cpuOfAll, cpuSeconds, lvsdRoles, peakRssMb } from './lib/proc';
import { printTable, ratio, summarize, type Summary } from './lib/stats';
import { ipvsHere, runBenchInVm } from './lib/vm';
import type { BenchOptions } from './options';

const ADVERT = 0.1;
const VRID = 51;
const RS_ADDR = '198.51.100.10';
const RS_PORT0 = 20000;
/** Real servers per virtual server, so 10,000 make ten services. */
const PER_VS = 1000;

/** What one window measured for one daemon and one server count. */
export interface JitterFigures {
  check: CheckType;
  servers: number;
  /** CPU seconds of the checker process per 1,000 checks done (= per second at 1,000 checks/s). */
  checkerCpuPer1000: number;
  lateness: Summary;
  adverts: number;
  /** Gaps longer than two intervals (an advert missing or very late). */
  gaps: number;
  checksPerSec: number;
  /** CPU seconds per second: the VRRP process, the checker process, every process of the daemon in a. */
  cpu: { vrrp: number; checker: number; all: number };
  rssMb: { vrrp: number; checker: number };
}

/** Runs the benchmark (in the VM when this kernel has no IPVS). */
export async function jitter(opts: BenchOptions, argv: readonly string[] = []): Promise<void> {
  await checksBench('jitter', 'TCP_CHECK', opts, argv);
}

/** The health-check types the check benchmarks compare. */
export type CheckType = 'TCP_CHECK' | 'HTTP_GET';

/**
 * The jitter and checker-cost benchmarks: one window per (check type,
 * server count, daemon). `name` picks the default server counts and titles.
 */
export async function checksBench(name: 'jitter' | 'checker-cost', types: CheckType | CheckType[], opts: BenchOptions, argv: readonly string[]): Promise<void> {
  if (!ipvsHere() && !opts.host) {
    await runBenchInVm(name, argv, 2_400_000);
    return;
  }
  const checkTypes = Array.isArray(types) ? types : [types];
  const dryRun = !ipvsHere() || opts.dryRun;
  const daemons = !ipvsHere() ? (['lvsd'] as Daemon[]) : (opts.daemons ?? DAEMONS);
  if (dryRun) console.error('jitter --host: no IPVS here, lvsd alone with --dry-run (keepalived\'s checker cannot start without IPVS)');
  // 10,000 checks in flight and 10,000 listeners need more than 1,024 descriptors; children inherit this.
  // Best effort: where the hard limit cannot be raised (a container), the soft one is set to it.
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=65536:65536'], { stdio: 'ignore' });
  } catch {
    execFileSync('sh', ['-c', `prlimit --pid ${process.pid} --nofile=$(ulimit -Hn):$(ulimit -Hn)`], { stdio: 'ignore' });
  }
  const servers = opts.servers ?? (name === 'jitter' ? [0, 1000, 10000] : [1000, 3000]);
  const seconds = opts.seconds ?? 30;
  const topo = await Topology.create('bji');
  const scratch = new Scratch();
  const results: Record<Daemon, JitterFigures[]> = { lvsd: [], keepalived: [] };
  try {
    await topo.addHost('a', ['192.0.2.11/24']);
    await topo.addHost('b', ['192.0.2.12/24']);
    await topo.addHost('a', ['198.51.100.1/24'], { ifname: 'eth1', bridge: 'br1' });
    await topo.addHost('rs', [`${RS_ADDR}/24`], { bridge: 'br1' });
    const listener = startListener(topo, Math.max(...servers, 1));
    await waitFor('the real servers listening', () => listener.output().includes('listening'), { timeoutMs: 120_000, intervalMs: 200 });
    // The capture runs in an observer on b's bridge (b's own processes are killed between windows).
    await topo.addHost('obs', []);
    const cap = await Capture.start(topo, 'obs', 'ip proto 112');
    for (const type of checkTypes) for (const n of servers) {
      for (const d of daemons) {
        try {
          const f = await oneWindow(topo, scratch, cap, listener, d, n, seconds, dryRun, type);
          results[d].push(f);
          if (opts.verbose) console.error(`${d} ${n} servers: ${JSON.stringify(f)}`);
        } catch (e) {
          console.error(`${d} with ${n} servers failed: ${(e as Error).message}\n${topo.diagnostics().slice(-3000)}`);
        } finally {
          for (const h of ['a', 'b']) {
            await killAll(topo, h);
            await waitEmpty(topo, h);
          }
        }
      }
    }
    await cap.stop();
  } finally {
    await topo.destroy();
    scratch.remove();
  }
  report(name, results, daemons, seconds, dryRun);
}

/** One node process in rs listening on `count` ports; prints "accepted N" every 500 ms. */
function startListener(topo: Topology, count: number): NsProcess {
  const js = `
const net = require('net');
let accepted = 0, up = 0;
for (let i = 0; i < ${count}; i++) {
  // A TCP check closes at once; an HTTP check sends a request and gets a 200 with a short body.
  const s = net.createServer((c) => { accepted++; c.on('error', () => {}); c.once('data', () => c.end('HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok')); c.setTimeout(3000, () => c.destroy()); });
  s.on('error', (e) => { console.error('listen ' + (${RS_PORT0} + i) + ': ' + e.message); process.exit(1); });
  s.listen({ port: ${RS_PORT0} + i, host: '${RS_ADDR}', backlog: 4096 }, () => { if (++up === ${count}) console.log('listening'); });
}
setInterval(() => console.log('accepted ' + accepted), 500);
`;
  return topo.spawn('rs', [process.execPath, '-e', js]);
}

function acceptedSoFar(listener: NsProcess): number {
  const all = [...listener.output().matchAll(/accepted (\d+)/g)];
  return all.length ? Number(all[all.length - 1]![1]) : 0;
}

/** lvsd.conf sections for `n` real servers under `type` with delay_loop 1. */
function lvsdServers(n: number, type: CheckType): string {
  if (n === 0) return '';
  const http = type === 'HTTP_GET' ? ['url_path = /', 'status_code = 200'] : [];
  const out = ['[check.tcp1]', `type = ${type}`, ...http, 'connect_timeout = 2', 'delay_loop = 1', 'retry = 1', 'delay_before_retry = 1', ''];
  for (let v = 0; v * PER_VS < n; v++) {
    out.push(`[virtual_server.vs${v}]`, `address = 192.0.2.100:${8000 + v}`, 'protocol = TCP', 'lb_algo = rr', 'lb_kind = NAT', 'check = tcp1', '');
    for (let i = v * PER_VS; i < Math.min(n, (v + 1) * PER_VS); i++) {
      out.push(`[real_server.vs${v}.rs${i}]`, `address = ${RS_ADDR}:${RS_PORT0 + i}`, 'weight = 1', '');
    }
  }
  return '\n' + out.join('\n');
}

/** The same real servers in keepalived.conf syntax. */
function keepalivedServers(n: number, type: CheckType): string {
  const check = type === 'HTTP_GET'
    ? ['    HTTP_GET {', '      url {', '        path /', '        status_code 200', '      }', '      connect_timeout 2', '      retry 1', '      delay_before_retry 1', '    }']
    : ['    TCP_CHECK {', '      connect_timeout 2', '      retry 1', '      delay_before_retry 1', '    }'];
  const out: string[] = [];
  for (let v = 0; v * PER_VS < n; v++) {
    out.push(`virtual_server 192.0.2.100 ${8000 + v} {`, '  delay_loop 1', '  lb_algo rr', '  lb_kind NAT', '  protocol TCP');
    for (let i = v * PER_VS; i < Math.min(n, (v + 1) * PER_VS); i++) {
      out.push(`  real_server ${RS_ADDR} ${RS_PORT0 + i} {`, '    weight 1', ...check, '  }');
    }
    out.push('}');
  }
  return out.join('\n') + '\n';
}

/** The VRRP process and the checker process of the daemon in a. */
function rolesOf(d: Daemon, top: NsProcess, scratch: Scratch): { vrrp?: number; checker?: number } {
  const pid = top.child.pid!;
  if (d === 'lvsd') return lvsdRoles(pid);
  const read = (f: string): number | undefined => {
    try {
      return Number(execFileSync('cat', [scratch.path(f)]).toString().trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  const vrrp = read('a-vrrp.pid');
  const checker = read('a-check.pid');
  return { ...(vrrp ? { vrrp } : {}), ...(checker ? { checker } : {}) };
}

async function oneWindow(topo: Topology, scratch: Scratch, cap: Capture, listener: NsProcess, d: Daemon, n: number, seconds: number, dryRun: boolean, type: CheckType): Promise<JitterFigures> {
  const inst = (priority: number, state: 'MASTER' | 'BACKUP') => ({ vrid: VRID, version: 3 as const, advertInt: ADVERT, vips: ['192.0.2.100/24'], priority, state });
  let top: NsProcess;
  if (d === 'lvsd') {
    const confA = scratch.file('a-lvsd.conf', lvsdConfig('a', scratch.path('a.sock'), [inst(150, 'MASTER')]) + lvsdServers(n, type));
    const confB = scratch.file('b-lvsd.conf', lvsdConfig('b', scratch.path('b.sock'), [inst(100, 'BACKUP')]));
    const extra = ['--log-level', 'info', ...(dryRun ? ['--dry-run'] : [])];
    top = topo.spawn('a', [process.execPath, LVSD, '--config', confA, ...extra]);
    topo.spawn('b', [process.execPath, LVSD, '--config', confB, ...extra]);
  } else {
    const confA = scratch.file('a-keepalived.conf', keepalivedConfig('a', [inst(150, 'MASTER')]) + keepalivedServers(n, type));
    const confB = scratch.file('b-keepalived.conf', keepalivedConfig('b', [inst(100, 'BACKUP')]));
    for (const h of ['a', 'b']) execFileSync('rm', ['-f', ...['keepalived', 'vrrp', 'check'].map((r) => scratch.path(`${h}-${r}.pid`))]);
    // As test/lib/director.ts runs it, but with the checker too (no --vrrp) and its pid file.
    const args = (h: string, conf: string) => ['keepalived', '-n', '-l', '-D', '-f', conf, '-p', scratch.path(`${h}-keepalived.pid`), '-r', scratch.path(`${h}-vrrp.pid`), '-c', scratch.path(`${h}-check.pid`)];
    top = topo.spawn('a', args('a', confA));
    topo.spawn('b', ['keepalived', '-n', '-l', '-D', '--vrrp', '-f', confB, '-p', scratch.path('b-keepalived.pid'), '-r', scratch.path('b-vrrp.pid')]);
  }
  cap.clear();
  const fromA = (): Array<Extract<CaptureEvent, { kind: 'vrrp' }>> => cap.events.filter((e): e is Extract<CaptureEvent, { kind: 'vrrp' }> => e.kind === 'vrrp' && e.src === '192.0.2.11' && e.prio === 150);
  // Master: a steady flow of a's adverts (20 in a row), whatever the daemon does with addresses.
  await waitFor(`a master (${d}, ${n} servers)`, () => {
    if (top.child.exitCode !== null) throw new Error(`${d} in a exited: ${top.output().slice(-1500)}`);
    return fromA().length >= 20;
  }, { timeoutMs: 180_000, intervalMs: 100 });
  // Warm-up: the checks' first rounds (and their state changes) are behind us.
  await sleep(5000);
  const roles = rolesOf(d, top, scratch);
  if (n > 0 && !roles.checker) throw new Error(`${d}: no checker process found in a`);
  const pidsA = await topo.pidsOf('a');
  const cpu0 = { vrrp: cpuSeconds(roles.vrrp ?? -1), checker: cpuSeconds(roles.checker ?? -1), all: cpuOfAll(pidsA) };
  const acc0 = acceptedSoFar(listener);
  const t0 = performance.timeOrigin + performance.now();
  const p0 = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - p0) / 1000;
  const t1 = performance.timeOrigin + performance.now();
  const acc1 = acceptedSoFar(listener);
  const cpu1 = { vrrp: cpuSeconds(roles.vrrp ?? -1), checker: cpuSeconds(roles.checker ?? -1), all: cpuOfAll(pidsA) };
  const ts = fromA().filter((e) => e.t >= t0 && e.t <= t1).map((e) => e.t);
  const late: number[] = [];
  let gaps = 0;
  for (let i = 1; i < ts.length; i++) {
    const dt = ts[i]! - ts[i - 1]!;
    late.push(dt - ADVERT * 1000);
    if (dt > 2 * ADVERT * 1000) gaps++;
  }
  const r1 = (x: number): number => Number(x.toFixed(3));
  const checksPerSec = Math.round((acc1 - acc0) / elapsed);
  const checkerCpu = (cpu1.checker - cpu0.checker) / elapsed;
  return {
    check: type,
    servers: n,
    checkerCpuPer1000: checksPerSec > 0 ? r1((checkerCpu * 1000) / checksPerSec) : NaN,
    lateness: summarize(late, 2),
    adverts: ts.length,
    gaps,
    // The listener prints every 500 ms: the count is good to about ±1 % over 30 s.
    checksPerSec,
    cpu: { vrrp: r1((cpu1.vrrp - cpu0.vrrp) / elapsed), checker: r1((cpu1.checker - cpu0.checker) / elapsed), all: r1((cpu1.all - cpu0.all) / elapsed) },
    rssMb: { vrrp: peakRssMb(roles.vrrp ?? -1), checker: peakRssMb(roles.checker ?? -1) },
  };
}

function report(name: string, results: Record<Daemon, JitterFigures[]>, daemons: readonly Daemon[], seconds: number, dryRun: boolean): void {
  console.log(`${name}: master's advert lateness at advert_int ${ADVERT} s seen on the backup's bridge (ms); CPU seconds per second and peak RSS of a's processes; ${seconds} s windows${dryRun ? '; lvsd --dry-run (no IPVS)' : ''}`);
  const rows: Array<Array<string | number>> = [];
  const keys = [...new Set(daemons.flatMap((d) => results[d].map((f) => `${f.check} ${f.servers}`)))];
  const find = (d: Daemon, k: string): JitterFigures | undefined => results[d].find((x) => `${x.check} ${x.servers}` === k);
  for (const k of keys) {
    for (const d of daemons) {
      const f = find(d, k);
      if (!f) {
        rows.push([k, d, 'failed', '', '', '', '', '', '', '', '', '', '', '']);
        continue;
      }
      rows.push([k, d, f.adverts, f.lateness.p50, f.lateness.p99, f.lateness.max, f.gaps, f.checksPerSec, f.cpu.vrrp, f.cpu.checker, f.cpu.all, f.checkerCpuPer1000, f.rssMb.vrrp, f.rssMb.checker]);
    }
  }
  printTable(['check servers', 'daemon', 'adverts', 'late p50', 'late p99', 'late max', 'gaps', 'checks/s', 'cpu vrrp', 'cpu check', 'cpu all', 'chk cpu/1000', 'rss vrrp MB', 'rss check MB'], rows);
  const ratios: Record<string, { p50: number; p99: number; max: number; checkerCpuPer1000: number; checkerRss: number }> = {};
  if (daemons.length === 2) {
    const rrows: Array<Array<string | number>> = [];
    for (const k of keys) {
      const l = find('lvsd', k);
      const ka = find('keepalived', k);
      if (!l || !ka) continue;
      const r = { p50: ratio(l.lateness.p50, ka.lateness.p50), p99: ratio(l.lateness.p99, ka.lateness.p99), max: ratio(l.lateness.max, ka.lateness.max), checkerCpuPer1000: ratio(l.checkerCpuPer1000, ka.checkerCpuPer1000), checkerRss: ratio(l.rssMb.checker, ka.rssMb.checker) };
      ratios[k] = r;
      rrows.push([k, r.p50, r.p99, r.max, r.checkerCpuPer1000, r.checkerRss]);
    }
    console.log('\nratios lvsd / keepalived (< 1 means lvsd is better)');
    printTable(['check servers', 'late p50', 'late p99', 'late max', 'checker cpu per 1000 checks', 'checker peak rss'], rrows);
  }
  console.log(JSON.stringify({ bench: name, advertInt: ADVERT, seconds, unit: 'ms', lvsd: results.lvsd, keepalived: results.keepalived, ratios }));
}
