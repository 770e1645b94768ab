/**
 * The IPVS table lvsd wants: configuration + real-server health + operator
 * overrides → services and their dests. Pure: no clock, no kernel.
 *
 * keepalived's rules (check/ipwrapper.c, KEEPALIVED-FACTS.md):
 * - a real server is up only when all its checks are up; one without checks
 *   is always up;
 * - a down real server is removed, or kept at weight 0 with
 *   `inhibit_on_failure` (established connections continue);
 * - a MISC_CHECK `misc_dynamic` weight replaces the configured weight;
 * - quorum: the sum of the weights of live real servers is compared with
 *   `quorum`, with hysteresis: quorum is lost when the sum is 0 or below
 *   `quorum − hysteresis`, regained at `quorum + hysteresis` or more. While it
 *   is lost and a `sorry_server` is set, the sorry server (weight 1) replaces
 *   the live real servers (removed, or weight 0 with inhibit); with
 *   `sorry_server_inhibit` the sorry server stays at weight 0 while unused.
 *   Without a sorry server, losing quorum changes nothing in the table;
 * - for DR and TUN the kernel cannot rewrite the port: a dest takes the
 *   service's port (for an address service);
 * - operator overrides: `drain` = weight 0 (connections kept), `disable` =
 *   removed, whatever the health.
 *
 * Quorum has memory (the hysteresis), so the previous quorum state per
 * virtual server is an input and the new one an output.
 */
import { parseIp } from '../config/address';
import type { LvsdConfig, RealServer, VirtualServer } from '../config/types';
import type { IpvsDest, IpvsService, ServiceFlags, ServiceKey } from '../kernel/ipvs/types';

/** What an operator can impose on a real server (`lvsctl drain|disable`). */
export const Override = {
  /** Weight 0: no new connections, established ones continue (as inhibit_on_failure). */
  DRAIN: 'drain',
  /** Removed from the IPVS table. */
  DISABLE: 'disable',
} as const;
/** One of {@link Override}. */
export type OverrideName = (typeof Override)[keyof typeof Override];

/** The health of one real server as the checker reports it. */
export interface RsHealth {
  readonly up: boolean;
  /** Why (the deciding check's reason). */
  readonly reason?: string;
  /** A MISC_CHECK misc_dynamic weight, replacing the configured weight while up. */
  readonly weight?: number;
}

/** Inputs of {@link desiredState}. */
export interface DesiredInput {
  readonly config: LvsdConfig;
  /** By real-server id `VS/RS`. A real server with checks but no entry is up, or down with the virtual server's `alpha`. */
  readonly health: ReadonlyMap<string, RsHealth>;
  /** Operator overrides by real-server id `VS/RS`. */
  readonly overrides: ReadonlyMap<string, OverrideName>;
  /** Quorum state per virtual server name from the previous computation; absent = starting (no hysteresis). */
  readonly quorum?: ReadonlyMap<string, boolean>;
}

/** Why a real server has the weight it has in the desired table. */
export type RsDisposition = 'up' | 'drained' | 'disabled' | 'down-removed' | 'down-inhibited' | 'quorum-removed' | 'quorum-inhibited';

/** One real server's verdict (also for status). */
export interface DesiredRs {
  /** Real-server name (config section). */
  readonly name: string;
  /** Whether it counts as alive (health up and not disabled). */
  readonly alive: boolean;
  /** The weight it contributes to the quorum sum (effective weight while alive). */
  readonly liveWeight: number;
  readonly disposition: RsDisposition;
  /** The dest written to the kernel, or undefined when it must be absent. */
  readonly dest?: IpvsDest;
}

/** One virtual service lvsd wants. */
export interface DesiredService {
  /** Virtual-server name (config section). */
  readonly vs: string;
  readonly service: IpvsService;
  /** The dests, in config order, the sorry server last. Dest keys are unique. */
  readonly dests: readonly IpvsDest[];
  /** Every real server's verdict, in config order. */
  readonly realServers: readonly DesiredRs[];
  /** The sorry server's dest when it is in the table. */
  readonly sorry?: IpvsDest;
  readonly quorumUp: boolean;
  /** Sum of live weights. */
  readonly weightSum: number;
}

/** The result of {@link desiredState}. */
export interface DesiredState {
  /** In config order. */
  readonly services: readonly DesiredService[];
  /** Quorum state per virtual-server name: feed back as the next `quorum` input. */
  readonly quorum: ReadonlyMap<string, boolean>;
}

