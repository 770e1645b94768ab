/**
 * `npm run bench -- failover`: how long a backup director takes to announce
 * the VIP after its master dies, lvsd pair beside keepalived pair.
 *
 * Topology: namespaces client, a, b on one bridge. a (priority 150, state
 * MASTER) and b (priority 100) run one VRRPv3 instance, VRID 51, VIP
 * 192.0.2.100/24, with the same settings for both daemons. For each
 * advert_int and each way of stopping the master (SIGKILL of every process
 * in a's namespace, frozen first with SIGSTOP — the box dies —, or SIGTERM of the daemon: a priority-0
 * advert), every run starts a fresh pair, waits until a is master and b has
 * seen a steady flow of adverts, stops a, and measures on the client side:
 *
 *  - takeover: from the kill (CLOCK_REALTIME taken just before kill()) to the
 *    first gratuitous ARP for the VIP from b's MAC, as tcpdump stamped it on
 *    the client's interface (kernel receive time, CLOCK_REALTIME).
 *  - overhead: from b's Master_Down timer expiry to that GARP. The expiry is
 *    computed from the capture: the last advert from a seen on the wire at
 *    t_last (b's timer restarts when it receives it) plus, after a normal
 *    advert, Master_Down_Interval = 3 × advert_int + Skew_Time, or after a
 *    priority-0 advert, Skew_Time alone (RFC 5798 §6.4.2), with
 *    Skew_Time = (256 − 100) × advert_int / 256 for b. The wire-to-daemon
 *    delay of the last advert (tens of µs on a veth) is ignored. This holds
 *    for both daemons, so it is reported for both.
 *
 * Runs alternate daemons (run i of lvsd, then run i of keepalived) so both
 * see the same machine load.
 */
import { holders, Scratch } from '../test/lib/director';
import { Topology, waitFor } from '../test/lib/netns';
import { Capture, realtimeMs, type CaptureEvent } from './lib/capture';
import { DAEMONS, type Daemon, dropAddresses, killAll, signalAll, sleep, startDaemon, waitEmpty } from './lib/pair';
import { printTable, ratio, summarize, type Summary } from './lib/stats';
import type { BenchOptions } from './options';

const VIP = '192.0.2.100';
const VIP_CIDR = `${VIP}/24`;
const VRID = 51;
const PRIO_A = 150;
const PRIO_B = 100;

type Stop = 'SIGKILL' | 'SIGTERM';

interface Sample {
  takeoverMs: number;
  overheadMs: number;
}

/** Runs the benchmark and prints its table, ratios and JSON line. */
export async function failover(opts: BenchOptions): Promise<void> {
  const adverts = opts.adverts ?? [1, 0.1, 0.02];
  const stops: Stop[] = ['SIGKILL', 'SIGTERM'];
  const daemons = opts.daemons ?? DAEMONS;
  const topo = await Topology.create('bfo');
  const scratch = new Scratch();
  const results: Record<string, Record<string, Summary & { overhead: Summary; failures: number }>> = { lvsd: {}, keepalived: {} };
  try {
    await topo.addHost('client', ['192.0.2.1/24']);
    await topo.addHost('a', ['192.0.2.11/24']);
    const macB = await topo.addHost('b', ['192.0.2.12/24']);
    const cap = await Capture.start(topo, 'client', 'arp or ip proto 112');
    for (const adv of adverts) {
      for (const stop of stops) {
        const samples: Record<Daemon, Sample[]> = { lvsd: [], keepalived: [] };
        const failures: Record<Daemon, number> = { lvsd: 0, keepalived: 0 };
        for (let run = 0; run < opts.runs; run++) {
          for (const d of daemons) {
            try {
              const s = await oneRun(topo, scratch, cap, d, adv, stop, macB, opts.verbose);
              samples[d].push(s);
              if (opts.verbose) console.error(`${d} advert ${adv} ${stop} run ${run + 1}: takeover ${s.takeoverMs.toFixed(1)} ms, overhead ${s.overheadMs.toFixed(1)} ms`);
            } catch (e) {
              failures[d]++;
              console.error(`${d} advert ${adv} ${stop} run ${run + 1} failed: ${(e as Error).message}`);
            } finally {
              await cleanup(topo);
            }
          }
        }
        for (const d of daemons) {
          results[d]![`${adv}/${stop}`] = {
            ...summarize(samples[d].map((s) => s.takeoverMs)),
            overhead: summarize(samples[d].map((s) => s.overheadMs)),
            failures: failures[d],
          };
        }
      }
    }
    await cap.stop();
  } finally {
    await topo.destroy();
    scratch.remove();
  }
  report(results, daemons);
}

async function cleanup(topo: Topology): Promise<void> {
  for (const h of ['a', 'b']) {
    await killAll(topo, h);
    await waitEmpty(topo, h);
    await dropAddresses(topo, h, [VIP_CIDR]);
  }
}

