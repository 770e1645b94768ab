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
 *
 * Interfaces come and go (KEEPALIVED-FACTS has keepalived's rules): an
 * instance is *attached* to a socket opened on its interface's current
 * index and source address, or detached with a reason that holds it in
 * FAULT (`interface eth9 does not exist`, no address to send from, a socket
 * that cannot be opened or bound). Link and address events re-attach it:
 * an interface that appears late starts its instances, one deleted and
 * re-created gets fresh sockets (new index, multicast membership joined
 * again). Address events also feed the VIP watch (watch.ts).
 */
import { type ConfigDiff, canonical } from '../config/diff';
import type { LvsdConfig, VrrpInstance } from '../config/types';
import type { AddressEvent, Addresses } from '../kernel/addresses';
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
import { ScriptTracker, type TrackedItem, explainTracking, judgeTracking, scriptSettingsOf, trackedInterface, trackedScript } from './track';
import { VipWatch, type VipWatchEvent } from './watch';

/** Something the engine did on its own or found, for the events log (the daemon decides what to do with it). */
export type EngineEvent =
  | VipWatchEvent
  /** The instance lost its socket and is held in FAULT: `reason` says why. */
  | { kind: 'detached'; instance: string; interface: string; reason: string }
  /** The instance, detached before, has a socket on its interface again (index `ifindex`). */
  | { kind: 'attached'; instance: string; interface: string; ifindex: number };

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
  /** Called for what the engine repaired or found on its own (a VIP put back, a socket lost or re-opened). */
  onEvent?(e: EngineEvent): void;
  /** Called when a tracked item's state or an instance's effective priority changes, with the cause. */
  onTrack?(e: { instance: string; message: string; severity: 'info' | 'warn' }): void;
}

