/**
 * What a reload must change: the named objects added, removed or changed
 * between two configurations. Pure.
 *
 * "Changed" compares values only: `line` fields are ignored, so editing a
 * comment above a section (which moves every line below) changes nothing.
 * Each kind is compared on its own: a changed `[check.X]` shows under
 * `checks`, not under the real servers that use it; a changed virtual server
 * does not list its unchanged real servers, and a real server's change is
 * listed under `realServers` only (keyed `VS/NAME`), not under its virtual
 * server. Callers combine these as their subsystem needs.
 */
import type { LvsdConfig, VirtualServer } from './types';

/** Names added, removed and changed for one kind of object, each in file order. */
export interface NamedDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

/** The difference between two configurations. */
export interface ConfigDiff {
  /** Whether anything in `[global]` differs. */
  readonly global: boolean;
  readonly vrrpScripts: NamedDiff;
  readonly vrrpInstances: NamedDiff;
  readonly vrrpSyncGroups: NamedDiff;
  readonly checks: NamedDiff;
  /** Compared without their real servers. */
  readonly virtualServers: NamedDiff;
  /** Keyed `VIRTUAL_SERVER/NAME`. */
  readonly realServers: NamedDiff;
  readonly notifiers: NamedDiff;
  /** Whether `[bgp]` differs (added, removed or changed). */
  readonly bgp: boolean;
  /** True when nothing differs at all. */
  readonly empty: boolean;
}

/** Canonical JSON-like text of a value, without `line`/`...Line` fields; Maps and Uint8Arrays included. */
export function canonical(v: unknown, skip: ReadonlySet<string> = new Set()): string {
  if (v instanceof Uint8Array) return `bytes(${Array.from(v).join(',')})`;
  if (v instanceof Map) {
    return `map{${[...v.entries()].map(([k, x]) => `${JSON.stringify(k)}:${canonical(x, skip)}`).join(',')}}`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x, skip)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v)
      .filter((k) => k !== 'line' && !k.endsWith('Line') && !skip.has(k) && (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k], skip)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

/**
 * canonical() of one named object, remembered per object: a loaded configuration is
 * never changed (its types are readonly), and each reload diffs the running one again
 * (in the parent, then in each child process, and the director once more), so its
 * objects' texts are made once instead of on every comparison.
 */
const memo = new WeakMap<object, Map<string, string>>();
function canonicalOf(v: unknown, skip?: ReadonlySet<string>): string {
  if (v === null || typeof v !== 'object') return canonical(v, skip);
  const tag = skip ? [...skip].sort().join(',') : '';
  let texts = memo.get(v);
  if (!texts) memo.set(v, (texts = new Map()));
  let text = texts.get(tag);
  if (text === undefined) texts.set(tag, (text = canonical(v, skip)));
  return text;
}

function diffMaps<T>(a: ReadonlyMap<string, T>, b: ReadonlyMap<string, T>, skip?: ReadonlySet<string>): NamedDiff {
  const added = [...b.keys()].filter((k) => !a.has(k));
  const removed = [...a.keys()].filter((k) => !b.has(k));
  const changed = [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k) && canonicalOf(a.get(k), skip) !== canonicalOf(b.get(k), skip));
  return { added, removed, changed };
}

function realServersOf(vss: ReadonlyMap<string, VirtualServer>): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const vs of vss.values()) for (const rs of vs.realServers.values()) m.set(`${vs.name}/${rs.name}`, rs);
  return m;
}

/** Lists what differs between `old` and `next`, by name. */
export function diffConfig(old: LvsdConfig, next: LvsdConfig): ConfigDiff {
  const d = {
    global: old.global !== next.global && canonicalOf(old.global) !== canonicalOf(next.global),
    vrrpScripts: diffMaps(old.vrrpScripts, next.vrrpScripts),
    // syncGroup is derived from the groups, which are compared on their own.
    vrrpInstances: diffMaps(old.vrrpInstances, next.vrrpInstances),
    vrrpSyncGroups: diffMaps(old.vrrpSyncGroups, next.vrrpSyncGroups),
    checks: diffMaps(old.checks, next.checks),
    virtualServers: diffMaps(old.virtualServers, next.virtualServers, new Set(['realServers'])),
    realServers: diffMaps(realServersOf(old.virtualServers), realServersOf(next.virtualServers)),
    notifiers: diffMaps(old.notifiers, next.notifiers),
    bgp: canonical(old.bgp ?? null) !== canonical(next.bgp ?? null),
  };
  const empty =
    !d.global &&
    !d.bgp &&
    [d.vrrpScripts, d.vrrpInstances, d.vrrpSyncGroups, d.checks, d.virtualServers, d.realServers, d.notifiers].every(
      (n) => n.added.length + n.removed.length + n.changed.length === 0,
    );
  return { ...d, empty };
}
