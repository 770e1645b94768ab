/**
 * `[vrrp_script.*]`, `[vrrp_instance.*]` and `[vrrp_sync_group.*]` sections →
 * typed objects, with keepalived's defaults and ranges. Checks that look at
 * one section only live here; references between sections are checked in
 * validate.ts.
 */
import { parseIpPrefix, type Family } from './address';
import { ProblemCode } from './errors';
import type { Parsed } from './address';
import { parseIntText, parseNumberOptions, type At, type SectionReader } from './reader';
import type { GlobalConfig, Script, TrackInterface, TrackScript, UnicastPeer, VirtualAddress, VrrpInstance, VrrpScript, VrrpSyncGroup } from './types';
import type { UserDb } from './users';

/** Default UDP port for `transport = udp`: no standard exists; 5112 echoes IP protocol 112. */
export const DEFAULT_VRRP_UDP_PORT = 5112;

/** Weight range keepalived allows for track_script / track_interface / vrrp_script. */
const WEIGHT_MIN = -253;
const WEIGHT_MAX = 253;

/** Label syntax for names referred to from other sections. */
export const LABEL_RE = /^[A-Za-z0-9_-]+$/;

/** Reports a missing required key at the section line. */
function missing(r: SectionReader, key: string, what: string): void {
  r.error(r.section.line, `${r.where} needs "${key}" (${what})`, ProblemCode.MissingKey);
}

/** Builds `[vrrp_script.NAME]`. `g` gives the default user (script_user); `users` resolves `user`. */
export function buildVrrpScript(r: SectionReader, name: string, g: GlobalConfig, users: UserDb): VrrpScript {
  const script = r.script('script');
  if (!r.has('script')) missing(r, 'script', 'the program to run and its arguments');
  const intervalMs = r.seconds('interval', { min: 0.001, max: 86400 })?.value ?? 1000;
  const timeoutMs = r.seconds('timeout', { min: 0.001, max: 86400 })?.value ?? intervalMs;
  const user = r.runAs('user', users) ?? g.scriptUser;
  const weight = r.parsed('weight', (t) => parseWeight(t.trim().split(/\s+/), false));
  return {
    name,
    line: r.section.line,
    script: script ?? { argv: [], line: r.section.line },
    intervalMs,
    timeoutMs,
    rise: r.int('rise', 1, 1_000_000)?.value ?? 1,
    fall: r.int('fall', 1, 1_000_000)?.value ?? 1,
    weight: weight?.value.weight ?? 0,
    weightReverse: weight?.value.reverse ?? false,
    initFail: r.bool('init_fail')?.value ?? false,
    ...(user ? { user } : {}),
  };
}

/**
 * Parses `N [reverse]` (a vrrp_script's weight) or, with `noreverse`
 * allowed, `N [reverse|noreverse]` (after `weight` on a track_script line):
 * keepalived's words. `reverse` turns the adjustment around: a positive
 * weight is taken off while the object is up, a negative one added while it
 * is down, and weight 0 means FAULT while it is up.
 */
function parseWeight(words: readonly string[], noreverse: boolean): Parsed<{ weight: number; reverse?: boolean }> {
  const flags = noreverse ? '[reverse|noreverse]' : '[reverse]';
  const w = words[0] === undefined ? undefined : parseIntText(words[0], WEIGHT_MIN, WEIGHT_MAX);
  if (!w) return { ok: false, error: `expected "N ${flags}"` };
  if (!w.ok) return w;
  if (words.length === 1) return { ok: true, value: { weight: w.value } };
  const flag = words[1]!.toLowerCase();
  if (words.length === 2 && (flag === 'reverse' || (noreverse && flag === 'noreverse'))) return { ok: true, value: { weight: w.value, reverse: flag === 'reverse' } };
  return { ok: false, error: `expected "N ${flags}", found "${words.join(' ')}"` };
}

/**
 * Parses `NAME`, `NAME weight N` or `NAME weight N reverse` (track_interface;
 * track_script also takes `noreverse`, which overrides a script's `reverse`).
 */
