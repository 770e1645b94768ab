/**
 * The IPVS domain: virtual services, real servers (dests), sync daemons and
 * the narrow {@link Ipvs} interface the reconciler programs them through.
 *
 * These are domain types only; the netlink encoding lives in `wire/` (encode.ts, decode.ts).
 * Addresses are text (`192.0.2.1`, `2001:db8::1`) in canonical form as
 * {@link canonicalAddress} writes them (RFC 5952 for IPv6), so keys compare
 * as strings.
 */
import type { IpvsError } from './errors';
import type { ProcIpvsTable } from './proc';

/** Address family of a service or dest: 4 (AF_INET) or 6 (AF_INET6). */
export type Family = 4 | 6;

/** Transport protocol of an address/port service (IPPROTO_TCP / UDP / SCTP). */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/**
 * Packet forwarding method of a dest (IP_VS_CONN_F_FWD_MASK):
 * NAT = IP_VS_CONN_F_MASQ, DR = IP_VS_CONN_F_DROUTE, TUN = IP_VS_CONN_F_TUNNEL.
 * LOCAL (IP_VS_CONN_F_LOCALNODE) is only ever read back, never written by lvsd.
 */
export type FwdMethod = 'NAT' | 'DR' | 'TUN' | 'LOCAL';

/** Encapsulation of a TUN dest (IP_VS_CONN_F_TUNNEL_TYPE_*; Linux 5.2+). */
export type TunType = 'ipip' | 'gue' | 'gre';

/**
 * Identity of a virtual service: protocol + address + port, or a firewall
 * mark (with the family of the addresses it balances).
 */
export type ServiceKey = AddrServiceKey | FwmarkServiceKey;

/** A service on `protocol` `address`:`port`. */
export interface AddrServiceKey {
  readonly family: Family;
  readonly protocol: Protocol;
  readonly address: string;
  readonly port: number;
}

/** A service matching packets with firewall mark `fwmark` (non-zero). */
export interface FwmarkServiceKey {
  readonly family: Family;
  readonly fwmark: number;
}

/**
 * Service flags (IP_VS_SVC_F_*). The scheduler flags mean what the
 * scheduler makes of them (ipvsadm(8) --sched-flags):
 * sched1 = flag-1 = sh-fallback / mh-fallback,
 * sched2 = flag-2 = sh-port / mh-port, sched3 = flag-3 (unused by Linux's schedulers).
 * The kernel-internal HASHED flag is never shown.
 */
export interface ServiceFlags {
  /** IP_VS_SVC_F_PERSISTENT: a client sticks to one dest for `timeoutS`. */
  persistent: boolean;
  /** IP_VS_SVC_F_ONEPACKET: schedule each UDP datagram on its own (ipvsadm -o, keepalived ops). */
  onePacket: boolean;
  /** IP_VS_SVC_F_SCHED1. */
  sched1: boolean;
  /** IP_VS_SVC_F_SCHED2. */
  sched2: boolean;
  /** IP_VS_SVC_F_SCHED3. */
  sched3: boolean;
}

/** A virtual service as written to and read from the kernel. */
export interface IpvsService {
  key: ServiceKey;
  /** Scheduler name: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos. */
  scheduler: string;
  flags: ServiceFlags;
  /** Persistence timeout in seconds (meaningful with flags.persistent). */
  timeoutS: number;
  /** Persistence netmask as a prefix length: 0–32 for IPv4 (32 = /32), 1–128 for IPv6. */
  netmask: number;
  /** Persistence engine name (e.g. "sip"), when one is set. */
  pe?: string;
}

/** The identity of a dest inside its service: address and port. */
export interface DestKey {
  readonly address: string;
  readonly port: number;
}

/** A real server of a service. */
export interface IpvsDest extends DestKey {
  fwdMethod: FwdMethod;
  /** 0 quiesces the dest (no new connections); the kernel accepts 0–2^31-1. */
  weight: number;
  /** Upper connection threshold; 0 = none. */
  upperThreshold: number;
  /** Lower connection threshold; 0 = none. */
  lowerThreshold: number;
  /** TUN encapsulation; absent = ipip (the kernel's default). */
  tunType?: TunType;
  /** GUE destination port (tunType 'gue'). */
  tunPort?: number;
  /** IP_VS_TUNNEL_ENCAP_FLAG_* bits (CSUM = 1, REMCSUM = 2) for GUE/GRE. */
  tunFlags?: number;
  /** Family of `address` when it differs from the service's (TUN only); absent = the service's. */
  family?: Family;
}

