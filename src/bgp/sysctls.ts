/**
 * The IPVS sysctls active/active directors need, and why; set (with
 * `[bgp] sysctls = true`) and checked by the director process.
 */
import type { Sysctls } from '../kernel/sysctl';

/** A sysctl and the value active/active needs. */
export interface WantedSysctl {
  readonly name: string;
  readonly value: string;
  readonly why: string;
}

/** What `mh` behind ECMP needs (lvsd.conf(5), [bgp] sysctls). */
export const ACTIVE_ACTIVE_SYSCTLS: readonly WantedSysctl[] = [
  { name: 'net.ipv4.vs.sloppy_tcp', value: '1', why: 'a flow that moves to this director in mid-connection (ECMP change) gets a connection entry from a non-SYN packet instead of being dropped' },
  { name: 'net.ipv4.vs.sloppy_sctp', value: '1', why: 'the same for SCTP: a connection entry from a packet other than INIT' },
  { name: 'net.ipv4.vs.expire_nodest_conn', value: '1', why: 'connections to a deleted real server expire at their next packet instead of being blackholed' },
  { name: 'net.ipv4.vs.expire_quiescent_template', value: '1', why: 'persistence templates to a real server at weight 0 (down, inhibited) expire, so its clients are scheduled afresh' },
];

/** One sysctl as found (and set). */
export interface SysctlState {
  readonly name: string;
  readonly want: string;
  /** The value now; null when it does not exist (IPVS not loaded). */
  readonly have: string | null;
  readonly ok: boolean;
  /** Why it could not be read or set. */
  readonly error?: string;
  readonly why: string;
}

/**
 * Reads every wanted sysctl and, with `set`, writes those that differ (then
 * reads them back). Never throws: a failure is in the entry's `error`.
 */
export async function ensureSysctls(s: Sysctls, set: boolean, wanted: readonly WantedSysctl[] = ACTIVE_ACTIVE_SYSCTLS): Promise<SysctlState[]> {
  const out: SysctlState[] = [];
  for (const w of wanted) {
    let have: string | undefined;
    let error: string | undefined;
    try {
      have = await s.read(w.name);
      if (have !== undefined && have !== w.value && set) {
        await s.write(w.name, w.value);
        have = await s.read(w.name);
      }
    } catch (e) {
      error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
    if (have === undefined && !error) error = 'does not exist (is ip_vs loaded?)';
    out.push({ name: w.name, want: w.value, have: have ?? null, ok: have === w.value, ...(error ? { error } : {}), why: w.why });
  }
  return out;
}
