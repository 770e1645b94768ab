/**
 * `npm run bench -- instances`: 1,000 VRRP instances on one director pair,
 * lvsd beside keepalived: CPU of the VRRP process on the master and on the
 * backup, and lateness of the master's adverts.
 *
 * A VRID is unique per interface, so a and b are joined by four bridges
 * (eth0…eth3), 250 instances on each (VRIDs 1–250), one VIP each:
 * 192.0.2.V/32 on eth0, 198.51.100.V/32 on eth1, 203.0.113.V/32 on eth2 and,
 * since the IPv4 documentation ranges hold no more, IPv6 instances with
 * 2001:db8::V/128 on eth3. a has priority 150,
 * b 100, VRRPv3, advert_int 1 by default (`--adverts` to change). tcpdump in
 * an observer namespace on each bridge stamps a's adverts; lateness = inter-arrival −
 * advert_int per instance, pooled. CPU is read from /proc over the window
 * after every instance of a is advertising.
 */
import { execFileSync } from 'node:child_process';
import { type InstanceSpec, keepalivedConfig, LVSD, lvsdConfig, Scratch } from '../test/lib/director';
import { type NsProcess, Topology, waitFor } from '../test/lib/netns';
import { Capture, type CaptureEvent } from './lib/capture';
import { DAEMONS, type Daemon, killAll, sleep, waitEmpty } from './lib/pair';
import { cpuOfAll, cpuSeconds, lvsdRoles, peakRssMb } from './lib/proc';
import { printTable, ratio, summarize, type Summary } from './lib/stats';
import type { BenchOptions } from './options';

const IFACES = 4;
const PER_IF = 250;
const PREFIX = ['192.0.2', '198.51.100', '203.0.113'];
/** The three IPv4 documentation /24s hold 750 VIPs; the fourth interface carries IPv6 instances (VIPs 2001:db8::V). */
const vip = (i: number, v: number): string => (i < 3 ? `${PREFIX[i]}.${v}/32` : `2001:db8::${v.toString(16)}/128`);

interface Figures {
  instances: number;
  advertInt: number;
  lateness: Summary;
  /** Instances of a that b heard in the window. */
  heard: number;
  cpuMaster: number;
  cpuBackup: number;
  /** Every process of the daemon (lvsd's supervisor, keepalived's parent included). */
  cpuMasterAll: number;
  cpuBackupAll: number;
  rssMasterMb: number;
  startupS: number;
}

function instances(priority: number, state: 'MASTER' | 'BACKUP', adv: number): InstanceSpec[] {
  const out: InstanceSpec[] = [];
  for (let i = 0; i < IFACES; i++) {
    for (let v = 1; v <= PER_IF; v++) {
      out.push({ name: `VI_${i}_${v}`, interface: `eth${i}`, vrid: v, priority, state, version: 3, advertInt: adv, vips: [vip(i, v)] });
    }
  }
  return out;
}

