/**
 * The BGP part of `lvsctl status` (and the answer of `lvsctl drain` /
 * `undrain` without arguments): each announcing VIP with its state and
 * cause, BIRD's BGP sessions and their BFD sessions, and the IPVS sysctls
 * active/active needs.
 */
import type { BgpStatus } from '../bgp/service';
import { table } from './format';
import { isPlainObject } from './protocol';

/** Whether `v` has the shape of a {@link BgpStatus}. */
export function isBgpStatus(v: unknown): v is BgpStatus {
  return isPlainObject(v) && Array.isArray(v.vips) && Array.isArray(v.protocols) && Array.isArray(v.sysctls) && isPlainObject(v.bird) && typeof v.drained === 'boolean';
}

/** The BGP block. */
export function formatBgp(b: BgpStatus): string {
  let out = `BGP: ${b.drained ? 'director DRAINED (lvsctl undrain to announce again)' : 'announcing'}; routes in table ${b.routeTable} dev ${b.vipInterface}\n`;
  if (b.vips.length === 0) out += 'no virtual server has announce = bgp\n';
  else {
    const rows = [['VIP', 'STATE', 'ROUTE', 'SINCE', 'VIRTUAL-SERVERS', 'CAUSE']];
    for (const v of b.vips) {
      rows.push([
        v.vip,
        v.state,
        v.routeError ? `error: ${v.routeError}` : v.route ? 'in table' : 'absent',
        v.sinceS === null ? '-' : `${v.sinceS}s ago`,
        v.virtualServers.join(','),
        v.cause,
      ]);
    }
    out += table(rows);
  }
  const bird = b.bird;
  out += `BIRD at ${b.birdSocket}: ${bird.up ? `up${bird.version ? ` (${bird.version})` : ''}` : `NOT READABLE: ${bird.error ?? 'unknown'}`}${bird.polledAgoS !== null ? `, read ${bird.polledAgoS}s ago` : ''}\n`;
  if (b.protocols.length === 0) out += bird.up ? 'BIRD has no BGP protocol\n' : '';
  else {
    const rows = [['PROTOCOL', 'STATE', 'BGP', 'NEIGHBOR', 'EXPORTED', 'BFD', 'SINCE', 'INFO']];
    for (const p of b.protocols) {
      rows.push([
        p.name,
        p.state,
        p.bgpState,
        p.neighbor ?? '-',
        p.exportedRoutes === null ? '-' : String(p.exportedRoutes),
        p.bfd ?? (b.bfdExpected ? 'NONE' : '-'),
        p.since,
        p.lastError || '-',
      ]);
    }
    out += table(rows);
  }
  if (b.bfdExpected && b.bfdMissing.length) out += `warning: no BFD session Up for ${b.bfdMissing.join(', ')} (bfd = true): a dead peer is noticed only at the BGP hold time\n`;
  const bad = b.sysctls.filter((s) => !s.ok);
  if (bad.length === 0) out += `sysctls: as active/active needs (${b.sysctls.map((s) => `${s.name.replace('net.ipv4.vs.', '')}=${s.have}`).join(' ')})\n`;
  else for (const s of bad) out += `sysctl ${s.name}: ${s.have === null ? s.error ?? 'missing' : `${s.have}${s.error ? ` (${s.error})` : ''}`}; active/active needs ${s.want}${b.sysctlsManaged ? '' : ' (sysctls = false: lvsd does not set it)'}\n`;
  const sd = b.syncDaemon;
  if (sd) out += `sync daemon on ${sd.interface} id ${sd.syncId}: ${sd.running.length ? sd.running.join(' and ') : 'not running'}${sd.running.length < 2 && sd.lastError ? ` (${sd.lastError}; retrying)` : ''}\n`;
  return out;
}
