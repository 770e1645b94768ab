/**
 * The typed configuration lvsd runs on: what `loadConfig` returns when a file
 * has no errors. Field names are keepalived's keywords in camelCase; numbers
 * are in natural units: durations in milliseconds (`...Ms`), the VRRP
 * advertisement interval in centiseconds (`advertIntCs`, the unit of the
 * VRRPv3 Max Adver Int field, RFC 5798 §5.2.7). Every object keeps the line
 * of its section header (`line`), and values taken from one key keep that
 * key's line, so run-time messages can point at the file.
 */
import type { Endpoint, Family, IpAddress } from './address';

export type { Endpoint, Family, IpAddress } from './address';

/**
 * Who a script runs as: keepalived's `USER [GROUP]`, resolved to ids when the
 * file is loaded (names from /etc/passwd and /etc/group, or numbers; without
 * GROUP the user's primary group).
 */
export interface RunAs {
  readonly user: string;
  readonly group?: string;
  readonly uid: number;
  readonly gid: number;
  /** Line of the key that gave it. */
  readonly line: number;
}

/** A program and its arguments, split from `script = /path arg arg` (run with execFile, never a shell). */
export interface Script {
  readonly argv: readonly string[];
  /** Line of the key that gave it. */
  readonly line: number;
}

/** winston levels lvsd logs at. */
export const LogLevels = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LogLevels)[number];

/** `lvs_sync_daemon = INTERFACE INSTANCE [id N] [port P]` (keepalived's argument list). */
export interface LvsSyncDaemon {
  readonly interface: string;
  /** The VRRP instance whose state it follows: master sync on MASTER, backup sync on BACKUP. */
  readonly instance: string;
  /** Sync id 0–255, default 0. */
  readonly syncId: number;
  /** UDP port, default 8848 (the kernel's default). */
  readonly port: number;
  readonly line: number;
}

/** `[global]`. */
export interface GlobalConfig {
  /** Names this director in logs and notifications; keepalived defaults it to the host name (decided at run time). */
  readonly routerId?: string;
  /** lvsctl's control socket. Default `/run/lvsd/lvsd.sock`. */
  readonly controlSocket: string;
  /** Default `info`. */
  readonly logLevel: LogLevel;
  /** Called on every VRRP and real-server change: `INSTANCE|GROUP NAME STATE PRIORITY`. */
  readonly notify?: Script;
  /** A FIFO that gets keepalived's notify lines. */
  readonly notifyFifo?: string;
  /** Refuse scripts a non-root user could change. Default false. */
  readonly enableScriptSecurity: boolean;
  /** User (and group) every script runs as, `script_user = USER [GROUP]`. Absent: the daemon's own user. */
  readonly scriptUser?: RunAs;
  readonly lvsSyncDaemon?: LvsSyncDaemon;
  /** Flush the IPVS table at start (keepalived `lvs_flush`). Default false. */
  readonly lvsFlush: boolean;
  /** At stop: remove nothing, only the services lvsd made (`VS`), or all (`ALL`). keepalived `lvs_flush_onstop`. */
  readonly lvsFlushOnstop: 'none' | 'vs' | 'all';
  /** `HOST:PORT` of the Prometheus metrics listener; absent = none. */
  readonly metricsListen?: { readonly host: string; readonly port: number; readonly line: number };
  /** Default `/var/lib/lvsd`. */
  readonly stateDir: string;
  /** audit_interval: seconds ("30") or a cron expression; default every minute. */
  readonly auditInterval?: string;
  /** Default `/run/lvsd/lvsd.pid`. */
  readonly pidFile: string;
  /** Default VRRP version for instances without `version` (keepalived `vrrp_version`, default 2). */
  readonly vrrpVersion: 2 | 3;
  /** Default spacing between gratuitous ARPs / unsolicited NAs of one burst (keepalived `vrrp_garp_interval`/`vrrp_gna_interval`). Default 0. */
  readonly vrrpGarpIntervalMs: number;
  readonly vrrpGnaIntervalMs: number;
  /**
   * The multicast groups adverts are sent to and received on (keepalived
   * `vrrp_mcast_group4` / `vrrp_mcast_group6`): default 224.0.0.18 and
   * ff02::12 (RFC 5798 §5.1.1.2, §5.1.2.2). Every router of a virtual router
   * must use the same group, or each hears nobody and all become MASTER.
   */
  readonly vrrpMcastGroup4: IpAddress;
  readonly vrrpMcastGroup6: IpAddress;
  readonly line: number;
}

