/**
 * `npm run bench -- scale-out [--runs N] [--only lvsd|keepalived] [--verbose]`: active/active
 * directors announcing over BGP (issue 13) beside an active/standby pair doing the nearest
 * equivalent, on one site in one VM boot per run (IPVS needs the VM's kernel):
 *
 *  - bgp-scale-out: a router (BIRD, ECMP, BFD 100 ms x 3) and three, then four, lvsd
 *    directors announcing through their own BIRD, four DR real servers, and a client behind
 *    the router holding 200 slow downloads while opening 10 new connections a second
 *    (test/vm/scenarios/bgp-scale-out.sh, test/vm/bgp/lib.sh);
 *  - bgp-pair-lvsd, bgp-pair-keepalived: the same router, real servers and client, with the
 *    VIP held by a VRRP pair (advert_int 1, connection sync) instead (test/vm/bgp/pair.sh).
 *
 * For each event: the time until the router's forwarding converged (next hops; for a pair,
 * its ARP entry for the VIP), the long-lived connections broken, the new connections that
 * failed, and when every new connection succeeded again (the end of the last failed or slow
 * one, counted from the event). Events: director added / backup added; director drained (no
 * pair equivalent); director dies / master dies; real server dies (quorum: no pair event).
 * `BGP_MODE=manual` in the environment runs the BGP site without lvsd (ipvsadm and
 * `ip route`), to tell lvsd's part from the routing's.
 */
import { DAEMONS, type Daemon } from './lib/pair';
import { printTable, ratio, summarize } from './lib/stats';
import type { BenchOptions } from './options';
import { values } from '../test/vm/scenario-output';
import { runScenariosInVm, type ScenarioResult } from '../test/vm/vm';

/** One event's figures in one run (NaN: not measured). */
interface Sample {
  convergeMs: number;
  broken: number;
  newFail: number;
  recoverMs: number;
}

type Setup = 'bgp' | `pair-${Daemon}`;
type Row = { event: string; setup: Setup; key: string };

/** Which event of which setup comes from which lines: [event, setup, converge key, window]. */
const EVENTS: ReadonlyArray<[string, Setup | 'pair', string, string]> = [
  ['director added', 'bgp', 'JOIN_MS', 's3'],
  ['director added', 'pair', 'ADD_MS', 'add'],
  ['director drained', 'bgp', 'WITHDRAW_MS', 's2'],
  ['director dies', 'bgp', 'BFD_MS', 's4'],
  ['director dies', 'pair', 'TAKEOVER_MS', 'crash'],
  ['real server dies', 'bgp', 'QUORUM_WITHDRAW_MS', 's5all'],
];

/** The figures of `event` in one scenario's output, or undefined when its lines are missing. */
function sampleOf(s: ScenarioResult, key: string, window: string): Sample | undefined {
  const conv = values(s, key)[0];
  const w = values(s, 'WINDOW').find((v) => v.startsWith(`${window} `));
  if (conv === undefined || w === undefined) return undefined;
  const f = w.split(' ');
  const at = (k: string): string => f[f.indexOf(k) + 1]!;
  return {
    convergeMs: Number(conv.split(' ')[0]),
    broken: Number(at('broken')),
    newFail: Number(at('new_fail')),
    recoverMs: at('last_bad') === '-' ? 0 : Number(at('last_bad')),
  };
}

