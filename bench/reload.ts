/**
 * `npm run bench -- reload`: how long a reload of a large configuration takes
 * inside lvsd — 1,000 virtual servers × 10 real servers (`--servers N` for
 * another count) — split into its parts: reading and validating the file,
 * diffing it against the running one, and the director applying the
 * difference (one real server's weight changed) to an in-memory IPVS table.
 * No peer: keepalived re-reads and re-programs everything on SIGHUP and needs
 * a real IPVS kernel to do it; its cold start is measured by ipvs-program.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { diffConfig, hasErrors, loadConfig } from '../src/config';
import { Director } from '../src/director/director';
import { schedulerHealthSource } from '../src/director/health';
import { FakeIpvs } from '../src/kernel/ipvs/fake';
import { createMemoryLogger } from '../src/log';
import { printTable, summarize } from './lib/stats';
import type { BenchOptions } from './options';

/** A config of `n` virtual servers with 10 real servers each; `bump` changes one weight. */
function configText(n: number, bump: boolean): string {
  const out = ['[global]', 'control_socket = /run/lvsd-bench.sock', 'log_level = error', ''];
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
      const t2 = performance.now();
      const changes = await d.reload(next.config!);
      const t3 = performance.now();
      await d.stop();
      if (diff.realServers.changed.length !== 1 || changes.length !== 1) throw new Error(`expected one changed real server, got ${JSON.stringify(changes)}`);
      loadMs.push(t1 - t0);
      diffMs.push(t2 - t1);
      applyMs.push(t3 - t2);
      totalMs.push(t3 - t0);
    }
    const s = { load: summarize(loadMs), diff: summarize(diffMs), apply: summarize(applyMs), total: summarize(totalMs) };
    console.log(`reload of ${n} virtual servers × 10 real servers (one weight changed), ${runs} runs`);
    printTable(['part', 'p50 ms', 'max ms'], Object.entries(s).map(([k, v]) => [k, v.p50.toFixed(1), v.max.toFixed(1)]));
    console.log(JSON.stringify({ bench: 'reload', virtualServers: n, realServers: n * 10, lvsd: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, { p50: +v.p50.toFixed(1), max: +v.max.toFixed(1) }])) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
