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
import type { ConfigDiff } from '../config/diff';
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
    for (const [key, pool] of this.pools) {
      if (pool.byVrid.get(r.config.virtualRouterId) !== r) continue;
      pool.byVrid.delete(r.config.virtualRouterId);
      if (pool.byVrid.size === 0) {
        pool.transport.close();
        this.pools.delete(key);
      }
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
    const peers = inst.unicastPeers.map((p) => p.bytes);
    const group = inst.mcastGroup?.bytes ?? (inst.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6);
    const key = [inst.transport, inst.family, inst.interface, inst.udpPort, peers.map((p) => formatIp(p)).sort().join(',') || `multicast ${formatIp(group)}`, formatIp(source)].join('|');
    let pool = this.pools.get(key);
    if (!pool) {
      const open = this.deps.openTransport ?? openTransport;
      let transport: VrrpTransport;
      try {
        transport = open(inst.transport, { family: inst.family, ifname: inst.interface, source, peers, group, udpPort: inst.udpPort });
      } catch (e) {
        throw new EngineStartError((e as { code?: string }).code ?? 'ETRANSPORT', `${inst.name}: cannot open the ${inst.transport} VRRP socket on ${inst.interface}: ${(e as Error).message}`);
      }
      const p: Pool = { key, transport, multicast: peers.length === 0, group, source, byVrid: new Map() };
      transport.onArrival((a) => this.arrive(p, a), (e) => this.deps.log.warn(`VRRP socket error on ${inst.interface}`, { error: e.message }));
      this.pools.set(key, p);
      pool = p;
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
