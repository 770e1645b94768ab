/**
 * The VRRP state machine, sans-IO: RFC 5798 §6.4 (Initialize, Backup,
 * Master) plus keepalived's FAULT, with keepalived 2.2.7's choices where it
 * and the RFC differ (KEEPALIVED-FACTS.md).
 *
 * `step(state, input)` returns the next state and the actions a driver must
 * carry out; it never touches a socket or a clock: time comes in `input.now`
 * (monotonic milliseconds) and timers go out as `set-timer` deadlines.
 * Inputs of kind 'advert' must already have passed `decodeVrrp` (wire checks)
 * and the receive path's TTL check; this machine checks meaning (own packet,
 * version, VRID, unicast peer, v2 auth and interval, VIP list).
 */
import { compareIp, formatIp, parseIp, sameIp } from '../lib/ip';
import { VrrpConfigError } from './errors';
import { addressLength, passwordAuthData, VRRP_AUTH_DATA_LENGTH, VRRP_AUTH_TYPE, type VrrpPacket } from './packet';
import type { VrrpAction, VrrpConfig, VrrpInput, VrrpState, VrrpStateName, VrrpStepResult } from './types';

export * from './types';

/** The address owner's priority (RFC 5798 §6.1). */
export const PRIORITY_OWNER = 255;
/** Priority of the advert a master sends when it stops (RFC 5798 §6.4.3). */
export const PRIORITY_STOP = 0;
/**
 * A timeout input this early (ms) before the deadline still counts as due:
 * event loops may fire a timer a fraction of a millisecond early.
 */
export const TIMER_SLACK_MS = 1;

/**
 * Skew_Time in ms for the effective priority `p`.
 * v2 (RFC 3768 §6.1): (256 − p) / 256 s. v3 (RFC 5798 §6.1):
 * (256 − p) × Master_Adver_Interval / 256, with the interval in centiseconds.
 */
export function skewTimeMs(version: 2 | 3, p: number, masterAdverIntervalCs: number): number {
  return version === 2 ? ((256 - p) * 1000) / 256 : ((256 - p) * masterAdverIntervalCs * 10) / 256;
}

/** Master_Down_Interval in ms: 3 × Master_Adver_Interval + Skew_Time (RFC 5798 §6.1). */
export function masterDownIntervalMs(version: 2 | 3, p: number, masterAdverIntervalCs: number): number {
  return 3 * masterAdverIntervalCs * 10 + skewTimeMs(version, p, masterAdverIntervalCs);
}

/**
 * The first down timer of an instance configured `state MASTER` below 255:
 * keepalived 2.2.7 enters BACKUP (init) with ms_down_timer =
 * master_adver_int + VRRP_TIMER_SKEW_MIN, i.e. one interval plus the skew of
 * priority 255 (v2: 1/256 s; v3: interval/256).
 */
export function initialMasterDownMs(version: 2 | 3, masterAdverIntervalCs: number): number {
  return masterAdverIntervalCs * 10 + skewTimeMs(version, 255, masterAdverIntervalCs);
}

/** Effective priority from a tracked value: an owner stays 255, others are held to 1..254. */
export function clampPriority(base: number, effective: number): number {
  if (base === PRIORITY_OWNER) return PRIORITY_OWNER;
  return Math.min(254, Math.max(1, Math.round(effective)));
}

function bad(c: VrrpConfig, msg: string): never {
  throw new VrrpConfigError(c.name, msg);
}

function intIn(v: number, lo: number, hi: number): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi;
}

/**
 * A fresh instance in INIT, nothing armed; send it `{ kind: 'startup' }`.
 * `now` (monotonic ms) is recorded as `since`. Throws {@link VrrpConfigError}
 * for a configuration that cannot run.
 */
export function init(config: VrrpConfig, now = 0): VrrpState {
  const c = config;
  const vipAddresses = checkConfig(c);
  return {
    config: c,
    state: 'INIT',
    since: now,
    effectivePriority: c.priority,
    masterAdverInterval: c.advertInterval,
    timers: { adver: null, 'master-down': null },
    downCause: '',
    preemptUntil: null,
    faulted: false,
    faultReason: '',
    syncFault: false,
    master: null,
    vipAddresses,
    reloadNote: '',
    reloadNoteUntil: 0,
  };
}

