/**
 * `npm run bench -- reload`: how long a reload of a large configuration takes
 * inside lvsd — 1,000 virtual servers × 10 real servers (`--servers N` for
 * another count) — split into its parts: reading and validating the file,
 * diffing it against the running one, and the director applying the
 * difference (one real server's weight changed) to an in-memory IPVS table.
 * No peer: keepalived re-reads and re-programs everything on SIGHUP and needs
 * a real IPVS kernel to do it; its cold start is measured by ipvs-program.
 *
 * Then the same file with 100 VRRP instances at advert_int 0.1, all MASTER
 * in a real VRRP engine (system clock, fake transports and kernel): each
 * reload changes one weight and adds one VIP to one instance, and the bench
 * reports the reload's time and the largest lateness of any instance's
 * advert (its gap beyond advert_int) while reloads run, against an idle
 * window of the same length. Two ways: everything on one event loop (the
 * whole file read, diffed and applied, as a VRRP process that reads the file
 * itself did), and the VRRP engine given only its sections, parsed elsewhere
 * (issue #10: the parent parses, the VRRP process applies a small diff).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { diffConfig, hasErrors, loadConfig } from '../src/config';
import type { LvsdConfig } from '../src/config/types';
import { FakeKernel } from '../src/kernel/fake';
import { systemClock } from '../src/lib/clock';
import { nullLogger } from '../src/log';
import { VrrpEngine } from '../src/vrrp/engine';
import type { TransportOptions, VrrpTransport } from '../src/vrrp/io';
import { Director } from '../src/director/director';
import { schedulerHealthSource } from '../src/director/health';
import { FakeIpvs } from '../src/kernel/ipvs/fake';
import { createMemoryLogger } from '../src/log';
import { printTable, summarize } from './lib/stats';
import { applyConfigPatch, configFor, configPatch } from '../src/main/reload';
import { deserialize, serialize } from 'node:v8';
import type { BenchOptions } from './options';

/**
 * A config of `n` virtual servers with 10 real servers each; `bump` changes one weight.
 * With `vrrp`, also that many instances at advert_int 0.1, the first with `extraVips` more VIPs.
 */
function configText(n: number, bump: boolean, vrrp = 0, extraVips = 0): string {
  const out = ['[global]', 'control_socket = /run/lvsd-bench.sock', 'log_level = error', ''];
  for (let i = 0; i < vrrp; i++) {
    out.push(`[vrrp_instance.VI_${i}]`, 'state = MASTER', 'interface = eth0', `virtual_router_id = ${i + 1}`, 'priority = 150', 'advert_int = 0.1', 'version = 3');
    out.push(`virtual_ipaddress[] = 203.0.113.${i + 1}/32`);
    if (i === 0) for (let k = 0; k < extraVips; k++) out.push(`virtual_ipaddress[] = 192.0.2.${150 + k}/32`);
    out.push('');
  }
  for (let v = 0; v < n; v++) {
    const port = 1024 + v;
    out.push(`[virtual_server.vs${v}]`, `address = 192.0.2.100:${port}`, 'lb_algo = wlc', 'lb_kind = NAT', '');
    for (let r = 0; r < 10; r++) {
      const weight = bump && v === n - 1 && r === 9 ? 7 : 1;
      out.push(`[real_server.vs${v}.rs${r}]`, `address = 198.51.100.${r + 1}:${port}`, `weight = ${weight}`, '');
    }
  }
  return out.join('\n');
}