/** Runs the benchmark and prints its table, ratios and JSON line. */
export async function scaleOut(opts: BenchOptions, argv: readonly string[]): Promise<void> {
  // One run is one boot of several minutes: one unless asked for more.
  const runs = argv.includes('--runs') ? opts.runs : 1;
  const daemons = opts.daemons ?? DAEMONS;
  const scenarios = ['bgp-scale-out', ...daemons.map((d) => `bgp-pair-${d}`)];
  const rows: Row[] = [];
  for (const [event, setup, key] of EVENTS) {
    if (setup === 'pair') for (const d of daemons) rows.push({ event, setup: `pair-${d}`, key });
    else rows.push({ event, setup, key });
  }
  const samples = new Map<string, Sample[]>(rows.map((r) => [`${r.event}/${r.setup}`, []]));
  let failed = 0;
  for (let run = 0; run < runs; run++) {
    const r = await runScenariosInVm(scenarios, {
      timeoutMs: 3_600_000,
      scenarioTimeoutS: 1200,
      env: { BGP_MODE: process.env.BGP_MODE ?? 'lvsd' },
      onConsole: process.env.BENCH_VM_VERBOSE ? (c) => process.stderr.write(c) : undefined,
    });
    console.error(`scale-out run ${run + 1}: VM boot ${Math.round(r.bootMs / 1000)} s, whole run ${Math.round(r.totalMs / 1000)} s; ` +
      r.scenarios.map((s) => `${s.name} ${Math.round((s.ms ?? NaN) / 1000)} s (exit ${s.exitCode})`).join(', '));
    for (const s of r.scenarios) {
      if (s.exitCode !== 0) {
        failed++;
        console.error(`${s.name} failed (exit ${s.exitCode}); its output:\n${s.output}`);
      } else if (opts.verbose) {
        console.error(`--- ${s.name}\n${s.output}`);
      }
    }
    for (const [event, setup, key, window] of EVENTS) {
      for (const st of setup === 'pair' ? daemons.map((d) => `pair-${d}` as Setup) : [setup]) {
        const s = r.scenarios.find((x) => x.name === (st === 'bgp' ? 'bgp-scale-out' : `bgp-${st}`));
        const smp = s && s.exitCode === 0 ? sampleOf(s, key, window) : undefined;
        if (smp) samples.get(`${event}/${st}`)!.push(smp);
      }
    }
  }
  report(rows, samples, runs);
  if (failed) throw new Error(`${failed} scenario run(s) failed`);
}

function report(rows: readonly Row[], samples: Map<string, Sample[]>, runs: number): void {
  const label = (s: Setup): string => (s === 'bgp' ? 'lvsd bgp (ECMP)' : s === 'pair-lvsd' ? 'lvsd VRRP pair' : 'keepalived pair');
  const med = (xs: Sample[], f: (x: Sample) => number): number => summarize(xs.map(f).filter(Number.isFinite), 0).p50;
  const table: Array<Array<string | number>> = [];
  const figures: Record<string, Record<string, { converge: number; broken: number; newFail: number; recover: number; n: number }>> = {};
  for (const r of rows) {
    const xs = samples.get(`${r.event}/${r.setup}`)!;
    const f = { converge: med(xs, (x) => x.convergeMs), broken: med(xs, (x) => x.broken), newFail: med(xs, (x) => x.newFail), recover: med(xs, (x) => x.recoverMs), n: xs.length };
    (figures[r.event] ??= {})[r.setup] = f;
    const max = xs.length > 1 ? ` (max ${Math.max(...xs.map((x) => x.convergeMs))})` : '';
    table.push([r.event, label(r.setup), `${f.converge}${max}`, f.broken, f.newFail, f.recover, f.n]);
  }
  console.log(`scale-out: per event, the router's forwarding converged (ms; BGP: next hops, pair: ARP entry; "added" counts from the daemons' start),\n` +
    `long-lived connections broken (of 200), new connections failed, every new connection ok again after (ms); median of ${runs} run(s)`);
  printTable(['event', 'setup', 'converged ms', 'broken', 'new failed', 'all new ok ms', 'runs'], table);
  const rrows: Array<Array<string | number>> = [];
  const ratios: Record<string, Record<string, { converge: number; recover: number }>> = {};
  for (const event of ['director added', 'director dies']) {
    const b = figures[event]?.bgp;
    for (const p of ['pair-lvsd', 'pair-keepalived'] as const) {
      const q = figures[event]?.[p];
      if (!b || !q) continue;
      const x = { converge: ratio(b.converge, q.converge), recover: ratio(b.recover, q.recover) };
      (ratios[event] ??= {})[p] = x;
      rrows.push([event, `bgp / ${label(p)}`, x.converge, x.recover, `${b.broken} vs ${q.broken}`]);
    }
  }
  if (rrows.length) {
    console.log('\nratios (< 1: the BGP site is faster)');
    printTable(['event', 'ratio', 'converged', 'all new ok', 'broken'], rrows);
  }
  console.log(JSON.stringify({ bench: 'scale-out', unit: 'ms', runs, figures, ratios }));
}
