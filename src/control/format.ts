/**
 * Human renderings of control answers (what `lvsctl` prints without
 * `--json`), and light shape checks of those answers. Pure functions: the
 * wall clock is an argument.
 */
import { formatBgp, isBgpStatus } from './format-bgp';
import { isPlainObject } from './protocol';
import type { EventRecord, EventsResult, InstanceStatus, LvsdEvent, ReloadResult, StatusResult } from './types';

/** True when `v` has the fields {@link formatStatus} reads. */
export function isStatusResult(v: unknown): v is StatusResult {
  if (!isPlainObject(v) || !Array.isArray(v.instances)) return false;
  return v.instances.every(
    (i: unknown) =>
      isPlainObject(i) &&
      typeof i.name === 'string' &&
      typeof i.state === 'string' &&
      typeof i.vrid === 'number' &&
      typeof i.basePriority === 'number' &&
      typeof i.effectivePriority === 'number',
  );
}

/**
 * True when `v` looks like an `events` answer: events of the common shape
 * (`subsystem`, `subject`, `message`), or the transitions-only answer of an
 * older lvsd (`instance`, `from`, `to`, `reason`).
 */
export function isEventsResult(v: unknown): v is EventsResult {
  return (
    isPlainObject(v) &&
    Array.isArray(v.events) &&
    v.events.every((e: unknown) => isPlainObject(e) && typeof e.at === 'string' && ((typeof e.subsystem === 'string' && typeof e.subject === 'string' && typeof e.message === 'string') || typeof e.instance === 'string'))
  );
}

/** True when `v` looks like a `reload` answer. */
export function isReloadResult(v: unknown): v is ReloadResult {
  return isPlainObject(v) && Array.isArray(v.changes);
}

/**
 * A duration as an operator reads it: `45s`, `2m05s`, `3h07m`, `4d02h`.
 * Negative durations (clock skew) print as `0s`.
 */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
}

/** `at` (ISO) as an age relative to `now`, e.g. `2m05s ago`; `-` if invalid. */
export function formatAge(at: string | null | undefined, now: Date): string {
  if (!at) return '-';
  const t = Date.parse(at);
  return Number.isNaN(t) ? '-' : `${formatDuration(now.getTime() - t)} ago`;
}

