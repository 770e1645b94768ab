/**
 * A parsed keepalived.conf → lvsd INI sections, plus the list of what could
 * not be mapped (file:line, keyword, why) and notes. Pure: no files, no
 * clock. The translators per block live in translate-vrrp.ts and
 * translate-lvs.ts; this file walks the top level and orders the output as
 * CONFIG.md does: [global], scripts, instances, sync groups, then checks,
 * virtual servers and real servers.
 */
import { Ctx, origin, type ImportNote, type NotImported } from './context';
import type { IniEntry, IniSection, Origin } from './ini-doc';
import type { KNode } from './parser';
import { Names, readVsGroup, translateVirtualServer, type GroupMember } from './translate-lvs';
import { newGlobal, translateGlobalDefs, translateSyncGroup, translateVrrpInstance, translateVrrpScript } from './translate-vrrp';

export type { ImportNote, NotImported } from './context';

/** What {@link translate} returns. */
export interface Translation {
  /** In output order; not yet checked by lvsd's loader. */
  readonly sections: IniSection[];
  readonly notImported: NotImported[];
  readonly notes: ImportNote[];
}

/** Translates the top-level statements of a keepalived configuration. */
export function translate(nodes: readonly KNode[], ctx: Ctx = new Ctx()): Translation {
  const g = newGlobal();
  const groups = new Map<string, GroupMember[]>();
  const groupNodes = new Map<string, KNode>();
  // Groups first: keepalived lets a virtual_server refer to a group defined below it.
  for (const n of nodes) {
    if (n.keyword !== 'virtual_server_group') continue;
    if (!ctx.need(n, 1, 'a name')) continue;
    groups.set(n.args[0]!.text, readVsGroup(n, ctx));
    groupNodes.set(n.args[0]!.text, n);
  }
  const usedGroups = new Set<string>();
  const scripts: IniSection[] = [];
  const instances: IniSection[] = [];
  const syncGroups: IniSection[] = [];
  const lvs: IniSection[] = [];
  const names = new Names();
  for (const n of nodes) {
    switch (n.keyword) {
      case 'global_defs':
        translateGlobalDefs(n, g, ctx);
        break;
      case 'vrrp_script': {
        const s = translateVrrpScript(n, ctx);
        if (s) scripts.push(s);
        break;
      }
      case 'vrrp_instance': {
        const s = translateVrrpInstance(n, g, ctx);
        if (s) instances.push(s);
        break;
      }
      case 'vrrp_sync_group': {
        const s = translateSyncGroup(n, ctx);
        if (s) syncGroups.push(s);
        break;
      }
      case 'virtual_server_group':
        break;
      case 'virtual_server':
        if (n.args[0]?.text === 'group' && n.args[1]) usedGroups.add(n.args[1].text);
        lvs.push(...translateVirtualServer(n, groups, names, ctx));
        break;
      default:
        ctx.unknown(n, 'lvsd.conf');
    }
  }
  const firstVs = nodes.find((n) => n.keyword === 'virtual_server');
  if (firstVs && !g.sec.has('lvs_flush_onstop')) {
    ctx.note(
      firstVs,
      'keepalived removes the IPVS services it made when it stops (unless started with -I, --dont-release-ipvs); lvsd leaves them in the kernel, ' +
        'so traffic keeps flowing while it restarts. For keepalived\'s behaviour set lvs_flush_onstop = VS in [global]',
    );
  }
  for (const [name, n] of groupNodes) {
    if (!usedGroups.has(name)) ctx.note(n, `virtual_server_group ${name} is used by no virtual_server (keepalived ignores it too): nothing to import`);
  }
  // [global]'s own line points at the first global_defs (or the first statement that set a global key).
  const globalAt = nodes.find((n) => n.keyword === 'global_defs');
  const global = g.sec.entries.length > 0 ? [{ ...g.sec, origin: globalAt ? origin(globalAt) : g.sec.entries[0]!.origin }] : [];
  const sections = [...global, ...scripts, ...instances, ...syncGroups, ...lvs].map((s) => lastKeyWins(s, ctx));
  const globalVersion = sections.find((s) => s.header === 'global')?.entries.find((e) => e.key === 'vrrp_version')?.value;
  const out = sections.map((s) => (s.header.startsWith('vrrp_instance.') ? wholeV2Interval(s, globalVersion, ctx) : s));
  return { sections: withoutSyncGroupWeights(out, ctx), notImported: ctx.notImported, notes: ctx.notes };
}

