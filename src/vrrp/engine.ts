/**
 * The VRRP engine: every instance of a configuration, the transports they
 * share, tracking (interfaces and vrrp_scripts) and sync groups.
 *
 * Receive path, in order (KEEPALIVED-FACTS "Receive checks"): our own packet,
 * TTL/hop limit (255 for multicast, a unicast peer's min_ttl..max_ttl), wire
 * well-formedness (decodeVrrp), VRID demultiplexing, version; the state
 * machine then checks meaning (auth, interval, peers, VIP list). Every drop
 * is counted under its reason, on the instance when the VRID names one, else
 * on the engine; nothing a peer sends can throw out of here.
 */
import { type ConfigDiff, canonical } from '../config/diff';
import type { LvsdConfig, VrrpInstance } from '../config/types';
import type { Addresses } from '../kernel/addresses';
import type { Announcer } from '../kernel/arp/sender';
import type { Link, Links } from '../kernel/links';
import type { Clock } from '../lib/clock';
import { formatIp, parseIp, sameIp } from '../lib/ip';
import type { Logger } from '../log';
import { type Arrival, VRRP_GROUP_V4, VRRP_GROUP_V6, type VrrpTransport, openTransport } from './io';
import { type InstanceEffects, type InstanceStatus, type Transition, VrrpInstanceRuntime } from './instance';
import { VRRP_TTL } from './ipv4';
import { decodeVrrp } from './packet';
import { identityChanges, reloadOutlook, settingChanges } from './reload';
import { ScriptTracker, type TrackedItem, judgeTracking, scriptSettingsOf, trackedInterface, trackedScript } from './track';

/** What the engine needs from the system. */
export interface EngineDeps {
  clock: Clock;
  log: Logger;
  links: Links;
  addresses: Addresses;
  announcer: Announcer;
  /** Opens a transport; tests and --dry-run may substitute their own. */
  openTransport?: typeof openTransport;
  /** Called after every transition (events log, notify hooks, sync to IPVS). */
  onTransition(t: Transition): void;
}

/** A transport shared by the instances of one interface, family and peer set. */
interface Pool {
  key: string;
  transport: VrrpTransport;
  multicast: boolean;
  /** The group a multicast pool joined (vrrp_mcast_group4/6). */
  group: Uint8Array;
  source: Uint8Array;
  byVrid: Map<number, VrrpInstanceRuntime>;
}

/**
 * A prepared reload ({@link VrrpEngine.prepareReload}): the operator's
 * lines, one per instance change, saying when a change re-creates an
 * instance or will cause a transition. Commit or abort it, once.
 */
export interface VrrpReloadPlan {
  readonly changes: readonly string[];
}

/** An in-place change of one running instance. */
interface InPlace {
  runtime: VrrpInstanceRuntime;
  inst: VrrpInstance;
  source: Uint8Array;
  /** The pool it sends through after the reload. */
  key: string;
  reason: string;
}

/** The plan's private part. */
interface Plan extends VrrpReloadPlan {
  changes: string[];
  next: LvsdConfig;
  generation: number;
  inPlace: InPlace[];
  recreate: string[];
  add: string[];
  remove: string[];
  /** Sockets opened by prepare, by pool key, not yet in use. */
  pools: Map<string, Pool>;
  /** vrrp_scripts whose tracker must restart (their command or timing changed, not just the weight). */
  replaceScripts: Set<string>;
  done?: boolean;
}

/** The multicast group `inst` sends to and joins (vrrp_mcast_group4/6, or the RFC's). */
function mcastGroupOf(inst: VrrpInstance): Uint8Array {
  return inst.mcastGroup?.bytes ?? (inst.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6);
}

/** Instances whose keys are equal share one transport: same transport, family, interface, port, peers (or group) and source. */
function poolKey(inst: VrrpInstance, source: Uint8Array): string {
  const peers = inst.unicastPeers.map((p) => formatIp(p.bytes)).sort().join(',');
  return [inst.transport, inst.family, inst.interface, inst.udpPort, peers || `multicast ${formatIp(mcastGroupOf(inst))}`, formatIp(source)].join('|');
}

