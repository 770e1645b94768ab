/**
 * The VRRP state machine's vocabulary: its configuration, state, inputs and
 * actions (RFC 5798 §6 plus keepalived's FAULT). All plain immutable data, so
 * conformance tests can write them as JSON lines.
 */
import type { DropReason } from './errors';
import type { IpFamily, VrrpPacket } from './packet';

/** RFC 5798 §6.4 states, plus FAULT (keepalived: an interface or check is down). */
export const VRRP_STATE_NAMES = ['INIT', 'BACKUP', 'MASTER', 'FAULT'] as const;
/** One of {@link VRRP_STATE_NAMES}. */
export type VrrpStateName = (typeof VRRP_STATE_NAMES)[number];

/** The two timers of RFC 5798 §6.2: Adver_Timer (MASTER) and Master_Down_Timer (BACKUP). */
export type VrrpTimerName = 'adver' | 'master-down';

/** Authentication of a VRRPv2 instance (RFC 3768 keeps only "none" and the PASS field). */
export type VrrpAuth = { readonly type: 'none' } | { readonly type: 'PASS'; readonly password: string };

/** One vrrp_instance's settings, as the state machine needs them. */
export interface VrrpConfig {
  /** Instance name, for reasons and logs. */
  readonly name: string;
  /** virtual_router_id, 1..255. */
  readonly vrid: number;
  readonly version: 2 | 3;
  readonly family: IpFamily;
  /** Base priority 1..255; 255 = address owner. */
  readonly priority: number;
  /** advert_int in centiseconds: v2 whole seconds × 100 (100..25500); v3 1..4095. */
  readonly advertInterval: number;
  /** false = keepalived's nopreempt. */
  readonly preempt: boolean;
  /** preempt_delay in milliseconds (0 = none). */
  readonly preemptDelay: number;
  /** keepalived's `state`: MASTER still starts in BACKUP unless priority is 255. */
  readonly initialState: 'MASTER' | 'BACKUP';
  /** Our source address (4 or 16 bytes): loop detection and the equal-priority tie break. */
  readonly primaryAddress: Uint8Array;
  /** virtual_ipaddress entries; an optional "/len" is ignored here. */
  readonly vips: readonly string[];
  /** v2 only; default none. */
  readonly auth?: VrrpAuth;
  /** unicast_peer addresses; when non-empty, adverts from anyone else are dropped ('peer'). */
  readonly unicastPeers: readonly Uint8Array[];
}

/** The master this instance last accepted adverts from (BACKUP), for status. */
export interface SeenMaster {
  readonly address: string;
  readonly priority: number;
}

/** The state machine's whole state: plain, immutable; `step` returns a new one. */
export interface VrrpState {
  readonly config: VrrpConfig;
  readonly state: VrrpStateName;
  /** Monotonic ms of the last transition (or of init). */
  readonly since: number;
  /** Base priority plus tracking, clamped (1..254; 255 for an owner). */
  readonly effectivePriority: number;
  /** Master_Adver_Interval in centiseconds (v3 backups adopt the master's). */
  readonly masterAdverInterval: number;
  /** Deadlines (monotonic ms) of the timers the driver holds for us; null = not running. */
  readonly timers: { readonly adver: number | null; readonly 'master-down': number | null };
  /** Why the running master-down timer was set ("priority 0 from …"), for the reason string. */
  readonly downCause: string;
  /** Preemption allowed from this time (ms); null = keepalived's preempt_time 0 (not started). */
  readonly preemptUntil: number | null;
  /** Our own fault input is active (interface or tracked check down). */
  readonly faulted: boolean;
  readonly faultReason: string;
  /** A sync group holds us in FAULT. */
  readonly syncFault: boolean;
  /** The current remote master, when known. */
  readonly master: SeenMaster | null;
  /** `config.vips` as address bytes (parsed once). */
  readonly vipAddresses: readonly Uint8Array[];
  /**
   * The reason of the last reload that changed priority or preemption
   * ("reload: priority 150 -> 90"), put in front of the reason of a
   * transition it causes; '' when none. Void after `reloadNoteUntil`.
   */
  readonly reloadNote: string;
  readonly reloadNoteUntil: number;
}