/**
 * keepalived 2.2.7 drops a weighted track_script of a sync group member
 * unless the group sets sync_group_tracking_weight ("ignoring tracked script
 * chk with weights due to SYNC group"): the script then moves nothing. lvsd
 * instead reads every tracked object of such a member as weight 0 (FAULT),
 * so the import leaves those lines out to keep keepalived's meaning, and
 * says so. (A weighted track_interface is weight 0 in both.)
 */
function withoutSyncGroupWeights(sections: IniSection[], ctx: Ctx): IniSection[] {
  const scriptWeight = new Map<string, number>();
  for (const s of sections) {
    if (!s.header.startsWith('vrrp_script.')) continue;
    scriptWeight.set(s.header.slice('vrrp_script.'.length), Number(s.entries.find((e) => e.key === 'weight')?.value.trim().split(/\s+/)[0] ?? '0') || 0);
  }
  const groupOf = new Map<string, string>();
  for (const s of sections) {
    if (!s.header.startsWith('vrrp_sync_group.') || s.entries.some((e) => e.key === 'sync_group_tracking_weight')) continue;
    for (const e of s.entries) if (e.key === 'group') groupOf.set(e.value, s.header.slice('vrrp_sync_group.'.length));
  }
  return sections.map((s) => {
    const group = s.header.startsWith('vrrp_instance.') ? groupOf.get(s.header.slice('vrrp_instance.'.length)) : undefined;
    if (!group) return s;
    const dropped = s.entries.filter((e) => {
      if (e.key !== 'track_script') return false;
      const [name, kw, w] = e.value.trim().split(/\s+/);
      const weight = kw === 'weight' ? Number(w) : scriptWeight.get(name!) ?? 0;
      return weight !== 0 && Number.isFinite(weight);
    });
    for (const e of dropped) {
      const name = e.value.trim().split(/\s+/)[0];
      ctx.note(e.origin, `track_script ${name} has a weight and ${s.header.slice('vrrp_instance.'.length)} is in sync group ${group}: keepalived ignores it ("ignoring tracked script ${name} with weights due to SYNC group"), so the import leaves it out; set sync_group_tracking_weight in the group to keep it`);
    }
    return dropped.length ? { ...s, entries: s.entries.filter((e) => !dropped.includes(e)) } : s;
  });
}

/**
 * VRRPv2 carries advert_int in whole seconds. keepalived 2.2.7 takes a
 * fraction there and rounds it, half up, to at least 1 s, with the warning
 * "VRRPv2 advertisement interval 0.500000s must be an integer. rounding";
 * the import does the same (lvsd itself refuses the fraction) and says so.
 */
function wholeV2Interval(s: IniSection, globalVersion: string | undefined, ctx: Ctx): IniSection {
  const version = s.entries.find((e) => e.key === 'version')?.value ?? globalVersion ?? '2';
  const i = s.entries.findIndex((e) => e.key === 'advert_int');
  const e = s.entries[i];
  if (version.trim() !== '2' || !e || !/^[0-9]*\.[0-9]+$/.test(e.value.trim())) return s;
  const given = Number(e.value);
  if (Number.isInteger(given)) return s;
  const whole = Math.max(1, Math.round(given));
  ctx.note(e.origin, `advert_int ${e.value} under VRRP version 2, which carries whole seconds: rounded to ${whole}, as keepalived does (it warns "must be an integer. rounding")`);
  const entries = [...s.entries];
  entries[i] = { ...e, value: String(whole) };
  return { ...s, entries };
}

/**
 * keepalived keeps the last of a keyword given twice in one block (the
 * common `priority 100` then `@lvs-a priority 150`): each handler simply
 * assigns. lvsd refuses a key given twice, so the import keeps the last one
 * (at its place) and says so; list keys (`key[]`) are not touched.
 */
function lastKeyWins(s: IniSection, ctx: Ctx): IniSection {
  const last = new Map<string, IniEntry>();
  for (const e of s.entries) if (!e.array) last.set(e.key, e);
  const dropped = s.entries.filter((e) => !e.array && last.get(e.key) !== e);
  if (dropped.length === 0) return s;
  for (const e of dropped) {
    const kept = last.get(e.key)!;
    ctx.note(kept.origin, `${kept.origin.keyword} is given again here (also at ${placeOf(e.origin, kept.origin)}): keepalived keeps the last value, "${kept.value}", and so does the import`);
  }
  return { ...s, entries: s.entries.filter((e) => !dropped.includes(e)) };
}

/** `line N` or `FILE:N` when `at` is in another file than `from`. */
function placeOf(at: Origin, from: Origin): string {
  return at.file === from.file ? `line ${at.line}` : `${at.file}:${at.line}`;
}
