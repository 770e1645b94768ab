/**
 * Reloads as the parent runs them: which part of the configuration each
 * child gets, which children a difference concerns, and one reload at a
 * time with the requests that arrive meanwhile coalesced into one more.
 * Pure, apart from the promises.
 */
import type { ConfigDiff, NamedDiff } from '../config/diff';
import type { LvsdConfig } from '../config/types';
import { ChildRole, type ChildRoleName } from './ipc';

const none = new Map<string, never>();

/**
 * The part of `config` a child of `role` gets: the VRRP process the global
 * and VRRP sections (and webhooks, which its hooks call), the director the
 * global section, checks, virtual servers and webhooks. Each child diffs
 * only its own part, so no work proportional to the LVS sections ever runs
 * on the VRRP process's event loop.
 */
export function configFor(role: ChildRoleName, config: LvsdConfig): LvsdConfig {
  return role === ChildRole.VRRP
    ? { ...config, checks: none, virtualServers: none }
    : { ...config, vrrpScripts: none, vrrpInstances: none, vrrpSyncGroups: none };
}

function touched(...d: NamedDiff[]): boolean {
  return d.some((n) => n.added.length + n.removed.length + n.changed.length > 0);
}

/** Whether `diff` changes what a child of `role` was given by {@link configFor}. */
export function concerns(role: ChildRoleName, diff: ConfigDiff): boolean {
  if (diff.global || touched(diff.notifiers)) return true;
  return role === ChildRole.VRRP
    ? touched(diff.vrrpInstances, diff.vrrpScripts, diff.vrrpSyncGroups)
    : diff.bgp || touched(diff.checks, diff.virtualServers, diff.realServers);
}

/**
 * Runs `run` one at a time. A request made while one runs joins the next
 * run (there is at most one waiting), which starts when the running one
 * ends, so a burst of N requests costs at most two runs and the last one
 * sees the file as it was after the burst. Every request is answered with
 * the result of the run it joined.
 */
export class SerialRuns<T> {
  private running: Promise<T> | undefined;
  private next: Promise<T> | undefined;

  constructor(private readonly run: () => Promise<T>) {}

  /** Whether a run is under way. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  request(): Promise<T> {
    if (this.next) return this.next;
    if (!this.running) return this.start();
    this.next = this.running.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  private start(): Promise<T> {
    const p = this.run();
    this.running = p;
    const done = (): void => {
      if (this.running === p) this.running = undefined;
    };
    p.then(done, done);
    return p;
  }
}
