/**
 * Human renderings of the director's answers (`lvsctl show services`,
 * `show checks`, `drain`/`disable`/`enable`) and light shape checks of those
 * answers. Pure functions over the JSON the daemon sends.
 */
import type { DirectorStatus, KernelDestStatus, RealServerStatus, VirtualServerStatus } from '../director/status';
import type { IpvsStats } from '../kernel/ipvs/types';
import { table } from './format';
import { isPlainObject } from './protocol';
import type { ChecksResult, OverrideResult } from './types';

/** True when `v` has the fields {@link formatServices} reads. */
export function isServicesResult(v: unknown): v is DirectorStatus {
  if (!isPlainObject(v) || !Array.isArray(v.virtualServers)) return false;
  return v.virtualServers.every(
    (vs: unknown) =>
      isPlainObject(vs) &&
      typeof vs.name === 'string' &&
      typeof vs.service === 'string' &&
      isPlainObject(vs.quorum) &&
      Array.isArray(vs.realServers) &&
      vs.realServers.every((rs: unknown) => isPlainObject(rs) && typeof rs.name === 'string' && typeof rs.address === 'string' && typeof rs.health === 'string'),
  );
}

/** True when `v` looks like a `show checks` answer. */
export function isChecksResult(v: unknown): v is ChecksResult {
  return isPlainObject(v) && Array.isArray(v.realServers) && v.realServers.every((r: unknown) => isPlainObject(r) && typeof r.rs === 'string' && Array.isArray(r.checks));
}

/** True when `v` looks like a `drain`/`disable`/`enable` answer. */
export function isOverrideResult(v: unknown): v is OverrideResult {
  return isPlainObject(v) && typeof v.vs === 'string' && typeof v.rs === 'string' && (v.override === null || typeof v.override === 'string');
}

function quorumCell(vs: VirtualServerStatus): string {
  const q = vs.quorum;
  const sorry = vs.sorryServer?.active ? `, sorry server ${vs.sorryServer.address} active` : '';
  return `${q.up ? 'up' : 'DOWN'} (weight ${q.weightSum}, quorum ${q.quorum})${sorry}`;
}

function kernelCells(k: KernelDestStatus | null): string[] {
  if (!k) return ['-', '-', '-', '-'];
  return [String(k.weight), String(k.activeConns), String(k.inactConns), String(k.cps)];
}

function rsRow(rs: RealServerStatus): string[] {
  return [
    rs.name,
    rs.address,
    `${rs.configuredWeight}/${rs.effectiveWeight === null ? '-' : rs.effectiveWeight}`,
    (rs.reason ? `${rs.health} (${rs.reason})` : rs.health) + (rs.error ? ' (IPVS error)' : ''),
    rs.override ?? '-',
    ...kernelCells(rs.kernel),
  ];
}

/** A service's counters and rates, as `ipvsadm -Ln --stats --rate` gives them. */
function statsLine(x: IpvsStats): string {
  return `connections ${x.conns} (${x.cps}/s), in ${x.inpkts} packets ${x.inbytes} bytes (${x.inpps} pps, ${x.inbps} B/s), out ${x.outpkts} packets ${x.outbytes} bytes (${x.outpps} pps, ${x.outbps} B/s)`;
}

/**
 * How old the real servers' CPS column is, when the answer says (the
 * director reads dests' rates in the background, not per answer).
 */
function countersNote(st: DirectorStatus): string {
  const k = st.kernelCounters;
  if (!k || st.kernelError) return '';
  const conns = k.connections === 'fresh' ? 'KWEIGHT, ACTIVE and INACT read now' : 'KWEIGHT, ACTIVE and INACT as the last pass read them';
  const age = k.destStatsMaxAgeMs === null ? 'CPS as last read' : `CPS up to ${Math.round(k.destStatsMaxAgeMs / 1000)} s old`;
  const every = k.destStatsRefreshMs > 0 ? ` (re-read in the background every ${Math.round(k.destStatsRefreshMs / 1000)} s at most)` : '';
  return `\nkernel: ${conns}; ${age}${every}\n`;
}

/**
 * `lvsctl show services`: one table of virtual servers (VS SERVICE SCHED
 * KIND PERSIST QUORUM), then per virtual server its counters and rates and
 * one row per real server (NAME
 * ADDRESS WEIGHT(configured/effective) HEALTH OVERRIDE KWEIGHT ACTIVE INACT
 * CPS); `-` where the kernel has no entry. A service or real server the
 * kernel keeps refusing is marked `(IPVS error)` and listed at the end with
 * the kernel's answer.
 */
export function formatServices(st: DirectorStatus): string {
  if (st.virtualServers.length === 0) return 'no virtual servers configured\n';
  let out = table([
    ['VS', 'SERVICE', 'SCHED', 'KIND', 'PERSIST', 'QUORUM'],
    ...st.virtualServers.map((vs) => [vs.name, vs.service + (vs.inKernel ? '' : ' (not in kernel)') + (vs.error ? ' (IPVS error)' : ''), vs.scheduler, vs.lbKind, vs.persistenceTimeoutS ? `${vs.persistenceTimeoutS}s` : '-', quorumCell(vs)]),
  ]);
  for (const vs of st.virtualServers) {
    out += `\n${vs.name} (${vs.service}):\n`;
    if (vs.stats) out += `  ${statsLine(vs.stats)}\n`;
    if (vs.realServers.length === 0) {
      out += '  no real servers\n';
      continue;
    }
    const rows = [['REAL-SERVER', 'ADDRESS', 'WEIGHT', 'HEALTH', 'OVERRIDE', 'KWEIGHT', 'ACTIVE', 'INACT', 'CPS'], ...vs.realServers.map(rsRow)];
    out += table(rows.map((r) => ['', ...r]));
  }
  if (st.kernelError) out += `\nwarning: the kernel could not be read (${st.kernelError}); kernel columns are the last known\n`;
  out += countersNote(st);
  if (st.errors && st.errors.length > 0) {
    out += `\nIPVS errors (each retried on its own; everything else is applied as usual):\n`;
    for (const e of st.errors) {
      const who = e.virtualServer === null ? e.service : e.realServer === null ? e.virtualServer : `${e.virtualServer}/${e.realServer}`;
      out += `  ${who}: ${e.error} (${e.attempts} attempt${e.attempts === 1 ? '' : 's'}, next in ${Math.ceil(e.nextRetryInMs / 1000)} s)\n`;
    }
  }
  return out;
}

/** `lvsctl show checks`: VS RS ADDRESS HEALTH CHECKS LAST-REASON, one row per real server. */
export function formatChecks(r: ChecksResult): string {
  if (r.realServers.length === 0) return 'no real servers configured\n';
  return table([
    ['VS', 'REAL-SERVER', 'ADDRESS', 'HEALTH', 'CHECKS', 'LAST-REASON'],
    ...r.realServers.map((x) => [
      x.vs,
      x.rs,
      x.address,
      x.health,
      x.checks.length ? x.checks.map((c) => `${c.name}(${c.type})`).join(',') : 'none',
      x.reason || '-',
    ]),
  ]);
}

/** `lvsctl drain|disable|enable`: one line saying what is now in force. */
export function formatOverride(r: OverrideResult): string {
  if (r.override === null) return `${r.vs}/${r.rs}: enabled (no override)\n`;
  return `${r.vs}/${r.rs}: ${r.override === 'drain' ? 'drained (weight 0, established connections continue)' : 'disabled (removed from the table)'}\n`;
}
