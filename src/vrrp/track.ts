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
 * weight is added while up, a negative one while down. The effective priority
 * is clamped to 1..254; an address owner (255) is never moved.
 */
import { hysteresisInit, hysteresisStep, type HysteresisState } from '../check/hysteresis';
import { miscCheck } from '../check/misc';
import type { VrrpScript } from '../config/types';
import type { Clock, TimerHandle } from '../lib/clock';
import type { RunAsIds } from '../lib/run-as';

/** One tracked object's contribution. */
export interface TrackedItem {
  kind: 'script' | 'interface';
  name: string;
  up: boolean;
  weight: number;
}

/** What tracking means for an instance right now. */
export interface TrackVerdict {
  effectivePriority: number;
  /** Names of the weight-0 items that are down (FAULT when non-empty). */
  faults: string[];
}

/** Applies keepalived's weight rule to the items an instance tracks. */
export function judgeTracking(basePriority: number, items: readonly TrackedItem[]): TrackVerdict {
  const faults = items.filter((i) => !i.up && i.weight === 0).map((i) => `${i.kind} ${i.name} down`);
  if (basePriority === 255) return { effectivePriority: 255, faults };
  let p = basePriority;
  for (const i of items) {
    if (i.weight > 0 && i.up) p += i.weight;
    if (i.weight < 0 && !i.up) p += i.weight;
  }
  return { effectivePriority: Math.min(254, Math.max(1, p)), faults };
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