/** The service key of a virtual server: address service or fwmark service. */
export function serviceKeyOf(vs: VirtualServer): ServiceKey {
  if (vs.fwmark !== undefined) return { family: vs.family, fwmark: vs.fwmark };
  const a = vs.address!;
  return { family: vs.family, protocol: vs.protocol, address: a.address, port: a.port };
}

// Per configuration object, computed once: a health change recomputes thousands of
// virtual servers, and their keys, services and ids do not change with health.
const services = new WeakMap<VirtualServer, IpvsService>();
const rsIds = new WeakMap<RealServer, string>();

/** The IPVS service of a virtual server, computed once per configuration object (treat as read-only). */
function cachedServiceOf(vs: VirtualServer): IpvsService {
  let s = services.get(vs);
  if (s === undefined) services.set(vs, (s = serviceOf(vs)));
  return s;
}

const destTexts = new WeakMap<RealServer, string>();

/** `ADDRESS/PORT` of a real server's dest under `vs` (its key within the service), computed once per configuration object. */
function destTextOf(vs: VirtualServer, rs: RealServer): string {
  let t = destTexts.get(rs);
  if (t === undefined) destTexts.set(rs, (t = `${rs.address.address}/${destPort(vs, rs.address.port)}`));
  return t;
}

/** `VS/RS` of a real server, computed once per configuration object. */
function rsIdOf(vs: VirtualServer, rs: RealServer): string {
  let id = rsIds.get(rs);
  if (id === undefined) rsIds.set(rs, (id = `${vs.name}/${rs.name}`));
  return id;
}

/** The IPVS service (scheduler, flags, persistence) of a virtual server. */
export function serviceOf(vs: VirtualServer): IpvsService {
  const persistent = vs.persistenceTimeoutMs > 0;
  // IP_VS_SVC_F_SCHED1 = sh-fallback / mh-fallback, SCHED2 = sh-port / mh-port
  // (linux/ip_vs.h); they mean something only to their scheduler.
  const flags: ServiceFlags = {
    persistent,
    onePacket: vs.ops,
    sched1: (vs.lbAlgo === 'sh' && vs.schedFlags.shFallback) || (vs.lbAlgo === 'mh' && vs.schedFlags.mhFallback),
    sched2: (vs.lbAlgo === 'sh' && vs.schedFlags.shPort) || (vs.lbAlgo === 'mh' && vs.schedFlags.mhPort),
    sched3: false,
  };
  return {
    key: serviceKeyOf(vs),
    scheduler: vs.lbAlgo,
    flags,
    timeoutS: persistent ? Math.round(vs.persistenceTimeoutMs / 1000) : 0,
    netmask: vs.persistenceGranularity ?? (vs.family === 4 ? 32 : 128),
  };
}

/** The dest port of an endpoint under `vs`: the service's port for DR and TUN (the kernel cannot rewrite it). */
export function destPort(vs: VirtualServer, port: number): number {
  if ((vs.lbKind === 'DR' || vs.lbKind === 'TUN') && vs.address) return vs.address.port;
  return port;
}

/** The dest of a real server at `weight`. */
export function destOf(vs: VirtualServer, rs: RealServer, weight: number): IpvsDest {
  const d: IpvsDest = {
    address: rs.address.address,
    port: destPort(vs, rs.address.port),
    fwdMethod: vs.lbKind,
    weight,
    upperThreshold: rs.uthreshold,
    lowerThreshold: rs.lthreshold,
  };
  if (rs.address.family !== vs.family) d.family = rs.address.family;
  return d;
}

/** The health a real server is taken to have: no checks → up; no report yet → up, or down with `alpha`. */
export function healthOf(vs: VirtualServer, rs: RealServer, health: ReadonlyMap<string, RsHealth>): RsHealth {
  if (rs.checks.length === 0) return NO_CHECKS;
  return health.get(rsIdOf(vs, rs)) ?? (vs.alpha ? ALPHA : NOT_YET);
}

const NO_CHECKS: RsHealth = Object.freeze({ up: true, reason: 'no checks' });
const ALPHA: RsHealth = Object.freeze({ up: false, reason: 'alpha: no check result yet' });
const NOT_YET: RsHealth = Object.freeze({ up: true, reason: 'no check result yet' });