/** Runs the benchmark and prints its table, ratios and JSON line. */
export async function instancesBench(opts: BenchOptions): Promise<void> {
  const daemons = opts.daemons ?? DAEMONS;
  const adverts = opts.adverts ?? [1];
  const seconds = opts.seconds ?? 30;
  const topo = await Topology.create('bin');
  const scratch = new Scratch();
  const results: Record<Daemon, Figures[]> = { lvsd: [], keepalived: [] };
  try {
    for (let i = 0; i < IFACES; i++) {
      await topo.addHost('a', [i < 3 ? `${PREFIX[i]}.253/24` : '2001:db8::fd/64'], { ifname: `eth${i}`, bridge: `br${i}` });
      await topo.addHost('b', [i < 3 ? `${PREFIX[i]}.254/24` : '2001:db8::fe/64'], { ifname: `eth${i}`, bridge: `br${i}` });
    }
    const caps: Capture[] = [];
    // Observers on each bridge: b's own processes are killed between windows.
    for (let i = 0; i < IFACES; i++) await topo.addHost('obs', [], { ifname: `eth${i}`, bridge: `br${i}` });
    for (let i = 0; i < IFACES; i++) caps.push(await Capture.start(topo, 'obs', i < 3 ? 'ip proto 112' : 'ip6 proto 112', `eth${i}`));
    for (const adv of adverts) {
      for (const d of daemons) {
        try {
          const f = await oneWindow(topo, scratch, caps, d, adv, seconds);
          results[d].push(f);
          if (opts.verbose) console.error(`${d}: ${JSON.stringify(f)}`);
        } catch (e) {
          console.error(`${d} advert ${adv} failed: ${(e as Error).message}\n${topo.diagnostics().slice(-2000)}`);
        } finally {
          for (const h of ['a', 'b']) {
            await killAll(topo, h);
            await waitEmpty(topo, h);
            // VIPs a kill -9 left behind (the /24 host addresses stay).
            const dels = instances(0, 'BACKUP', adv).map((x) => `addr del ${x.vips[0]} dev ${x.interface}`).join('\n');
            await topo.exec(h, ['ip', '-force', '-batch', '-'], { input: dels + '\n' });
          }
        }
      }
    }
    for (const c of caps) await c.stop();
  } finally {
    await topo.destroy();
    scratch.remove();
  }
  report(results, daemons, seconds);
}

type Advert = Extract<CaptureEvent, { kind: 'vrrp' }>;

async function oneWindow(topo: Topology, scratch: Scratch, caps: Capture[], d: Daemon, adv: number, seconds: number): Promise<Figures> {
  for (const c of caps) c.clear();
  const t0s = performance.now();
  let pa: NsProcess;
  let pb: NsProcess;
  if (d === 'lvsd') {
    const ca = scratch.file('a.conf', lvsdConfig('a', scratch.path('a.sock'), instances(150, 'MASTER', adv)));
    const cb = scratch.file('b.conf', lvsdConfig('b', scratch.path('b.sock'), instances(100, 'BACKUP', adv)));
    pa = topo.spawn('a', [process.execPath, LVSD, '--config', ca, '--log-level', 'warn']);
    pb = topo.spawn('b', [process.execPath, LVSD, '--config', cb, '--log-level', 'warn']);
  } else {
    for (const h of ['a', 'b']) execFileSync('rm', ['-f', scratch.path(`${h}-k.pid`), scratch.path(`${h}-v.pid`)]);
    const ca = scratch.file('a-k.conf', keepalivedConfig('a', instances(150, 'MASTER', adv)));
    const cb = scratch.file('b-k.conf', keepalivedConfig('b', instances(100, 'BACKUP', adv)));
    // As test/lib/director.ts runs it, without -D: 1,000 instances' detailed logs would be the load measured.
    const args = (h: string, conf: string) => ['keepalived', '-n', '-l', '--vrrp', '-f', conf, '-p', scratch.path(`${h}-k.pid`), '-r', scratch.path(`${h}-v.pid`)];
    pa = topo.spawn('a', args('a', ca));
    pb = topo.spawn('b', args('b', cb));
  }
  const total = IFACES * PER_IF;
  const heardFromA = (from: number): Set<string> => {
    const s = new Set<string>();
    caps.forEach((c, i) => c.events.forEach((e) => e.kind === 'vrrp' && e.prio === 150 && e.t >= from && s.add(`${i}/${e.vrid}`)));
    return s;
  };
  let lastHeard = 0;
  await waitFor(`all ${total} instances of a advertising (${d}; last count ${lastHeard})`, () => {
    if (pa.child.exitCode !== null) throw new Error(`${d} in a exited: ${pa.output().slice(-1500)}`);
    lastHeard = heardFromA(performance.timeOrigin + performance.now() - 3000 * adv).size;
    return heardFromA(performance.timeOrigin + performance.now() - 3000 * adv).size === total;
  }, { timeoutMs: 180_000, intervalMs: 500 });
  const startupS = Number(((performance.now() - t0s) / 1000).toFixed(1));
  await sleep(Math.max(3000, 3000 * adv));
  const pidOf = (h: 'a' | 'b', top: NsProcess): number => (d === 'lvsd' ? lvsdRoles(top.child.pid!).vrrp : Number(execFileSync('cat', [scratch.path(`${h}-v.pid`)]).toString().trim()));
  const va = pidOf('a', pa);
  const vb = pidOf('b', pb);
  const [pidsA, pidsB] = [await topo.pidsOf('a'), await topo.pidsOf('b')];
  const c0 = [cpuSeconds(va), cpuSeconds(vb), cpuOfAll(pidsA), cpuOfAll(pidsB)];
  const p0 = performance.now();
  const t0 = performance.timeOrigin + p0;
  await sleep(seconds * 1000);
  const el = (performance.now() - p0) / 1000;
  const t1 = performance.timeOrigin + performance.now();
  const c1 = [cpuSeconds(va), cpuSeconds(vb), cpuOfAll(pidsA), cpuOfAll(pidsB)];
  const late: number[] = [];
  const heard = new Set<string>();
  caps.forEach((c, i) => {
    const last = new Map<number, number>();
    for (const e of c.events as Advert[]) {
      if (e.kind !== 'vrrp' || e.prio !== 150 || e.t < t0 || e.t > t1) continue;
      heard.add(`${i}/${e.vrid}`);
      const prev = last.get(e.vrid);
      if (prev !== undefined) late.push(e.t - prev - adv * 1000);
      last.set(e.vrid, e.t);
    }
  });
  const r2 = (x: number): number => Number(x.toFixed(3));
  return { instances: total, advertInt: adv, lateness: summarize(late, 2), heard: heard.size, cpuMaster: r2((c1[0]! - c0[0]!) / el), cpuBackup: r2((c1[1]! - c0[1]!) / el), cpuMasterAll: r2((c1[2]! - c0[2]!) / el), cpuBackupAll: r2((c1[3]! - c0[3]!) / el), rssMasterMb: peakRssMb(va), startupS };
}

