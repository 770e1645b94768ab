/**
 * `npm run bench -- health-burst`: one backend shared by N virtual servers
 * (default 1,000, `--servers N`; each has 10 real servers, the backend is the
 * first of each, with a health check) goes down, then comes back. Measured
 * inside the director on an in-memory IPVS table: the time from the first
 * check verdict reaching the director to the last netlink write it causes,
 * the time from the last verdict to the last write (with one verdict per turn
 * the delivery itself takes most of the first figure), the process's CPU
 * time for the burst (delivery and each change's event and hook included),
 * the writes (one per virtual server each way) and the reconciler passes.
 * Two deliveries: all verdicts in one event-loop turn (as the checker's IPC
 * messages read in one go are emitted), and one verdict per turn (the worst
 * case: every verdict finds the previous pass done). Issue 14's goal: ≤ 20 ms
 * for 1,000 virtual servers.
 *
 * Then the flapping case: 10,000 virtual servers × 4 real servers (each with a
 * check; `--servers N,M` sets both counts), 1 % of the real servers changing
 * state each second (seeded, each verdict in an event-loop turn of its own,
 * spread over the second), for `--seconds S` (default 10): the director's CPU
 * time (`process.cpuUsage`, this process: director, fake IPVS and the driver)
 * as a share of one CPU. Issue 14's goal: ≤ 5 %.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { RsChange } from '../src/check/types';
import { parseConfig } from '../src/config/load';
import { Director } from '../src/director/director';
import type { HealthSource } from '../src/director/health';
import { FakeIpvs } from '../src/kernel/ipvs/fake';
import type { IpvsOp, IpvsOpResult } from '../src/kernel/ipvs/types';
import { systemClock } from '../src/lib/clock';
import { createMemoryLogger } from '../src/log';
import { intervalAudit } from '../src/reconcile/audit';
import { printTable, summarize } from './lib/stats';
import type { BenchOptions } from './options';
import { mulberry32 } from '../test/lib/prng';
import { scriptedHealth as scriptedHealthNow } from '../test/lib/health-source';

/**
 * N virtual servers × `per` real servers; rs0 of each is the shared backend 198.51.100.1,
 * with a TCP check (every real server has one when `allChecked`).
 */
function configText(n: number, per = 10, allChecked = false): string {
  const out = ['[global]', 'log_level = error', '[check.tcp]', 'type = TCP_CHECK', 'delay_loop = 5'];
  for (let v = 0; v < n; v++) {
    const addr = `192.0.2.${100 + Math.floor(v / 50000)}:${1024 + (v % 50000)}`;
    out.push(`[virtual_server.vs${v}]`, `address = ${addr}`, 'lb_algo = wlc', 'lb_kind = NAT');
    for (let r = 0; r < per; r++) out.push(`[real_server.vs${v}.rs${r}]`, `address = 198.51.100.${r + 1}:80`, ...(r === 0 || allChecked ? ['check = tcp'] : []));
  }
  return out.join('\n');
}

const seeded = mulberry32;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * N × per real servers, every one checked; each second 1 % of them change state, one
 * verdict per event-loop turn, spread evenly over the second. Returns the CPU share.
 */
