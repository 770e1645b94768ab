/**
 * keepalived's `global_defs`, `vrrp_script`, `vrrp_instance` and
 * `vrrp_sync_group` → lvsd's `[global]`, `[vrrp_script.*]`,
 * `[vrrp_instance.*]` and `[vrrp_sync_group.*]` (CONFIG.md). Keys keep
 * keepalived's names, so most statements map one to one; the blocks
 * (virtual_ipaddress, unicast_peer, track_*, authentication) become `[]`
 * lists. Whatever has no place in lvsd is listed, never dropped.
 */
import { commandLine, label, origin, SectionBuilder, words, type Ctx } from './context';
import type { Origin } from './ini-doc';
import type { KNode } from './parser';

/** `[global]` and what global_defs sets for every instance. */
export interface GlobalState {
  readonly sec: SectionBuilder;
  /** keepalived's vrrp_garp_master_* defaults, applied to instances that do not set their own. */
  readonly instanceDefaults: Map<string, { value: string; node: KNode }>;
}

/** global_defs keys that become `[global]` keys with the same one value. */
const GLOBAL_SAME = ['router_id', 'vrrp_version', 'vrrp_garp_interval', 'vrrp_gna_interval', 'vrrp_mcast_group4', 'vrrp_mcast_group6'] as const;

/** global_defs defaults that lvsd sets per instance. */
const GARP_DEFAULTS: Readonly<Record<string, string>> = {
  vrrp_garp_master_delay: 'garp_master_delay',
  vrrp_garp_master_repeat: 'garp_master_repeat',
  vrrp_garp_master_refresh: 'garp_master_refresh',
  vrrp_garp_master_refresh_repeat: 'garp_master_refresh_repeat',
};

/** A new, empty global state. */
export function newGlobal(): GlobalState {
  return { sec: new SectionBuilder('global', { file: '', line: 0, keyword: 'global_defs' }), instanceDefaults: new Map() };
}

/** Translates one `global_defs { }` block into `g`. */
export function translateGlobalDefs(n: KNode, g: GlobalState, ctx: Ctx): void {
  if (!ctx.needBlock(n)) return;
  for (const c of n.children) {
    const k = c.keyword;
    if ((GLOBAL_SAME as readonly string[]).includes(k)) {
      if (ctx.need(c, 1, 'a value')) g.sec.set(k, words(c).join(' '), c);
    } else if (k in GARP_DEFAULTS) {
      if (ctx.need(c, 1, 'a value')) g.instanceDefaults.set(GARP_DEFAULTS[k]!, { value: words(c)[0]!, node: c });
      ctx.extra(c);
    } else if (k === 'notify') {
      // Not a keepalived keyword: lvsd's global notify script, accepted so an lvsd setup can be written in either syntax.
      if (ctx.need(c, 1, 'a command')) g.sec.set('notify', commandLine(c.args), c);
    } else if (k === 'notify_fifo') {
      if (!ctx.need(c, 1, 'a file name')) continue;
      g.sec.set('notify_fifo', words(c)[0]!, c);
      if (c.args.length > 1) ctx.skip(c, 'notify_fifo', `the FIFO's owner "${words(c).slice(1).join(' ')}" (lvsd creates it as the daemon's user)`);
    } else if (k === 'enable_script_security') {
      g.sec.set('enable_script_security', 'true', c);
    } else if (k === 'script_user') {
      if (ctx.need(c, 1, 'a user')) g.sec.set('script_user', words(c).slice(0, 2).join(' '), c);
    } else if (k === 'lvs_sync_daemon') {
      translateSyncDaemon(c, g, ctx);
    } else if (k === 'lvs_flush') {
      g.sec.set('lvs_flush', 'true', c);
    } else if (k === 'lvs_flush_onstop') {
      g.sec.set('lvs_flush_onstop', words(c)[0] ?? 'ALL', c);
    } else {
      ctx.unknown(c, 'global_defs');
    }
  }
}

