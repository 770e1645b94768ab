/**
 * `npm run bench -- health-burst`: one backend shared by N virtual servers
 * (default 1,000, `--servers N`; each has 10 real servers, the backend is the
 * first of each, with a health check) goes down, then comes back. Measured
 * inside the director on an in-memory IPVS table: the time from the first
 * check verdict reaching the director to the last netlink write it causes,
 * the writes (one per virtual server each way) and the reconciler passes.
 * Two deliveries: all verdicts in one event-loop turn (as the checker's IPC
 * messages read in one go are emitted), and one verdict per turn (the worst
 * case: every verdict finds the previous pass done). Issue 14's goal: ≤ 20 ms
 * for 1,000 virtual servers.
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

/** N virtual servers × 10 real servers; rs0 of each is the shared backend 198.51.100.1, with a TCP check. */
function configText(n: number): string {
  const out = ['[global]', 'log_level = error', '[check.tcp]', 'type = TCP_CHECK', 'delay_loop = 5'];
  for (let v = 0; v < n; v++) {
    const port = 1024 + v;
    out.push(`[virtual_server.vs${v}]`, `address = 192.0.2.100:${port}`, 'lb_algo = wlc', 'lb_kind = NAT');
    for (let r = 0; r < 10; r++) out.push(`[real_server.vs${v}.rs${r}]`, `address = 198.51.100.${r + 1}:80`, ...(r === 0 ? ['check = tcp'] : []));
  }
  return out.join('\n');
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

/** A health source the benchmark drives: verdicts are delivered one per event-loop turn. */
function scriptedHealth(): HealthSource & { emit(events: RsChange[], perTurn: boolean): Promise<void> } {
  const states: ((s: RsChange[]) => void)[] = [];
  const changes: ((e: RsChange) => void)[] = [];
  return {
    set: (s) => states.forEach((f) => f(s.map((x) => ({ rs: x.rs, up: true, reason: 'start' })))),
    update: () => undefined,
    onStates: (f) => void states.push(f),
    onChange: (f) => void changes.push(f),
    stop: async () => undefined,
    async emit(events, perTurn) {
      for (const e of events) {
        changes.forEach((f) => f(e));
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
          await health.emit(ids.map((rs) => ({ rs, up: state, reason: state ? 'connected' : 'ECONNREFUSED' })), perTurn);
          await settle(ipvs);
          if (!times.has(key)) times.set(key, []);
          times.get(key)!.push(ipvs.lastWriteAt - t0);
          writes.set(key, ipvs.writes - w0);
          if (!passes.has(key)) passes.set(key, []);
          passes.get(key)!.push(d.reconcilerPasses() - p0);
        }
      }
      await d.stop();
    }
    console.log(`health burst: one backend shared by ${n} virtual servers (× 10 real servers) goes down, then up; ${runs} runs, in-memory IPVS; verdict → last write`);
    const rows = [...times].map(([k, xs]) => {
      const s = summarize(xs);
      return [k, s.p50.toFixed(1), s.max.toFixed(1), writes.get(k)!, summarize(passes.get(k)!).p50];
    });
    printTable(['step', 'p50 ms', 'max ms', 'writes', 'passes'], rows);
    console.log(JSON.stringify({ bench: 'health-burst', virtualServers: n, lvsd: Object.fromEntries(rows.map(([k, p50, max, w, p]) => [k, { p50: +p50, max: +max, writes: w, passes: p }])) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
