/**
 * The driver of one VRRP instance: it feeds the sans-IO state machine
 * (fsm.ts) with packets, timer expiries, tracking and sync-group moves, and
 * carries its actions out — adverts on the transport, VIPs through rtnetlink,
 * gratuitous ARP / unsolicited NA bursts, notify hooks — without ever letting
 * an I/O failure stop VRRP: a failed action is logged and counted.
 */
import type { TrackingLine } from './track';
import type { Logger } from '../log';
import type { Clock, TimerHandle } from '../lib/clock';
import { formatIp } from '../lib/ip';
import type { VrrpInstance } from '../config/types';
import type { DropReason } from './errors';
import { init, makeAdvert, step } from './fsm';
import type { VrrpAction as Action, VrrpConfig, VrrpInput as Input, VrrpState, VrrpTimerName as TimerName } from './types';
import { type GarpSettings, GarpSchedule } from './garp';
import { type ChecksumForm, type VrrpPacket, encodeVrrp } from './packet';
import type { VrrpTransport } from './io';
import { VRRP_GROUP_V4, VRRP_GROUP_V6 } from './io';
import { VRRP_TTL } from './ipv4';

/** The outward effects an instance needs; the daemon supplies real or fake ones. */
export interface InstanceEffects {
  /** Adds a VIP ("192.0.2.100/24") to the interface; resolves even when it existed. */
  addVip(ifname: string, cidr: string): Promise<unknown>;
  /** Removes a VIP; resolves even when it was absent. */
  removeVip(ifname: string, cidr: string): Promise<unknown>;
  /** Sends `count` gratuitous ARPs / unsolicited NAs for each address. */
  announce(ifname: string, addresses: readonly string[], count: number): Promise<unknown>;
}

/** A state change, as the daemon records, notifies and shows it. */
export interface Transition {
  instance: string;
  from: string;
  to: string;
  reason: string;
  priority: number;
  /** Monotonic time of the change. */
  at: number;
  /** True when a sync group moved this instance (it must not propagate again). */
  bySync: boolean;
}

/** Everything the daemon shows about an instance. */
export interface InstanceStatus {
  /** Each tracked interface and script, its state and its effect on the priority (why the priority is what it is). */
  tracking: TrackingLine[];
  name: string;
  state: string;
  vrid: number;
  interface: string;
  version: 2 | 3;
  family: 4 | 6;
  basePriority: number;
  effectivePriority: number;
  advertIntervalMs: number;
  master: { address: string; priority: number } | null;
  lastTransition: { from: string; to: string; reason: string; at: number } | null;
  vips: string[];
  drops: Record<string, number>;
  peerChecksumForm: ChecksumForm | null;
  syncGroup: string | null;
  transport: 'raw' | 'udp';
  unicastPeers: string[];
  counters: { advertsSent: number; advertsReceived: number; sendErrors: number; vipErrors: number };
}

/** Maps the config's instance onto the state machine's settings. */
export function fsmConfigOf(c: VrrpInstance, source: Uint8Array): VrrpConfig {
  return {
    name: c.name,
    vrid: c.virtualRouterId,
    version: c.version,
    family: c.family,
    priority: c.priority,
    advertInterval: c.advertIntCs,
    preempt: !c.nopreempt,
    preemptDelay: c.preemptDelayMs,
    initialState: c.state,
    primaryAddress: source,
    vips: c.virtualIpaddress.map((v) => v.address),
    auth: c.authentication ? { type: 'PASS', password: c.authentication.pass } : { type: 'none' },
    unicastPeers: c.unicastPeers.map((p) => p.bytes),
  };
}

/** An instance's garp_* settings, as the announce schedule takes them. */
export function garpSettingsOf(c: VrrpInstance): GarpSettings {
  return {
    delayMs: c.garpMasterDelayMs,
    repeat: c.garpMasterRepeat,
    refreshMs: c.garpMasterRefreshMs,
    refreshRepeat: c.garpMasterRefreshRepeat,
    garpIntervalMs: c.garpIntervalMs,
    gnaIntervalMs: c.gnaIntervalMs,
  };
}

/**
 * The IPv4 TTL / IPv6 hop limit of an instance's adverts: 255 to the
 * multicast group (RFC 5798 §5.1.1.3, §5.1.2.3), keepalived's unicast_ttl
 * (default 255) to unicast peers.
 */
export function advertTtl(c: Pick<VrrpInstance, 'unicastPeers' | 'unicastTtl'>): number {
  return c.unicastPeers.length > 0 ? c.unicastTtl : VRRP_TTL;
}