/** `[vrrp_script.NAME]`: a tracking script whose result moves an instance's priority. */
export interface VrrpScript {
  readonly name: string;
  readonly line: number;
  readonly script: Script;
  /** Default 1000. */
  readonly intervalMs: number;
  /** Default: the interval. */
  readonly timeoutMs: number;
  /** Successes to count as OK. Default 1. */
  readonly rise: number;
  /** Failures to count as KO. Default 1. */
  readonly fall: number;
  /** -253..253. 0 (default): KO puts the instance in FAULT; >0 added while OK; <0 added while KO. */
  readonly weight: number;
  /**
   * keepalived's `weight N reverse`: the adjustment turned around (>0 taken
   * off while OK, <0 taken off, i.e. added, while KO; 0: OK means FAULT).
   * Default false.
   */
  readonly weightReverse: boolean;
  /** Start in the KO state (keepalived `init_fail`). Default false. */
  readonly initFail: boolean;
  /** Who it runs as: its own `user` (keepalived's), else the global script_user; absent: the daemon's own user. */
  readonly user?: RunAs;
}

/** Initial VRRP state. */
export type VrrpStateName = 'MASTER' | 'BACKUP';

/** How adverts travel: raw IP protocol 112 (RFC) or UDP datagrams (unicast only). */
export type VrrpTransport = 'raw' | 'udp';

/** A tracked interface: down → FAULT (weight 0) or priority += weight; `reverse` turns it around (keepalived's). */
export interface TrackInterface {
  readonly name: string;
  readonly weight: number;
  /** `NAME weight N reverse`: up → FAULT (weight 0), or the adjustment's direction reversed. Default false. */
  readonly reverse: boolean;
  readonly line: number;
}

/** A tracked script reference, with keepalived's optional per-instance weight override. */
export interface TrackScript {
  readonly name: string;
  /** Overrides the script's weight when set. */
  readonly weight?: number;
  /** `weight N reverse` (true) or `weight N noreverse` (false); absent: the script's own `weightReverse`, as in keepalived. */
  readonly reverse?: boolean;
  readonly line: number;
}

/** A virtual address, with the line that declared it. */
export interface VirtualAddress extends IpAddress {
  readonly line: number;
}

/**
 * A unicast peer: `unicast_peer[] = ADDRESS [min_ttl N] [max_ttl N]`, as a
 * line of keepalived's unicast_peer block. Its adverts are dropped (as
 * 'ttl') when their TTL / hop limit is outside min_ttl..max_ttl.
 */
export interface UnicastPeer extends VirtualAddress {
  /** Default 0. */
  readonly minTtl: number;
  /** Default 255. */
  readonly maxTtl: number;
}