function parseTracked(v: At<string>, r: SectionReader, key: string): { name: string; weight?: number; reverse?: boolean } | undefined {
  const parts = v.value.trim().split(/\s+/);
  const name = parts[0]!;
  if (parts.length === 1) return { name };
  const scriptLine = key === 'track_script';
  if (parts.length >= 3 && parts[1]!.toLowerCase() === 'weight') {
    const w = parseWeight(parts.slice(2), scriptLine);
    if (!w.ok) {
      r.error(v.line, `${key}: weight: ${w.error}`);
      return undefined;
    }
    return { name, ...w.value };
  }
  r.error(v.line, `${key}: expected "NAME" or "NAME weight N [reverse${scriptLine ? '|noreverse' : ''}]", found "${v.value}"`);
  return undefined;
}

/** Parses a list of addresses with their lines. */
function addresses(r: SectionReader, key: string): VirtualAddress[] {
  const out: VirtualAddress[] = [];
  for (const v of r.list(key)) {
    const p = parseIpPrefix(v.value.trim());
    if (!p.ok) r.error(v.line, `${key}: ${p.error}`);
    else out.push({ ...p.value, line: v.line });
  }
  return out;
}

/** Parses `unicast_peer[] = ADDRESS [min_ttl N] [max_ttl N]` lines (keepalived's unicast_peer block). */
function unicastPeers(r: SectionReader): UnicastPeer[] {
  const out: UnicastPeer[] = [];
  for (const v of r.list('unicast_peer')) {
    const [addr, ...rest] = v.value.trim().split(/\s+/) as [string, ...string[]];
    const p = parseIpPrefix(addr);
    if (!p.ok) {
      r.error(v.line, `unicast_peer: ${p.error}`);
      continue;
    }
    if (p.value.prefix !== (p.value.family === 4 ? 32 : 128)) r.error(v.line, `unicast_peer: write a bare address, without /prefix`);
    const ttl = parseNumberOptions(rest, { min_ttl: [0, 255], max_ttl: [0, 255] }, (w) => `"${w}": expected "ADDRESS [min_ttl N] [max_ttl N]"`);
    if (!ttl.ok) {
      r.error(v.line, `unicast_peer ${addr}: ${ttl.error}`);
      continue;
    }
    const minTtl = ttl.value.min_ttl ?? 0;
    const maxTtl = ttl.value.max_ttl ?? 255;
    if (minTtl > maxTtl) r.error(v.line, `unicast_peer ${addr}: min_ttl ${minTtl} is above max_ttl ${maxTtl}, so every advert from it would be dropped`);
    out.push({ ...p.value, line: v.line, minTtl, maxTtl });
  }
  return out;
}

/** Reads the advertisement interval once the version is known: centiseconds. */
function advertInt(r: SectionReader, version: 2 | 3, versionExplicit: boolean): number {
  const raw = r.raw('advert_int');
  if (!raw) return 100;
  const t = raw.value.trim();
  if (!/^[0-9]+(\.[0-9]+)?$/.test(t)) {
    r.error(raw.line, `advert_int: "${t}" is not a number of seconds`);
    return 100;
  }
  const s = Number(t);
  if (version === 2) {
    // RFC 3768 §5.3.7: Adver Int is whole seconds in 8 bits.
    if (!Number.isInteger(s) || s < 1 || s > 255) {
      const why = versionExplicit ? 'VRRP version 2' : `VRRP version 2 (the default; set version = 3 for sub-second intervals)`;
      r.error(raw.line, `advert_int: ${why} takes whole seconds 1–255, found "${t}"`);
      return 100;
    }
    return s * 100;
  }
  // RFC 5798 §5.2.7: Max Adver Int is 12 bits of centiseconds.
  const cs = Math.round(s * 100);
  if (Math.abs(s * 100 - cs) > 1e-6 || cs < 1 || cs > 4095) {
    r.error(raw.line, `advert_int: VRRP version 3 takes 0.01–40.95 seconds in 0.01 s steps, found "${t}"`);
    return 100;
  }
  return cs;
}