/** One running VRRP instance. */
export class VrrpInstanceRuntime {
  private fsm: VrrpState;
  private readonly timers = new Map<TimerName, TimerHandle>();
  private readonly garp: GarpSchedule;
  private readonly drops = new Map<string, number>();
  private master: { address: string; priority: number } | null = null;
  private last: Transition | null = null;
  private peerForm: ChecksumForm | null = null;
  private sent = 0;
  private received = 0;
  private sendErrors = 0;
  private vipErrors = 0;
  private vipsHeld = false;
  /** Serialises VIP changes so an add and a remove never race. */
  private vipChain: Promise<void> = Promise.resolve();
  private bySyncNext = false;
  private readonly peersHeard = new Map<string, number>();

  private cfg: VrrpInstance;
  /** What tracking says now, set by the engine on every retrack. */
  tracking: TrackingLine[] = [];
  private source: Uint8Array;
  private transport: VrrpTransport;

  constructor(
    config: VrrpInstance,
    source: Uint8Array,
    transport: VrrpTransport,
    private readonly effects: InstanceEffects,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onTransition: (t: Transition) => void,
  ) {
    this.cfg = config;
    this.source = source;
    this.transport = transport;
    this.fsm = init(fsmConfigOf(config, source), clock.now());
    this.garp = new GarpSchedule(
      clock,
      garpSettingsOf(config),
      this.held().map((v) => ({ address: v.address, family: v.family })),
      (addresses, count, why) => this.announce(addresses, count, why),
    );
  }

  /** The instance's current configuration (a reload may replace it in place). */
  get config(): VrrpInstance {
    return this.cfg;
  }

  /**
   * Throws {@link VrrpConfigError} when `next` cannot be applied in place
   * (the state machine refuses it); changes nothing.
   */
  checkReconfigure(next: VrrpInstance, source: Uint8Array): void {
    step(this.fsm, { kind: 'reconfigure', now: this.clock.now(), config: fsmConfigOf(next, source), reason: '' });
  }

  /**
   * Applies a reload's settings without leaving the state (issue #10): the
   * state machine gets a 'reconfigure' input; a MASTER adds the VIPs that
   * are new, then removes those that went, one by one (the others are never
   * touched), and announces the added ones; garp settings, notify scripts,
   * tracking and peers take effect from here on. `transport` and `source`
   * replace the old ones when the peer set or source address changed.
   */
  reconfigure(next: VrrpInstance, source: Uint8Array, transport: VrrpTransport, reason: string): void {
    const before = this.held();
    this.cfg = next;
    this.source = source;
    this.transport = transport;
    const after = this.held();
    this.garp.update(garpSettingsOf(next));
    this.garp.setAddresses(after.map((v) => ({ address: v.address, family: v.family })));
    this.feed({ kind: 'reconfigure', now: this.clock.now(), config: fsmConfigOf(next, source), reason });
    if (!this.vipsHeld) return;
    const cidr = (v: { address: string; prefix: number }): string => `${v.address}/${v.prefix}`;
    const had = new Set(before.map(cidr));
    const has = new Set(after.map(cidr));
    const added = after.filter((v) => !had.has(cidr(v)));
    const removed = before.filter((v) => !has.has(cidr(v)));
    if (added.length === 0 && removed.length === 0) return;
    const ifname = next.interface;
    this.vipChain = this.vipChain.then(async () => {
      // Adds first, so a VIP whose prefix changed is never absent.
      for (const v of added) await this.vipOp(true, ifname, cidr(v));
      for (const v of removed) await this.vipOp(false, ifname, cidr(v));
      if (added.length > 0 && this.vipsHeld && this.fsm.state === 'MASTER') this.garp.burst('reload added VIPs', added.map((v) => v.address));
    });
  }

  private async vipOp(add: boolean, ifname: string, cidr: string): Promise<void> {
    try {
      if (add) await this.effects.addVip(ifname, cidr);
      else await this.effects.removeVip(ifname, cidr);
    } catch (e) {
      this.vipErrors++;
      this.log.error(`${this.name}: cannot ${add ? 'add' : 'remove'} VIP ${cidr} on ${ifname}`, { error: (e as Error).message });
    }
  }

  /** The address this instance sends from. */
  get sourceAddress(): Uint8Array {
    return this.source;
  }

  /** The remote routers this instance has heard since it started, by address (for a reload's notes). */
  heardPeers(): ReadonlyMap<string, number> {
    return this.peersHeard;
  }

  get name(): string {
    return this.config.name;
  }

  get state(): string {
    return this.fsm.state;
  }