/** `[vrrp_instance.NAME]`. */
export interface VrrpInstance {
  readonly name: string;
  readonly line: number;
  readonly state: VrrpStateName;
  readonly interface: string;
  readonly interfaceLine: number;
  /** 1–255. */
  readonly virtualRouterId: number;
  readonly virtualRouterIdLine: number;
  /** 1–255, default 100; 255 = address owner. */
  readonly priority: number;
  /** In centiseconds: default 100 (1 s); v2 whole seconds 1–255; v3 1–4095. */
  readonly advertIntCs: number;
  readonly version: 2 | 3;
  /** The instance's address family: of its first VIP, else of unicast_src_ip / peers, else 4. */
  readonly family: Family;
  /** Advertised VIPs, all of `family`. */
  readonly virtualIpaddress: readonly VirtualAddress[];
  /** Not advertised; added and removed with the instance (any family). Other-family VIPs land here. */
  readonly virtualIpaddressExcluded: readonly VirtualAddress[];
  readonly unicastSrcIp?: VirtualAddress;
  readonly unicastPeers: readonly UnicastPeer[];
  /** Source address for multicast adverts (keepalived `mcast_src_ip`). */
  readonly mcastSrcIp?: VirtualAddress;
  /**
   * The group its multicast adverts go to and are heard on: [global]'s
   * vrrp_mcast_group4 / vrrp_mcast_group6 for its family. Absent when it
   * sends unicast; the RFC group is meant when absent.
   */
  readonly mcastGroup?: IpAddress;
  /** TTL / hop limit to send with unicast adverts (keepalived `unicast_ttl`), default 255. */
  readonly unicastTtl: number;
  /** Drop unicast adverts from sources not in unicast_peer (keepalived `check_unicast_src`). Default false. */
  readonly checkUnicastSrc: boolean;
  readonly nopreempt: boolean;
  readonly preemptDelayMs: number;
  /** VRRPv2 simple password authentication (RFC 2338 §5.3.6.1); absent = none. */
  readonly authentication?: { readonly type: 'PASS'; readonly pass: string; readonly line: number };
  readonly trackInterfaces: readonly TrackInterface[];
  readonly trackScripts: readonly TrackScript[];
  /** Do not go FAULT when `interface` goes down (keepalived `dont_track_primary`). */
  readonly dontTrackPrimary: boolean;
  /** Delay of the second gratuitous ARP burst. Default 5000. */
  readonly garpMasterDelayMs: number;
  /** ARPs per burst. Default 5. */
  readonly garpMasterRepeat: number;
  /** Refresh period while master; 0 (default) = none. */
  readonly garpMasterRefreshMs: number;
  /** ARPs per refresh. Default 1. */
  readonly garpMasterRefreshRepeat: number;
  /** Spacing inside a burst (default from [global]). */
  readonly garpIntervalMs: number;
  readonly gnaIntervalMs: number;
  /** VRRPv3 over IPv4: checksum without the pseudo-header, as VRRPv2 does (keepalived `v3_checksum_as_v2`). */
  readonly v3ChecksumAsV2: boolean;
  readonly transport: VrrpTransport;
  /** UDP port with `transport = udp`. Default 5112. */
  readonly udpPort: number;
  readonly notifyMaster?: Script;
  readonly notifyBackup?: Script;
  readonly notifyFault?: Script;
  readonly notifyStop?: Script;
  /** Generic notify: gets `INSTANCE NAME STATE PRIORITY`. */
  readonly notify?: Script;
  /** The sync group this instance belongs to, if any (filled from `[vrrp_sync_group]`). */
  readonly syncGroup?: string;
}

/** `[vrrp_sync_group.NAME]`: instances that change state together. */
export interface VrrpSyncGroup {
  readonly name: string;
  readonly line: number;
  readonly group: readonly { readonly name: string; readonly line: number }[];
  /**
   * keepalived's sync_group_tracking_weight: members keep their tracking
   * weights. Off by default: inside a sync group a tracked failure means FAULT,
   * since differing priorities would pull the members apart.
   */
  readonly syncGroupTrackingWeight: boolean;
  readonly notifyMaster?: Script;
  readonly notifyBackup?: Script;
  readonly notifyFault?: Script;
  readonly notifyStop?: Script;
  readonly notify?: Script;
}

/** Health-check types (keepalived's names). */
export const CheckTypes = ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK'] as const;
export type CheckType = (typeof CheckTypes)[number];

/** What every check has. A check is a template: it runs once per real server that names it. */
export interface CheckBase {
  readonly name: string;
  readonly line: number;
  /** Seconds between checks, as ms. Default 60000. */
  readonly delayLoopMs: number;
  /** Retries of a failing check before it counts as failed. Default 1 (MISC_CHECK 0). */
  readonly retry: number;
  /** Default 1000 (HTTP_GET/SSL_GET 3000). */
  readonly delayBeforeRetryMs: number;
  /** Maximum random delay before the first check. Default 0. */
  readonly warmupMs: number;
  /** Consecutive successful checks to mark a server up. Default 1. */
  readonly rise: number;
  /** Consecutive failed checks (each after its retries) to mark it down. Default 1. */
  readonly fall: number;
}