/** An error that stops the engine from starting, with a stable code. */
export class EngineStartError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'EngineStartError';
  }
}

/**
 * The receive path's TTL / hop-limit check. RFC 5798 §7.1: a multicast
 * advert must arrive with 255. keepalived relaxes it for unicast: an advert
 * from a unicast peer passes unless that peer's `min_ttl`/`max_ttl` exclude
 * its TTL (0..255, everything, unless set). An unknown TTL (UDP) passes.
 */
export function ttlAcceptable(multicast: boolean, ttl: number | undefined, peer: { readonly minTtl: number; readonly maxTtl: number } | undefined): boolean {
  if (ttl === undefined) return true;
  if (multicast) return ttl === VRRP_TTL;
  return !peer || (ttl >= peer.minTtl && ttl <= peer.maxTtl);
}

/** Runs all VRRP instances of one configuration. */
export class VrrpEngine {
  private readonly pools = new Map<string, Pool>();
  private readonly instances = new Map<string, VrrpInstanceRuntime>();
  private readonly scripts = new Map<string, ScriptTracker>();
  private readonly links = new Map<string, Link>();
  private readonly drops = new Map<string, number>();
  /** The fault state last fed to each instance, so only changes are fed. */
  private readonly faultFed = new Map<string, string>();
  private unsubscribeLinks: (() => void) | undefined;
  private config: LvsdConfig | undefined;
  /** Counts committed reloads: a plan prepared before another commit is stale. */
  private generation = 0;

  constructor(private readonly deps: EngineDeps) {}

  /** Opens transports and starts every instance; throws {@link EngineStartError}. */
  async start(config: LvsdConfig): Promise<void> {
    this.config = config;
    for (const l of await this.deps.links.list()) this.links.set(l.name, l);
    this.unsubscribeLinks = this.deps.links.onChange((c) => {
      if (c.kind === 'resync') {
        this.links.clear();
        for (const l of c.links) this.links.set(l.name, l);
      } else if (c.kind === 'del') this.links.delete(c.link.name);
      else this.links.set(c.link.name, c.link);
      this.retrack();
    }, (e) => this.deps.log.error('link monitoring failed', { error: e.message }));
    for (const inst of config.vrrpInstances.values()) await this.addInstance(inst);
    this.syncScripts(config, new Set());
    // Tracking first, so an instance whose interface is down starts in FAULT.
    this.retrack(true);
    for (const r of this.instances.values()) r.start();
    this.retrack();
    for (const t of this.scripts.values()) t.start();
  }

  /**
   * Applies a new configuration by difference: prepare, then commit (see
   * {@link prepareReload}). Returns the plan's change lines.
   */
  async reload(next: LvsdConfig, diff: ConfigDiff): Promise<string[]> {
    const plan = await this.prepareReload(next, diff);
    try {
      await this.commitReload(plan);
    } catch (e) {
      this.abortReload(plan);
      throw e;
    }
    return [...plan.changes];
  }

