/**
 * A parsed keepalived.conf → lvsd INI sections, plus the list of what could
 * not be mapped (file:line, keyword, why) and notes. Pure: no files, no
 * clock. The translators per block live in translate-vrrp.ts and
 * translate-lvs.ts; this file walks the top level and orders the output as
 * CONFIG.md does: [global], scripts, instances, sync groups, then checks,
 * virtual servers and real servers.
 */
import { Ctx, origin, type ImportNote, type NotImported } from './context';
import type { IniSection } from './ini-doc';
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
  for (const [name, n] of groupNodes) {
    if (!usedGroups.has(name)) ctx.note(n, `virtual_server_group ${name} is used by no virtual_server (keepalived ignores it too): nothing to import`);
  }
  // [global]'s own line points at the first global_defs (or the first statement that set a global key).
  const globalAt = nodes.find((n) => n.keyword === 'global_defs');
  const global = g.sec.entries.length > 0 ? [{ ...g.sec, origin: globalAt ? origin(globalAt) : g.sec.entries[0]!.origin }] : [];
  return { sections: [...global, ...scripts, ...instances, ...syncGroups, ...lvs], notImported: ctx.notImported, notes: ctx.notes };
}
