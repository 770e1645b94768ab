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
import type { ConfigDiff } from '../config/diff';
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
import { ScriptTracker, type TrackedItem, judgeTracking, scriptSettingsOf } from './track';
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
}

/** A transport shared by the instances of one interface, family and peer set. */
interface Pool {
  key: string;
  transport: VrrpTransport;
  multicast: boolean;
  source: Uint8Array;
  /** The interface and the index its socket was opened on. */
  ifname: string;
  ifindex: number;
  byVrid: Map<number, VrrpInstanceRuntime>;
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
   * Applies a new configuration by difference: removed instances shut down,
   * changed ones restart, added ones start; an untouched instance keeps its
   * state, timers and socket (its peer sees no gap and no transition).
   * Throws {@link EngineStartError} when a new instance cannot start; the
   * instances already running are left as they were.
   */
  async reload(next: LvsdConfig, diff: ConfigDiff): Promise<void> {
    const restart = new Set([...diff.vrrpInstances.changed, ...diff.vrrpInstances.removed]);
    const start = [...diff.vrrpInstances.changed, ...diff.vrrpInstances.added];
    // Check that every new socket can be had before touching anything.
    for (const name of start) {
      const inst = next.vrrpInstances.get(name)!;
      await this.sourceOf(inst);
    }
    for (const name of restart) await this.removeInstance(name);
    this.config = next;
    for (const name of start) await this.addInstance(next.vrrpInstances.get(name)!);
    this.syncScripts(next, new Set([...diff.vrrpScripts.changed, ...diff.vrrpScripts.removed]));
    const fresh = start.map((n) => this.instances.get(n)!).filter(Boolean);
    this.retrack(true);
    for (const r of fresh) r.start();
    this.retrack();
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

  /** Shuts one instance down and releases its share of a transport. */
  private async removeInstance(name: string): Promise<void> {
    const r = this.instances.get(name);
    if (!r) return;
    await r.shutdown();
    this.instances.delete(name);
    this.faultFed.delete(name);
    this.vipWatch.remove(r);
    const a = this.attachments.get(name);
    if (a?.pool) this.leavePool(r, a.pool);
    this.attachments.delete(name);
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
    const key = [inst.transport, inst.family, inst.interface, inst.udpPort, peers.map((p) => formatIp(p)).sort().join(',') || 'multicast', formatIp(source)].join('|');
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
        transport = open(inst.transport, { family: inst.family, ifname: inst.interface, source, peers, udpPort: inst.udpPort });
        const p: Pool = { key, transport, multicast: peers.length === 0, source, ifname: inst.interface, ifindex: link.index, byVrid: new Map() };
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
      const dst = a.dst ?? (pool.multicast ? (family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6) : pool.source);
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
      for (const t of c.trackInterfaces) items.push({ kind: 'interface', name: t.name, up: linkUp(t.name), weight: t.weight });
      for (const t of c.trackScripts) {
        const s = this.config.vrrpScripts.get(t.name);
        const tracker = this.scripts.get(t.name);
        items.push({ kind: 'script', name: t.name, up: tracker ? tracker.up : true, weight: t.weight ?? s?.weight ?? 0 });
      }
      // In a sync group, weights would pull the members apart: keepalived treats them as 0 (FAULT).
      const groupName = this.config.vrrpInstances.get(c.name)?.syncGroup;
      const group = groupName ? this.config.vrrpSyncGroups.get(groupName) : undefined;
      const v = judgeTracking(c.priority, group && !group.syncGroupTrackingWeight ? items.map((i) => ({ ...i, weight: 0 })) : items);
      const status = r.status();
      if (v.effectivePriority !== status.effectivePriority) r.setPriority(v.effectivePriority);
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