  /**
   * Phase one of a reload: works out what changes, instance by instance,
   * checks that it can be applied (every new instance has a source address,
   * every in-place change passes the state machine's checks) and opens the
   * sockets new instances or new peer sets need. Running instances see
   * nothing. Throws {@link EngineStartError} to refuse, having released
   * what it took. Reads only the global and VRRP sections of `next`.
   */
  async prepareReload(next: LvsdConfig, diff: ConfigDiff): Promise<VrrpReloadPlan> {
    const plan: Plan = {
      changes: [], next, generation: this.generation, inPlace: [], recreate: [], add: [...diff.vrrpInstances.added],
      remove: [...diff.vrrpInstances.removed], pools: new Map(), replaceScripts: new Set(),
    };
    try {
      for (const name of diff.vrrpInstances.removed) {
        const r = this.instances.get(name);
        plan.changes.push(`vrrp_instance ${name}: removed${r?.state === 'MASTER' ? ' (leaves MASTER: priority 0 advert, VIPs removed)' : ''}`);
      }
      for (const name of diff.vrrpInstances.changed) {
        const r = this.instances.get(name);
        const inst = next.vrrpInstances.get(name)!;
        if (!r) {
          plan.add.push(name);
          continue;
        }
        const identity = identityChanges(r.config, inst);
        if (identity.length > 0) {
          plan.recreate.push(name);
          plan.changes.push(`vrrp_instance ${name}: ${identity.join(', ')}: re-created${r.state === 'MASTER' ? ' (leaves MASTER)' : ''}`);
          continue;
        }
        // The running source unless the configuration names another: no netlink round trip per instance.
        const explicit = inst.unicastSrcIp ?? inst.mcastSrcIp;
        const wasExplicit = r.config.unicastSrcIp ?? r.config.mcastSrcIp;
        const source = explicit ? explicit.bytes : wasExplicit ? await this.sourceOf(inst) : r.sourceAddress;
        try {
          r.checkReconfigure(inst, source);
        } catch (e) {
          throw new EngineStartError('ECONFIG', (e as Error).message);
        }
        const pool = this.reloadPool(plan, inst, source);
        const what = settingChanges(r.config, inst);
        const reason = `reload: ${what.join(', ') || 'settings changed'}`;
        plan.inPlace.push({ runtime: r, inst, source, key: pool.key, reason });
        const note = reloadOutlook(r, inst);
        if (what.length === 0) plan.changes.push(`vrrp_instance ${name}: changed${note}`);
        what.forEach((w, i) => plan.changes.push(`vrrp_instance ${name}: ${w}${i === what.length - 1 ? note : ''}`));
      }
      const fresh = [...plan.recreate, ...plan.add].map((name) => next.vrrpInstances.get(name)!);
      const sources = await Promise.all(fresh.map((inst) => this.sourceOf(inst)));
      fresh.forEach((inst, i) => this.reloadPool(plan, inst, sources[i]!));
      for (const name of diff.vrrpInstances.added) plan.changes.push(`vrrp_instance ${name}: added`);
      for (const name of diff.vrrpScripts.changed) {
        const before = this.config?.vrrpScripts.get(name);
        const after = next.vrrpScripts.get(name)!;
        const rerun = !before || canonical(scriptSettingsOf(before)) !== canonical(scriptSettingsOf(after));
        if (rerun) plan.replaceScripts.add(name);
        const weight = before && before.weight !== after.weight ? ` weight ${before.weight} -> ${after.weight}` : '';
        plan.changes.push(`vrrp_script ${name}:${weight}${rerun ? ' restarted' : ''}`);
      }
      for (const name of diff.vrrpScripts.removed) plan.replaceScripts.add(name);
      for (const [kind, d] of [['vrrp_script', diff.vrrpScripts], ['vrrp_sync_group', diff.vrrpSyncGroups]] as const) {
        for (const n of d.added) plan.changes.push(`${kind} ${n}: added`);
        for (const n of d.removed) plan.changes.push(`${kind} ${n}: removed`);
      }
      for (const n of diff.vrrpSyncGroups.changed) plan.changes.push(`vrrp_sync_group ${n}: changed`);
      return plan;
    } catch (e) {
      this.abortReload(plan);
      if (e instanceof EngineStartError) throw e;
      throw new EngineStartError((e as { code?: string }).code ?? 'ERELOAD', (e as Error).message);
    }
  }