/**
 * Next quorum state (keepalived update_quorum_state): lost at sum 0 or below
 * quorum − hysteresis, regained at quorum + hysteresis; `prev` undefined =
 * start, judged against quorum alone.
 */
export function nextQuorum(prev: boolean | undefined, sum: number, quorum: number, hysteresis: number): boolean {
  if (prev === undefined) return sum > 0 && sum >= quorum;
  if (prev) return !(sum === 0 || sum < quorum - hysteresis);
  return sum >= quorum + hysteresis;
}

/**
 * The desired service of one virtual server (see the file's doc): what the
 * director recomputes when only this virtual server's inputs changed. Reads
 * the health and overrides of its own real servers alone.
 */
export function desiredServiceOf(vs: VirtualServer, input: Omit<DesiredInput, 'config'>): DesiredService {
  return desiredService(vs, input).svc;
}

/**
 * What a health change does not change, per real server of a virtual server, computed once
 * per configuration object; plus the last dest and verdict built for it, reused while they
 * stay the same (a burst recomputes thousands of virtual servers whose other real servers
 * did not move: no new objects for them). Dests and verdicts are read-only to everyone.
 */
interface RsSlot {
  readonly rs: RealServer;
  readonly id: string;
  readonly text: string;
  dest: IpvsDest | undefined;
  verdict: DesiredRs | undefined;
}
/** The slots of a virtual server's real servers, and whether their dest texts are all different. */
interface VsSlots {
  readonly list: RsSlot[];
  readonly distinct: boolean;
}
const slots = new WeakMap<VirtualServer, VsSlots>();

function slotsOf(vs: VirtualServer): VsSlots {
  let s = slots.get(vs);
  if (s === undefined) {
    const list: RsSlot[] = [];
    for (const rs of vs.realServers.values()) list.push({ rs, id: rsIdOf(vs, rs), text: destTextOf(vs, rs), dest: undefined, verdict: undefined });
    s = { list, distinct: new Set(list.map((x) => x.text)).size === list.length };
    slots.set(vs, s);
  }
  return s;
}

/** The slot's dest at `weight`: the last one built when its weight is the same. */
function slotDest(vs: VirtualServer, slot: RsSlot, weight: number): IpvsDest {
  const d = slot.dest;
  if (d !== undefined && d.weight === weight) return d;
  return (slot.dest = destOf(vs, slot.rs, weight));
}

/** The slot's verdict: the last one built when every field is the same. */
function slotVerdict(slot: RsSlot, alive: boolean, liveWeight: number, disposition: RsDisposition, dest: IpvsDest | undefined): DesiredRs {
  const v = slot.verdict;
  if (v !== undefined && v.alive === alive && v.liveWeight === liveWeight && v.disposition === disposition && v.dest === dest) return v;
  const r: { -readonly [K in keyof DesiredRs]: DesiredRs[K] } = { name: slot.rs.name, alive, liveWeight, disposition };
  if (dest) r.dest = dest;
  return (slot.verdict = r);
}

