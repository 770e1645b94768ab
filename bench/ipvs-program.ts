/**
 * `npm run bench -- ipvs-program`: programming an IPVS table of 1,000 services ×
 * 10 real servers in the VM (Debian's IPVS kernel; the host has none), by lvsd,
 * by keepalived's checker process started on the same table, and by
 * `ipvsadm -R`, each alone in a namespace of its own, one after the other:
 *   cold    start → the whole table in the kernel;
 *   resync  1 % of the real servers' weights changed in the file → the kernel
 *           equals the new file (lvsd and keepalived: SIGHUP; ipvsadm: `-R` of the
 *           100 edit lines alone, the floor any diffing tool can reach);
 *   one     one more weight changed → that weight in the kernel.
 * The guest side is test/vm/scenarios/e2e-scale.sh; `ipvsadm -Sn` is the oracle that
 * each final table equals the file. Software emulation: read the ratios.
 */
import { runScenariosInVm } from '../test/vm/vm';
import { printTable } from './lib/stats';
import type { BenchOptions } from './options';

function field(output: string, key: string): string | undefined {
  return output.split('\n').find((l) => l.startsWith(`${key} `))?.slice(key.length + 1);
}

interface Figures {
  coldMs: number;
  firstServiceMs?: number;
  resyncMs: number;
  oneMs: number;
}

export async function ipvsProgram(_o: BenchOptions): Promise<void> {
  const run = await runScenariosInVm(['e2e-scale'], { timeoutMs: 2_400_000, scenarioTimeoutS: 2200 });
  const s = run.scenarios[0]!;
  if (s.exitCode !== 0) throw new Error(`the scale scenario exited ${s.exitCode}:\n${s.output}`);
  const num = (k: string): number => {
    const v = Number(field(s.output, k));
    if (!Number.isFinite(v)) throw new Error(`no ${k} in the scenario's output:\n${s.output}`);
    return v;
  };
  for (const k of ['LVSD_COLD_SAME', 'LVSD_SAME', 'KA_COLD_SAME', 'KA_SAME', 'IPVSADM_SAME']) {
    if (field(s.output, k) !== 'yes') throw new Error(`${k}: a table differs from its file:\n${s.output}`);
  }
  const figures = (p: string, first: boolean): Figures => ({
    coldMs: num(`${p}_COLD_MS`),
    ...(first ? { firstServiceMs: num(`${p}_FIRST_MS`) } : {}),
    resyncMs: num(`${p}_RESYNC_MS`),
    oneMs: num(`${p}_ONE_MS`),
  });
  const lvsd = figures('LVSD', true);
  const keepalived = figures('KA', true);
  const ipvsadm = figures('IPVSADM', false);
  console.log(`IPVS table of ${field(s.output, 'SERVICES')} in the VM (kernel ${run.kernelVersion}, boot ${run.bootMs} ms)`);
  console.log(`a bare node start in the guest: ${num('NODE_MS')} ms; one full-table compare (the resync figures' resolution): ${num('POLL_MS')} ms`);
  const cell = (v: number | undefined): number | string => v ?? '–';
  printTable(['step', 'lvsd ms', 'keepalived ms', 'ipvsadm -R ms', 'lvsd / keepalived', 'lvsd / ipvsadm'], [
    ['cold: start → whole table', lvsd.coldMs, keepalived.coldMs, ipvsadm.coldMs, ratio(lvsd.coldMs, keepalived.coldMs), ratio(lvsd.coldMs, ipvsadm.coldMs)],
    ['cold: start → first service', cell(lvsd.firstServiceMs), cell(keepalived.firstServiceMs), '–', ratio(lvsd.firstServiceMs!, keepalived.firstServiceMs!), '–'],
    ['resync: 1 % of weights changed', lvsd.resyncMs, keepalived.resyncMs, ipvsadm.resyncMs, ratio(lvsd.resyncMs, keepalived.resyncMs), ratio(lvsd.resyncMs, ipvsadm.resyncMs)],
    ['one weight changed', lvsd.oneMs, keepalived.oneMs, ipvsadm.oneMs, ratio(lvsd.oneMs, keepalived.oneMs), ratio(lvsd.oneMs, ipvsadm.oneMs)],
  ]);
  const ratios = {
    coldVsKeepalived: ratio(lvsd.coldMs, keepalived.coldMs),
    coldVsIpvsadm: ratio(lvsd.coldMs, ipvsadm.coldMs),
    resyncVsKeepalived: ratio(lvsd.resyncMs, keepalived.resyncMs),
    resyncVsIpvsadm: ratio(lvsd.resyncMs, ipvsadm.resyncMs),
    oneVsKeepalived: ratio(lvsd.oneMs, keepalived.oneMs),
    oneVsIpvsadm: ratio(lvsd.oneMs, ipvsadm.oneMs),
  };
  // role=KB for every lvsd process once it has started (real IPVS: the table is in the kernel).
  const rssMb = Object.fromEntries((field(s.output, 'LVSD_RSS_KB') ?? '').trim().split(/\s+/).filter(Boolean).map((kv) => {
    const [role, kb] = kv.split('=');
    return [role!, +(Number(kb) / 1024).toFixed(1)];
  }));
  console.log(`lvsd's resident memory in the guest, MB: ${Object.entries(rssMb).map(([r, mb]) => `${r} ${mb}`).join(', ') || 'not reported'}`);
  console.log(JSON.stringify({ bench: 'ipvs-program', lvsd, keepalived, ipvsadm, ratios, lvsdRssMb: rssMb }));
}

function ratio(a: number, b: number): number {
  return +(a / Math.max(b, 1)).toFixed(2);
}