  /**
   * Phase two: applies a prepared plan. In-place changes first, at once and
   * without an await between them; then removed and re-created instances
   * shut down (in parallel) and new ones start on the sockets prepare
   * opened. Throws {@link EngineStartError} 'ESTALE' when another reload
   * committed since this plan was prepared (nothing is changed then), and
   * 'ECOMMIT' when a new instance could not start after all (everything
   * else is applied; the error names it).
   */
  async commitReload(plan: VrrpReloadPlan): Promise<void> {
    const p = plan as Plan;
    if (p.generation !== this.generation || p.done) throw new EngineStartError('ESTALE', 'the VRRP configuration changed since this reload was prepared');
    p.done = true;
    this.generation++;
    const next = p.next;
    this.config = next;
    for (const [key, pool] of p.pools) {
      if (this.pools.has(key)) pool.transport.close();
      else this.pools.set(key, pool);
    }
    p.pools.clear();
    for (const c of p.inPlace) {
      const pool = this.pools.get(c.key)!;
      const from = this.poolOf(c.runtime);
      if (from && from !== pool) from.byVrid.delete(c.runtime.config.virtualRouterId);
      pool.byVrid.set(c.inst.virtualRouterId, c.runtime);
      c.runtime.reconfigure(c.inst, c.source, pool.transport, c.reason);
    }
    const leaving = [...p.remove, ...p.recreate].map((n) => this.detachInstance(n)).filter((r) => r !== undefined);
    await Promise.all(leaving.map((r) => r.shutdown()));
    const start = [...p.recreate, ...p.add];
    // One instance that cannot start (its address went since prepare) does not stop the others.
    const failed: string[] = [];
    for (const name of start) {
      try {
        await this.addInstance(next.vrrpInstances.get(name)!);
      } catch (e) {
        failed.push(`${name}: ${(e as Error).message}`);
        this.deps.log.error(`reload: cannot start ${name}`, { error: (e as Error).message });
      }
    }
    for (const [key, pool] of this.pools) {
      if (pool.byVrid.size > 0) continue;
      pool.transport.close();
      this.pools.delete(key);
    }
    this.syncScripts(next, p.replaceScripts);
    const fresh = start.map((n) => this.instances.get(n)).filter((r) => r !== undefined);
    this.retrack(true);
    for (const r of fresh) r.start();
    this.retrack();
    if (failed.length > 0) throw new EngineStartError('ECOMMIT', `reload applied but for: ${failed.join('; ')}`);
  }

  /** Releases what {@link prepareReload} took (the sockets it opened); the running instances are untouched. */
  abortReload(plan: VrrpReloadPlan): void {
    const p = plan as Plan;
    p.done = true;
    for (const pool of p.pools.values()) pool.transport.close();
    p.pools.clear();
  }

  /** The pool `inst` will use after the reload: a running one, one the plan opened, or a new one opened now. */
  private reloadPool(plan: Plan, inst: VrrpInstance, source: Uint8Array): Pool {
    const key = poolKey(inst, source);
    const have = this.pools.get(key) ?? plan.pools.get(key);
    if (have) return have;
    const pool = this.openPool(inst, source, key);
    plan.pools.set(key, pool);
    return pool;
  }

  /** Opens the transport of a new pool for `inst`; throws {@link EngineStartError}. */
  private openPool(inst: VrrpInstance, source: Uint8Array, key: string): Pool {
    const peers = inst.unicastPeers.map((p) => p.bytes);
    const group = mcastGroupOf(inst);
    const open = this.deps.openTransport ?? openTransport;
    let transport: VrrpTransport;
    try {
      transport = open(inst.transport, { family: inst.family, ifname: inst.interface, source, peers, group, udpPort: inst.udpPort });
    } catch (e) {
      throw new EngineStartError((e as { code?: string }).code ?? 'ETRANSPORT', `${inst.name}: cannot open the ${inst.transport} VRRP socket on ${inst.interface}: ${(e as Error).message}`);
    }
    const pool: Pool = { key, transport, multicast: peers.length === 0, group, source, byVrid: new Map() };
    transport.onArrival((a) => this.arrive(pool, a), (e) => this.deps.log.warn(`VRRP socket error on ${inst.interface}`, { error: e.message }));
    return pool;
  }

