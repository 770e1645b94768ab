import type { BgpStatus } from '../bgp/service';
/**
 * The shapes of the control socket's commands and answers: the contract
 * between the daemon (which fills them) and lvsctl (which prints them).
 * All times are ISO 8601 strings in UTC (wall clock, for operators only).
 */
import type { LvsdEvent } from '../events/types';

/** The commands the daemon answers. */
export const ControlCommand = {
  STATUS: 'status',
  RELOAD: 'reload',
  EVENTS: 'events',
  SHOW_SERVICES: 'show services',
  SHOW_CHECKS: 'show checks',
  DRAIN: 'drain',
  DISABLE: 'disable',
  ENABLE: 'enable',
  /** `drain` with no arguments is the director drain (BGP); this ends it. */
  UNDRAIN: 'undrain',
} as const;
/** One of {@link ControlCommand}. */
export type ControlCommandName = (typeof ControlCommand)[keyof typeof ControlCommand];

/** A VRRP instance's state (RFC 5798 §6.4 plus keepalived's FAULT). */
export type VrrpStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

/** The last state change of an instance. */
export interface TransitionStatus {
  readonly from: string;
  readonly to: string;
  /** Why it happened, e.g. `master down timer expired`. */
  readonly reason: string;
  readonly at: string;
}

/** One VRRP instance in a `status` answer. */
export interface InstanceStatus {
  /** Each tracked interface and script: its state, weight and what it does to the priority now (FAULT for a failed weight-0 item). */
  readonly tracking?: ReadonlyArray<{ readonly kind: string; readonly name: string; readonly state: string; readonly weight: number; readonly reverse?: boolean; readonly contribution: number; readonly fault?: boolean }>;
  readonly name: string;
  readonly state: VrrpStateName;
  readonly vrid: number;
  readonly interface: string;
  readonly version: 2 | 3;
  readonly family: 4 | 6;
  /** Configured priority. */
  readonly basePriority: number;
  /** Priority after tracking weights (what is advertised). */
  readonly effectivePriority: number;
  readonly advertIntervalMs: number;
  /** The current master as last heard (or this router), null if unknown. */
  readonly master: { readonly address: string; readonly priority: number } | null;
  readonly lastTransition: TransitionStatus | null;
  readonly vips: readonly string[];
  /** Received adverts dropped, by reason (e.g. `bad_ttl`, `bad_checksum`). */
  readonly drops: Readonly<Record<string, number>>;
  /** Which VRRPv3/IPv4 checksum form peers were seen using. */
  readonly peerChecksumForm: 'pseudo-header' | 'no-pseudo-header' | null;
  readonly syncGroup: string | null;
  readonly transport: 'raw' | 'udp';
  readonly unicastPeers: readonly string[];
}

/** The answer to `status`. */
export interface StatusResult {
  readonly routerId: string;
  readonly pid: number;
  readonly version: string;
  readonly startedAt: string;
  readonly instances: readonly InstanceStatus[];
  /** Interface-level drops (not tied to an instance), e.g. `unknown_vrid`. */
  readonly drops: Readonly<Record<string, number>>;
  /** lvsd's child processes (the supervisor's answer): state `starting`, `running`, `restarting` or `crash-loop`. */
  readonly processes?: Readonly<Record<string, ProcessStatus>>;
  /** With `[bgp]`: the announced VIPs, BIRD's sessions and the sysctls (the director process's answer), or why it is missing. */
  readonly bgp?: BgpStatus | { readonly error: string };
}

/** One child process as the parent sees it. */
export interface ProcessStatus {
  readonly pid: number | null;
  readonly state: 'starting' | 'running' | 'restarting' | 'crash-loop';
  readonly restarts: number;
  /** The last exit: a signal name or `exit N`. */
  readonly lastExit: string | null;
}

/** Arguments of `events` (all optional). */
export interface EventsArgs {
  /** How many of the most recent events; default 50 unless since/after is given (then all that match). */
  readonly limit?: number;
  /** Only events at or after this ISO 8601 time. */
  readonly since?: string;
  /** Only these subsystems (`vrrp`, `check`, ...). */
  readonly subsystem?: string | readonly string[];
  /** Only events with a larger seq (what a follower saw last). */
  readonly after?: number;
  /** With `after`: wait up to this many ms for a newer event (long poll). */
  readonly wait?: number;
}

/** One event of any subsystem (src/events): `{seq, at, subsystem, severity, subject, message, fields}`. */
export type { LvsdEvent } from '../events/types';

/** A VRRP transition as the `events` answer carries it: the common shape plus instance, from, to and reason. */
export interface EventRecord extends LvsdEvent {
  readonly instance: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

/** The answer to `events`: oldest first, and the newest seq the daemon has (to follow from). */
export interface EventsResult<E extends LvsdEvent = LvsdEvent> {
  readonly events: readonly E[];
  readonly seq: number;
}

/**
 * The answer to `reload` when the new config was applied. An invalid config
 * is an error answer instead (code `CONFIG_INVALID`, message listing
 * `FILE:LINE: problem` lines), and nothing changes.
 */
export interface ReloadResult {
  /** One line per applied difference, e.g. `instance VI_2 added`. */
  readonly changes: readonly string[];
  /** Config warnings, `FILE:LINE: message`. */
  readonly warnings?: readonly string[];
}

/** Arguments of `drain`, `disable` and `enable`: config names of the virtual and real server. */
export interface OverrideArgs {
  readonly vs: string;
  readonly rs: string;
}

/** The answer to `drain`, `disable` and `enable`: the override now in force (null after enable). */
export interface OverrideResult {
  readonly vs: string;
  readonly rs: string;
  readonly override: 'drain' | 'disable' | null;
}

/** One check of a real server in a `show checks` answer. */
export interface CheckEntry {
  /** The `[check.NAME]` name. */
  readonly name: string;
  /** Its type (`TCP_CHECK`, `HTTP_GET` ...), or `unknown` when the config no longer has it. */
  readonly type: string;
}

/** One real server in a `show checks` answer. */
export interface RealServerChecks {
  readonly vs: string;
  readonly rs: string;
  readonly address: string;
  readonly health: 'up' | 'down';
  /** The deciding check's last reason (`ECONNREFUSED`, `status 200`, `no checks`). */
  readonly reason: string;
  readonly checks: readonly CheckEntry[];
}

/** The answer to `show checks`: one entry per real server, in config order. */
export interface ChecksResult {
  readonly realServers: readonly RealServerChecks[];
}
