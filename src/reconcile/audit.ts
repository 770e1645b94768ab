/**
 * When the reconciler audits the kernel table: a cron expression run by
 * node-cron (the default, every minute) or a fixed number of seconds on the
 * injected {@link Clock} (tests drive it with a FakeClock).
 *
 * Configured by `[global] audit_interval`: a whole number of seconds
 * (`audit_interval = 30`) or a cron expression, five or six fields
 * (`audit_interval = 0,30 * * * * *`). keepalived never re-reads the kernel
 * (its issue #1877); lvsd does, to repair changes made by hand.
 */
import { createTask, validate, type ScheduledTask } from 'node-cron';
import type { Clock, TimerHandle } from '../lib/clock';

/** The default audit schedule: every minute. */
export const DEFAULT_AUDIT_CRON = '* * * * *';

/** Starts and stops a periodic call. */
export interface AuditSchedule {
  /** Calls `fn` periodically until {@link stop}; a second start replaces the first. */
  start(fn: () => void): void;
  stop(): void;
  /** Human text for logs: `cron "* * * * *"` or `every 30 s`. */
  readonly description: string;
}

/** Thrown by {@link parseAuditInterval} for a value that is neither seconds nor cron. */
export class AuditIntervalError extends Error {
  /** Stable error code. */
  readonly code = 'AUDIT_INTERVAL_INVALID';
  constructor(value: string) {
    super(`audit_interval "${value}" is neither a whole number of seconds (e.g. 60) nor a cron expression (e.g. "*/30 * * * * *")`);
    this.name = 'AuditIntervalError';
  }
}

/** An audit every `seconds` seconds on `clock`. */
export function intervalAudit(seconds: number, clock: Clock): AuditSchedule {
  let timer: TimerHandle | undefined;
  let running = false;
  const ms = seconds * 1000;
  const self: AuditSchedule = {
    description: `every ${seconds} s`,
    start(fn) {
      self.stop();
      running = true;
      const arm = (): void => {
        timer = clock.at(clock.now() + ms, () => {
          if (!running) return;
          arm();
          fn();
        });
      };
      arm();
    },
    stop() {
      running = false;
      clock.clear(timer);
      timer = undefined;
    },
  };
  return self;
}

/** An audit at each match of cron `expr` (node-cron; six fields = with seconds). Throws {@link AuditIntervalError} for an invalid expression. */
export function cronAudit(expr: string): AuditSchedule {
  if (!validate(expr)) throw new AuditIntervalError(expr);
  let task: ScheduledTask | undefined;
  const self: AuditSchedule = {
    description: `cron "${expr}"`,
    start(fn) {
      self.stop();
      // noOverlap: a slow audit is never stacked; unref: the audit alone never keeps the process alive.
      task = createTask(expr, () => fn(), { noOverlap: true, name: 'lvsd-ipvs-audit', unref: true });
      void task.start();
    },
    stop() {
      if (task) void task.destroy();
      task = undefined;
    },
  };
  return self;
}

/**
 * The schedule for an `audit_interval` value: seconds (number or digits) → {@link intervalAudit};
 * otherwise a cron expression → {@link cronAudit}; undefined → every minute by cron.
 * Throws {@link AuditIntervalError}.
 */
export function parseAuditInterval(value: string | number | undefined, clock: Clock): AuditSchedule {
  if (value === undefined) return cronAudit(DEFAULT_AUDIT_CRON);
  const text = String(value).trim();
  if (/^[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 86400) throw new AuditIntervalError(text);
    return intervalAudit(n, clock);
  }
  return cronAudit(text);
}