/** One fresh pair, one stop of the master, one measurement. */
async function oneRun(topo: Topology, scratch: Scratch, cap: Capture, d: Daemon, adv: number, stop: Stop, macB: string, verbose: boolean): Promise<Sample> {
  cap.clear();
  const common = { vrid: VRID, version: 3 as const, advertInt: adv, vips: [VIP_CIDR] };
  const [pa] = await Promise.all([
    startDaemon(topo, scratch, d, 'a', [{ ...common, priority: PRIO_A, state: 'MASTER' }]),
    startDaemon(topo, scratch, d, 'b', [{ ...common, priority: PRIO_B, state: 'BACKUP' }]),
  ]);
  const mdi = 3 * adv + ((256 - PRIO_B) * adv) / 256;
  await waitFor(`a master alone (${d})`, async () => {
    const h = await holders(topo, ['a', 'b'], VIP);
    return h.length === 1 && h[0] === 'a';
  }, { timeoutMs: 10_000 + 3000 * mdi, intervalMs: 20 });
  // Steady state: b has heard a for a while (three intervals, at least 300 ms).
  await sleep(Math.max(300, 3000 * adv));
  if ((await topo.pidsOf('b')).length === 0) throw new Error(`${d} in b is not running`);
  const pidsA = await topo.pidsOf('a');
  const tKill = realtimeMs();
  if (stop === 'SIGKILL') signalAll(pidsA, true);
  else pa.child.kill('SIGTERM');
  const garp = await waitFor(`first GARP of b after ${stop} (${d})`, () =>
    cap.events.find((e): e is Extract<CaptureEvent, { kind: 'garp' }> => e.kind === 'garp' && e.srcMac === macB && e.ip === VIP && e.t >= tKill),
  { timeoutMs: 5000 + 2000 * mdi, intervalMs: 5 });
  const fromA = cap.events.filter((e): e is Extract<CaptureEvent, { kind: 'vrrp' }> => e.kind === 'vrrp' && e.vrid === VRID && e.src === '192.0.2.11' && e.t <= garp.t);
  const last = fromA[fromA.length - 1];
  let overheadMs = NaN;
  if (last) {
    const skewMs = ((256 - PRIO_B) * adv * 1000) / 256;
    const expiry = last.t + (last.prio === 0 ? skewMs : 3 * adv * 1000 + skewMs);
    overheadMs = garp.t - expiry;
  }
  // The tail of the master's own shutdown: let SIGTERM finish before the next run kills everything.
  if (stop === 'SIGTERM') await Promise.race([pa.exited, sleep(3000)]);
  if (verbose) console.error(`  last advert of a before the GARP: prio ${last?.prio}, ${last ? (tKill - last.t).toFixed(1) : '-'} ms before the kill`);
  return { takeoverMs: garp.t - tKill, overheadMs };
}

function report(results: Record<string, Record<string, Summary & { overhead: Summary; failures: number }>>, daemons: readonly Daemon[]): void {
  const rows: Array<Array<string | number>> = [];
  const keys = Object.keys(results[daemons[0]!] ?? {});
  for (const k of keys) {
    for (const d of daemons) {
      const r = results[d]![k]!;
      const [adv, stop] = k.split('/');
      rows.push([adv!, stop!, d, r.n, r.p50, r.p90, r.max, r.overhead.p50, r.overhead.p90, r.overhead.max, r.failures]);
    }
  }
  console.log('failover: kill of the master → first gratuitous ARP of the new master seen by the client (ms)');
  printTable(['advert_int', 'stop', 'daemon', 'runs', 'p50', 'p90', 'max', 'ovh p50', 'ovh p90', 'ovh max', 'failed'], rows);
  const ratios: Record<string, { p50: number; p90: number; max: number; overheadP50: number }> = {};
  if (daemons.includes('lvsd') && daemons.includes('keepalived')) {
    const rrows: Array<Array<string | number>> = [];
    for (const k of keys) {
      const l = results.lvsd![k]!;
      const ka = results.keepalived![k]!;
      ratios[k] = { p50: ratio(l.p50, ka.p50), p90: ratio(l.p90, ka.p90), max: ratio(l.max, ka.max), overheadP50: ratio(l.overhead.p50, ka.overhead.p50) };
      rrows.push([k, ratios[k]!.p50, ratios[k]!.p90, ratios[k]!.max]);
    }
    console.log('\nratios lvsd / keepalived (takeover; < 1 means lvsd is faster)');
    printTable(['advert/stop', 'p50', 'p90', 'max'], rrows);
  }
  console.log(JSON.stringify({ bench: 'failover', unit: 'ms', lvsd: results.lvsd, keepalived: results.keepalived, ratios }));
}