/** Where connecting checks connect; each field defaults to the real server's. */
export interface ConnectOptions {
  readonly connectIp?: IpAddress;
  readonly connectPort?: number;
  /** Source address. */
  readonly bindto?: IpAddress;
  readonly bindPort?: number;
  /** Default 5000. */
  readonly connectTimeoutMs: number;
}

/** TCP_CHECK: up when a TCP connection opens. */
export interface TcpCheck extends CheckBase, ConnectOptions {
  readonly type: 'TCP_CHECK';
}

/** An inclusive range of HTTP status codes. */
export interface StatusRange {
  readonly min: number;
  readonly max: number;
}

/** HTTP_GET / SSL_GET: `GET url_path` and judge the status (and optionally the body). */
export interface HttpCheck extends CheckBase, ConnectOptions {
  readonly type: 'HTTP_GET' | 'SSL_GET';
  /** Default `/`. */
  readonly urlPath: string;
  /** Default [200–299]. */
  readonly statusCode: readonly StatusRange[];
  /** Lower-case hex MD5 of the body. */
  readonly digest?: string;
  /** A body regex (JavaScript syntax). */
  readonly regex?: string;
  /** Host header; default the connect address. */
  readonly virtualhost?: string;
  /** Default '1.0' (keepalived's). */
  readonly httpProtocol: '1.0' | '1.1';
  /** SSL_GET: CA bundle to verify against. */
  readonly caFile?: string;
  /** SSL_GET: verify the certificate. Default true when ca_file is set, else false (keepalived's). */
  readonly verifyCert: boolean;
  /** SSL_GET: send SNI. Default true. */
  readonly enableSni: boolean;
  /** SSL_GET: the SNI name; default virtualhost. */
  readonly sniName?: string;
}

/** MISC_CHECK: run a program; exit 0 = up. */
export interface MiscCheck extends CheckBase {
  readonly type: 'MISC_CHECK';
  readonly miscPath: Script;
  /** Default: delay_loop. */
  readonly miscTimeoutMs: number;
  /** Exit 2–255 = up with weight code−2. */
  readonly miscDynamic: boolean;
  /** Who it runs as: its own `user` (keepalived's), else the global script_user; absent: the daemon's own user. */
  readonly user?: RunAs;
}

/** `[check.NAME]`. */
export type Check = TcpCheck | HttpCheck | MiscCheck;

/** IPVS schedulers (kernel names). */
export const LbAlgos = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos'] as const;
export type LbAlgo = (typeof LbAlgos)[number];
/** IPVS forwarding methods. */
export const LbKinds = ['NAT', 'DR', 'TUN'] as const;
export type LbKind = (typeof LbKinds)[number];
export const Protocols = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof Protocols)[number];

/** `[real_server.VS.NAME]`. */
export interface RealServer {
  readonly name: string;
  /** The virtual server's name. */
  readonly virtualServer: string;
  readonly line: number;
  /** Port 0 for a fwmark service written without port. For DR/TUN the service's port is used. */
  readonly address: Endpoint;
  /** 0–65535, default 1. */
  readonly weight: number;
  /** Weight 0 instead of removal when down. Default: the virtual server's. */
  readonly inhibitOnFailure: boolean;
  /** Names of `[check.*]` sections; all must pass. Default: the virtual server's `check`. Empty = always up. */
  readonly checks: readonly string[];
  readonly checksLine: number;
  /** IPVS connection thresholds; 0 = none. */
  readonly uthreshold: number;
  readonly lthreshold: number;
  /** Planned maintenance: from each cron match, weight 0 for durationMs. */
  readonly maintenance?: { readonly cron: string; readonly durationMs: number; readonly line: number };
  readonly notifyUp?: Script;
  readonly notifyDown?: Script;
}

