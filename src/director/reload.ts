/**
 * What a reload changes for the director, computed without side effects:
 * the virtual servers whose desired IPVS state must be recomputed, the part
 * of the check set to send the checker, and one line per change for the
 * operator (`virtual_server web: real_server web2 weight 1 -> 2`). Pure.
 *
 * Work is proportional to the change: the configuration diff compares
 * objects by their remembered canonical text, and only the changed objects'
 * fields are compared one by one. The only walk over every real server is
 * for a changed `[check.*]` section (to find who runs it).
 */
import type { RealServerChecks } from '../check/types';
import { canonical, diffConfig } from '../config/diff';
import type { GlobalConfig, LvsdConfig, RealServer, VirtualServer } from '../config/types';
import { serviceKeyId } from '../kernel/ipvs/addr';
import { serviceKeyOf } from '../reconcile/desired';
import { checkOptionsOf, rsId } from './checks';
import type { CheckOptions } from '../check/types';

/** What {@link planReload} found. */
export interface ReloadDelta {
  /** One line per change, virtual server by virtual server, then checks, then `[global]`. */
  readonly changes: string[];
  /** Virtual servers (names, old or new) whose desired state must be recomputed. */
  readonly virtualServers: ReadonlySet<string>;
  /** Real servers (ids `VS/RS`) gone from the configuration. */
  readonly removedRealServers: readonly string[];
  /** Real servers whose check list (or options) must be sent to the checker. */
  readonly checkCandidates: readonly string[];
  /** Whether a `[global]` key the director uses changed (notify policy, sync daemon, flush). */
  readonly global: boolean;
}

/** The `[global]` keys the director acts on. */
const DIRECTOR_GLOBALS: readonly (keyof GlobalConfig)[] = ['notify', 'enableScriptSecurity', 'scriptUser', 'lvsSyncDaemon', 'lvsFlush', 'lvsFlushOnstop', 'stateDir', 'auditInterval'];

/** Compares `old` and `next` for the director; see the file's doc. */
export function planReload(old: LvsdConfig, next: LvsdConfig): ReloadDelta {
  const d = diffConfig(old, next);
  const vss = new Set<string>();
  const removedRs: string[] = [];
  const candidates = new Set<string>();
  const byVs = new Map<string, string[]>();
  const line = (vs: string, text: string): void => {
    let l = byVs.get(vs);
    if (!l) byVs.set(vs, (l = []));
    l.push(text);
  };
  for (const name of d.virtualServers.added) {
    const vs = next.virtualServers.get(name)!;
    vss.add(name);
    line(name, `added (${count(vs.realServers.size, 'real server')})`);
    for (const rs of vs.realServers.keys()) candidates.add(rsId(name, rs));
  }
  for (const name of d.virtualServers.removed) {
    const vs = old.virtualServers.get(name)!;
    vss.add(name);
    line(name, `removed (${count(vs.realServers.size, 'real server')})`);
    for (const rs of vs.realServers.keys()) removedRs.push(rsId(name, rs));
  }
  for (const name of d.virtualServers.changed) {
    const a = old.virtualServers.get(name)!;
    const b = next.virtualServers.get(name)!;
    vss.add(name);
    for (const f of fieldChanges(a, b, ['realServers', 'name'])) line(name, f);
    if (serviceKeyId(serviceKeyOf(a)) !== serviceKeyId(serviceKeyOf(b))) line(name, 'the service is re-created (its address, port, protocol or fwmark changed)');
    // alpha and the address feed the check options of every real server.
    for (const rs of b.realServers.keys()) candidates.add(rsId(name, rs));
  }
  const removedVs = new Set(d.virtualServers.removed);
  for (const id of d.realServers.added) {
    const { vs, rs } = split(id);
    if (!next.virtualServers.has(vs) || d.virtualServers.added.includes(vs)) continue;
    vss.add(vs);
    candidates.add(id);
    line(vs, `real_server ${rs} added`);
  }
  for (const id of d.realServers.removed) {
    const { vs, rs } = split(id);
    if (removedVs.has(vs)) continue;
    vss.add(vs);
    removedRs.push(id);
    line(vs, `real_server ${rs} removed`);
  }
  for (const id of d.realServers.changed) {
    const { vs, rs } = split(id);
    const a = old.virtualServers.get(vs)!.realServers.get(rs)!;
    const b = next.virtualServers.get(vs)!.realServers.get(rs)!;
    vss.add(vs);
    candidates.add(id);
    for (const f of fieldChanges(a, b, ['name', 'virtualServer'])) line(vs, `real_server ${rs} ${f}`);
  }
  const changes: string[] = [];
  // Virtual servers in the new file's order, then the removed ones.
  for (const name of [...next.virtualServers.keys(), ...d.virtualServers.removed]) {
    for (const l of byVs.get(name) ?? []) changes.push(`virtual_server ${name}: ${l}`);
  }
  const checksTouched = new Set([...d.checks.added, ...d.checks.removed, ...d.checks.changed]);
  for (const name of d.checks.added) changes.push(`check ${name}: added`);
  for (const name of d.checks.removed) changes.push(`check ${name}: removed`);
  for (const name of d.checks.changed) {
    for (const f of fieldChanges(old.checks.get(name)!, next.checks.get(name)!, ['name'])) changes.push(`check ${name}: ${f}`);
  }
  if (checksTouched.size > 0) {
    for (const vs of next.virtualServers.values()) {
      for (const rs of vs.realServers.values()) if (rs.checks.some((c) => checksTouched.has(c))) candidates.add(rsId(vs.name, rs.name));
    }
  }
  let global = false;
  if (d.global) {
    for (const k of DIRECTOR_GLOBALS) {
      const a = old.global[k];
      const b = next.global[k];
      if (canonical(a) === canonical(b)) continue;
      global = true;
      changes.push(`global: ${snake(k)} ${show(a)} -> ${show(b)}`);
    }
  }
  return { changes, virtualServers: vss, removedRealServers: removedRs, checkCandidates: [...candidates], global };
}

