/**
 * Reloads as the parent runs them: which part of the configuration each
 * child gets, which children a difference concerns, and one reload at a
 * time with the requests that arrive meanwhile coalesced into one more.
 * Pure, apart from the promises.
 */
import { exactlySame, type ConfigDiff, type NamedDiff } from '../config/diff';
import type { LvsdConfig } from '../config/types';
import { ChildRole, type ChildRoleName } from './ipc';

const none = new Map<string, never>();

/**
 * The part of `config` a child of `role` gets: the VRRP process the global
 * and VRRP sections (and webhooks, which its hooks call), the director the
 * global section, checks, virtual servers and webhooks. Each child diffs
 * only its own part, so no work proportional to the LVS sections ever runs
 * on the VRRP process's event loop.
 */
export function configFor(role: ChildRoleName, config: LvsdConfig): LvsdConfig {
  return role === ChildRole.VRRP
    ? { ...config, checks: none, virtualServers: none }
    : { ...config, vrrpScripts: none, vrrpInstances: none, vrrpSyncGroups: none };
}

/** The named maps of a configuration, which a {@link ConfigPatch} carries object by object. */
const MAP_FIELDS = ['vrrpScripts', 'vrrpInstances', 'vrrpSyncGroups', 'checks', 'virtualServers', 'notifiers'] as const;
type MapField = (typeof MAP_FIELDS)[number];

/** One map's part of a {@link ConfigPatch}. */
export interface MapPatch {
  /** Objects added or different (a line moved counts), by name. */
  readonly set: ReadonlyArray<readonly [string, unknown]>;
  /** Names gone. */
  readonly removed: readonly string[];
  /** Every name in order, when the kept names followed by the added ones would not give the new order. */
  readonly order?: readonly string[];
}

/**
 * A child's next configuration part as the difference from the part it holds
 * (`base`, the parent's number for that configuration): what a reload sends
 * instead of the whole part. Unchanged objects are not sent; the child keeps
 * its own, so its diff of old and new finds them identical at once. 1,000
 * services × 10 real servers with one weight changed: one virtual server
 * instead of 2.5 MB of structured clone each way.
 */
export interface ConfigPatch {
  readonly base: number;
  readonly version: number;
  readonly file: string;
  /** Present when `[global]` differs (lines included). */
  readonly global?: LvsdConfig['global'];
  readonly maps: Partial<Record<MapField, MapPatch>>;
}

/** The {@link ConfigPatch} that turns part `old` (numbered `base`) into `next` (numbered `version`). Pure. */
export function configPatch(old: LvsdConfig, next: LvsdConfig, base: number, version: number): ConfigPatch {
  const maps: Partial<Record<MapField, MapPatch>> = {};
  for (const f of MAP_FIELDS) {
    const a = old[f] as ReadonlyMap<string, unknown>;
    const b = next[f] as ReadonlyMap<string, unknown>;
    const set: [string, unknown][] = [];
    for (const [k, v] of b) if (!a.has(k) || !exactlySame(a.get(k), v)) set.push([k, v]);
    const removed = [...a.keys()].filter((k) => !b.has(k));
    const implied = [...a.keys()].filter((k) => b.has(k));
    for (const k of b.keys()) if (!a.has(k)) implied.push(k);
    const inOrder = implied.length === b.size && [...b.keys()].every((k, i) => implied[i] === k);
    if (set.length || removed.length || !inOrder) maps[f] = { set, removed, ...(inOrder ? {} : { order: [...b.keys()] }) };
  }
  return { base, version, file: next.file, ...(exactlySame(old.global, next.global) ? {} : { global: next.global }), maps };
}

/** A patch made against another configuration than the child holds. */
export class PatchBaseError extends Error {
  readonly code = 'RELOAD_PATCH_BASE';
}

/** Applies `patch` to part `current` (numbered `version`). Pure; unchanged objects are `current`'s own. */
export function applyConfigPatch(current: LvsdConfig, version: number, patch: ConfigPatch): LvsdConfig {
  if (patch.base !== version) throw new PatchBaseError(`the reload was made against configuration ${patch.base}, this process holds ${version}`);
  const out: Record<string, unknown> = { ...current, file: patch.file, ...(patch.global ? { global: patch.global } : {}) };
  for (const f of MAP_FIELDS) {
    const p = patch.maps[f];
    if (!p) continue;
    const old = current[f] as ReadonlyMap<string, unknown>;
    const set = new Map(p.set);
    const gone = new Set(p.removed);
    const order = p.order ?? [...[...old.keys()].filter((k) => !gone.has(k)), ...[...set.keys()].filter((k) => !old.has(k))];
    const m = new Map<string, unknown>();
    for (const k of order) {
      const v = set.has(k) ? set.get(k) : old.get(k);
      if (v === undefined) throw new PatchBaseError(`the reload names ${f} "${k}", which neither it nor this process has`);
      m.set(k, v);
    }
    out[f] = m;
  }
  return out as unknown as LvsdConfig;
}

function touched(...d: NamedDiff[]): boolean {
  return d.some((n) => n.added.length + n.removed.length + n.changed.length > 0);
}

/** Whether `diff` changes what a child of `role` was given by {@link configFor}. */
export function concerns(role: ChildRoleName, diff: ConfigDiff): boolean {
  if (diff.global || touched(diff.notifiers)) return true;
  return role === ChildRole.VRRP
    ? touched(diff.vrrpInstances, diff.vrrpScripts, diff.vrrpSyncGroups)
    : diff.bgp || touched(diff.checks, diff.virtualServers, diff.realServers);
}

/**
 * Runs `run` one at a time. A request made while one runs joins the next
 * run (there is at most one waiting), which starts when the running one
 * ends, so a burst of N requests costs at most two runs and the last one
 * sees the file as it was after the burst. Every request is answered with
 * the result of the run it joined.
 */
export class SerialRuns<T> {
  private running: Promise<T> | undefined;
  private next: Promise<T> | undefined;

  constructor(private readonly run: () => Promise<T>) {}

  /** Whether a run is under way. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  request(): Promise<T> {
    if (this.next) return this.next;
    if (!this.running) return this.start();
    this.next = this.running.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  private start(): Promise<T> {
    const p = this.run();
    this.running = p;
    const done = (): void => {
      if (this.running === p) this.running = undefined;
    };
    p.then(done, done);
    return p;
  }
}