export async function reload(o: BenchOptions): Promise<void> {
  const n = o.servers?.[0] ?? 1000;
  const runs = Math.min(o.runs, 10);
  const dir = mkdtempSync(path.join(tmpdir(), 'lvsd-bench-reload-'));
  try {
    const a = path.join(dir, 'a.conf');
    const b = path.join(dir, 'b.conf');
    writeFileSync(a, configText(n, false));
    writeFileSync(b, configText(n, true));
    const loadMs: number[] = [];
    const diffMs: number[] = [];
    const applyMs: number[] = [];
    const totalMs: number[] = [];
    const sendMs: number[] = [];
    const wholeMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const first = loadConfig(a, { host: null });
      if (!first.config || hasErrors(first.problems)) throw new Error('bench config invalid');
      const ipvs = new FakeIpvs();
      const d = new Director({
        config: first.config, ipvs, logger: createMemoryLogger('error'), stateDir: path.join(dir, `state${i}`),
        health: schedulerHealthSource({ probe: async () => ({ ok: true, reason: 'ok', durationMs: 0 }) }),
      });
      await d.start();
      const t0 = performance.now();
      const next = loadConfig(b, { host: null });
      const t1 = performance.now();
      const diff = diffConfig(first.config, next.config!);
      const ts = performance.now();
      // To the director process: the patch, serialized and applied as the channel and the child do.
      const part = applyConfigPatch(configFor('director', first.config), 1, deserialize(serialize(configPatch(configFor('director', first.config), configFor('director', next.config!), 1, 2))));
      const t2 = performance.now();
      deserialize(serialize(configFor('director', next.config!))); // what was sent before: the whole part
      const tw = performance.now();
      const changes = await d.reload(part);
      const t3 = performance.now();
      sendMs.push(t2 - ts);
      wholeMs.push(tw - t2);
      await d.stop();
      if (diff.realServers.changed.length !== 1 || changes.length !== 1) throw new Error(`expected one changed real server, got ${JSON.stringify(changes)}`);
      loadMs.push(t1 - t0);
      diffMs.push(ts - t1);
      applyMs.push(t3 - tw);
      totalMs.push(t3 - t0 - (tw - t2));
    }
    const s = { load: summarize(loadMs), diff: summarize(diffMs), send: summarize(sendMs), apply: summarize(applyMs), total: summarize(totalMs), 'send whole part (before the patch; not in total)': summarize(wholeMs) };
    console.log(`reload of ${n} virtual servers × 10 real servers (one weight changed), ${runs} runs`);
    printTable(['part', 'p50 ms', 'max ms'], Object.entries(s).map(([k, v]) => [k, v.p50.toFixed(1), v.max.toFixed(1)]));
    console.log(JSON.stringify({ bench: 'reload', virtualServers: n, realServers: n * 10, lvsd: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, { p50: +v.p50.toFixed(1), max: +v.max.toFixed(1) }])) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await vrrpReload(n, runs, o.verbose);
}

/** A transport that only notes when each VRID advertised. */
class TimingTransport implements VrrpTransport {
  constructor(readonly kind: 'raw' | 'udp', readonly options: TransportOptions, private readonly sends: Map<number, number[]>) {}
  sendTo(payload: Uint8Array): void {
    const vrid = payload[1]!;
    let xs = this.sends.get(vrid);
    if (!xs) this.sends.set(vrid, (xs = []));
    xs.push(performance.now());
  }
  onArrival(): void {}
  close(): void {}
}

