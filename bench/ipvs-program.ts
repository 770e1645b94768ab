/**
 * `npm run bench -- ipvs-program`: cold programming of 1,000 IPVS services ×
 * 10 real servers by lvsd (start to the whole table in the kernel), next to
 * `ipvsadm-restore` of the same table, and one incremental change (a reload
 * with one weight changed), in one VM run on Debian's IPVS kernel (the host
 * has no IPVS). The guest side is test/vm/scenarios/e2e-scale.sh; ipvsadm is
 * the oracle that the table equals the restore file. Software emulation: read
 * the ratio, not the absolute times.
 */
import { runScenariosInVm } from '../test/vm/vm';
import { printTable } from './lib/stats';
import type { BenchOptions } from './options';

function field(output: string, key: string): string | undefined {
  return output.split('\n').find((l) => l.startsWith(`${key} `))?.slice(key.length + 1);
}

export async function ipvsProgram(_o: BenchOptions): Promise<void> {
  const run = await runScenariosInVm(['e2e-scale'], { timeoutMs: 1_800_000, scenarioTimeoutS: 1500 });
  const s = run.scenarios[0]!;
  if (s.exitCode !== 0) throw new Error(`the scale scenario exited ${s.exitCode}:\n${s.output}`);
  const num = (k: string): number => Number(field(s.output, k));
  const want = Number(/WANT_LINES (\d+)/.exec(field(s.output, 'SERVICES') ?? '')?.[1]);
  const same = field(s.output, 'LVSD_SN_SAME_AS_RESTORE_FILE') === 'yes';
  if (num('LVSD_LINES') !== want || num('RESTORE_LINES') !== want || !same) {
    throw new Error(`the tables differ from the restore file (want ${want} lines):\n${s.output}`);
  }
  const lvsd = { coldMs: num('LVSD_MS'), firstServiceMs: num('LVSD_FIRST_MS'), incrementalMs: num('INCREMENTAL_MS'), nodeStartMs: num('NODE_MS') };
  const ipvsadm = { restoreMs: num('RESTORE_MS') };
  console.log(`cold programming of 1,000 services × 10 real servers in the VM (kernel ${run.kernelVersion}, boot ${run.bootMs} ms)`);
  printTable(['what', 'ms'], [
    ['lvsd: start to the whole table', lvsd.coldMs],
    ['lvsd: start to the first service', lvsd.firstServiceMs],
    ['lvsd: one-weight reload applied', lvsd.incrementalMs],
    ['a bare node start in the guest', lvsd.nodeStartMs],
    ['ipvsadm-restore of the same table', ipvsadm.restoreMs],
  ]);
  const ratio = +(lvsd.coldMs / ipvsadm.restoreMs).toFixed(2);
  console.log(`ratio lvsd cold / ipvsadm-restore: ${ratio}`);
  console.log(JSON.stringify({ bench: 'ipvs-program', lvsd, ipvsadm, ratios: { coldVsRestore: ratio } }));
}