/** Traffic counters and rates (IPVS_STATS_ATTR_*, from the 64-bit set when the kernel sends it). */
export interface IpvsStats {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

/** A dest's counters: connection counts plus traffic stats. */
export interface IpvsDestStats extends IpvsStats {
  activeConns: number;
  inactConns: number;
  persistConns: number;
}

/** A service as read back, with its counters when the kernel sent them. */
export type IpvsServiceEntry = IpvsService & { stats?: IpvsStats };

/** A dest as read back, with its counters when the kernel sent them. */
export type IpvsDestEntry = IpvsDest & { stats?: IpvsDestStats };

/** Connection-sync daemon role (IP_VS_STATE_MASTER / IP_VS_STATE_BACKUP). */
export type SyncState = 'master' | 'backup';

/** A connection-sync daemon (ipvsadm --start-daemon; keepalived lvs_sync_daemon). */
export interface SyncDaemon {
  state: SyncState;
  /** Interface the sync messages go out / come in on. */
  ifname: string;
  /** Sync id (0–255) that tells clusters on one segment apart. */
  syncId: number;
  /** Max UDP payload of a sync message (IPVS_DAEMON_ATTR_SYNC_MAXLEN); absent = MTU-derived. */
  syncMaxLen?: number;
  /** Multicast group (IPv4 or IPv6); absent = 224.0.0.81. */
  mcastGroup?: string;
  /** UDP port (base); absent = 8848. */
  mcastPort?: number;
  /** Multicast TTL; absent = 1. */
  mcastTtl?: number;
}

/** Connection timeouts in seconds (ipvsadm --set tcp tcpfin udp). 0 on write = leave unchanged. */
export interface IpvsTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

/** What IPVS_CMD_GET_INFO reports. */
export interface IpvsInfo {
  /** "1.2.1" (IP_VS_VERSION_CODE). */
  version: string;
  /** Connection hash table size (ip_vs_conn_tab_size). */
  connTableSize: number;
}

/** One change to apply, for {@link Ipvs.apply}. */
export type IpvsOp =
  | { readonly op: 'addService'; readonly service: IpvsService }
  | { readonly op: 'editService'; readonly service: IpvsService }
  | { readonly op: 'delService'; readonly key: ServiceKey }
  | { readonly op: 'addDest'; readonly key: ServiceKey; readonly dest: IpvsDest }
  | { readonly op: 'editDest'; readonly key: ServiceKey; readonly dest: IpvsDest }
  | { readonly op: 'delDest'; readonly key: ServiceKey; readonly dest: DestKey };

/** The outcome of one {@link IpvsOp}. */
export type IpvsOpResult = { readonly ok: true } | { readonly ok: false; readonly error: IpvsError };

/**
 * The kernel's IPVS table, narrowly. Every method rejects with an
 * {@link IpvsError} (stable `code` = errno name) when the kernel refuses:
 * EEXIST adding what exists, ESRCH for a missing service, ENOENT for a missing
 * dest or unknown scheduler, EINVAL for bad values.
 */
export interface Ipvs {
  /** Version and connection table size. */
  info(): Promise<IpvsInfo>;
  /** Every virtual service (a dump). */
  services(): Promise<IpvsServiceEntry[]>;
  /** The dests of service `key` (a dump); empty when there is no such service (the kernel's dump does not fail). */
  dests(key: ServiceKey): Promise<IpvsDestEntry[]>;
  /** Adds a service; EEXIST when its key exists. */
  addService(s: IpvsService): Promise<void>;
  /** Changes scheduler, flags, timeout, netmask, pe of the service with `s.key`; ESRCH when missing. */
  editService(s: IpvsService): Promise<void>;
  /** Deletes a service and its dests; ESRCH when missing. */
  delService(key: ServiceKey): Promise<void>;
  /** Adds a dest to service `key`; EEXIST when address+port exists, ESRCH when the service is missing. */
  addDest(key: ServiceKey, d: IpvsDest): Promise<void>;
  /** Changes the dest with d's address+port; ENOENT when missing. */
  editDest(key: ServiceKey, d: IpvsDest): Promise<void>;
  /** Removes a dest; ENOENT when missing. */
  delDest(key: ServiceKey, d: DestKey): Promise<void>;
  /**
   * Applies `ops` in order and resolves with one result per op (it never
   * rejects for a kernel refusal; those are in the results). A failed op does
   * not stop the later ones.
   */
  apply(ops: readonly IpvsOp[]): Promise<IpvsOpResult[]>;
  /** Deletes every service and dest. */
  flush(): Promise<void>;
  /** Running sync daemons. */
  daemons(): Promise<SyncDaemon[]>;
  /** Starts a sync daemon; EEXIST when one of that state runs. */
  startDaemon(d: SyncDaemon): Promise<void>;
  /** Stops the daemon of `state`; ESRCH when none runs. */
  stopDaemon(state: SyncState): Promise<void>;
  /** Current connection timeouts. */
  timeouts(): Promise<IpvsTimeouts>;
  /** Sets connection timeouts (0 = leave that one unchanged). */
  setTimeouts(t: IpvsTimeouts): Promise<void>;
  /** Releases the socket; later calls reject. */
  close(): void;
  /**
   * What status and metrics read with, apart from the writer: on the real
   * kernel its own netlink socket, so its dumps never wait behind the
   * reconciler's writes nor collide with its dumps. Absent: read through
   * this object itself.
   */
  reader?(): IpvsReader;
}

/** The read side status and metrics use (see {@link Ipvs.reader}). */
export interface IpvsReader {
  /** Every service with its counters and rates: one dump. */
  services(): Promise<IpvsServiceEntry[]>;
  /** The dests of service `key` with their counters: one dump per service. */
  dests(key: ServiceKey): Promise<IpvsDestEntry[]>;
  /**
   * Every service's dests with forwarding method, weight and active/inactive
   * connections, in one read of `/proc/net/ip_vs` and no netlink message;
   * null when the file cannot be read (no IPVS, another namespace's /proc).
   */
  connections?(): Promise<ProcIpvsTable | null>;
}