/** Validates a configuration (throws {@link VrrpConfigError}); returns its VIPs as bytes. */
function checkConfig(c: VrrpConfig): Uint8Array[] {
  if (!intIn(c.vrid, 1, 255)) bad(c, `virtual_router_id must be 1..255, got ${c.vrid}`);
  if (c.version !== 2 && c.version !== 3) bad(c, `version must be 2 or 3, got ${String(c.version)}`);
  if (c.family !== 4 && c.family !== 6) bad(c, `family must be 4 or 6, got ${String(c.family)}`);
  if (!intIn(c.priority, 1, 255)) bad(c, `priority must be 1..255, got ${c.priority}`);
  if (c.version === 2 && !(intIn(c.advertInterval, 100, 25500) && c.advertInterval % 100 === 0)) {
    bad(c, `VRRPv2 advert_int must be whole seconds 1..255 (100..25500 cs), got ${c.advertInterval} cs`);
  }
  if (c.version === 3 && !intIn(c.advertInterval, 1, 4095)) bad(c, `VRRPv3 advert_int must be 0.01..40.95 s (1..4095 cs), got ${c.advertInterval} cs`);
  if (!(c.preemptDelay >= 0)) bad(c, `preempt_delay must be >= 0 ms, got ${c.preemptDelay}`);
  const alen = addressLength(c.family);
  if (c.primaryAddress.length !== alen) bad(c, `primary address must be an IPv${c.family} address`);
  for (const p of c.unicastPeers) if (p.length !== alen) bad(c, `unicast_peer ${formatIp(p)} is not IPv${c.family}`);
  const vipAddresses = c.vips.map((v) => {
    const b = parseIp(v.replace(/\/\d+$/, ''));
    if (!b || b.length !== alen) bad(c, `virtual_ipaddress ${v} is not an IPv${c.family} address`);
    return b;
  });
  if (vipAddresses.length > 255) bad(c, `at most 255 virtual addresses fit in an advert, got ${vipAddresses.length}`);
  return vipAddresses;
}

/**
 * The advert this instance sends with `priority` (its effective priority, or
 * 0 to stop), ready for `encodeVrrp`.
 */
export function makeAdvert(s: VrrpState, priority: number): VrrpPacket {
  const c = s.config;
  const addresses = s.vipAddresses.map((a) => Uint8Array.from(a));
  if (c.version === 3) return { version: 3, vrid: c.vrid, priority, maxAdvertInterval: c.advertInterval, addresses };
  const pass = c.auth?.type === 'PASS';
  return {
    version: 2,
    vrid: c.vrid,
    priority,
    authType: pass ? VRRP_AUTH_TYPE.pass : VRRP_AUTH_TYPE.none,
    advertInterval: c.advertInterval / 100,
    addresses,
    authData: c.family === 6 ? new Uint8Array(0) : pass ? passwordAuthData(c.auth.password) : new Uint8Array(VRRP_AUTH_DATA_LENGTH),
  };
}

