/**
 * What a reload changes in one vrrp_instance, in words, and whether the
 * change can be applied in place (issue #10): only a change of identity
 * (interface, VRID, address family, VRRP version, transport) re-creates an
 * instance; everything else is applied to the running one. Pure.
 */
import { canonical } from '../config/diff';
import type { VrrpInstance } from '../config/types';
import type { VrrpInstanceRuntime } from './instance';

/** Fields that make an instance what it is on the wire: a change re-creates it. */
const IDENTITY = ['interface', 'virtualRouterId', 'family', 'version', 'transport'] as const;

/** keepalived's key for each field, for the operator's change lines. */
const KEY: Partial<Record<keyof VrrpInstance, string>> = {
  interface: 'interface',
  virtualRouterId: 'virtual_router_id',
  family: 'family',
  version: 'version',
  transport: 'transport',
  priority: 'priority',
  advertIntCs: 'advert_int',
  virtualIpaddress: 'virtual_ipaddress',
  virtualIpaddressExcluded: 'virtual_ipaddress_excluded',
  unicastSrcIp: 'unicast_src_ip',
  unicastPeers: 'unicast_peer',
  mcastSrcIp: 'mcast_src_ip',
  unicastTtl: 'unicast_ttl',
  checkUnicastSrc: 'check_unicast_src',
  nopreempt: 'nopreempt',
  preemptDelayMs: 'preempt_delay',
  authentication: 'authentication',
  trackInterfaces: 'track_interface',
  trackScripts: 'track_script',
  dontTrackPrimary: 'dont_track_primary',
  garpMasterDelayMs: 'garp_master_delay',
  garpMasterRepeat: 'garp_master_repeat',
  garpMasterRefreshMs: 'garp_master_refresh',
  garpMasterRefreshRepeat: 'garp_master_refresh_repeat',
  garpIntervalMs: 'garp_interval',
  gnaIntervalMs: 'gna_interval',
  v3ChecksumAsV2: 'v3_checksum_as_v2',
  udpPort: 'udp_port',
  notifyMaster: 'notify_master',
  notifyBackup: 'notify_backup',
  notifyFault: 'notify_fault',
  notifyStop: 'notify_stop',
  notify: 'notify',
  syncGroup: 'vrrp_sync_group',
  state: 'state',
};

const same = (a: unknown, b: unknown): boolean => a === b || canonical(a) === canonical(b);

/** The identity fields that differ ("interface eth0 -> eth1"); empty = the change can be applied in place. */
export function identityChanges(old: VrrpInstance, next: VrrpInstance): string[] {
  return IDENTITY.filter((k) => !same(old[k], next[k])).map((k) => `${KEY[k]} ${String(old[k])} -> ${String(next[k])}`);
}

function cidrs(list: readonly { address: string; prefix: number }[]): string[] {
  return list.map((v) => `${v.address}/${v.prefix}`);
}

/** "+a +b -c" for two lists of names. */
function delta(before: readonly string[], after: readonly string[]): string {
  const had = new Set(before);
  const has = new Set(after);
  return [...after.filter((x) => !had.has(x)).map((x) => `+${x}`), ...before.filter((x) => !has.has(x)).map((x) => `-${x}`)].join(' ');
}

function show(k: keyof VrrpInstance, v: unknown): string {
  if (v === undefined) return 'none';
  if (k === 'advertIntCs') return `${(v as number) / 100}`;
  if (k === 'preemptDelayMs' || k === 'garpMasterDelayMs' || k === 'garpMasterRefreshMs') return `${(v as number) / 1000}`;
  if (k === 'authentication') return 'PASS';
  if (k === 'unicastSrcIp' || k === 'mcastSrcIp') return (v as { address: string }).address;
  if (k.startsWith('notify')) return (v as { argv: readonly string[] }).argv.join(' ');
  if (k === 'trackInterfaces') return (v as VrrpInstance['trackInterfaces']).map((t) => `${t.name} weight ${t.weight}`).join(', ') || 'none';
  if (k === 'trackScripts') return (v as VrrpInstance['trackScripts']).map((t) => (t.weight === undefined ? t.name : `${t.name} weight ${t.weight}`)).join(', ') || 'none';
  if (k === 'unicastPeers') return (v as VrrpInstance['unicastPeers']).map((p) => p.address).join(' ') || 'none';
  return String(v);
}

/**
 * One short phrase per changed setting of an instance whose identity is
 * unchanged: "priority 150 -> 140", "virtual_ipaddress +192.0.2.101/24".
 */
export function settingChanges(old: VrrpInstance, next: VrrpInstance): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(old), ...Object.keys(next)] as (keyof VrrpInstance)[]);
  for (const k of keys) {
    if (k === 'name' || k === 'line' || k.endsWith('Line') || (IDENTITY as readonly string[]).includes(k)) continue;
    const a = old[k];
    const b = next[k];
    if (same(a, b)) continue;
    const key = KEY[k] ?? k;
    if (k === 'virtualIpaddress' || k === 'virtualIpaddressExcluded') {
      const d = delta(cidrs(a as VrrpInstance['virtualIpaddress']), cidrs(b as VrrpInstance['virtualIpaddress']));
      if (d) out.push(`${key} ${d}`);
      continue;
    }
    if (k === 'authentication' && a && b) {
      out.push('auth_pass changed');
      continue;
    }
    out.push(`${key} ${show(k, a)} -> ${show(k, b)}`);
  }
  return out;
}

/**
 * What an in-place change will make the protocol do, as a suffix for the
 * operator's line: a MASTER below a peer it has heard gives way (if that
 * peer preempts); a BACKUP above its master takes over (if it preempts).
 */
export function reloadOutlook(r: Pick<VrrpInstanceRuntime, 'config' | 'state' | 'status' | 'heardPeers'>, inst: VrrpInstance): string {
  const base = r.config.priority;
  const status = r.status();
  const eff = status.effectivePriority;
  const next = inst.priority === 255 ? 255 : base === 255 ? inst.priority : Math.min(254, Math.max(1, eff - base + inst.priority));
  if (r.state === 'MASTER') {
    let best: [string, number] | undefined;
    for (const [addr, prio] of r.heardPeers()) if (!best || prio > best[1]) best = [addr, prio];
    if (best && best[1] > next) return ` (will give up MASTER: a peer with priority ${best[1]} was heard, ${best[0]}, if it preempts)`;
  } else if (r.state === 'BACKUP') {
    const m = status.master;
    if (m && !inst.nopreempt && next > m.priority) {
      return ` (will take over MASTER from ${m.address}, priority ${m.priority}${inst.preemptDelayMs > 0 ? `, after preempt_delay ${inst.preemptDelayMs / 1000} s` : ''})`;
    }
  }
  return '';
}