  private poolOf(r: VrrpInstanceRuntime): Pool | undefined {
    for (const pool of this.pools.values()) if (pool.byVrid.get(r.config.virtualRouterId) === r) return pool;
    return undefined;
  }

  /** Takes an instance out of the maps (its pool stays open until the commit's sweep); the caller shuts it down. */
  private detachInstance(name: string): VrrpInstanceRuntime | undefined {
    const r = this.instances.get(name);
    if (!r) return undefined;
    this.instances.delete(name);
    this.faultFed.delete(name);
    this.poolOf(r)?.byVrid.delete(r.config.virtualRouterId);
    return r;
  }

  /** Starts trackers for the scripts some instance uses; stops those no longer used or in `replace`. */
  private syncScripts(config: LvsdConfig, replace: ReadonlySet<string>): void {
    const used = new Set([...config.vrrpInstances.values()].flatMap((i) => i.trackScripts.map((t) => t.name)));
    for (const [name, t] of this.scripts) {
      if (!used.has(name) || replace.has(name)) {
        t.stop();
        this.scripts.delete(name);
      }
    }
    for (const name of used) {
      const s = config.vrrpScripts.get(name);
      if (!s || this.scripts.has(name)) continue;
      const tracker = new ScriptTracker(this.deps.clock, scriptSettingsOf(s), () => this.retrack());
      this.scripts.set(name, tracker);
      if (this.instances.size && [...this.instances.values()].some((r) => r.state !== 'INIT')) tracker.start();
    }
  }

  /** Shuts every instance down (priority 0, VIPs removed) and closes sockets. */
  async stop(): Promise<void> {
    for (const t of this.scripts.values()) t.stop();
    this.scripts.clear();
    await Promise.all([...this.instances.values()].map((r) => r.shutdown()));
    this.instances.clear();
    for (const p of this.pools.values()) p.transport.close();
    this.pools.clear();
    this.unsubscribeLinks?.();
  }

  /** Status of every instance, and the drops no instance could own. */
  status(): { instances: InstanceStatus[]; drops: Record<string, number> } {
    return { instances: [...this.instances.values()].map((r) => r.status()), drops: Object.fromEntries(this.drops) };
  }

  /** The runtime of instance `name`. */
  instance(name: string): VrrpInstanceRuntime | undefined {
    return this.instances.get(name);
  }

  private async sourceOf(inst: VrrpInstance): Promise<Uint8Array> {
    const explicit = inst.unicastSrcIp ?? inst.mcastSrcIp;
    if (explicit) return explicit.bytes;
    const text = inst.family === 4
      ? await this.deps.addresses.primaryIPv4(inst.interface)
      : await this.deps.addresses.linkLocalIPv6(inst.interface);
    const bytes = text ? parseIp(text) : undefined;
    if (!bytes) {
      throw new EngineStartError('ENOSOURCE', `${inst.name}: interface ${inst.interface} has no ${inst.family === 4 ? 'IPv4' : 'link-local IPv6'} address to send VRRP from (set unicast_src_ip, or address the interface)`);
    }
    return bytes;
  }