/** Seconds for reason strings: at most 3 decimals, no trailing zeros. */
function secs(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** Compares in constant time for equal lengths (the PASS password, KEEPALIVED-FACTS.md). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** The step's working set: a state being rewritten and the actions so far. */
class Step {
  readonly actions: VrrpAction[] = [];
  constructor(public s: VrrpState, readonly now: number) {}

  set(patch: Partial<VrrpState>): void {
    this.s = { ...this.s, ...patch };
  }
  act(a: VrrpAction): void {
    this.actions.push(a);
  }
  setTimer(timer: 'adver' | 'master-down', at: number): void {
    this.set({ timers: { ...this.s.timers, [timer]: at } });
    this.act({ type: 'set-timer', timer, at });
  }
  cancelTimers(): void {
    for (const t of ['adver', 'master-down'] as const) {
      if (this.s.timers[t] !== null) this.act({ type: 'cancel-timer', timer: t });
    }
    this.set({ timers: { adver: null, 'master-down': null } });
  }
  transition(to: VrrpStateName, reason: string): void {
    const note = this.s.reloadNote && this.now <= this.s.reloadNoteUntil ? this.s.reloadNote : '';
    this.act({ type: 'transition', from: this.s.state, to, reason: note ? `${note} (${reason})` : reason });
    this.set({ state: to, since: this.now, reloadNote: '', reloadNoteUntil: 0 });
  }
  skew(): number {
    return skewTimeMs(this.s.config.version, this.s.effectivePriority, this.s.masterAdverInterval);
  }
  downInterval(): number {
    return masterDownIntervalMs(this.s.config.version, this.s.effectivePriority, this.s.masterAdverInterval);
  }
  armAdver(): void {
    this.setTimer('adver', this.now + this.s.config.advertInterval * 10);
  }
  /** Arms Master_Down_Timer; `cause` names why for the eventual transition reason. */
  armDown(ms: number, cause = `no advert for ${secs(ms)}`): void {
    this.set({ downCause: cause });
    this.setTimer('master-down', this.now + ms);
  }
  seeMaster(address: string, priority: number): void {
    const m = this.s.master;
    if (m && m.address === address && m.priority === priority) return;
    this.set({ master: { address, priority } });
    this.act({ type: 'master-seen', address, priority });
  }
  result(): VrrpStepResult {
    return { state: this.s, actions: this.actions };
  }
}

/** RFC 5798 §6.4.1/§6.4.2 "transition to Master": VIPs, advert, Adver_Timer. */
function becomeMaster(t: Step, reason: string): void {
  t.cancelTimers();
  t.transition('MASTER', reason);
  t.set({ master: null, masterAdverInterval: t.s.config.advertInterval, downCause: '' });
  t.act({ type: 'add-vips' });
  t.act({ type: 'send-advert', priority: t.s.effectivePriority });
  t.armAdver();
}

/**
 * Enter BACKUP from MASTER or FAULT (keepalived vrrp_state_leave_master /
 * leave_fault): VIPs removed if we were master, preempt_time cleared,
 * down timer 3 × Master_Adver_Interval + Skew_Time.
 *
 * A master stepping down also says so with one priority-0 advert (an lvsd
 * addition; RFC 5798 sends it only on shutdown). After a split brain the
 * winner may never hear another advert from the loser, so without it the
 * winner would not know to re-announce the VIPs and clients would keep the
 * loser's MAC until their caches expire. A master receiving priority 0
 * re-advertises at once (§6.4.3), so no router is left waiting longer.
 */
function enterBackup(t: Step, reason: string, keepInterval = false): void {
  const wasMaster = t.s.state === 'MASTER';
  t.cancelTimers();
  if (wasMaster) t.act({ type: 'send-advert', priority: PRIORITY_STOP });
  t.transition('BACKUP', reason);
  if (wasMaster) t.act({ type: 'del-vips' });
  if (!keepInterval) t.set({ masterAdverInterval: t.s.config.advertInterval });
  t.set({ preemptUntil: null });
  t.armDown(t.downInterval());
}

/** Enter FAULT; a master first says goodbye with priority 0 and drops its VIPs. */
function enterFault(t: Step, reason: string): void {
  const wasMaster = t.s.state === 'MASTER';
  t.cancelTimers();
  if (wasMaster) t.act({ type: 'send-advert', priority: PRIORITY_STOP });
  t.transition('FAULT', reason);
  if (wasMaster) t.act({ type: 'del-vips' });
  t.set({ master: null });
}

/** Leave FAULT: an owner goes straight to MASTER, others to BACKUP. */
function leaveFault(t: Step, reason: string): void {
  if (t.s.config.priority === PRIORITY_OWNER) becomeMaster(t, `${reason}; address owner`);
  else enterBackup(t, reason);
}

function startup(t: Step): void {
  const c = t.s.config;
  t.set({ masterAdverInterval: c.advertInterval, master: null, preemptUntil: c.preemptDelay > 0 ? t.now + c.preemptDelay : null });
  if (t.s.faulted) {
    t.transition('FAULT', `startup with fault: ${t.s.faultReason}`);
  } else if (t.s.syncFault) {
    t.transition('FAULT', 'startup held in fault by sync group');
  } else if (c.priority === PRIORITY_OWNER) {
    becomeMaster(t, 'startup as address owner (priority 255)');
  } else if (c.initialState === 'MASTER') {
    // keepalived 2.2.7: "Entering BACKUP STATE (init)", down timer one interval + minimum skew.
    t.transition('BACKUP', `startup (init): state MASTER with priority ${c.priority} waits one advert interval`);
    t.armDown(initialMasterDownMs(c.version, c.advertInterval));
  } else {
    t.transition('BACKUP', 'startup (init)');
    t.armDown(t.downInterval());
  }
}

/** Meaning checks of an advert (keepalived vrrp_in_chk order); false = dropped. */
function acceptable(t: Step, p: VrrpPacket, src: Uint8Array, from: string): boolean {
  const c = t.s.config;
  const drop = (reason: 'own' | 'version' | 'vrid' | 'peer' | 'auth' | 'interval', detail: string): false => {
    t.act({ type: 'drop', reason, detail });
    return false;
  };
  if (sameIp(src, c.primaryAddress)) return drop('own', `advert from our own address ${from}`);
  if (p.version !== c.version) return drop('version', `VRRPv${p.version} advert from ${from}, we run v${c.version}`);
  if (p.vrid !== c.vrid) return drop('vrid', `VRID ${p.vrid} from ${from}, ours is ${c.vrid}`);
  if (c.unicastPeers.length > 0 && !c.unicastPeers.some((u) => sameIp(u, src))) return drop('peer', `${from} is not a unicast_peer`);
  // RFC 5798 §5.2.7 gives no meaning to 0; adopted, it would shrink Master_Down_Interval to Skew_Time.
  if (p.version === 3 && p.maxAdvertInterval === 0) return drop('interval', `VRRPv3 advert with Max Adver Int 0 from ${from}`);
  if (p.version === 2) {
    const pass = c.auth?.type === 'PASS';
    const wantType = pass ? VRRP_AUTH_TYPE.pass : VRRP_AUTH_TYPE.none;
    if (p.authType !== wantType) return drop('auth', `auth type ${p.authType} from ${from}, ours is ${wantType}`);
    // RFC 3768 §5.3.10 / keepalived: only the 8-byte field over IPv4 carries the password.
    if (pass && c.family === 4 && !sameBytes(p.authData, passwordAuthData(c.auth.password))) {
      return drop('auth', `wrong password from ${from}`);
    }
    if (p.advertInterval * 100 !== c.advertInterval) {
      return drop('interval', `advert interval ${p.advertInterval} s from ${from}, ours is ${c.advertInterval / 100} s`);
    }
  }
  const ours = t.s.vipAddresses;
  if (p.addresses.length !== ours.length || !p.addresses.every((a) => ours.some((o) => sameIp(o, a)))) {
    t.act({ type: 'count', what: 'vip-mismatch', detail: `${from} advertises [${p.addresses.map(formatIp).join(', ')}], ours [${ours.map(formatIp).join(', ')}]` });
  }
  return true;
}

/** RFC 5798 §6.4.2 Backup receiving an ADVERTISEMENT, with keepalived's preempt_delay. */
function backupAdvert(t: Step, p: VrrpPacket, from: string): void {
  const c = t.s.config;
  const ours = t.s.effectivePriority;
  if (p.priority === PRIORITY_STOP) {
    t.armDown(t.skew(), `priority 0 from ${from}`);
    return;
  }
  const delaying = c.preemptDelay > 0 && (t.s.preemptUntil === null || t.now < t.s.preemptUntil);
  if (!c.preempt || p.priority >= ours || delaying) {
    if (p.version === 3 && p.maxAdvertInterval !== t.s.masterAdverInterval) {
      t.act({ type: 'log', message: `advert interval ${p.maxAdvertInterval * 10} ms adopted from master ${from} (was ${t.s.masterAdverInterval * 10} ms)` });
      t.set({ masterAdverInterval: p.maxAdvertInterval });
    }
    t.seeMaster(from, p.priority);
    if (c.preemptDelay > 0) {
      if (p.priority >= ours) t.set({ preemptUntil: null });
      else if (t.s.preemptUntil === null) {
        t.set({ preemptUntil: t.now + c.preemptDelay });
        t.act({ type: 'log', message: `lower priority ${p.priority} master ${from}: preempt delay ${secs(c.preemptDelay)} started` });
      }
    }
    t.armDown(t.downInterval());
    return;
  }
  // Preempting: leave the timer running so it expires and we take over.
  t.act({ type: 'log', message: `lower priority ${p.priority} advert from ${from} discarded (ours ${ours}, preempting)` });
}

/** RFC 5798 §6.4.3 Master receiving an ADVERTISEMENT, as keepalived 2.2.7 does it. */
function masterAdvert(t: Step, p: VrrpPacket, src: Uint8Array, from: string): void {
  const c = t.s.config;
  const ours = t.s.effectivePriority;
  if (p.priority === PRIORITY_STOP) {
    t.act({ type: 'send-advert', priority: ours });
    t.armAdver();
    // Another master just left (a healed split brain, or a stop): clients may
    // still point at it, so tell them where the VIPs are.
    t.act({ type: 'garp', reason: `priority 0 from ${from}` });
    return;
  }
  const higherAddr = compareIp(src, c.primaryAddress) > 0;
  if (p.priority > ours || (p.priority === ours && higherAddr)) {
    const reason = p.priority > ours ? `higher priority ${p.priority} from ${from}` : `equal priority ${p.priority} from higher address ${from}`;
    if (p.version === 3) t.set({ masterAdverInterval: p.maxAdvertInterval });
    enterBackup(t, reason, true);
    t.seeMaster(from, p.priority);
    return;
  }
  // Lower priority (or equal from a lower address): split brain; re-assert at once
  // ("forcing new election") and re-announce the VIPs so neighbours follow us.
  t.act({ type: 'send-advert', priority: ours });
  t.armAdver();
  const reason =
    p.priority < ours ? `lower priority ${p.priority} advert from ${from} (ours ${ours})` : `equal priority ${p.priority} advert from lower address ${from}`;
  t.act({ type: 'garp', reason });
}

/** Whether two adverts built from these settings differ (the VIP list compared as a set). */
function advertDiffers(a: VrrpState, b: VrrpState): boolean {
  const ca = a.config;
  const cb = b.config;
  const authA = ca.auth?.type === 'PASS' ? ca.auth.password : '';
  const authB = cb.auth?.type === 'PASS' ? cb.auth.password : '';
  return (
    a.effectivePriority !== b.effectivePriority ||
    ca.advertInterval !== cb.advertInterval ||
    authA !== authB ||
    a.vipAddresses.length !== b.vipAddresses.length ||
    !a.vipAddresses.every((x) => b.vipAddresses.some((y) => sameIp(x, y)))
  );
}

/**
 * A reload's new settings, applied without leaving the state (issue #10).
 * The effective priority keeps its tracking offset over the new base (the
 * driver re-judges tracking right after); a MASTER whose advert changes
 * (priority, interval, VIPs, password) sends it at once and re-arms
 * Adver_Timer on the new interval, so backups adopt a new interval before
 * the old Master_Down_Interval could run out. A BACKUP keeps the interval it
 * adopted from a v3 master. Whatever follows (a peer preempting a lowered
 * master, a raised backup preempting) is the protocol's ordinary course,
 * with `reason` in front of its transition reason.
 */
function reconfigure(t: Step, c: VrrpConfig, reason: string): void {
  const old = t.s;
  const o = old.config;
  if (c.vrid !== o.vrid || c.version !== o.version || c.family !== o.family) {
    bad(c, 'virtual_router_id, version and family cannot change in place');
  }
  const vipAddresses = checkConfig(c);
  const offset = o.priority === PRIORITY_OWNER ? 0 : old.effectivePriority - o.priority;
  const effectivePriority = clampPriority(c.priority, c.priority + offset);
  const st = old.state;
  const keepAdopted = st === 'BACKUP' && c.version === 3 && old.master !== null;
  let preemptUntil = old.preemptUntil;
  if (c.preemptDelay === 0) preemptUntil = null;
  else if (preemptUntil !== null && preemptUntil > t.now + c.preemptDelay) preemptUntil = t.now + c.preemptDelay;
  t.set({
    config: c,
    vipAddresses,
    effectivePriority,
    masterAdverInterval: keepAdopted ? old.masterAdverInterval : c.advertInterval,
    preemptUntil,
  });
  const decisive = o.priority !== c.priority || o.preempt !== c.preempt || o.preemptDelay !== c.preemptDelay || effectivePriority !== old.effectivePriority;
  if (decisive && (st === 'MASTER' || st === 'BACKUP')) {
    // Long enough for a peer to notice and act: its down interval at the slower interval, plus our delay.
    const slow = Math.max(o.advertInterval, c.advertInterval, old.masterAdverInterval);
    t.set({ reloadNote: reason, reloadNoteUntil: t.now + 2 * masterDownIntervalMs(c.version, 1, slow) + c.preemptDelay });
  }
  if (effectivePriority !== old.effectivePriority) t.act({ type: 'log', message: `effective priority ${old.effectivePriority} -> ${effectivePriority} (${reason})` });
  if (st === 'MASTER' && advertDiffers(old, t.s)) {
    t.act({ type: 'send-advert', priority: effectivePriority });
    t.armAdver();
  }
}

/**
 * One step of the machine: the next state and the actions for the driver.
 * Pure: `state` is not modified. Inputs that mean nothing in the current
 * state (an advert in INIT or FAULT, a stale timeout, startup twice) give no
 * actions and the same state.
 */
export function step(state: VrrpState, input: VrrpInput): VrrpStepResult {
  const t = new Step(state, input.now);
  const st = state.state;
  switch (input.kind) {
    case 'startup':
      if (st === 'INIT') startup(t);
      break;
    case 'timeout': {
      const at = state.timers[input.timer];
      if (at === null || input.now < at - TIMER_SLACK_MS) break;
      if (input.timer === 'adver' && st === 'MASTER') {
        t.act({ type: 'send-advert', priority: state.effectivePriority });
        t.armAdver();
      } else if (input.timer === 'master-down' && st === 'BACKUP') {
        becomeMaster(t, `master down timer expired (${state.downCause})`);
      }
      break;
    }
    case 'advert': {
      if (st !== 'BACKUP' && st !== 'MASTER') break;
      const from = formatIp(input.src);
      if (!acceptable(t, input.packet, input.src, from)) break;
      if (st === 'BACKUP') backupAdvert(t, input.packet, from);
      else masterAdvert(t, input.packet, input.src, from);
      break;
    }
    case 'priority': {
      const eff = clampPriority(state.config.priority, input.effective);
      if (eff === state.effectivePriority) break;
      t.act({ type: 'log', message: `effective priority ${state.effectivePriority} -> ${eff}` });
      t.set({ effectivePriority: eff });
      break;
    }
    case 'fault':
      if (input.active) {
        t.set({ faulted: true, faultReason: input.reason });
        if (st === 'MASTER' || st === 'BACKUP') enterFault(t, `fault: ${input.reason}`);
      } else {
        t.set({ faulted: false, faultReason: '' });
        if (st === 'FAULT' && !state.syncFault) leaveFault(t, `fault cleared: ${input.reason}`);
      }
      break;
    case 'sync': {
      const reason = `sync group: ${input.reason}`;
      if (input.to === 'FAULT') {
        t.set({ syncFault: true });
        if (st === 'MASTER' || st === 'BACKUP') enterFault(t, reason);
        break;
      }
      t.set({ syncFault: false });
      if (state.faulted || st === 'INIT') break;
      if (input.to === 'MASTER' && st !== 'MASTER') becomeMaster(t, reason);
      else if (input.to === 'BACKUP' && st !== 'BACKUP') enterBackup(t, reason);
      break;
    }
    case 'resume':
      if (st === 'BACKUP' && !state.faulted && !state.syncFault) becomeMaster(t, input.reason);
      break;
    case 'reconfigure':
      reconfigure(t, input.config, input.reason);
      break;
    case 'shutdown':
      if (st === 'INIT') break;
      t.set({ reloadNote: '' });
      t.cancelTimers();
      if (st === 'MASTER') t.act({ type: 'send-advert', priority: PRIORITY_STOP });
      t.transition('INIT', 'shutdown');
      if (st === 'MASTER') t.act({ type: 'del-vips' });
      t.set({ master: null });
      break;
  }
  return t.result();
}
