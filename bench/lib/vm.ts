/**
 * Running a benchmark inside the VM test bed (a kernel with IPVS), for the
 * benchmarks whose peer, keepalived's checker, will not start without IPVS.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { runInVm } from '../../test/vm/vm';

/** True when this kernel has IPVS loaded (the VM's has; the host's has none). */
export function ipvsHere(): boolean {
  return existsSync('/proc/net/ip_vs');
}

/**
 * Runs `node dist/bench/run.js NAME ARGS` inside the VM and prints its output
 * (table and JSON line) here. Throws when the VM fails or the run exits non-zero.
 */
export async function runBenchInVm(name: string, args: readonly string[], timeoutMs: number): Promise<void> {
  const repo = path.resolve(__dirname, '..', '..', '..');
  console.error(`${name}: this kernel has no IPVS, so keepalived's checker cannot run here; running the benchmark in the VM test bed (2 vCPUs, software emulation)`);
  const r = await runInVm({
    script: path.join(repo, 'bench', 'vm-run.sh'),
    timeoutMs,
    cwd: repo,
    env: { BENCH_NAME: name, BENCH_ARGS: args.join(' ') },
    onConsole: process.env.BENCH_VM_VERBOSE ? (c) => process.stderr.write(c) : undefined,
  } as Parameters<typeof runInVm>[0]);
  process.stdout.write(r.output.endsWith('\n') ? r.output : `${r.output}\n`);
  console.error(`${name}: VM boot ${Math.round(r.bootMs / 1000)} s, whole run ${Math.round(r.totalMs / 1000)} s, guest kernel ${r.kernelVersion}`);
  if (r.exitCode !== 0) throw new Error(`${name} in the VM exited ${r.exitCode}`);
}
