/**
 * The director's memory of real-server health across restarts: the part of
 * `director.json` that holds the servers not in their starting state (down,
 * or up under `alpha`, or with a dynamic weight), kept in step with every
 * report, and when to write it.
 *
 * A write happens at once when the last one is at least {@link HEALTH_SAVE_MS}
 * old, so an isolated change reaches the file before the pass that acts on
 * it; during a burst, once that much time has passed (a thousand changes cost
 * a few writes, each file at most that stale). A large file (10,000 services,
 * thousands of servers down) takes milliseconds of CPU to write: the least
 * time between two writes grows to {@link HEALTH_SAVE_COST_FACTOR} times the
 * CPU time the last write took (at most {@link HEALTH_SAVE_MAX_MS}), so
 * flapping real servers never cost more than about 1 % of a CPU in writes.
 */
import type { RealServer, VirtualServer } from '../config/types';
import type { Clock, TimerHandle } from '../lib/clock';
import type { RsHealth } from '../reconcile/desired';
import { rsId } from './checks';
import type { StoredHealth } from './state';

/** The least time between two writes of the health to the state file. */
export const HEALTH_SAVE_MS = 200;
/** The least time between two writes, in multiples of the CPU time the last write took. */
export const HEALTH_SAVE_COST_FACTOR = 100;
/** The longest the least time between two writes grows to. */
export const HEALTH_SAVE_MAX_MS = 2000;

/** A real server's address as the state file keeps it. */
export function addressText(rs: RealServer): string {
  return `${rs.address.address}:${rs.address.port}`;
}

/** See the file's doc. `save` writes the state file (health included). */
export class KnownHealthStore {
  /** By real-server id: what the state file holds. */
  readonly deviating = new Map<string, StoredHealth>();
  /** Whether `deviating` changed since the last write. */
  dirty = false;
  private savedAt = -Infinity;
  /** The least time between two writes now (see the file's doc). */
  private gapMs = HEALTH_SAVE_MS;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly save: () => void,
  ) {}

  /**
   * Takes the stored health of the real servers `lookup` still knows at the same address
   * (and with checks) into `reports`; returns how many, and how many of them are down.
   */
  restore(stored: ReadonlyMap<string, StoredHealth>, lookup: (id: string) => { vs: VirtualServer; rs: RealServer } | undefined, reports: Map<string, RsHealth>): { servers: number; down: number } {
    let servers = 0;
    let down = 0;
    for (const [id, h] of stored) {
      const found = lookup(id);
      if (!found || found.rs.checks.length === 0 || h.address !== addressText(found.rs)) continue;
      reports.set(id, { up: h.up, reason: h.reason, ...(h.weight !== undefined ? { weight: h.weight } : {}) });
      this.deviating.set(id, h);
      servers++;
      if (!h.up) down++;
    }
    return { servers, down };
  }

  /** Keeps the stored health in step with one report of a real server with checks (`id`: its `VS/RS`). */
  note(vs: VirtualServer, rs: RealServer, h: RsHealth, id = rsId(vs.name, rs.name)): void {
    if (h.up !== vs.alpha && h.weight === undefined) {
      if (this.deviating.delete(id)) this.dirty = true;
      return;
    }
    const prev = this.deviating.get(id);
    if (prev && prev.up === h.up && prev.weight === h.weight) return;
    this.deviating.set(id, { up: h.up, reason: h.reason ?? '', address: addressText(rs), ...(h.weight !== undefined ? { weight: h.weight } : {}) });
    this.dirty = true;
  }

  /** Forgets a real server that left the configuration. */
  drop(id: string): void {
    if (this.deviating.delete(id)) this.dirty = true;
  }

  /** Writes the changes now or within HEALTH_SAVE_MS; see the file's doc. */
  flush(): void {
    if (!this.dirty || this.stopped) return;
    const now = this.clock.now();
    if (now - this.savedAt >= this.gapMs) {
      this.savedAt = now;
      this.timedSave();
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = this.clock.at(this.savedAt + this.gapMs, () => {
      this.timer = undefined;
      if (this.stopped || !this.dirty) return;
      this.savedAt = this.clock.now();
      this.timedSave();
    });
  }

  private timedSave(): void {
    const before = process.cpuUsage();
    this.save();
    const used = process.cpuUsage(before);
    const ms = (used.user + used.system) / 1000;
    this.gapMs = Math.min(HEALTH_SAVE_MAX_MS, Math.max(HEALTH_SAVE_MS, ms * HEALTH_SAVE_COST_FACTOR));
  }

  /** No more timed writes (the director writes once more as it stops). */
  stop(): void {
    this.stopped = true;
    this.clock.clear(this.timer);
    this.timer = undefined;
  }
}