/** An interval in ms as keepalived writes advert_int: `1s`, `0.1s`. */
export function formatInterval(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/** Renders rows as columns separated by two spaces; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n').join('');
}

/** Non-zero counters as `key=value ...`, sorted by key; '' when all are zero. */
export function formatCounters(drops: Readonly<Record<string, number>> | undefined): string {
  if (!drops) return '';
  return Object.keys(drops)
    .filter((k) => typeof drops[k] === 'number' && drops[k] !== 0)
    .sort()
    .map((k) => `${k}=${drops[k]}`)
    .join(' ');
}

function masterCell(i: InstanceStatus): string {
  return i.master ? `${i.master.address} (${i.master.priority})` : '-';
}

function dropsSection(st: StatusResult): string {
  const lines: string[][] = [];
  const iface = formatCounters(st.drops);
  if (iface) lines.push(['  interface:', iface]);
  for (const i of st.instances) {
    const c = formatCounters(i.drops);
    if (c) lines.push([`  ${i.name}:`, c]);
  }
  return lines.length ? 'drops:\n' + table(lines) : '';
}

function header(st: StatusResult, now: Date): string {
  const up = Date.parse(st.startedAt);
  const upText = Number.isNaN(up) ? '' : `, up ${formatDuration(now.getTime() - up)}`;
  return `lvsd ${st.version}, router_id ${st.routerId}, pid ${st.pid}${upText}\n${processesLine(st)}`;
}

/** `processes: vrrp pid 12 running, director pid 13 running (2 restarts, last exit SIGKILL)`; empty without the supervisor's answer. */
function processesLine(st: StatusResult): string {
  const ps = Object.entries(st.processes ?? {});
  if (!ps.length) return '';
  const one = ([role, p]: [string, NonNullable<StatusResult['processes']>[string]]): string =>
    `${role}${p.pid ? ` pid ${p.pid}` : ''} ${p.state}${p.restarts ? ` (${p.restarts} restart${p.restarts === 1 ? '' : 's'}, last exit ${p.lastExit ?? 'unknown'})` : ''}`;
  return `processes: ${ps.map(one).join(', ')}\n`;
}

/**
 * `lvsctl status`: a header line, an aligned table with one row per VRRP
 * instance (NAME STATE PRIO(eff/base) VRID IFACE MASTER LAST-CHANGE REASON),
 * then the non-zero drop counters.
 */
export function formatStatus(st: StatusResult, now: Date): string {
  let out = header(st, now);
  if (st.instances.length === 0) out += 'no VRRP instances configured\n';
  else {
    const rows = [['NAME', 'STATE', 'PRIO', 'VRID', 'IFACE', 'MASTER', 'LAST-CHANGE', 'REASON']];
    for (const i of st.instances) {
      rows.push([
        i.name,
        i.state,
        `${i.effectivePriority}/${i.basePriority}`,
        String(i.vrid),
        i.interface,
        masterCell(i),
        formatAge(i.lastTransition?.at, now),
        i.lastTransition ? i.lastTransition.reason : '-',
      ]);
    }
    out += table(rows);
  }
  out += dropsSection(st);
  if (st.bgp) out += '\n' + (isBgpStatus(st.bgp) ? formatBgp(st.bgp) : `BGP: unknown: ${(st.bgp as { error?: string }).error ?? 'no answer'}\n`);
  return out;
}

/** Why the priority is what it is: `script chk_web up weight 10 (+10), interface eth1 down weight 0 (FAULT)`. */
function trackingCell(i: StatusResult['instances'][number]): string {
  const t = i.tracking ?? [];
  if (!t.length) return 'nothing tracked';
  return t
    .map((x) => `${x.kind} ${x.name} ${x.state}${x.reverse ? ' (reverse)' : ''} weight ${x.weight} (${x.fault ? 'FAULT' : x.contribution ? `${x.contribution > 0 ? '+' : ''}${x.contribution}` : 'no effect'})`)
    .join(', ');
}

/** `lvsctl show vrrp`: every field of every instance, one block each. */
export function formatShowVrrp(st: StatusResult, now: Date): string {
  let out = header(st, now);
  if (st.instances.length === 0) return out + 'no VRRP instances configured\n';
  for (const i of st.instances) {
    const t = i.lastTransition;
    const rows: string[][] = [
      ['state', t ? `${i.state} since ${formatAge(t.at, now)} (${t.from} -> ${t.to}: ${t.reason})` : i.state],
      ['virtual_router_id', `${i.vrid} on ${i.interface}`],
      ['version', `VRRPv${i.version}, IPv${i.family}, transport ${i.transport}`],
      ['priority', `${i.effectivePriority} effective, ${i.basePriority} configured`],
      ['tracking', trackingCell(i)],
      ['advert_int', formatInterval(i.advertIntervalMs)],
      ['master', i.master ? `${i.master.address} priority ${i.master.priority}` : 'unknown'],
      ['virtual_ipaddress', i.vips.length ? i.vips.join(', ') : 'none'],
      ['unicast_peer', i.unicastPeers.length ? i.unicastPeers.join(', ') : 'none (multicast)'],
      ['sync group', i.syncGroup ?? 'none'],
      ['peer checksum', i.peerChecksumForm ?? 'not seen'],
      ['drops', formatCounters(i.drops) || 'none'],
    ];
    out += `\nVRRP instance ${i.name}\n` + table(rows.map(([k, v]) => [`  ${k}`, v!]));
  }
  const iface = formatCounters(st.drops);
  if (iface) out += `\ninterface drops: ${iface}\n`;
  return out;
}

/** The header of {@link formatEvents}, also printed once by `lvsctl events --follow`. */
export const EVENTS_HEADER = eventColumns('AT', 'SUBSYSTEM', 'LEVEL', 'SUBJECT', 'MESSAGE');

function eventColumns(at: string, subsystem: string, severity: string, subject: string, message: string): string {
  // Fixed widths (an ISO time is 24 characters; most subjects fit 12) so followed lines align with the first ones.
  return `${at.padEnd(24)}  ${subsystem.padEnd(11)}  ${severity.padEnd(5)}  ${subject.padEnd(12)}  ${message}`.trimEnd() + '\n';
}

/**
 * One event as a line: AT SUBSYSTEM LEVEL SUBJECT MESSAGE. A VRRP transition
 * reads `VI_1  BACKUP -> MASTER: master down timer expired`; an older lvsd's
 * transition (no subsystem) is shown the same way.
 */
export function formatEvent(e: LvsdEvent | Partial<EventRecord>): string {
  if (typeof e.subsystem !== 'string') {
    const t = e as Partial<EventRecord>;
    return eventColumns(String(t.at), 'vrrp', 'info', String(t.instance), `${t.from} -> ${t.to}: ${t.reason}`);
  }
  return eventColumns(String(e.at), e.subsystem, String(e.severity), String(e.subject), String(e.message));
}

/** `lvsctl events`: one line per event under a header, oldest first. */
export function formatEvents(ev: EventsResult): string {
  if (ev.events.length === 0) return 'no events\n';
  return EVENTS_HEADER + ev.events.map((e) => formatEvent(e)).join('');
}

/** `lvsctl reload`: how many differences were applied, then one per line. */
export function formatReload(r: ReloadResult): string {
  if (r.changes.length === 0) return 'reload: configuration unchanged\n';
  return `reload: ${r.changes.length} change${r.changes.length === 1 ? '' : 's'} applied\n` + r.changes.map((c) => `  ${c}\n`).join('');
}
