/**
 * Process figures from /proc: CPU time (own and reaped children's) and peak
 * resident memory, for the daemons a benchmark watches.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/PID/stat times (100 on every Linux ABI node runs on). */
const CLK_TCK = 100;

/** CPU seconds of `pid`: utime + stime + cutime + cstime; NaN when gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): utime is field 14 → f[11] … cstime field 17 → f[14].
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Peak resident set (VmHWM) of `pid` in MiB; NaN when gone. */
export function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number((Number(m[1]) / 1024).toFixed(1)) : NaN;
  } catch {
    return NaN;
  }
}

/** The pids whose parent is `ppid`. */
export function childrenOf(ppid: number): number[] {
  try {
    return readFileSync(`/proc/${ppid}/task/${ppid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** `pid`'s command line, arguments joined by spaces. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** `pid` and all its descendants. */
export function treeOf(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i]!));
  return out;
}

/**
 * The VRRP and checker processes of lvsd started as `top`: lvsd runs a
 * supervisor with a `child.js vrrp` and a `child.js director` child, the
 * director forking the checker (`worker.js`); an lvsd without the supervisor
 * runs VRRP in `top` itself. Found by command line, whatever the depth.
 */
export function lvsdRoles(top: number): { vrrp: number; checker?: number } {
  const tree = treeOf(top);
  const find = (s: string): number | undefined => tree.find((p) => cmdline(p).includes(s));
  const checker = find('worker.js') ?? find('child.js director');
  return { vrrp: find('child.js vrrp') ?? top, ...(checker !== undefined ? { checker } : {}) };
}

/** CPU seconds of every pid in `pids` (NaN ones skipped). */
export function cpuOfAll(pids: readonly number[]): number {
  return pids.map(cpuSeconds).filter(Number.isFinite).reduce((a, b) => a + b, 0);
}