  /** Starts the protocol (RFC 5798 §6.4.1 Startup). */
  start(): void {
    this.feed({ kind: 'startup', now: this.clock.now() });
  }

  /**
   * Stops: a master advertises priority 0 and removes its VIPs (RFC 5798
   * §6.4.3 Shutdown). Resolves when the VIPs are gone.
   */
  async shutdown(): Promise<void> {
    this.feed({ kind: 'shutdown', now: this.clock.now() });
    for (const t of this.timers.values()) this.clock.clear(t);
    this.timers.clear();
    this.garp.stop();
    await this.vipChain;
  }

  /** A decoded advertisement for this VRID. */
  receive(packet: VrrpPacket, src: Uint8Array, checksumForm: ChecksumForm | undefined): void {
    this.received++;
    if (checksumForm && packet.version === 3 && this.config.family === 4) this.peerForm = checksumForm;
    if (packet.priority > 0) this.peersHeard.set(formatIp(src), packet.priority);
    this.feed({ kind: 'advert', now: this.clock.now(), packet, src });
  }

  /** Counts a packet dropped before it reached the state machine. */
  countDrop(reason: DropReason | string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  /** Tracking changed the effective priority. */
  setPriority(effective: number): void {
    this.feed({ kind: 'priority', now: this.clock.now(), effective });
  }

  /** Tracking found (or cleared) a fault. */
  setFault(active: boolean, reason: string): void {
    this.feed({ kind: 'fault', now: this.clock.now(), active, reason });
  }

  /** A restarted VRRP process resumes mastership (see the 'resume' input). */
  resume(reason: string): void {
    this.feed({ kind: 'resume', now: this.clock.now(), reason });
  }

  /** A sync group moves this instance. */
  sync(to: 'MASTER' | 'BACKUP' | 'FAULT', reason: string): void {
    this.bySyncNext = true;
    try {
      this.feed({ kind: 'sync', now: this.clock.now(), to, reason });
    } finally {
      this.bySyncNext = false;
    }
  }

  status(): InstanceStatus {
    const c = this.config;
    return {
      tracking: this.tracking,
      name: c.name,
      state: this.fsm.state,
      vrid: c.virtualRouterId,
      interface: c.interface,
      version: c.version,
      family: c.family,
      basePriority: c.priority,
      effectivePriority: this.fsm.effectivePriority,
      advertIntervalMs: this.fsm.masterAdverInterval * 10,
      master: this.fsm.state === 'MASTER' ? { address: formatIp(this.source), priority: this.fsm.effectivePriority } : this.master,
      lastTransition: this.last && { from: this.last.from, to: this.last.to, reason: this.last.reason, at: this.last.at },
      vips: this.held().map((v) => `${v.address}/${v.prefix}`),
      drops: Object.fromEntries(this.drops),
      peerChecksumForm: this.peerForm,
      syncGroup: c.syncGroup ?? null,
      transport: c.transport,
      unicastPeers: c.unicastPeers.map((p) => p.address),
      counters: { advertsSent: this.sent, advertsReceived: this.received, sendErrors: this.sendErrors, vipErrors: this.vipErrors },
    };
  }

  private feed(input: Input): void {
    const r = step(this.fsm, input);
    this.fsm = r.state;
    for (const a of r.actions) this.apply(a);
  }

  private apply(a: Action): void {
    switch (a.type) {
      case 'send-advert':
        this.sendAdvert(a.priority);
        break;
      case 'set-timer': {
        this.clock.clear(this.timers.get(a.timer));
        const timer = a.timer;
        this.timers.set(timer, this.clock.at(a.at, () => {
          this.timers.delete(timer);
          this.feed({ kind: 'timeout', timer, now: this.clock.now() });
        }));
        break;
      }
      case 'cancel-timer':
        this.clock.clear(this.timers.get(a.timer));
        this.timers.delete(a.timer);
        break;
      case 'transition': {
        const t: Transition = { instance: this.name, from: a.from, to: a.to, reason: a.reason, priority: this.fsm.effectivePriority, at: this.clock.now(), bySync: this.bySyncNext };
        this.last = t;
        if (a.to !== 'BACKUP') this.master = null;
        this.log.info(`${this.name}: ${a.from} -> ${a.to}`, { reason: a.reason, priority: t.priority });
        // A daemon killed with -9 cannot remove its VIPs; a restart that is not
        // master must not answer ARP for them, so clear them now (idempotent).
        if (a.from === 'INIT' && a.to !== 'MASTER') this.changeVips(false);
        this.onTransition(t);
        break;
      }
      case 'add-vips':
        this.changeVips(true);
        break;
      case 'del-vips':
        this.changeVips(false);
        break;
      case 'garp':
        this.garp.burst(a.reason);
        break;
      case 'drop':
        this.countDrop(a.reason);
        this.log.debug(`${this.name}: advert dropped`, { reason: a.reason, detail: a.detail });
        break;
      case 'master-seen':
        this.master = { address: a.address, priority: a.priority };
        break;
      case 'count':
        this.countDrop(a.what);
        this.log.debug(`${this.name}: ${a.detail}`);
        break;
      case 'log':
        this.log.debug(`${this.name}: ${a.message}`);
        break;
    }
  }

  private sendAdvert(priority: number): void {
    const c = this.config;
    const packet = makeAdvert(this.fsm, priority);
    const group = c.mcastGroup?.bytes ?? (c.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6);
    const dests = c.unicastPeers.length ? c.unicastPeers.map((p) => p.bytes) : [group];
    const ttl = advertTtl(c);
    try {
      // The v3 checksum covers the destination, so each unicast peer gets its own encoding.
      for (const dst of dests) {
        const bytes = encodeVrrp(packet, {
          family: c.family, src: this.source, dst,
          checksumForm: c.v3ChecksumAsV2 ? 'no-pseudo-header' : 'pseudo-header',
        });
        this.transport.sendTo(bytes, dst, ttl);
      }
      this.sent++;
    } catch (e) {
      this.sendErrors++;
      this.log.warn(`${this.name}: cannot send advert`, { error: (e as Error).message });
    }
  }

  /**
   * Every address the master holds: the advertised VIPs and the excluded ones
   * (virtual_ipaddress_excluded, and VIPs of the other family), which move
   * with the instance but are not listed in its adverts (keepalived's rule).
   */
  private held(): ReadonlyArray<{ address: string; prefix: number; family: 4 | 6 }> {
    return [...this.config.virtualIpaddress, ...this.config.virtualIpaddressExcluded];
  }

  private changeVips(add: boolean): void {
    if (add) this.vipsHeld = true;
    const c = this.config;
    const cidrs = this.held().map((v) => `${v.address}/${v.prefix}`);
    this.vipChain = this.vipChain.then(async () => {
      for (const cidr of cidrs) await this.vipOp(add, c.interface, cidr);
    });
    if (add) {
      // Announce once the addresses are in place (keepalived: VIPs, then GARP).
      this.vipChain = this.vipChain.then(() => {
        if (this.fsm.state === 'MASTER') this.garp.start();
      });
    } else {
      this.vipsHeld = false;
      this.garp.stop();
    }
  }

  private announce(addresses: readonly string[], count: number, why: string): void {
    if (this.fsm.state !== 'MASTER') return;
    const c = this.config;
    this.effects.announce(c.interface, addresses, count).catch((e: Error) => {
      this.log.warn(`${this.name}: cannot announce VIPs`, { why, error: e.message });
    });
    this.log.debug(`${this.name}: announced VIPs`, { why, count, addresses: addresses.join(' ') });
  }

  /** True while this instance has asked for its VIPs to be present. */
  get holdsVips(): boolean {
    return this.vipsHeld;
  }

  /**
   * The engine moved this instance to another socket (its interface was
   * re-created, or is gone: then a transport that refuses to send) and,
   * when given, another source address (the interface was re-addressed).
   */
  rebind(transport: VrrpTransport, source: Uint8Array = this.source): void {
    this.transport = transport;
    if (source === this.source) return;
    this.source = source;
    this.fsm = { ...this.fsm, config: { ...this.fsm.config, primaryAddress: source } };
  }

  /**
   * Someone else removed VIPs (`cidrs`) from this MASTER: adds them back on
   * the VIP queue (so a step-down's removal still comes after), then
   * announces. False, doing nothing, when not a master holding its VIPs.
   */
  restoreVips(cidrs: readonly string[], why: string): boolean {
    if (this.fsm.state !== 'MASTER' || !this.vipsHeld) return false;
    const ifname = this.config.interface;
    this.vipChain = this.vipChain.then(async () => {
      for (const cidr of cidrs) {
        await this.effects.addVip(ifname, cidr).catch((e: Error) => {
          this.vipErrors++;
          this.log.error(`${this.name}: cannot add VIP ${cidr} back on ${ifname}`, { error: e.message });
        });
      }
      if (this.fsm.state === 'MASTER' && this.vipsHeld) this.garp.burst(why);
    });
    return true;
  }

  /** Resolves once every VIP change asked for so far is done. */
  vipsSettled(): Promise<void> {
    return this.vipChain;
  }
}
