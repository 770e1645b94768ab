/**
 * Scheduled maintenance windows: a real server's `maintenance` cron
 * expression opens a window of `maintenance_duration` during which the
 * server is drained (weight 0, established connections finish), as if an
 * operator had run `lvsctl drain`, without touching the operator's own
 * overrides or the state file. The window's end comes from the injected
 * clock, so tests drive it without sleeping; the cron side is injectable too.
 */
import { emitEvent } from '../events';
import * as cron from 'node-cron';
import type { LvsdConfig } from '../config/types';
import type { Clock, TimerHandle } from '../lib/clock';
import type { Logger } from '../log';

/** Something that calls `fire` on a cron expression until stopped. */
export type CronScheduler = (expression: string, fire: () => void) => { stop(): void };

/** node-cron, as the scheduler in production. */
export const nodeCron: CronScheduler = (expression, fire) => {
  const task = cron.schedule(expression, fire);
  return { stop: () => void task.stop() };
};

interface Window {
  expression: string;
  durationMs: number;
  job: { stop(): void };
  closes: TimerHandle | undefined;
}

/** The maintenance windows of every real server that has one. */
export class MaintenanceWindows {
  private readonly windows = new Map<string, Window>();
  private readonly open = new Set<string>();

  /** `onChange` runs whenever windows open or close, with the real servers (`VS/RS`) concerned (the director then reconciles). */
  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly onChange: (ids: readonly string[]) => void,
    private readonly schedule: CronScheduler = nodeCron,
  ) {}

  /** Real servers (`VS/RS` ids) inside a window now. */
  active(): ReadonlySet<string> {
    return this.open;
  }

  /**
   * Schedules the windows of `config`: new ones start, changed ones restart
   * (an open window of a changed schedule closes), removed ones stop.
   */
  set(config: LvsdConfig): void {
    const wanted = new Map<string, { expression: string; durationMs: number }>();
    for (const vs of config.virtualServers.values()) {
      for (const rs of vs.realServers.values()) {
        if (rs.maintenance) wanted.set(`${vs.name}/${rs.name}`, { expression: rs.maintenance.cron, durationMs: rs.maintenance.durationMs });
      }
    }
    const changed: string[] = [];
    for (const [id, w] of this.windows) {
      const next = wanted.get(id);
      if (next && next.expression === w.expression && next.durationMs === w.durationMs) continue;
      if (this.drop(id, w)) changed.push(id);
    }
    for (const [id, spec] of wanted) {
      if (this.windows.has(id)) continue;
      const w: Window = { ...spec, job: { stop: () => undefined }, closes: undefined };
      w.job = this.schedule(spec.expression, () => this.openWindow(id, w));
      this.windows.set(id, w);
    }
    if (changed.length > 0) this.onChange(changed);
  }

  /** Stops every schedule; open windows are forgotten (the director is stopping). */
  stop(): void {
    for (const [id, w] of this.windows) this.drop(id, w);
  }

  private openWindow(id: string, w: Window): void {
    this.clock.clear(w.closes);
    w.closes = this.clock.at(this.clock.now() + w.durationMs, () => {
      w.closes = undefined;
      this.open.delete(id);
      this.logger.info('maintenance window closed', { rs: id });
      emitEvent({ subsystem: 'maintenance', subject: id, message: 'window closed: back in service' });
      this.onChange([id]);
    });
    if (this.open.has(id)) return; // a window that fires again while open is extended
    this.open.add(id);
    this.logger.info('maintenance window opened: draining', { rs: id, minutes: Math.round(w.durationMs / 60000) });
    emitEvent({ subsystem: 'maintenance', subject: id, message: `window opened: drained for ${Math.round(w.durationMs / 60000)} min`, fields: { minutes: Math.round(w.durationMs / 60000) } });
    this.onChange([id]);
  }

  /** Stops one window's schedule; true when it was open. */
  private drop(id: string, w: Window): boolean {
    w.job.stop();
    this.clock.clear(w.closes);
    this.windows.delete(id);
    return this.open.delete(id);
  }
}