/** A transport shared by the instances of one interface, family and peer set. */
interface Pool {
  key: string;
  transport: VrrpTransport;
  multicast: boolean;
  /** The group a multicast pool joined (vrrp_mcast_group4/6). */
  group: Uint8Array;
  source: Uint8Array;
  /** The interface and the index its socket was opened on. */
  ifname: string;
  ifindex: number;
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

/** Where an instance stands with its interface: on a pool's socket, or detached and why. */
interface Attachment {
  pool: Pool | undefined;
  /** Why it is detached ('' when attached): the FAULT reason. */
  fault: string;
}

/** The transport of a detached instance: it sends nothing and says why. */
function detachedTransport(inst: VrrpInstance, reason: () => string): VrrpTransport {
  return {
    kind: inst.transport,
    options: { family: inst.family, ifname: inst.interface, source: new Uint8Array(inst.family === 4 ? 4 : 16), peers: [] },
    sendTo() {
      throw new Error(reason());
    },
    onArrival() {},
    close() {},
  };
}

/** True for a netlink error saying the interface is gone. */
function noDevice(e: unknown): boolean {
  return (e as { code?: string }).code === 'ENODEV';
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
  private unsubscribeAddresses: (() => void) | undefined;
  private config: LvsdConfig | undefined;
  /** Counts committed reloads: a plan prepared before another commit is stale. */
  private generation = 0;
  private readonly attachments = new Map<string, Attachment>();
  /** Instances waiting for an attach pass, and the chain that runs the passes one at a time. */
  private readonly attachDirty = new Set<string>();
  private attachChain: Promise<void> = Promise.resolve();
  /** Whether the next attach pass feeds what changed to tracking (start() and reload() do it themselves, once). */
  private retrackAfterPass = false;
  private readonly vipWatch: VipWatch;

  constructor(private readonly deps: EngineDeps) {
    this.vipWatch = new VipWatch(deps.addresses, deps.log, (e) => deps.onEvent?.(e));
  }

  /** Opens transports and starts every instance; throws {@link EngineStartError}. */
  async start(config: LvsdConfig): Promise<void> {
    this.config = config;
    for (const l of await this.deps.links.list()) this.links.set(l.name, l);
    this.unsubscribeLinks = this.deps.links.onChange((c) => {
      let names: string[];
      if (c.kind === 'resync') {
        names = [...new Set([...this.links.keys(), ...c.links.map((l) => l.name)])];
        this.links.clear();
        for (const l of c.links) this.links.set(l.name, l);
      } else if (c.kind === 'del') {
        // A rename arrives as 'new' with the old index: the 'del' of a name only counts for that index.
        if (this.links.get(c.link.name)?.index === c.link.index) this.links.delete(c.link.name);
        names = [c.link.name];
      } else {
        for (const [name, l] of this.links) if (l.index === c.link.index && name !== c.link.name) this.links.delete(name);
        this.links.set(c.link.name, c.link);
        names = [c.link.name];
      }
      this.linksChanged(names);
    }, (e) => this.deps.log.error('link monitoring failed', { error: e.message }));
    this.unsubscribeAddresses = this.deps.addresses.onChange((e) => this.addressChanged(e), (e) => this.deps.log.error('address monitoring failed', { error: e.message }));
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
      remove: [...diff.vrrpInstances.removed], replaceScripts: new Set(),
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
        let source = r.sourceAddress;
        if (explicit) source = explicit.bytes;
        else if (wasExplicit) {
          const found = await this.findSource(inst);
          if (typeof found !== 'string') source = found; // else the attach pass after the commit holds it in FAULT with the reason
        }
        try {
          r.checkReconfigure(inst, source);
        } catch (e) {
          throw new EngineStartError('ECONFIG', (e as Error).message);
        }
        const what = settingChanges(r.config, inst);
        const reason = `reload: ${what.join(', ') || 'settings changed'}`;
        plan.inPlace.push({ runtime: r, inst, source, reason });
        const note = reloadOutlook(r, inst);
        if (what.length === 0) plan.changes.push(`vrrp_instance ${name}: changed${note}`);
        what.forEach((w, i) => plan.changes.push(`vrrp_instance ${name}: ${w}${i === what.length - 1 ? note : ''}`));
      }
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
    // In place, at once: each instance keeps its socket; one whose peers, source or group
    // changed moves to the right socket in the attach pass that follows (no state change).
    const moved: string[] = [];
    for (const c of p.inPlace) {
      const a = this.attachments.get(c.runtime.name);
      const transport = a?.pool?.transport ?? detachedTransport(c.inst, () => a?.fault ?? '');
      c.runtime.reconfigure(c.inst, a?.pool ? c.source : c.runtime.sourceAddress, transport, c.reason);
      this.vipWatch.update(c.runtime);
      if (!a?.pool || a.pool.key !== poolKey(c.inst, c.source)) moved.push(c.runtime.name);
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
    if (moved.length) await this.requestAttach(moved, false);
    this.syncScripts(next, p.replaceScripts);
    const fresh = start.map((n) => this.instances.get(n)).filter((r) => r !== undefined);
    this.retrack(true);
    for (const r of fresh) r.start();
    this.retrack();
    if (failed.length > 0) throw new EngineStartError('ECOMMIT', `reload applied but for: ${failed.join('; ')}`);
  }

  /** Drops a plan from {@link prepareReload} (which took nothing); the running instances are untouched. */
  abortReload(plan: VrrpReloadPlan): void {
    (plan as Plan).done = true;
  }

  /**
   * Takes an instance out of the maps; its socket stays open (for its
   * priority-0 advert) until the commit's sweep closes pools left empty. The
   * caller shuts it down.
   */
  private detachInstance(name: string): VrrpInstanceRuntime | undefined {
    const r = this.instances.get(name);
    if (!r) return undefined;
    this.instances.delete(name);
    this.faultFed.delete(name);
    this.vipWatch.remove(r);
    const pool = this.attachments.get(name)?.pool;
    if (pool?.byVrid.get(r.config.virtualRouterId) === r) pool.byVrid.delete(r.config.virtualRouterId);
    this.attachments.delete(name);
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

  /** Takes `r` out of `pool`; the last one out closes the socket. */
  private leavePool(r: VrrpInstanceRuntime, pool: Pool): void {
    if (pool.byVrid.get(r.config.virtualRouterId) === r) pool.byVrid.delete(r.config.virtualRouterId);
    if (pool.byVrid.size === 0) {
      pool.transport.close();
      if (this.pools.get(pool.key) === pool) this.pools.delete(pool.key);
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
    this.attachments.clear();
    this.unsubscribeLinks?.();
    this.unsubscribeAddresses?.();
  }

  /** Status of every instance, and the drops no instance could own. */
  status(): { instances: InstanceStatus[]; drops: Record<string, number> } {
    return { instances: [...this.instances.values()].map((r) => r.status()), drops: Object.fromEntries(this.drops) };
  }

  /** The runtime of instance `name`. */
  instance(name: string): VrrpInstanceRuntime | undefined {
    return this.instances.get(name);
  }

  /**
   * Creates the runtime of `inst` and attaches it to a socket on its
   * interface. Never fails for a missing interface, a missing source address
   * or a socket that cannot be had: the instance is then detached, and
   * retrack() holds it in FAULT with the reason until a link or address event
   * lets it attach.
   */
  private async addInstance(inst: VrrpInstance): Promise<void> {
    const explicit = inst.unicastSrcIp ?? inst.mcastSrcIp;
    const a: Attachment = { pool: undefined, fault: `interface ${inst.interface} not looked at yet` };
    const effects: InstanceEffects = {
      addVip: (ifname, cidr) => this.deps.addresses.add(ifname, cidr),
      // A deleted interface took its addresses with it: nothing is left to remove.
      removeVip: (ifname, cidr) => this.deps.addresses.remove(ifname, cidr).catch((e) => {
        if (noDevice(e) && !this.links.has(ifname)) return 'absent' as const;
        throw e;
      }),
      announce: async (ifname, addrs, count) => {
        // The link as the subscription keeps it: no netlink round trip before the frames.
        for (let i = 0; i < count; i++) await this.deps.announcer.announce(ifname, addrs, { link: this.links.get(ifname) });
      },
    };
    // Until attached, the source is the configured one or a placeholder (a detached instance sends nothing).
    const source = explicit ? explicit.bytes : new Uint8Array(inst.family === 4 ? 4 : 16);
    const runtime = new VrrpInstanceRuntime(inst, source, detachedTransport(inst, () => a.fault), effects, this.deps.clock, this.deps.log, (t) => this.transitioned(t));
    this.instances.set(inst.name, runtime);
    this.attachments.set(inst.name, a);
    this.vipWatch.add(runtime);
    // start() and reload() retrack once after adding: one pass per instance must not retrack them all (N²).
    await this.requestAttach([inst.name], false);
  }

  /**
   * Queues attach passes for `names`; resolves when the pass that covers them
   * is done. With `retrack`, the pass feeds what changed to tracking.
   */
  private requestAttach(names: Iterable<string>, retrack = true): Promise<void> {
    for (const n of names) this.attachDirty.add(n);
    if (retrack) this.retrackAfterPass = true;
    this.attachChain = this.attachChain.then(() => this.attachPass()).catch((e: Error) => this.deps.log.error('VRRP attach pass failed', { error: e.message }));
    return this.attachChain;
  }

  private async attachPass(): Promise<void> {
    const names = [...this.attachDirty];
    this.attachDirty.clear();
    let changed = false;
    for (const n of names) if (await this.attach(n)) changed = true;
    const retrack = this.retrackAfterPass;
    this.retrackAfterPass = false;
    if (changed && retrack) this.retrack();
  }

  /** The source address of `inst` now, or why there is none. */
  private async findSource(inst: VrrpInstance): Promise<Uint8Array | string> {
    const explicit = inst.unicastSrcIp ?? inst.mcastSrcIp;
    if (explicit) return explicit.bytes;
    let text: string | undefined;
    try {
      text = inst.family === 4 ? await this.deps.addresses.primaryIPv4(inst.interface) : await this.deps.addresses.linkLocalIPv6(inst.interface);
    } catch (e) {
      if (noDevice(e)) return `interface ${inst.interface} does not exist`;
      return `cannot read the addresses of ${inst.interface}: ${(e as Error).message}`;
    }
    const bytes = text ? parseIp(text) : undefined;
    return bytes ?? `interface ${inst.interface} has no ${inst.family === 4 ? 'IPv4' : 'link-local IPv6'} address to send VRRP from (set unicast_src_ip, or address the interface)`;
  }

  /**
   * Attaches instance `name` to a socket on its interface's current index
   * and source, opening one when no pool has it; detaches it with the reason
   * when that cannot be. True when its attachment changed.
   */
  private async attach(name: string): Promise<boolean> {
    const r = this.instances.get(name);
    const a = this.attachments.get(name);
    if (!r || !a) return false;
    const inst = r.config;
    if (!this.links.has(inst.interface)) return this.detach(r, `interface ${inst.interface} does not exist`);
    const found = await this.findSource(inst);
    const link = this.links.get(inst.interface);
    if (this.instances.get(name) !== r) return false; // removed meanwhile
    if (!link) return this.detach(r, `interface ${inst.interface} does not exist`);
    if (typeof found === 'string') return this.detach(r, found);
    const source = found;
    const peers = inst.unicastPeers.map((p) => p.bytes);
    const group = mcastGroupOf(inst);
    const key = poolKey(inst, source);
    if (a.pool && a.pool.key === key && a.pool.ifindex === link.index) return false;
    let pool = this.pools.get(key);
    if (pool && pool.ifindex !== link.index) {
      // Opened on an index that is gone: every member needs the new socket.
      this.detachPool(pool, `interface ${inst.interface} was re-created`);
      pool = undefined;
    }
    if (!pool) {
      const open = this.deps.openTransport ?? openTransport;
      let transport: VrrpTransport | undefined;
      try {
        transport = open(inst.transport, { family: inst.family, ifname: inst.interface, source, peers, group, udpPort: inst.udpPort });
        const p: Pool = { key, transport, multicast: peers.length === 0, group, source, ifname: inst.interface, ifindex: link.index, byVrid: new Map() };
        transport.onArrival((x) => this.arrive(p, x), (e) => this.deps.log.warn(`VRRP socket error on ${inst.interface}`, { error: e.message }));
        await transport.ready?.();
        if (this.links.get(inst.interface)?.index !== link.index) throw new Error(`interface ${inst.interface} changed while the socket was opened`);
        pool = p;
      } catch (e) {
        transport?.close();
        if (this.links.get(inst.interface)?.index !== link.index) this.attachDirty.add(name); // try again on the interface as it is now
        const code = (e as { code?: string }).code;
        return this.detach(r, `cannot open the ${inst.transport} VRRP socket on ${inst.interface}: ${(e as Error).message}${code && !(e as Error).message.includes(code) ? ` (${code})` : ''}`);
      }
      if (this.instances.get(name) !== r) {
        pool.transport.close();
        return false;
      }
      this.pools.set(key, pool);
    }
    if (a.pool) this.leavePool(r, a.pool);
    const was = a.fault;
    pool.byVrid.set(inst.virtualRouterId, r);
    r.rebind(pool.transport, source);
    a.pool = pool;
    a.fault = '';
    if (was && !was.endsWith('not looked at yet')) {
      this.deps.log.info(`${name}: VRRP socket open on ${inst.interface} (index ${link.index}) again`, { was });
      this.deps.onEvent?.({ kind: 'attached', instance: name, interface: inst.interface, ifindex: link.index });
    }
    return true;
  }

  /** Detaches `r` (its pool's socket closes when it was the last), holding it in FAULT for `reason`. True when that changed anything. */
  private detach(r: VrrpInstanceRuntime, reason: string): boolean {
    const a = this.attachments.get(r.name);
    if (!a) return false;
    const had = a.pool;
    if (had) {
      this.leavePool(r, had);
      a.pool = undefined;
      r.rebind(detachedTransport(r.config, () => a.fault));
    }
    if (a.fault === reason && !had) return false;
    a.fault = reason;
    this.deps.log.warn(`${r.name}: ${reason}`, { instance: r.name, interface: r.config.interface });
    this.deps.onEvent?.({ kind: 'detached', instance: r.name, interface: r.config.interface, reason });
    return true;
  }

  /** Detaches every member of `pool` (its socket closes) for `reason`, and queues them to attach again. */
  private detachPool(pool: Pool, reason: string): void {
    const members = [...pool.byVrid.values()];
    for (const m of members) this.detach(m, reason);
    for (const m of members) this.attachDirty.add(m.name);
  }

  /**
   * Links changed (`names`): instances whose socket was opened on an index
   * that is gone are detached at once (FAULT, VIPs removed); every detached
   * instance on these interfaces tries to attach again.
   */
  private linksChanged(names: readonly string[]): void {
    const touched = new Set(names);
    const retry: string[] = [];
    for (const r of this.instances.values()) {
      if (!touched.has(r.config.interface)) continue;
      const a = this.attachments.get(r.name);
      if (!a) continue;
      const link = this.links.get(r.config.interface);
      if (a.pool && (!link || link.index !== a.pool.ifindex)) {
        this.detachPool(a.pool, link ? `interface ${r.config.interface} was re-created` : `interface ${r.config.interface} does not exist`);
      }
      if (!a.pool) retry.push(r.name);
    }
    this.retrack();
    if (retry.length) void this.requestAttach(retry);
  }

  /** An address event: the VIP watch, and instances waiting for (or losing) their source address. */
  private addressChanged(e: AddressEvent): void {
    const nameOf = (index: number): string | undefined => {
      for (const l of this.links.values()) if (l.index === index) return l.name;
      return undefined;
    };
    if (e.kind === 'resync') {
      const present = e.addresses.flatMap((x) => {
        const ifname = nameOf(x.ifindex);
        return ifname ? [{ ifname, address: x.address }] : [];
      });
      this.vipWatch.resync(present);
      void this.requestAttach(this.instances.keys());
      return;
    }
    const ifname = nameOf(e.address.ifindex);
    if (!ifname) return; // the link event comes too, and re-attaches what needs it
    // A VIP is never what an instance sends from: its events are the VIP watch's alone (a takeover adds many).
    if (this.vipWatch.event(e.kind, ifname, e.address)) return;
    const retry: string[] = [];
    const gone = parseIp(e.address.address) ?? new Uint8Array(0);
    for (const r of this.instances.values()) {
      const c = r.config;
      if (c.interface !== ifname) continue;
      const a = this.attachments.get(r.name);
      if (!a) continue;
      // Detached: any new address may be the one it waits for (even a configured source, which a bind needs present).
      if (!a.pool) retry.push(r.name);
      // Attached: the address it sends from went away (unless configured): find another, or FAULT.
      else if (e.kind === 'del' && c.family === e.address.family && !c.unicastSrcIp && !c.mcastSrcIp && sameIp(a.pool.source, gone)) retry.push(r.name);
    }
    if (retry.length) void this.requestAttach(retry);
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
      const judged = group && !group.syncGroupTrackingWeight ? items.map((i) => ({ ...i, weight: 0 })) : items;
      const v = judgeTracking(c.priority, judged);
      const lines = explainTracking(judged);
      const was = new Map(r.tracking.map((t) => [`${t.kind} ${t.name}`, t.state]));
      for (const t of lines) {
        const before = was.get(`${t.kind} ${t.name}`);
        if (before === undefined || before === t.state) continue;
        const effect = t.fault ? 'FAULT' : t.contribution ? `priority ${t.contribution > 0 ? '+' : ''}${t.contribution}` : 'no effect on the priority';
        this.deps.log.info(`${c.name}: ${t.kind} ${t.name} ${t.state}${t.reverse ? ' (reverse)' : ''}: ${effect}`, { instance: c.name, weight: t.weight });
        this.deps.onTrack?.({ instance: c.name, message: `${t.kind} ${t.name} ${before} -> ${t.state}${t.reverse ? ' (reverse)' : ''}: ${effect}`, severity: t.fault || t.contribution < 0 ? 'warn' : 'info' });
      }
      r.tracking = lines;
      const status = r.status();
      if (v.effectivePriority !== status.effectivePriority) {
        const why = lines.filter((t) => t.contribution !== 0).map((t) => `${t.kind} ${t.name} ${t.state} ${t.contribution > 0 ? '+' : ''}${t.contribution}`).join(', ') || 'no tracked item adds or takes any';
        if (!initial) {
          this.deps.log.info(`${c.name}: effective priority ${status.effectivePriority} -> ${v.effectivePriority} (base ${c.priority}: ${why})`, { instance: c.name });
          this.deps.onTrack?.({ instance: c.name, message: `effective priority ${status.effectivePriority} -> ${v.effectivePriority} (base ${c.priority}: ${why})`, severity: 'info' });
        }
        r.setPriority(v.effectivePriority);
      }
      // Without a socket the instance can neither hear nor speak: that fault comes first, and names the interface once.
      const detached = this.attachments.get(c.name)?.fault ?? '';
      const faults = detached ? [detached, ...v.faults.filter((f) => f !== `interface ${c.interface} down`)] : v.faults;
      const fault = faults.join(', ');
      const before = this.faultFed.get(c.name) ?? '';
      if (fault !== before || (initial && fault)) {
        this.faultFed.set(c.name, fault);
        if (fault) r.setFault(true, fault);
        else if (before) r.setFault(false, clearedReason(before, c.interface));
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

/** The reason a cleared fault gives: "interface eth1 down" → "interface eth1 up again"; a detached instance's → "VRRP socket open on eth0 (was: …)". */
function clearedReason(before: string, ifname: string): string {
  return before
    .split(', ')
    .map((f) => (f.endsWith(' down') ? `${f.slice(0, -' down'.length)} up again` : `VRRP socket open on ${ifname} (was: ${f})`))
    .join(', ');
}