function desiredService(vs: VirtualServer, input: Omit<DesiredInput, 'config'>): { svc: DesiredService; quorumUp: boolean } {
  const vsSlots = slotsOf(vs);
  const rss = vsSlots.list;
  const n = rss.length;
  const hs: RsHealth[] = new Array<RsHealth>(n);
  const ovs: (OverrideName | undefined)[] | null = input.overrides.size > 0 ? new Array<OverrideName | undefined>(n) : null;
  const weights: number[] = new Array<number>(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const slot = rss[i]!;
    const rs = slot.rs;
    const override = ovs ? (ovs[i] = input.overrides.get(slot.id)) : undefined;
    const h = rs.checks.length === 0 ? NO_CHECKS : (input.health.get(slot.id) ?? (vs.alpha ? ALPHA : NOT_YET));
    hs[i] = h;
    const base = h.weight ?? rs.weight;
    const weight = override === 'drain' ? 0 : base;
    weights[i] = weight;
    if (h.up && override !== 'disable') sum += weight;
  }
  const quorumUp = nextQuorum(input.quorum?.get(vs.name), sum, vs.quorum, vs.hysteresis);
  const sorryActive = !quorumUp && vs.sorryServer !== undefined;
  // Dest keys are unique among the real servers of a virtual server unless the sorry server
  // clashes with one (handled below) or two real servers share an address (the map keeps the
  // last): only then are the dests gathered in a map; otherwise straight into the list.
  const list: IpvsDest[] | null = vsSlots.distinct && vs.sorryServer === undefined ? [] : null;
  const dests = list === null ? new Map<string, IpvsDest>() : null;
  const realServers: DesiredRs[] = new Array<DesiredRs>(n);
  for (let i = 0; i < n; i++) {
    const slot = rss[i]!;
    const rs = slot.rs;
    const h = hs[i]!;
    const override = ovs ? ovs[i] : undefined;
    const weight = weights[i]!;
    const alive = h.up && override !== 'disable';
    let disposition: RsDisposition;
    let dest: IpvsDest | undefined;
    if (override === 'disable') disposition = 'disabled';
    else if (!h.up) {
      disposition = rs.inhibitOnFailure ? 'down-inhibited' : 'down-removed';
      if (rs.inhibitOnFailure) dest = slotDest(vs, slot, 0);
    } else if (sorryActive) {
      disposition = rs.inhibitOnFailure ? 'quorum-inhibited' : 'quorum-removed';
      if (rs.inhibitOnFailure) dest = slotDest(vs, slot, 0);
    } else {
      disposition = override === 'drain' ? 'drained' : 'up';
      dest = slotDest(vs, slot, weight);
    }
    if (dest) {
      if (list !== null) list.push(dest);
      else dests!.set(slot.text, dest);
    }
    realServers[i] = slotVerdict(slot, alive, alive ? weight : 0, disposition, dest);
  }
  let sorry: IpvsDest | undefined;
  if (vs.sorryServer && (sorryActive || vs.sorryServerInhibit)) {
    const s = vs.sorryServer;
    sorry = {
      address: s.address,
      port: destPort(vs, s.port),
      fwdMethod: vs.lbKind,
      weight: sorryActive ? 1 : 0,
      upperThreshold: 0,
      lowerThreshold: 0,
      ...(s.family !== vs.family ? { family: s.family } : {}),
    };
    // The sorry server wins a clash with a real server's key: it is what serves now.
    dests!.delete(`${sorry.address}/${sorry.port}`);
    dests!.set(`${sorry.address}/${sorry.port}`, sorry);
  }
  const svc: DesiredService = {
    vs: vs.name,
    service: cachedServiceOf(vs),
    dests: vs.lbAlgo === 'mh' || vs.lbAlgo === 'sh' ? canonicalOrder(list ?? [...dests!.values()], sorry) : (list ?? [...dests!.values()]),
    realServers,
    ...(sorry && sorryActive ? { sorry } : {}),
    quorumUp,
    weightSum: sum,
  };
  return { svc, quorumUp };
}

/**
 * The dests of a hash-scheduled service (mh, sh) sorted by address (bytes),
 * then port, the sorry server last. The kernel builds those schedulers'
 * lookup tables from its dest list in the order the dests were added, so
 * directors that add the same real servers in one order agree on the real
 * server of every flow (active/active behind ECMP needs that). A real server
 * added to a running service still lands at the end of the kernel's list:
 * only a service created afresh gets the whole canonical order.
 */
export function canonicalOrder(dests: readonly IpvsDest[], sorry?: IpvsDest): IpvsDest[] {
  const key = (d: IpvsDest): string => {
    const p = parseIp(d.address);
    const bytes = p.ok ? Array.from(p.value.bytes, (b) => b.toString(16).padStart(2, '0')).join('') : d.address;
    return `${bytes.length.toString().padStart(2, '0')}${bytes}:${d.port.toString().padStart(5, '0')}`;
  };
  const isSorry = (d: IpvsDest) => sorry !== undefined && d.address === sorry.address && d.port === sorry.port;
  const rest = dests.filter((d) => !isSorry(d)).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return sorry && dests.some(isSorry) ? [...rest, ...dests.filter(isSorry)] : rest;
}

/** Computes the desired IPVS table; see the file's doc for the rules. */
export function desiredState(input: DesiredInput): DesiredState {
  const services: DesiredService[] = [];
  const quorum = new Map<string, boolean>();
  for (const vs of input.config.virtualServers.values()) {
    const { svc, quorumUp } = desiredService(vs, input);
    services.push(svc);
    quorum.set(vs.name, quorumUp);
  }
  return { services, quorum };
}