async function flapping(n: number, per: number, seconds: number, dir: string): Promise<{ cpuPct: number; changes: number; passes: number; writes: number; startMs: number }> {
  const parsed = parseConfig(configText(n, per, true), 'bench.conf', { host: null });
  if (!parsed.config) throw new Error('bench config invalid');
  const ipvs = new TimedIpvs({ record: false });
  const health = scriptedHealth();
  const d = new Director({ config: parsed.config, ipvs, logger: createMemoryLogger('error'), clock: systemClock, health, audit: intervalAudit(3600, systemClock), stateDir: path.join(dir, 'flap') });
  const t0 = performance.now();
  await d.start();
  const startMs = performance.now() - t0;
  await settle(ipvs);
  const rand = seeded(14);
  const total = n * per;
  const perSecond = Math.max(1, Math.round(total / 100));
  const down = new Set<string>();
  const w0 = ipvs.writes;
  const p0 = d.reconcilerPasses();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let changes = 0;
  for (let s = 0; s < seconds; s++) {
    const secondStart = performance.now();
    // Ten slices a second, each delivering a tenth of the second's verdicts one per turn.
    for (let slice = 0; slice < 10; slice++) {
      const count = Math.round((perSecond * (slice + 1)) / 10) - Math.round((perSecond * slice) / 10);
      for (let i = 0; i < count; i++) {
        const k = Math.floor(rand() * total);
        const rs = `vs${Math.floor(k / per)}/rs${k % per}`;
        const up = down.has(rs);
        if (up) down.delete(rs);
        else down.add(rs);
        await health.emit([{ rs, up, reason: up ? 'connected' : 'ECONNREFUSED' }], true);
        changes++;
      }
      const due = secondStart + ((slice + 1) * 1000) / 10;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
  }
  await settle(ipvs);
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - wall0;
  const result = { cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100, changes, passes: d.reconcilerPasses() - p0, writes: ipvs.writes - w0, startMs };
  await d.stop();
  return result;
}

/** An in-memory table that notes when each batch of writes ended. */
class TimedIpvs extends FakeIpvs {
  lastWriteAt = 0;
  writes = 0;
  override async apply(ops: readonly IpvsOp[]): Promise<IpvsOpResult[]> {
    const r = await super.apply(ops);
    this.writes += ops.length;
    this.lastWriteAt = performance.now();
    return r;
  }
}

/** The scripted health source, with verdicts delivered all in one turn or one per event-loop turn. */
function scriptedHealth(): HealthSource & { emit(events: RsChange[], perTurn: boolean): Promise<void> } {
  const h = scriptedHealthNow();
  return {
    ...h,
    async emit(events, perTurn) {
      for (const e of events) {
        h.emit([e]);
        if (perTurn) await new Promise((r) => setImmediate(r));
      }
    },
  };
}

async function settle(ipvs: TimedIpvs): Promise<void> {
  // Until no write happened for 50 ms.
  let seen = -1;
  while (seen !== ipvs.writes) {
    seen = ipvs.writes;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function healthBurst(o: BenchOptions): Promise<void> {
  const n = o.servers?.[0] ?? 1000;
  const runs = Math.min(o.runs, 20);
  const dir = mkdtempSync(path.join(tmpdir(), 'lvsd-bench-burst-'));
  const parsed = parseConfig(configText(n), 'bench.conf', { host: null });
  if (!parsed.config) throw new Error('bench config invalid');
  const times = new Map<string, number[]>();
  const passes = new Map<string, number[]>();
  const writes = new Map<string, number>();
  const afterLast = new Map<string, number[]>();
  const cpuMs = new Map<string, number[]>();
  try {
    for (let i = 0; i < runs; i++) {
      const ipvs = new TimedIpvs({ record: false });
      const health = scriptedHealth();
      const d = new Director({ config: parsed.config, ipvs, logger: createMemoryLogger('error'), clock: systemClock, health, audit: intervalAudit(3600, systemClock), stateDir: path.join(dir, `s${i}`) });
      await d.start();
      await settle(ipvs);
      const ids = Array.from({ length: n }, (_, v) => `vs${v}/rs0`);
      for (const perTurn of [false, true]) {
        for (const state of [false, true]) {
          const key = `${state ? 'up' : 'down'}, ${perTurn ? 'one verdict per turn' : 'all in one turn'}`;
          const w0 = ipvs.writes;
          const p0 = d.reconcilerPasses();
          const t0 = performance.now();
          const c0 = process.cpuUsage();
          await health.emit(ids.map((rs) => ({ rs, up: state, reason: state ? 'connected' : 'ECONNREFUSED' })), perTurn);
          const tLast = performance.now();
          await settle(ipvs);
          const c = process.cpuUsage(c0);
          if (!times.has(key)) times.set(key, []);
          times.get(key)!.push(ipvs.lastWriteAt - t0);
          if (!afterLast.has(key)) afterLast.set(key, []);
          afterLast.get(key)!.push(ipvs.lastWriteAt - tLast);
          if (!cpuMs.has(key)) cpuMs.set(key, []);
          cpuMs.get(key)!.push((c.user + c.system) / 1000);
          writes.set(key, ipvs.writes - w0);
          if (!passes.has(key)) passes.set(key, []);
          passes.get(key)!.push(d.reconcilerPasses() - p0);
        }
      }
      await d.stop();
    }
    console.log(`health burst: one backend shared by ${n} virtual servers (× 10 real servers) goes down, then up; ${runs} runs, in-memory IPVS; first verdict → last write (p50, max), last verdict → last write (p50), CPU time of the burst (p50; delivery of the verdicts included)`);
    const rows = [...times].map(([k, xs]) => {
      const s = summarize(xs);
      return [k, s.p50.toFixed(1), s.max.toFixed(1), summarize(afterLast.get(k)!).p50.toFixed(1), summarize(cpuMs.get(k)!).p50.toFixed(1), writes.get(k)!, summarize(passes.get(k)!).p50];
    });
    printTable(['step', 'p50 ms', 'max ms', 'after last ms', 'CPU ms', 'writes', 'passes'], rows);
    const fn = o.servers?.[1] ?? 10000;
    const per = 4;
    const seconds = o.seconds ?? 10;
    const f = await flapping(fn, per, seconds, dir);
    console.log(`\nflapping: ${fn} virtual servers × ${per} real servers, each checked; 1 % of the real servers change state each second, for ${seconds} s (start took ${f.startMs.toFixed(0)} ms)`);
    printTable(['changes', 'passes', 'writes', 'CPU % of one core'], [[f.changes, f.passes, f.writes, f.cpuPct.toFixed(1)]]);
    console.log(JSON.stringify({ bench: 'health-burst', virtualServers: n, lvsd: Object.fromEntries(rows.map(([k, p50, max, after, cpu, w, p]) => [k, { p50: +p50!, max: +max!, afterLast: +after!, cpuMs: +cpu!, writes: w, passes: p }])), flapping: { virtualServers: fn, realServersEach: per, seconds, changes: f.changes, passes: f.passes, writes: f.writes, cpuPct: +f.cpuPct.toFixed(2) } }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
