/**
 * `npm run bench -- scrape`: what one `lvsctl --json show services`, one
 * status page document and one Prometheus scrape of `/metrics` cost at N
 * virtual servers × 10 real servers (default 1,000, `--servers N`): netlink
 * request messages sent and time, before (the old path: the whole table read
 * back, one services dump and one dest dump per service) and after (the
 * reconciler's snapshot plus one services dump and one /proc/net/ip_vs
 * read), in one run.
 *
 * On the host there is no IPVS: the director runs on the real IpvsClient over
 * a netlink kernel in the process (test/kernel/ipvs-netlink-kernel.ts) that
 * records every request; the time that kernel spends building its answers is
 * measured and taken out (`lvsd ms` = total − kernel), since the real kernel's
 * is not lvsd's. The background read of the dests' traffic counters (one dest
 * dump per service, at most every 10 s) is reported on its own line.
 * Issue 14's goal: a constant number of messages, ≤ 20 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../src/config/load';
import { Director } from '../src/director/director';
import { FakeClock } from '../src/lib/clock';
import { createMemoryLogger } from '../src/log';
import { createMetrics, STATUS_REUSE_MS } from '../src/metrics/registry';
import { intervalAudit } from '../src/reconcile/audit';
import type { Reconciler } from '../src/reconcile/reconciler';
import { IpvsNetlinkKernel } from '../test/kernel/ipvs-netlink-kernel';
import { printTable, summarize } from './lib/stats';
import type { BenchOptions } from './options';
import { allUpHealth } from '../test/lib/health-source';

function configText(n: number): string {
  const out = ['[global]', 'log_level = error'];
  for (let v = 0; v < n; v++) {
    out.push(`[virtual_server.vs${v}]`, `address = 192.0.2.100:${1024 + v}`, 'lb_algo = wlc', 'lb_kind = NAT');
    for (let r = 0; r < 10; r++) out.push(`[real_server.vs${v}.rs${r}]`, `address = 198.51.100.${r + 1}:80`);
  }
  return out.join('\n');
}

const allUp = allUpHealth;

export async function scrapeBench(o: BenchOptions): Promise<void> {
  const n = o.servers?.[0] ?? 1000;
  const runs = Math.max(3, Math.min(o.runs, 20));
  const dir = mkdtempSync(path.join(tmpdir(), 'lvsd-bench-scrape-'));
  const parsed = parseConfig(configText(n), 'bench.conf', { host: null });
  if (!parsed.config) throw new Error('bench config invalid');
  const kernel = new IpvsNetlinkKernel();
  // As the kernel fills its dump skbs (up to 32 KiB): about 100 service messages per datagram.
  kernel.dumpChunk = 100;
  const clock = new FakeClock();
  const d = new Director({ config: parsed.config, ipvs: kernel.client({ procPath: path.join(dir, 'ip_vs') }), logger: createMemoryLogger('error'), clock, health: allUp(), audit: intervalAudit(3600, clock), stateDir: path.join(dir, 'state') });
  const metrics = createMetrics({ info: () => ({ version: 'bench', routerId: 'bench' }), vrrp: () => undefined, director: () => d.status(), transitions: () => ({}) });
  try {
    await d.start();
    await kernel.writeProc(path.join(dir, 'ip_vs'));
    const reconciler = (d as unknown as { reconciler: Reconciler }).reconciler;
    const rows: (string | number)[][] = [];
    const json: Record<string, { messages: number; min: number; p50: number; max: number; kernelMs: number }> = {};
    const measure = async (name: string, f: () => Promise<unknown>): Promise<void> => {
      const times: number[] = [];
      const kernelMs: number[] = [];
      let messages = 0;
      for (let i = 0; i < runs; i++) {
        await idle(kernel);
        // Past the status page's reuse window (one document serves 1 s of requests).
        await new Promise((r) => setTimeout(r, STATUS_REUSE_MS));
        const m0 = kernel.count();
        const k0 = kernel.answerMs;
        const t0 = performance.now();
        await f();
        const total = performance.now() - t0;
        messages = Math.max(messages, kernel.count() - m0);
        kernelMs.push(kernel.answerMs - k0);
        times.push(total - (kernel.answerMs - k0));
      }
      const s = summarize(times);
      const k = summarize(kernelMs);
      rows.push([name, messages, Math.min(...times).toFixed(1), s.p50.toFixed(1), s.max.toFixed(1), k.p50.toFixed(1)]);
      json[name] = { messages, min: +Math.min(...times).toFixed(1), p50: +s.p50.toFixed(1), max: +s.max.toFixed(1), kernelMs: +k.p50.toFixed(1) };
    };
    // Before: what status() did until issue 14: the whole table read back for every answer.
    // (Its kernel read alone: the old answer cost this plus what the rows below cost besides their read.)
    await measure('before: status kernel read (services + a dest dump per service)', () => reconciler.observe());
    // After. The first answer starts the background read of the dests' counters; wait for it to end.
    await d.status();
    const s0 = kernel.count();
    const t0 = performance.now();
    await idle(kernel);
    const sweepMessages = kernel.count() - s0;
    const sweepMs = performance.now() - t0 - 150;
    await measure('after: show services --json (status + JSON)', async () => JSON.stringify(await d.status()));
    await measure('after: status page document', () => metrics.status().then((x) => JSON.stringify(x)));
    await measure('after: Prometheus scrape of /metrics', () => metrics.metrics());
    console.log(`scrape: ${n} virtual servers × 10 real servers, real IpvsClient over an in-process netlink kernel; ${runs} runs; lvsd ms excludes the kernel's own answer building (kernel ms)`);
    printTable(['what', 'netlink requests', 'lvsd min ms', 'lvsd p50 ms', 'lvsd max ms', 'kernel p50 ms'], rows);
    console.log(`background read of the dests' counters (at most every 10 s while asked): ${sweepMessages} dest dumps, ~${Math.max(0, sweepMs).toFixed(0)} ms wall`);
    console.log(JSON.stringify({ bench: 'scrape', virtualServers: n, realServers: n * 10, lvsd: json, backgroundDestDumps: sweepMessages }));
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Until no request arrived for 150 ms. */
async function idle(kernel: IpvsNetlinkKernel): Promise<void> {
  let seen = -1;
  while (seen !== kernel.count()) {
    seen = kernel.count();
    await new Promise((r) => setTimeout(r, 150));
  }
}