/** What the driver tells the state machine. `now` is monotonic milliseconds. */
export type VrrpInput =
  /** Start the instance (from INIT). */
  | { readonly kind: 'startup'; readonly now: number }
  /** A timer the machine set is due. Stale or unknown timers are ignored. */
  | { readonly kind: 'timeout'; readonly timer: VrrpTimerName; readonly now: number }
  /** An advert that passed `decodeVrrp` (and the TTL check); `src` = IP source bytes. */
  | { readonly kind: 'advert'; readonly now: number; readonly packet: VrrpPacket; readonly src: Uint8Array }
  /** Tracking changed the effective priority (clamped here too). */
  | { readonly kind: 'priority'; readonly now: number; readonly effective: number }
  /** Our own fault state, aggregated by the caller: active = some tracked thing is down. */
  | { readonly kind: 'fault'; readonly now: number; readonly active: boolean; readonly reason: string }
  /** A sync group moves this instance. */
  | { readonly kind: 'sync'; readonly now: number; readonly to: 'MASTER' | 'BACKUP' | 'FAULT'; readonly reason: string }
  /**
   * A restarted VRRP process takes mastership straight back (the caller has
   * checked that this node was master moments ago and still holds the VIPs,
   * well inside any peer's Master_Down_Interval). Only from BACKUP, unfaulted.
   */
  | { readonly kind: 'resume'; readonly now: number; readonly reason: string }
  /** Stop the instance (back to INIT). */
  | { readonly kind: 'shutdown'; readonly now: number }
  /**
   * A reload changed the instance's settings, applied in place: the state,
   * timers and seen master are kept. Identity (VRID, version, family) must
   * not change (the driver re-creates the instance for that). `reason`
   * ("reload: priority 150 -> 140") prefixes a transition the change causes.
   */
  | { readonly kind: 'reconfigure'; readonly now: number; readonly config: VrrpConfig; readonly reason: string };

/**
 * What the driver must do, in the order given. For one input the order is:
 * cancel old timers, a priority-0 advert when leaving MASTER by shutdown or
 * fault, the transition, VIP changes, a normal advert, new timers.
 */
export type VrrpAction =
  /** Send one advert with this priority (0 = stop) built by `makeAdvert`. */
  | { readonly type: 'send-advert'; readonly priority: number }
  /** (Re)arm a timer at monotonic ms `at`, replacing any earlier one of that name. */
  | { readonly type: 'set-timer'; readonly timer: VrrpTimerName; readonly at: number }
  | { readonly type: 'cancel-timer'; readonly timer: VrrpTimerName }
  /** State change with a human reason; INIT after shutdown is keepalived's STOP. */
  | { readonly type: 'transition'; readonly from: VrrpStateName; readonly to: VrrpStateName; readonly reason: string }
  /** Add the VIPs (then the driver runs its garp schedule). */
  | { readonly type: 'add-vips' }
  | { readonly type: 'del-vips' }
  /** Re-announce the VIPs now (split-brain heal), outside the becoming-master schedule. */
  | { readonly type: 'garp'; readonly reason: string }
  /** An advert failed a meaning check; count it under `reason`. */
  | { readonly type: 'drop'; readonly reason: DropReason; readonly detail: string }
  /** Something to count that does not drop the advert. */
  | { readonly type: 'count'; readonly what: 'vip-mismatch'; readonly detail: string }
  /** The remote master changed (address, priority), for status. */
  | { readonly type: 'master-seen'; readonly address: string; readonly priority: number }
  /** Worth a log line, no effect (a discarded lower-priority advert, a new interval…). */
  | { readonly type: 'log'; readonly message: string };

/** `step`'s answer. */
export interface VrrpStepResult {
  readonly state: VrrpState;
  readonly actions: readonly VrrpAction[];
}