/** `lvs_sync_daemon IF INSTANCE [id N] [maxlen L] [port P] [ttl T] [group ADDR]`: lvsd takes IF, INSTANCE, id and port. */
function translateSyncDaemon(c: KNode, g: GlobalState, ctx: Ctx): void {
  if (!ctx.need(c, 2, 'INTERFACE and VRRP_INSTANCE')) return;
  const w = words(c);
  const kept = [w[0]!, label(w[1]!)];
  for (let i = 2; i < w.length; i += 2) {
    const opt = w[i]!;
    if (opt === 'id' || opt === 'port') kept.push(opt, w[i + 1] ?? '');
    else ctx.skip(c, `lvs_sync_daemon ${opt}`, 'lvsd sets only the sync id and port (the kernel defaults the rest)');
  }
  g.sec.set('lvs_sync_daemon', kept.join(' ').trim(), c);
}

/** Translates `vrrp_script NAME { }`. */
export function translateVrrpScript(n: KNode, ctx: Ctx): SectionBuilder | undefined {
  if (!ctx.need(n, 1, 'a name') || !ctx.needBlock(n)) return undefined;
  const sec = new SectionBuilder(`vrrp_script.${label(n.args[0]!.text)}`, origin(n));
  for (const c of n.children) {
    const k = c.keyword;
    if (k === 'script') {
      if (ctx.need(c, 1, 'a command')) sec.set('script', commandLine(c.args), c);
    } else if (k === 'interval' || k === 'timeout' || k === 'rise' || k === 'fall') {
      if (ctx.need(c, 1, 'a value')) sec.set(k, words(c)[0]!, c);
      ctx.extra(c);
    } else if (k === 'weight') {
      if (!ctx.need(c, 1, 'a value')) continue;
      // `weight N reverse` as written; the loader judges the words.
      sec.set('weight', words(c).slice(0, 2).join(' '), c);
      ctx.extra(c, 2);
    } else if (k === 'init_fail') {
      sec.set('init_fail', 'true', c);
    } else if (k === 'user') {
      if (ctx.need(c, 1, 'a user')) sec.set('user', words(c).slice(0, 2).join(' '), c);
    } else ctx.unknown(c, 'vrrp_script');
  }
  return sec;
}

/** Instance keys taken with their one value, unchanged. */
const INSTANCE_SAME = [
  'interface', 'virtual_router_id', 'priority', 'advert_int', 'version', 'unicast_src_ip', 'mcast_src_ip', 'unicast_ttl',
  'preempt_delay', 'garp_master_delay', 'garp_master_repeat', 'garp_master_refresh', 'garp_master_refresh_repeat',
  'garp_interval', 'gna_interval',
] as const;
/** Instance flags: a bare keyword means true. */
const INSTANCE_FLAGS = ['nopreempt', 'dont_track_primary', 'native_ipv6', 'check_unicast_src'] as const;
/** Notify scripts of instances and sync groups. */
const NOTIFY = ['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify'] as const;

/** Options of a virtual_ipaddress line that take a value, and flags that do not (ip-address(8) / keepalived.conf(5)). */
const VIP_OPTS_WITH_ARG = new Set(['brd', 'broadcast', 'dev', 'scope', 'label', 'preferred_lft', 'track_group']);