/** Builds `[vrrp_instance.NAME]`. `g` gives defaults (vrrp_version, garp intervals). */
export function buildVrrpInstance(r: SectionReader, name: string, g: GlobalConfig): VrrpInstance {
  const line = r.section.line;
  const state = r.oneOf('state', ['MASTER', 'BACKUP'] as const);
  const iface = r.string('interface');
  if (!r.has('interface')) missing(r, 'interface', 'the interface VRRP runs on');
  const vrid = r.int('virtual_router_id', 1, 255);
  if (!r.has('virtual_router_id')) missing(r, 'virtual_router_id', '1–255, the same on every router of this virtual router');
  const priority = r.int('priority', 1, 255)?.value ?? 100;

  const vips = addresses(r, 'virtual_ipaddress');
  const excluded = addresses(r, 'virtual_ipaddress_excluded');
  const unicastSrcIp = r.ip('unicast_src_ip');
  const mcastSrcIp = r.ip('mcast_src_ip');
  const peers = unicastPeers(r);
  const native6 = r.bool('native_ipv6')?.value ?? false;
  // keepalived: the first VIP decides the family; without VIPs the addresses do.
  const family: Family = native6 ? 6 : vips[0]?.family ?? unicastSrcIp?.value.family ?? peers[0]?.family ?? mcastSrcIp?.value.family ?? 4;
  const fam = (f: Family) => (f === 4 ? 'IPv4' : 'IPv6');
  const advertised: VirtualAddress[] = [];
  const notAdvertised: VirtualAddress[] = [...excluded];
  for (const v of vips) {
    if (v.family === family) advertised.push(v);
    else {
      // keepalived drops such an address ("address family must match VRRP instance"); lvsd keeps
      // it as an excluded address, so a dual-stack VIP pair moves together, and says so.
      r.warn(
        v.line,
        `virtual_ipaddress ${v.address}/${v.prefix} is ${fam(v.family)} but ${r.where} advertises ${fam(family)}: ` +
          `it moves with the instance but is not advertised (write it as virtual_ipaddress_excluded[] to say so)`,
      );
      notAdvertised.push(v);
    }
  }
  for (const p of peers) {
    if (p.family !== family) r.error(p.line, `unicast_peer ${p.address} is ${fam(p.family)} but ${r.where} is ${fam(family)}`, ProblemCode.Conflict);
  }
  if (unicastSrcIp && unicastSrcIp.value.family !== family) {
    r.error(unicastSrcIp.line, `unicast_src_ip ${unicastSrcIp.value.address} is ${fam(unicastSrcIp.value.family)} but ${r.where} is ${fam(family)}`, ProblemCode.Conflict);
  }
  if (mcastSrcIp && mcastSrcIp.value.family !== family) {
    r.error(mcastSrcIp.line, `mcast_src_ip ${mcastSrcIp.value.address} is ${fam(mcastSrcIp.value.family)} but ${r.where} is ${fam(family)}`, ProblemCode.Conflict);
  }
  if (unicastSrcIp && peers.length === 0) {
    r.warn(unicastSrcIp.line, 'unicast_src_ip has no effect without unicast_peer[] (adverts go to the multicast group)');
  }

  const versionAt = r.int('version', 2, 3) as At<2 | 3> | undefined;
  let version: 2 | 3 = versionAt?.value ?? (family === 6 ? 3 : g.vrrpVersion);
  if (versionAt && versionAt.value === 2 && family === 6) {
    r.error(versionAt.line, 'version 2 is IPv4 only (RFC 3768): an IPv6 instance needs version = 3', ProblemCode.Conflict);
    version = 3;
  }
  const advertIntCs = advertInt(r, version, versionAt !== undefined);

  const nopreempt = r.bool('nopreempt')?.value ?? false;
  const preemptDelayMs = r.seconds('preempt_delay', { min: 0, max: 1000 })?.value ?? 0;
  if (nopreempt && state?.value === 'MASTER') {
    r.warn(state.line, 'nopreempt with state = MASTER: keepalived and lvsd start such an instance as BACKUP anyway; write state = BACKUP');
  }

  let authentication: VrrpInstance['authentication'];
  const authRaw = r.raw('authentication');
  const pass = r.raw('auth_pass');
  if (authRaw) {
    const t = authRaw.value.trim().toUpperCase();
    if (t === 'AH') r.error(authRaw.line, 'authentication: AH (IPsec) is not supported by lvsd; use PASS or no authentication');
    else if (t !== 'PASS') r.error(authRaw.line, `authentication: "${authRaw.value}" is not one of PASS`);
    else if (version === 3) {
      // CONFIG.md's sample (binding) pairs version 3 with authentication and must load; keepalived
      // likewise ignores authentication under VRRPv3 rather than refusing the file.
      r.warn(authRaw.line, 'authentication is ignored with version 3 (RFC 5798 removed it; VRRPv2 only)');
    } else if (!pass || pass.value === '') {
      r.error(authRaw.line, 'authentication = PASS needs auth_pass', ProblemCode.MissingKey);
    } else {
      if (pass.value.length > 8) r.warn(pass.line, 'auth_pass: only the first 8 characters are sent (RFC 3768 §5.3.6.1)');
      authentication = { type: 'PASS', pass: pass.value.slice(0, 8), line: authRaw.line };
    }
  } else if (pass) {
    r.error(pass.line, 'auth_pass without authentication = PASS', ProblemCode.Conflict);
  }

  const trackInterfaces: TrackInterface[] = [];
  for (const v of r.list('track_interface')) {
    const t = parseTracked(v, r, 'track_interface');
    if (t) trackInterfaces.push({ name: t.name, weight: t.weight ?? 0, reverse: t.reverse ?? false, line: v.line });
  }
  const trackScripts: TrackScript[] = [];
  for (const v of r.list('track_script')) {
    const t = parseTracked(v, r, 'track_script');
    if (t) trackScripts.push({ name: t.name, ...(t.weight !== undefined ? { weight: t.weight } : {}), ...(t.reverse !== undefined ? { reverse: t.reverse } : {}), line: v.line });
  }

  const transport = r.oneOf('transport', ['raw', 'udp'] as const);
  const udpPort = r.int('udp_port', 1, 65535);
  if (transport?.value === 'udp' && peers.length === 0) {
    r.error(transport.line, 'transport = udp needs unicast_peer[] (UDP adverts are sent to each peer, never multicast)', ProblemCode.Conflict);
  }
  if (udpPort && transport?.value !== 'udp') r.warn(udpPort.line, 'udp_port has no effect without transport = udp');
  for (const p of peers) {
    if (transport?.value === 'udp' && (p.minTtl > 0 || p.maxTtl < 255)) {
      r.warn(p.line, `unicast_peer ${p.address}: min_ttl/max_ttl have no effect with transport = udp (lvsd cannot read the TTL of a UDP datagram)`);
    }
  }
  const unicastTtl = r.int('unicast_ttl', 1, 255);
  if (unicastTtl && peers.length === 0) {
    // keepalived: "Cannot use unicast_ttl without unicast peers - resetting".
    r.warn(unicastTtl.line, 'unicast_ttl has no effect without unicast_peer[] (multicast adverts always carry TTL 255)');
  }
  const v3AsV2 = r.bool('v3_checksum_as_v2');
  if (v3AsV2?.value && (version !== 3 || family !== 4)) {
    r.warn(v3AsV2.line, 'v3_checksum_as_v2 only changes VRRP version 3 over IPv4; it has no effect here');
  }

  const notify = (k: string): { [key: string]: Script } => {
    const s = r.script(k);
    return s ? { [camel(k)]: s } : {};
  };
  return {
    name,
    line,
    state: state?.value ?? 'BACKUP',
    interface: iface?.value ?? '',
    interfaceLine: iface?.line ?? line,
    virtualRouterId: vrid?.value ?? 0,
    virtualRouterIdLine: vrid?.line ?? line,
    priority,
    advertIntCs,
    version,
    family,
    virtualIpaddress: advertised,
    virtualIpaddressExcluded: notAdvertised,
    ...(unicastSrcIp ? { unicastSrcIp: { ...unicastSrcIp.value, line: unicastSrcIp.line } } : {}),
    unicastPeers: peers,
    ...(mcastSrcIp ? { mcastSrcIp: { ...mcastSrcIp.value, line: mcastSrcIp.line } } : {}),
    ...(peers.length === 0 ? { mcastGroup: family === 4 ? g.vrrpMcastGroup4 : g.vrrpMcastGroup6 } : {}),
    unicastTtl: unicastTtl?.value ?? 255,
    checkUnicastSrc: r.bool('check_unicast_src')?.value ?? false,
    nopreempt,
    preemptDelayMs,
    ...(authentication ? { authentication } : {}),
    trackInterfaces,
    trackScripts,
    dontTrackPrimary: r.bool('dont_track_primary')?.value ?? false,
    garpMasterDelayMs: r.seconds('garp_master_delay', { min: 0, max: 255 })?.value ?? 5000,
    garpMasterRepeat: r.int('garp_master_repeat', 1, 255)?.value ?? 5,
    garpMasterRefreshMs: r.seconds('garp_master_refresh', { min: 0, max: 86400 })?.value ?? 0,
    garpMasterRefreshRepeat: r.int('garp_master_refresh_repeat', 1, 255)?.value ?? 1,
    garpIntervalMs: r.seconds('garp_interval', { min: 0, max: 1 })?.value ?? g.vrrpGarpIntervalMs,
    gnaIntervalMs: r.seconds('gna_interval', { min: 0, max: 1 })?.value ?? g.vrrpGnaIntervalMs,
    v3ChecksumAsV2: v3AsV2?.value ?? false,
    transport: transport?.value ?? 'raw',
    udpPort: udpPort?.value ?? DEFAULT_VRRP_UDP_PORT,
    ...notify('notify_master'),
    ...notify('notify_backup'),
    ...notify('notify_fault'),
    ...notify('notify_stop'),
    ...notify('notify'),
  } as VrrpInstance;
}

