/**
 * Tracking: what moves an instance's effective priority or puts it in FAULT.
 *
 * - vrrp_script: run every `interval` with a `timeout` (the MISC_CHECK runner:
 *   spawn in its own process group, as the script's `user` or script_user,
 *   killed whole on timeout), counted with rise/fall (the checkers'
 *   hysteresis machine).
 * - track_interface / the instance's own interface: link state from rtnetlink.
 *
 * keepalived's weight rule, for both: weight 0 and down → FAULT; a positive
 * weight is added while up, a negative one while down. `reverse` (keepalived's
 * `weight N reverse`, a multiplier of -1 in its vrrp_track.c) turns it around:
 * weight 0 and up → FAULT; a positive weight is taken off while up, a
 * negative one added (as its absolute value) while down. The effective
 * priority is clamped to 1..254; an address owner (255) is never moved.
 */
import { hysteresisInit, hysteresisStep, type HysteresisState } from '../check/hysteresis';
import { miscCheck } from '../check/misc';
import type { TrackInterface, TrackScript, VrrpScript } from '../config/types';
import type { Clock, TimerHandle } from '../lib/clock';
import type { RunAsIds } from '../lib/run-as';

/** One tracked object's contribution. */
export interface TrackedItem {
  kind: 'script' | 'interface';
  name: string;
  up: boolean;
  weight: number;
  /** keepalived's `reverse`: the item counts as failed while up (see the file's doc). */
  reverse?: boolean;
}

/** What tracking means for an instance right now. */
export interface TrackVerdict {
  effectivePriority: number;
  /** The weight-0 items that are down (up, when reversed), as `KIND NAME down` / `KIND NAME up (reverse)`: FAULT when non-empty. */
  faults: string[];
}

/** Applies keepalived's weight rule to the items an instance tracks. */
export function judgeTracking(basePriority: number, items: readonly TrackedItem[]): TrackVerdict {
  const faults = items
    .filter((i) => i.weight === 0 && i.up === !!i.reverse)
    .map((i) => (i.reverse ? `${i.kind} ${i.name} up (reverse)` : `${i.kind} ${i.name} down`));
  if (basePriority === 255) return { effectivePriority: 255, faults };
  let p = basePriority;
  for (const i of items) {
    const sign = i.reverse ? -1 : 1;
    if (i.weight > 0 && i.up) p += sign * i.weight;
    if (i.weight < 0 && !i.up) p += sign * i.weight;
  }
  return { effectivePriority: Math.min(254, Math.max(1, p)), faults };
}

/** One tracked item as `status` shows it: its state and what it does to the priority now. */
export interface TrackingLine {
  kind: 'script' | 'interface';
  name: string;
  state: 'up' | 'down';
  weight: number;
  reverse: boolean;
  /** The priority change it makes now (0 when none); with weight 0, a failed item means FAULT instead. */
  contribution: number;
  /** True when this item puts the instance in FAULT. */
  fault: boolean;
}

/** Each item's contribution to {@link judgeTracking}'s verdict, for `status` and the status page. */
export function explainTracking(items: readonly TrackedItem[]): TrackingLine[] {
  return items.map((i) => {
    const sign = i.reverse ? -1 : 1;
    const contribution = (i.weight > 0 && i.up) || (i.weight < 0 && !i.up) ? sign * i.weight : 0;
    return { kind: i.kind, name: i.name, state: i.up ? 'up' : 'down', weight: i.weight, reverse: !!i.reverse, contribution, fault: i.weight === 0 && i.up === !!i.reverse };
  });
}

/**
 * The item for one `track_script[]` line: its own weight and reverse when
 * given, else its vrrp_script's (keepalived: `chk weight 10` keeps the
 * script's `reverse`; `noreverse` drops it). `up` is the script's state.
 */
export function trackedScript(t: TrackScript, s: VrrpScript | undefined, up: boolean): TrackedItem {
  return { kind: 'script', name: t.name, up, weight: t.weight ?? s?.weight ?? 0, reverse: t.reverse ?? s?.weightReverse ?? false };
}

/** The item for one `track_interface[]` line. */
export function trackedInterface(t: TrackInterface, up: boolean): TrackedItem {
  return { kind: 'interface', name: t.name, up, weight: t.weight, reverse: t.reverse };
}

/** A vrrp_script's settings, in ms. */
export interface ScriptSettings {
  name: string;
  argv: readonly string[];
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  /** keepalived's init_fail: start in the failed state. */
  initFail: boolean;
  /** Run as this uid and gid (the script's `user`, or script_user); absent: the daemon's own. */
  runAs?: RunAsIds;
}

/** A `[vrrp_script]` section's settings for its tracker; it runs as the section's resolved user. */
export function scriptSettingsOf(s: VrrpScript): ScriptSettings {
  return {
    name: s.name,
    argv: s.script.argv,
    intervalMs: s.intervalMs,
    timeoutMs: s.timeoutMs,
    rise: s.rise,
    fall: s.fall,
    initFail: s.initFail,
    ...(s.user ? { runAs: { uid: s.user.uid, gid: s.user.gid } } : {}),
  };
}

function shellQuote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Runs one vrrp_script on its interval and reports each rise/fall transition. */
export class ScriptTracker {
  private state: HysteresisState;
  private timer: TimerHandle | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  /** The reason of the last result, for status and transition reasons. */
  lastReason = 'not run yet';

  constructor(
    private readonly clock: Clock,
    readonly settings: ScriptSettings,
    private readonly onChange: (up: boolean, reason: string) => void,
  ) {
    this.state = hysteresisInit(settings.initFail);
  }

  get up(): boolean {
    return this.state.up;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.clock.clear(this.timer);
    this.abort?.abort();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.clock.at(this.clock.now() + delayMs, () => void this.runOnce());
  }

  private async runOnce(): Promise<void> {
    const s = this.settings;
    this.abort = new AbortController();
    const result = await miscCheck(
      { type: 'MISC_CHECK', misc_path: s.argv.map(shellQuote).join(' '), misc_timeout: s.timeoutMs / 1000, ...(s.runAs ? { user: s.runAs } : {}) },
      this.abort.signal,
    );
    if (this.stopped) return;
    this.lastReason = result.reason;
    const step = hysteresisStep({ retry: 0, rise: s.rise, fall: s.fall }, this.state, result.ok);
    this.state = step.state;
    if (step.changed) this.onChange(step.state.up, `vrrp_script ${s.name} ${step.state.up ? 'succeeded' : 'failed'}: ${result.reason}`);
    this.schedule(s.intervalMs);
  }
}