/** Translates `vrrp_instance NAME { }`; may set `lvs_sync_daemon` in `g` (old lvs_sync_daemon_interface). */
export function translateVrrpInstance(n: KNode, g: GlobalState, ctx: Ctx): SectionBuilder | undefined {
  if (!ctx.need(n, 1, 'a name') || !ctx.needBlock(n)) return undefined;
  const name = label(n.args[0]!.text);
  if (name !== n.args[0]!.text) ctx.note(n, `vrrp_instance "${n.args[0]!.text}" is named [vrrp_instance.${name}] (section names are letters, digits, _ and -)`);
  const sec = new SectionBuilder(`vrrp_instance.${name}`, origin(n));
  // The last interface line wins, as every repeated keyword does in keepalived.
  const iface = [...n.children].reverse().find((c) => c.keyword === 'interface')?.args[0]?.text;
  const vipSeen = new Map<string, number>();
  for (const c of n.children) {
    const k = c.keyword;
    if ((INSTANCE_SAME as readonly string[]).includes(k)) {
      if (ctx.need(c, 1, 'a value')) sec.set(k, words(c)[0]!, c);
      ctx.extra(c);
    } else if (k === 'state') {
      if (ctx.need(c, 1, 'MASTER or BACKUP')) sec.set('state', words(c)[0]!.toUpperCase(), c);
      ctx.extra(c);
    } else if ((INSTANCE_FLAGS as readonly string[]).includes(k)) {
      sec.set(k, words(c)[0] ?? 'true', c);
    } else if (k === 'preempt') {
      // keepalived's default, and lvsd's: nothing to write.
    } else if ((NOTIFY as readonly string[]).includes(k)) {
      if (ctx.need(c, 1, 'a command')) sec.set(k, commandLine(c.args), c);
    } else if (k === 'virtual_ipaddress' || k === 'virtual_ipaddress_excluded') {
      if (ctx.needBlock(c)) for (const a of c.children) vipLine(a, k, iface, vipSeen, sec, ctx);
    } else if (k === 'unicast_peer') {
      if (!ctx.needBlock(c)) continue;
      // `ADDRESS [min_ttl N] [max_ttl N]` as written; the loader judges the options.
      for (const p of c.children) sec.set('unicast_peer', [p.keyword, ...words(p)].join(' '), item(p, 'unicast_peer'), true);
    } else if (k === 'track_interface' || k === 'track_script') {
      if (ctx.needBlock(c)) for (const t of c.children) trackLine(t, k, sec, ctx);
    } else if (k === 'authentication') {
      authentication(c, sec, ctx);
    } else if (k === 'lvs_sync_daemon_interface') {
      if (!ctx.need(c, 1, 'an interface')) continue;
      if (g.sec.has('lvs_sync_daemon')) ctx.skip(c, k, 'lvs_sync_daemon is already set; lvsd runs one sync daemon');
      else g.sec.set('lvs_sync_daemon', `${words(c)[0]} ${name}`, c);
    } else ctx.unknown(c, 'vrrp_instance');
  }
  for (const [key, d] of g.instanceDefaults) if (!sec.has(key)) sec.set(key, d.value, d.node);
  return sec;
}

/** The origin of one line of a list block, reported as `BLOCK ITEM` (e.g. `track_script chk`). */
function item(n: KNode, block: string): Origin {
  return { file: n.file, line: n.line, keyword: `${block} ${n.keyword}` };
}

/** One line of a virtual_ipaddress block: `ADDR[/LEN] [brd B] [dev IF] [scope S] [label L] [flags...]`. */
function vipLine(a: KNode, key: string, iface: string | undefined, seen: Map<string, number>, sec: SectionBuilder, ctx: Ctx): void {
  const addr = a.keyword;
  const w = words(a);
  const lost: string[] = [];
  for (let i = 0; i < w.length; i++) {
    const opt = w[i]!;
    if (VIP_OPTS_WITH_ARG.has(opt)) {
      const v = w[++i] ?? '';
      if (opt === 'dev' && v === iface) continue;
      lost.push(`${opt} ${v}`);
    } else lost.push(opt);
  }
  const first = seen.get(addr);
  const why = (opt: string) =>
    opt.startsWith('dev ')
      ? `lvsd adds every address of an instance on its interface${iface ? ` ${iface}` : ''}; ${addr} is imported there`
      : opt.startsWith('label ')
        ? `lvsd sets no address labels; ${addr} is imported without one`
        : `lvsd adds addresses without this option; ${addr} is imported without it`;
  if (first !== undefined) {
    if (lost.length === 0) ctx.skip(a, key, `${addr} is listed twice (first at line ${first})`);
    for (const opt of lost) ctx.skip(a, opt.split(' ')[0]!, `${why(opt).split(';')[0]}; ${addr} is already imported from line ${first}`);
    return;
  }
  seen.set(addr, a.line);
  sec.set(key, addr, item(a, key), true);
  for (const opt of lost) ctx.skip(a, opt.split(' ')[0]!, why(opt));
}

