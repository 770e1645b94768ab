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
 * Whether `a` and `b` have the same canonical() text, found without making it:
 * a walk over both values that allocates nothing and stops at the first
 * difference. A reload's new configuration is all new objects, so texts made
 * for it (11,000 objects at 1,000 x 10) were the whole cost of a diff.
 * Same rules as canonical(): `line`/`...Line` fields, keys in `skip` and keys
 * whose value is undefined are ignored; object keys in any order; Map entries
 * and array elements in order; byte arrays by their bytes; other values as
 * JSON.stringify writes them (so NaN equals null, and -0 equals 0).
 */
export function sameValue(a: unknown, b: unknown, skip?: ReadonlySet<string>): boolean {
  return same(a, b, skip, false);
}

/** Like {@link sameValue}, but `line`/`...Line` fields count too: the same value at the same lines. */
export function exactlySame(a: unknown, b: unknown): boolean {
  return same(a, b, undefined, true);
}

function same(a: unknown, b: unknown, skip: ReadonlySet<string> | undefined, lines: boolean): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    if ((a !== null && typeof a === 'object') || (b !== null && typeof b === 'object')) return false;
    return (JSON.stringify(a) ?? 'undefined') === (JSON.stringify(b) ?? 'undefined');
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    const ib = b.entries();
    for (const [ka, va] of a) {
      const [kb, vb] = ib.next().value as [unknown, unknown];
      if (!same(ka, kb, undefined, lines) || !same(va, vb, skip, lines)) return false;
    }
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i], skip, lines)) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra);
  const kb = Object.keys(rb);
  let n = 0;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    const va = ra[k];
    if (va === undefined || ignored(k, skip, lines)) continue;
    n++;
    const vb = rb[k];
    if (vb === undefined || !same(va, vb, skip, lines)) return false;
  }
  if (kb.length === ka.length && n === ka.length) return true; // b has as many keys, all of them a's
  for (let i = 0; i < kb.length; i++) {
    const k = kb[i]!;
    if (rb[k] !== undefined && !ignored(k, skip, lines)) n--;
  }
  return n === 0;
}

function ignored(k: string, skip: ReadonlySet<string> | undefined, lines: boolean): boolean {
  return (!lines && (k === 'line' || k.endsWith('Line'))) || (skip !== undefined && skip.has(k));
}

function diffMaps<T>(a: ReadonlyMap<string, T>, b: ReadonlyMap<string, T>, skip?: ReadonlySet<string>): NamedDiff {
  const added: string[] = [];
  const changed: string[] = [];
  for (const [k, vb] of b) {
    if (!a.has(k)) added.push(k);
    else {
      const va = a.get(k);
      if (va !== vb && !sameValue(va, vb, skip)) changed.push(k);
    }
  }
  const removed: string[] = [];
  if (a.size !== b.size - added.length) for (const k of a.keys()) if (!b.has(k)) removed.push(k);
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
    global: !sameValue(old.global, next.global),
    vrrpScripts: diffMaps(old.vrrpScripts, next.vrrpScripts),
    // syncGroup is derived from the groups, which are compared on their own.
    vrrpInstances: diffMaps(old.vrrpInstances, next.vrrpInstances),
    vrrpSyncGroups: diffMaps(old.vrrpSyncGroups, next.vrrpSyncGroups),
    checks: diffMaps(old.checks, next.checks),
    virtualServers: diffMaps(old.virtualServers, next.virtualServers, new Set(['realServers'])),
    realServers: diffMaps(realServersOf(old.virtualServers), realServersOf(next.virtualServers)),
    notifiers: diffMaps(old.notifiers, next.notifiers),
    bgp: !sameValue(old.bgp ?? null, next.bgp ?? null),
  };
  const empty =
    !d.global &&
    !d.bgp &&
    [d.vrrpScripts, d.vrrpInstances, d.vrrpSyncGroups, d.checks, d.virtualServers, d.realServers, d.notifiers].every(
      (n) => n.added.length + n.removed.length + n.changed.length === 0,
    );
  return { ...d, empty };
}