/** `[virtual_server.NAME]`. */
export interface VirtualServer {
  readonly name: string;
  readonly line: number;
  /** Exactly one of address / fwmark. */
  readonly address?: Endpoint;
  readonly fwmark?: number;
  readonly family: Family;
  readonly protocol: Protocol;
  readonly lbAlgo: LbAlgo;
  readonly lbKind: LbKind;
  /** 0 = no persistence. */
  readonly persistenceTimeoutMs: number;
  /** Prefix length of the persistence netmask; absent = a full mask. */
  readonly persistenceGranularity?: number;
  /** Default 1. */
  readonly quorum: number;
  readonly quorumUp?: Script;
  readonly quorumDown?: Script;
  /** Default 0. */
  readonly hysteresis: number;
  readonly sorryServer?: Endpoint;
  readonly sorryServerInhibit: boolean;
  /** Default check for its real servers. */
  readonly check?: string;
  readonly checkLine: number;
  /** One-packet scheduling (UDP only). */
  readonly ops: boolean;
  /** Scheduler flags, keepalived names: sh-port, sh-fallback, mh-port, mh-fallback. */
  readonly schedFlags: { readonly shPort: boolean; readonly shFallback: boolean; readonly mhPort: boolean; readonly mhFallback: boolean };
  /** Default for real servers' inhibit_on_failure. Default false. */
  readonly inhibitOnFailure: boolean;
  /** Real servers start down until their first good check (keepalived `alpha`). Default false. */
  readonly alpha: boolean;
  /**
   * How the VIP reaches the routers: `none` (default, also when absent: VRRP
   * or the operator's business) or `bgp` (a route in `[bgp]`'s route_table
   * while the virtual server has quorum and the director is not drained;
   * BIRD exports it).
   */
  readonly announce?: Announce;
  readonly announceLine?: number;
  readonly realServers: ReadonlyMap<string, RealServer>;
}

/** Values of a virtual server's `announce`. */
export const Announces = ['none', 'bgp'] as const;
export type Announce = (typeof Announces)[number];

/**
 * `[bgp] sync_daemon = INTERFACE [id N] [port P]`: the kernel's connection
 * sync daemon run as master and backup at once, so every director sends its
 * connections to the others and learns theirs.
 */
export interface BgpSyncDaemon {
  readonly interface: string;
  /** Sync id 0–255, default 0. */
  readonly syncId: number;
  /** UDP port, default 8848. */
  readonly port: number;
  readonly line: number;
}

/**
 * `[bgp]`: active/active directors whose VIPs BIRD announces. lvsd never
 * speaks BGP: it installs each announced VIP as a route in `routeTable`,
 * which BIRD's kernel protocol imports (`learn`) and exports to its peers,
 * and reads BIRD's control socket for status only.
 */
export interface BgpConfig {
  /** BIRD's control socket, read for status. Default `/run/bird/bird.ctl`. */
  readonly birdSocket: string;
  /** The kernel routing table the VIP routes go into. Default 100. */
  readonly routeTable: number;
  /** Where each announced VIP is kept as a local /32 or /128. Default `lo`. */
  readonly vipInterface: string;
  /** Expect a BFD session Up beside every BGP protocol, and report when not. Default true. */
  readonly bfd: boolean;
  /** Set the IPVS sysctls active/active needs (else only report them). Default true. */
  readonly sysctls: boolean;
  readonly syncDaemon?: BgpSyncDaemon;
  readonly line: number;
}

/** `[notify.NAME]`: a webhook (for future use). */
export interface Notifier {
  readonly name: string;
  readonly line: number;
  readonly url: string;
  /** Default 5000. */
  readonly timeoutMs: number;
  /** Default 3. */
  readonly retries: number;
}

/** The whole configuration. Maps keep file order. */
export interface LvsdConfig {
  /** The file it came from. */
  readonly file: string;
  readonly global: GlobalConfig;
  readonly vrrpScripts: ReadonlyMap<string, VrrpScript>;
  readonly vrrpInstances: ReadonlyMap<string, VrrpInstance>;
  readonly vrrpSyncGroups: ReadonlyMap<string, VrrpSyncGroup>;
  readonly checks: ReadonlyMap<string, Check>;
  readonly virtualServers: ReadonlyMap<string, VirtualServer>;
  readonly notifiers: ReadonlyMap<string, Notifier>;
  /** `[bgp]`, when the file has one. */
  readonly bgp?: BgpConfig;
}
