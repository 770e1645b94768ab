/**
 * The director's `status()` answer: what `lvsctl show services` prints.
 * Plain JSON-able data (no Maps), so it crosses the control socket as is.
 */
import type { IpvsDestEntry, IpvsStats } from '../kernel/ipvs/types';
import type { OverrideName, RsDisposition } from '../reconcile/desired';
import type { ReconcilerStats } from '../reconcile/reconciler';
import type { SyncDaemonStatus } from '../reconcile/sync';

/** A dest as the kernel reports it: weight, connections and rates. */
export interface KernelDestStatus {
  readonly weight: number;
  readonly fwdMethod: string;
  readonly activeConns: number;
  readonly inactConns: number;
  readonly persistConns: number;
  /** Total connections, packets and bytes since added. */
  readonly conns: number;
  readonly inpkts: number;
  readonly outpkts: number;
  readonly inbytes: number;
  readonly outbytes: number;
  /** Rates: connections, packets and bytes per second (the kernel's estimator). */
  readonly cps: number;
  readonly inpps: number;
  readonly outpps: number;
  readonly inbps: number;
  readonly outbps: number;
  /**
   * Age in ms of the traffic figures above (conns, packets, bytes, rates,
   * persistConns), which a background refresh reads per service; null when
   * they are the reconciler's last read of the dest (age not kept). Weight,
   * forwarding method, activeConns and inactConns are read for each answer
   * when `kernelCounters.connections` is `fresh`.
   */
  readonly statsAgeMs?: number | null;
}

/**
 * How fresh the kernel figures of one status answer are: the answer is the
 * reconciler's snapshot of the table plus one batched read of the counters
 * (a constant number of netlink messages, whatever the table's size).
 */
export interface KernelCountersStatus {
  /** Service counters and rates: `fresh` (one GET_SERVICE dump for this answer) or `last-known` (that dump failed). */
  readonly services: 'fresh' | 'last-known';
  /**
   * Dests, their weights, forwarding methods and active/inactive
   * connections: `fresh` (one read of /proc/net/ip_vs for this answer) or
   * `snapshot` (as the reconciler's last pass over the service read them).
   */
  readonly connections: 'fresh' | 'snapshot';
  /** Age in ms of the oldest per-dest traffic figure in the answer; null when some have no known age. */
  readonly destStatsMaxAgeMs: number | null;
  /** How often those are re-read in the background while status or metrics are asked for (ms); 0: never (the in-memory table of --dry-run). */
  readonly destStatsRefreshMs: number;
}

/** One real server. */
export interface RealServerStatus {
  readonly name: string;
  /** The dest as written to the kernel: `198.51.100.1:80`, `[2001:db8::1]:80`. */
  readonly address: string;
  readonly configuredWeight: number;
  /** The weight lvsd wants in the kernel; null = lvsd wants it out of the table. */
  readonly effectiveWeight: number | null;
  readonly health: 'up' | 'down';
  /** The deciding check's reason (`ECONNREFUSED`, `status 200`, `no checks`). */
  readonly reason: string;
  /** The checks it runs (config names). */
  readonly checks: readonly string[];
  readonly override: OverrideName | null;
  /** Inside a scheduled maintenance window now (drained unless an override says more). */
  readonly maintenance?: boolean;
  readonly disposition: RsDisposition;
  /** What the kernel has now; null = not in the table. */
  readonly kernel: KernelDestStatus | null;
  /** The kernel keeps refusing this real server's dest (retried on its own); null when it does not. */
  readonly error?: string | null;
}

/** One virtual server. */
export interface VirtualServerStatus {
  readonly name: string;
  /** ipvsadm's label: `TCP 192.0.2.100:80`, `FWM 7`. */
  readonly service: string;
  readonly scheduler: string;
  readonly lbKind: string;
  readonly persistenceTimeoutS: number;
  readonly quorum: { readonly up: boolean; readonly weightSum: number; readonly quorum: number; readonly hysteresis: number };
  readonly sorryServer: { readonly address: string; readonly active: boolean; readonly kernel: KernelDestStatus | null } | null;
  /** Whether the service exists in the kernel. */
  readonly inKernel: boolean;
  /** The service's counters and rates, when the kernel sent them. */
  readonly stats: IpvsStats | null;
  /** The kernel keeps refusing this service (an unknown scheduler…; retried on its own); null when it does not. */
  readonly error?: string | null;
  readonly realServers: readonly RealServerStatus[];
}

/** The answer to `status()`. */
export interface DirectorStatus {
  readonly virtualServers: readonly VirtualServerStatus[];
  readonly reconciler: ReconcilerStats;
  readonly syncDaemon: SyncDaemonStatus | null;
  /** Set when the kernel could not be read for this answer (the figures are then the last known). */
  readonly kernelError: string | null;
  /** How fresh the kernel figures are (absent from older directors). */
  readonly kernelCounters?: KernelCountersStatus;
  /** IPVS objects the kernel keeps refusing, each retried on its own while the others change as usual. */
  readonly errors?: readonly IpvsObjectError[];
}

/** One IPVS object (a service, or one dest) the kernel keeps refusing. */
export interface IpvsObjectError {
  /** The virtual server it belongs to (null: a service lvsd no longer configures). */
  readonly virtualServer: string | null;
  /** The real server, for a dest (`sorry_server` for the sorry server); null for the service itself. */
  readonly realServer: string | null;
  /** ipvsadm's label of the service: `TCP 192.0.2.100:80`. */
  readonly service: string;
  /** The dest, for a real server: `198.51.100.1:80`. */
  readonly dest?: string;
  /** The refused operation: `add service TCP 192.0.2.100:80 bogus`. */
  readonly operation: string;
  /** The kernel's answer, with what was being done. */
  readonly error: string;
  /** Its errno name (ENOENT, ERANGE, …), when there is one. */
  readonly code: string | null;
  /** Failed attempts in a row. */
  readonly attempts: number;
  readonly failingForMs: number;
  readonly nextRetryInMs: number;
}

/** A dest entry as {@link KernelCounters} hands it out: with the age of its traffic figures. */
export type AgedDestEntry = IpvsDestEntry & { readonly statsAgeMs?: number | null };

/** A kernel dest as {@link KernelDestStatus}. */
export function kernelDestStatus(d: AgedDestEntry | undefined): KernelDestStatus | null {
  if (!d) return null;
  const s = d.stats;
  return {
    weight: d.weight,
    fwdMethod: d.fwdMethod,
    activeConns: s?.activeConns ?? 0,
    inactConns: s?.inactConns ?? 0,
    persistConns: s?.persistConns ?? 0,
    conns: s?.conns ?? 0,
    inpkts: s?.inpkts ?? 0,
    outpkts: s?.outpkts ?? 0,
    inbytes: s?.inbytes ?? 0,
    outbytes: s?.outbytes ?? 0,
    cps: s?.cps ?? 0,
    inpps: s?.inpps ?? 0,
    outpps: s?.outpps ?? 0,
    inbps: s?.inbps ?? 0,
    outbps: s?.outbps ?? 0,
    ...(d.statsAgeMs !== undefined ? { statsAgeMs: d.statsAgeMs } : {}),
  };
}