/** The checker's input for one real server of `config` (checks resolved by name). */
export function realServerChecksOf(config: LvsdConfig, vs: VirtualServer, rs: RealServer): RealServerChecks {
  const checks: CheckOptions[] = [];
  for (const name of rs.checks) {
    const c = config.checks.get(name);
    if (c) checks.push(checkOptionsOf(c, rs, vs));
  }
  return { rs: rsId(vs.name, rs.name), checks };
}

/** `field old -> new` for each top-level field that differs (keepalived's key names, seconds for `…Ms`). */
export function fieldChanges(a: object, b: object, skip: readonly string[] = []): string[] {
  const out: string[] = [];
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])];
  for (const k of keys) {
    if (skip.includes(k) || k === 'line' || k.endsWith('Line')) continue;
    if (canonical(ra[k]) === canonical(rb[k])) continue;
    const ms = k.endsWith('Ms');
    const name = snake(ms ? k.slice(0, -2) : k);
    const v = (x: unknown): string => (ms && typeof x === 'number' ? String(x / 1000) : show(x));
    out.push(`${name} ${v(ra[k])} -> ${v(rb[k])}`);
  }
  return out;
}

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A config value as an operator reads it. */
function show(v: unknown): string {
  if (v === undefined || v === null) return 'none';
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return v.length ? v.map(show).join(',') : 'none';
  const o = v as Record<string, unknown>;
  if (Array.isArray(o.argv)) return (o.argv as unknown[]).join(' ');
  if (typeof o.address === 'string' && typeof o.port === 'number') return o.address.includes(':') ? `[${o.address}]:${o.port}` : `${o.address}:${o.port}`;
  if (typeof o.address === 'string') return o.address;
  if (typeof o.min === 'number' && typeof o.max === 'number') return o.min === o.max ? String(o.min) : `${o.min}-${o.max}`;
  if (typeof o.cron === 'string') return `${o.cron} for ${Number(o.durationMs) / 1000}s`;
  const parts = Object.entries(o)
    .filter(([k, x]) => k !== 'line' && !k.endsWith('Line') && x !== undefined && x !== false)
    .map(([k, x]) => (x === true ? snake(k) : `${snake(k)}=${show(x)}`));
  return parts.length ? parts.join(' ') : 'none';
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function split(id: string): { vs: string; rs: string } {
  const i = id.indexOf('/');
  return { vs: id.slice(0, i), rs: id.slice(i + 1) };
}