/** One line of track_interface / track_script: `NAME [weight N [reverse|noreverse]]`, taken as written (the loader judges it). */
function trackLine(t: KNode, key: string, sec: SectionBuilder, ctx: Ctx): void {
  const w = words(t);
  const name = key === 'track_script' ? label(t.keyword) : t.keyword;
  if (w.length === 0) sec.set(key, name, item(t, key), true);
  else if (w[0] === 'weight' && w[1] !== undefined && w.length <= 3) sec.set(key, [name, ...w].join(' '), item(t, key), true);
  else ctx.skip(t, `${key} ${t.keyword} ${w.join(' ')}`, `lvsd takes "NAME", "NAME weight N" or "NAME weight N reverse"${key === 'track_script' ? ' (or noreverse)' : ''}`);
}

/** `authentication { auth_type PASS|AH auth_pass X }`. */
function authentication(c: KNode, sec: SectionBuilder, ctx: Ctx): void {
  if (!ctx.needBlock(c)) return;
  const type = c.children.find((x) => x.keyword === 'auth_type');
  const pass = c.children.find((x) => x.keyword === 'auth_pass');
  for (const x of c.children) if (x !== type && x !== pass) ctx.unknown(x, 'authentication');
  const t = type?.args[0]?.text.toUpperCase();
  if (t === 'AH') {
    ctx.skip(type!, 'auth_type AH', 'lvsd has no IPsec AH authentication (deprecated by RFC 3768 too)');
    if (pass) ctx.skip(pass, 'auth_pass', 'belongs to auth_type AH');
    return;
  }
  if (type && t !== 'PASS') {
    ctx.skip(type, 'auth_type', `"${type.args[0]?.text ?? ''}" is not PASS or AH`);
    return;
  }
  if (!pass || pass.args.length === 0) {
    ctx.skip(type ?? c, 'authentication', 'needs auth_pass');
    return;
  }
  sec.set('authentication', 'PASS', type ?? c);
  sec.set('auth_pass', pass.args[0]!.text, pass);
}

/** keepalived's vrrp_sync_group keywords that are not members (written bare, they are not read as 1.x member names). */
const SYNC_GROUP_KEYWORDS = new Set([
  'smtp_alert', 'global_tracking', 'sync_group_tracking_weight', 'track_interface', 'track_script', 'track_file', 'track_process',
  'track_bfd', 'notify_priority_changes',
]);

/** Translates `vrrp_sync_group NAME { group { ... } notify_* }`. */
export function translateSyncGroup(n: KNode, ctx: Ctx): SectionBuilder | undefined {
  if (!ctx.need(n, 1, 'a name') || !ctx.needBlock(n)) return undefined;
  const sec = new SectionBuilder(`vrrp_sync_group.${label(n.args[0]!.text)}`, origin(n));
  for (const c of n.children) {
    if (c.keyword === 'group') {
      if (ctx.needBlock(c)) for (const m of c.children) sec.set('group', label(m.keyword), item(m, 'group'), true);
    } else if ((NOTIFY as readonly string[]).includes(c.keyword)) {
      if (ctx.need(c, 1, 'a command')) sec.set(c.keyword, commandLine(c.args), c);
    } else if (c.keyword === 'sync_group_tracking_weight' || c.keyword === 'global_tracking') {
      // global_tracking is keepalived's older name for it.
      sec.set('sync_group_tracking_weight', 'true', c);
    } else if (!SYNC_GROUP_KEYWORDS.has(c.keyword) && c.args.length === 0 && !c.children) {
      // keepalived 1.x listed members bare (2.x wants them in group { }); the intent is plain.
      sec.set('group', label(c.keyword), item(c, 'group'), true);
      ctx.note(c, `${c.keyword} is read as a member of sync group ${n.args[0]!.text} (old syntax; keepalived 2 wants group { ${c.keyword} })`);
    } else ctx.unknown(c, 'vrrp_sync_group');
  }
  return sec;
}