/** The largest gap beyond `intervalMs` between two adverts of one VRID inside [from, to], and how many adverts were missed. */
function lateness(sends: Map<number, number[]>, from: number, to: number, intervalMs: number): { maxMs: number; missed: number } {
  let maxMs = 0;
  let missed = 0;
  for (const xs of sends.values()) {
    const inside = xs.filter((t) => t >= from && t <= to);
    for (let i = 1; i < inside.length; i++) {
      const late = inside[i]! - inside[i - 1]! - intervalMs;
      maxMs = Math.max(maxMs, late);
      if (late >= intervalMs) missed += Math.floor(late / intervalMs);
    }
  }
  return { maxMs, missed };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Only the sections a VRRP process needs, as the parent would send them. */
function vrrpSections(c: LvsdConfig): LvsdConfig {
  return { ...c, virtualServers: new Map(), checks: new Map() };
}

/** The 100-instance part: see the file's comment. */
async function vrrpReload(n: number, runs: number, verbose: boolean): Promise<void> {
  const instances = 100;
  const intervalMs = 100;
  const texts = Array.from({ length: runs + 1 }, (_, i) => configText(n, i % 2 === 1, instances, i));
  const configs = texts.map((t, i) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lvsd-bench-vrrp-'));
    try {
      const f = path.join(dir, `c${i}.conf`);
      writeFileSync(f, t);
      const r = loadConfig(f, { host: null });
      if (!r.config || hasErrors(r.problems)) throw new Error('bench config invalid');
      return { file: t, config: r.config };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const rows: string[][] = [];
  const json: Record<string, unknown> = {};
  for (const mode of ['one loop', 'vrrp sections'] as const) {
    const k = new FakeKernel();
    k.addLink({ name: 'eth0' });
    await k.addresses.add('eth0', '192.0.2.11/24');
    const sends = new Map<number, number[]>();
    const engine = new VrrpEngine({
      clock: systemClock, log: nullLogger, links: k.links, addresses: k.addresses, announcer: k.announcer,
      openTransport: (kind, opts) => new TimingTransport(kind, opts, sends), onTransition: () => {},
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'lvsd-bench-vrrp-'));
    const d = new Director({
      config: configs[0]!.config, ipvs: new FakeIpvs(), logger: createMemoryLogger('error'), stateDir: path.join(dir, 'state'),
      health: schedulerHealthSource({ probe: async () => ({ ok: true, reason: 'ok', durationMs: 0 }) }),
    });
    try {
      let running = mode === 'one loop' ? configs[0]!.config : vrrpSections(configs[0]!.config);
      await engine.start(running);
      await d.start();
      await sleep(1000); // every instance MASTER and advertising
      const masters = engine.status().instances.filter((i) => i.state === 'MASTER').length;
      if (masters !== instances) throw new Error(`only ${masters} of ${instances} instances became MASTER`);
      // An idle window as long as the reloads' will be, for the machine's own noise.
      const idleFrom = performance.now();
      await sleep(runs * 400);
      const idle = lateness(sends, idleFrom, performance.now(), intervalMs);
      const totalMs: number[] = [];
      const from = performance.now();
      for (let i = 1; i <= runs; i++) {
        const t0 = performance.now();
        let next: LvsdConfig;
        if (mode === 'one loop') {
          // As a VRRP process reading the file: parse all of it, diff all of it, apply its part.
          const f = path.join(dir, 'next.conf');
          writeFileSync(f, configs[i]!.file);
          next = loadConfig(f, { host: null }).config!;
        } else {
          next = vrrpSections(configs[i]!.config);
        }
        const changes = await engine.reload(next, diffConfig(running, next));
        const t1 = performance.now();
        if (mode === 'one loop') await d.reload(next);
        totalMs.push((mode === 'one loop' ? performance.now() : t1) - t0);
        if (verbose) console.error(`${mode} run ${i}: ${(t1 - t0).toFixed(1)} ms, ${changes.join('; ')}`);
        if (!changes.some((c) => c.includes('virtual_ipaddress +'))) throw new Error(`expected a VIP added, got ${JSON.stringify(changes)}`);
        running = next;
        await sleep(300); // reloads a few adverts apart, so each one's stall shows on its own
      }
      const during = lateness(sends, from, performance.now(), intervalMs);
      const t = summarize(totalMs);
      const label = mode === 'one loop' ? `whole file on the VRRP loop (${n} x 10 + ${instances} instances)` : `VRRP sections only (${instances} instances)`;
      rows.push([label, t.p50.toFixed(1), t.max.toFixed(1), during.maxMs.toFixed(1), String(during.missed), idle.maxMs.toFixed(1)]);
      json[mode === 'one loop' ? 'oneLoop' : 'vrrpSections'] = { reloadMs: { p50: +t.p50.toFixed(1), max: +t.max.toFixed(1) }, maxLatenessMs: +during.maxMs.toFixed(1), missedAdverts: during.missed, idleMaxLatenessMs: +idle.maxMs.toFixed(1) };
    } finally {
      await engine.stop();
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`\nreload with ${instances} VRRP instances MASTER at advert_int 0.1 (one weight changed, one VIP added per reload), ${runs} runs`);
  printTable(['mode', 'reload p50 ms', 'reload max ms', 'max advert lateness ms', 'missed adverts', 'idle max lateness ms'], rows);
  console.log(JSON.stringify({ bench: 'reload-vrrp', instances, advertIntMs: intervalMs, virtualServers: n, ...json }));
}