  private async addInstance(inst: VrrpInstance): Promise<void> {
    const source = await this.sourceOf(inst);
    const key = poolKey(inst, source);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = this.openPool(inst, source, key);
      this.pools.set(key, pool);
    }
    const effects: InstanceEffects = {
      addVip: (ifname, cidr) => this.deps.addresses.add(ifname, cidr),
      removeVip: (ifname, cidr) => this.deps.addresses.remove(ifname, cidr),
      announce: async (ifname, addrs, count) => {
        // The link as the subscription keeps it: no netlink round trip before the frames.
        for (let i = 0; i < count; i++) await this.deps.announcer.announce(ifname, addrs, { link: this.links.get(ifname) });
      },
    };
    const runtime = new VrrpInstanceRuntime(inst, source, pool.transport, effects, this.deps.clock, this.deps.log, (t) => this.transitioned(t));
    pool.byVrid.set(inst.virtualRouterId, runtime);
    this.instances.set(inst.name, runtime);
  }

  private count(reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  /** One arrival: every check up to the state machine's, never throwing. */
  private arrive(pool: Pool, a: Arrival): void {
    try {
      const vridByte = a.payload.length >= 2 ? a.payload[1]! : -1;
      const target = pool.byVrid.get(vridByte);
      const drop = (reason: string): void => (target ? target.countDrop(reason) : this.count(reason));
      if (sameIp(a.src, pool.source)) return; // our own advert looped back: not a drop worth counting
      const peer = pool.multicast ? undefined : target?.config.unicastPeers.find((p) => sameIp(p.bytes, a.src));
      if (!ttlAcceptable(pool.multicast, a.ttl, peer)) return drop('ttl');
      const family = a.src.length === 4 ? 4 : 6;
      const dst = a.dst ?? (pool.multicast ? pool.group : pool.source);
      const r = decodeVrrp(a.payload, { family, src: a.src, dst });
      if (!r.ok) return drop(r.reason);
      const runtime = pool.byVrid.get(r.packet.vrid);
      if (!runtime) return this.count('vrid');
      if (r.packet.version !== runtime.config.version) return runtime.countDrop('version');
      runtime.receive(r.packet, a.src, r.checksumForm);
    } catch (e) {
      this.count('internal');
      this.deps.log.error('VRRP receive path failed', { error: (e as Error).message });
    }
  }

  /** Recomputes tracking for every instance and feeds what changed. */
  private retrack(initial = false): void {
    if (!this.config) return;
    for (const r of this.instances.values()) {
      const c = r.config;
      const items: TrackedItem[] = [];
      const linkUp = (name: string): boolean => {
        const l = this.links.get(name);
        return !!l && l.up && l.running;
      };
      if (!c.dontTrackPrimary) items.push({ kind: 'interface', name: c.interface, up: linkUp(c.interface), weight: 0 });
      for (const t of c.trackInterfaces) items.push(trackedInterface(t, linkUp(t.name)));
      for (const t of c.trackScripts) {
        const s = this.config.vrrpScripts.get(t.name);
        const tracker = this.scripts.get(t.name);
        items.push(trackedScript(t, s, tracker ? tracker.up : true));
      }
      // In a sync group, weights would pull the members apart: keepalived treats them as 0 (FAULT).
      const groupName = this.config.vrrpInstances.get(c.name)?.syncGroup;
      const group = groupName ? this.config.vrrpSyncGroups.get(groupName) : undefined;
      const v = judgeTracking(c.priority, group && !group.syncGroupTrackingWeight ? items.map((i) => ({ ...i, weight: 0 })) : items);
      const status = r.status();
      if (v.effectivePriority !== status.effectivePriority) r.setPriority(v.effectivePriority);
      const fault = v.faults.join(', ');
      const before = this.faultFed.get(c.name) ?? '';
      if (fault !== before || (initial && fault)) {
        this.faultFed.set(c.name, fault);
        if (fault) r.setFault(true, fault);
        else if (before) r.setFault(false, `${before.replace(/ down/g, '')} up again`);
      }
    }
  }

  /** Sync groups: a member's own transition moves the others with it. */
  private transitioned(t: Transition): void {
    this.deps.onTransition(t);
    if (t.bySync || !this.config) return;
    // Membership comes from the current configuration (a reload may have changed it).
    const group = this.config.vrrpInstances.get(t.instance)?.syncGroup;
    if (!group) return;
    const g = this.config.vrrpSyncGroups.get(group);
    if (!g) return;
    const to = t.to === 'MASTER' || t.to === 'BACKUP' || t.to === 'FAULT' ? t.to : undefined;
    if (!to) return;
    for (const m of g.group) {
      if (m.name === t.instance) continue;
      const other = this.instances.get(m.name);
      if (other && other.state !== to) other.sync(to, `sync group ${group}: ${t.instance} went ${to}`);
    }
  }
}