/** snake_case → camelCase. */
export function camel(k: string): string {
  return k.replace(/[_-]([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Builds `[vrrp_sync_group.NAME]`. */
export function buildVrrpSyncGroup(r: SectionReader, name: string): VrrpSyncGroup {
  const group: { name: string; line: number }[] = [];
  const seen = new Map<string, number>();
  for (const v of r.list('group')) {
    const n = v.value.trim();
    if (!LABEL_RE.test(n)) {
      r.error(v.line, `group: "${n}" is not an instance name`);
      continue;
    }
    const first = seen.get(n);
    if (first !== undefined) {
      r.error(v.line, `group: ${n} is listed twice (first at line ${first})`, ProblemCode.DuplicateKey);
      continue;
    }
    seen.set(n, v.line);
    group.push({ name: n, line: v.line });
  }
  if (!r.has('group')) missing(r, 'group[]', 'the instances that move together');
  else if (group.length === 1) r.warn(group[0]!.line, `${r.where} has one instance only: a sync group needs two or more to matter`);
  // keepalived ignores tracking weights inside a sync group (a failure means FAULT) unless told otherwise.
  const trackingWeight = r.bool('sync_group_tracking_weight')?.value ?? false;
  const out: Record<string, unknown> = { name, line: r.section.line, group, syncGroupTrackingWeight: trackingWeight };
  for (const k of ['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify']) {
    const s = r.script(k);
    if (s) out[camel(k)] = s;
  }
  return out as unknown as VrrpSyncGroup;
}