function report(results: Record<Daemon, Figures[]>, daemons: readonly Daemon[], seconds: number): void {
  console.log(`instances: ${IFACES * PER_IF} VRRP instances (${IFACES} interfaces × VRIDs 1–${PER_IF}), ${seconds} s windows; cpu = CPU seconds per second of the VRRP process (all: every process of the daemon); lateness in ms`);
  const rows: Array<Array<string | number>> = [];
  for (const d of daemons) {
    for (const f of results[d]) rows.push([f.advertInt, d, f.heard, f.lateness.n, f.lateness.p50, f.lateness.p99, f.lateness.max, f.cpuMaster, f.cpuBackup, f.cpuMasterAll, f.cpuBackupAll, f.rssMasterMb, f.startupS]);
  }
  printTable(['advert_int', 'daemon', 'heard', 'intervals', 'late p50', 'late p99', 'late max', 'cpu master', 'cpu backup', 'cpu all m', 'cpu all b', 'rss master MB', 'startup s'], rows);
  const ratios: Record<string, Record<string, number>> = {};
  if (daemons.length === 2) {
    for (const l of results.lvsd) {
      const k = results.keepalived.find((x) => x.advertInt === l.advertInt);
      if (!k) continue;
      ratios[String(l.advertInt)] = { lateP50: ratio(l.lateness.p50, k.lateness.p50), lateP99: ratio(l.lateness.p99, k.lateness.p99), cpuMaster: ratio(l.cpuMaster, k.cpuMaster), cpuBackup: ratio(l.cpuBackup, k.cpuBackup) };
    }
    console.log('\nratios lvsd / keepalived (< 1 means lvsd is better)');
    printTable(['advert_int', 'late p50', 'late p99', 'cpu master', 'cpu backup'], Object.entries(ratios).map(([a, r]) => [a, r.lateP50!, r.lateP99!, r.cpuMaster!, r.cpuBackup!]));
  }
  console.log(JSON.stringify({ bench: 'instances', seconds, unit: 'ms', lvsd: results.lvsd, keepalived: results.keepalived, ratios }));
}
