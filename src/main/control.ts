/**
 * What the single-process daemon (daemon.ts) and the supervisor's parent
 * process (supervisor.ts) do alike: load the configuration at start and on
 * `reload`, keep the events of every subsystem behind `lvsctl events` (and
 * the metrics' transition counts), and answer the control commands that
 * need no director.
 */
import type { LvsdConfig } from '../config';
import { loadChecked, problemLines } from './check-config';
export { type CheckedConfig, loadChecked, problemLines } from './check-config';
import { ControlError, type ControlHandler, type ControlHandlers } from '../control/server';
import type { EventsResult, StatusResult } from '../control/types';
import { EVENT_CAPACITY, EVENT_SUBSYSTEMS, EVENTS_DEFAULT_LIMIT, type EventQuery, EventStore, type EventSubsystem, emitEvent, isEventSubsystem, setEventSink } from '../events';
import type { Logger } from '../log';

/** How many events `lvsctl events` can look back on (and lines per file in state_dir). */
export const EVENT_HISTORY = EVENT_CAPACITY;

/** A configuration that loaded without errors, and its warnings as `FILE:LINE: message` lines. */
export interface LoadedConfig {
  readonly config: LvsdConfig;
  readonly warnings: string[];
}

/**
 * Loads `file` at start. An invalid file throws an Error with code `ECONFIG`
 * whose message lists every problem (lvsd does not start).
 */
export function loadAtStart(file: string): LoadedConfig {
  const loaded = loadChecked(file);
  if (!loaded.config) {
    throw Object.assign(new Error(`invalid configuration:\n${problemLines(loaded.problems).join('\n')}`), { code: 'ECONFIG' });
  }
  return { config: loaded.config, warnings: problemLines(loaded.problems) };
}

/**
 * Loads `file` for `reload`. An invalid file is logged problem by problem and
 * refused with a {@link ControlError} `ECONFIG`; the caller changes nothing.
 */
export function loadForReload(file: string, log: Logger): LoadedConfig {
  const loaded = loadChecked(file);
  if (!loaded.config) {
    const lines = problemLines(loaded.problems);
    log.error('reload refused: the configuration is invalid; nothing was changed', { problems: lines.length });
    for (const l of lines) log.error(l);
    emitEvent({ subsystem: 'reload', severity: 'error', subject: file, message: `refused, nothing changed: ${lines.length} problem(s), first: ${lines[0] ?? 'unreadable'}`, fields: { problems: lines.length } });
    throw new ControlError('ECONFIG', `configuration invalid, nothing changed:\n${lines.join('\n')}`);
  }
  return { config: loaded.config, warnings: problemLines(loaded.problems) };
}

/** Records an applied reload as a `reload` event: how many changes, and the changes themselves. */
export function reloadEvent(file: string, changes: readonly string[], warnings: readonly string[] = []): void {
  emitEvent({
    subsystem: 'reload',
    subject: file,
    message: changes.length ? `applied: ${changes.join('; ')}` : 'applied: no change',
    fields: { changes: changes.length, warnings: warnings.length },
  });
}

/**
 * The events behind `lvsctl events` (every subsystem's, src/events), kept
 * in `state_dir` so they survive a restart, and how many times each VRRP
 * instance entered each state since start (for metrics). The process that
 * owns it (the supervisor's parent) is its process's event sink: what its
 * own code and its children ({@link EventHistory.add} of their IPC `event`
 * messages) emit ends up here.
 */
export class EventHistory {
  /** The store: ring, files, queries. */
  readonly store: EventStore;
  /** Transitions since start, instance → state entered → count. */
  readonly counts: Record<string, Record<string, number>> = {};
  /** Notify failures since start, by kind (`hook`, `webhook`), counted from the `notify` events that pass through. */
  readonly notifyFailures: Record<string, number> = { hook: 0, webhook: 0 };

  /** With `dir` (state_dir) persisted there; without it, in memory only (a child's copy). */
  constructor(opts: { readonly dir?: string; readonly logger?: Logger; readonly capacity?: number } = {}) {
    this.store = new EventStore({ capacity: opts.capacity ?? EVENT_HISTORY, ...(opts.dir !== undefined ? { dir: opts.dir } : {}), ...(opts.logger ? { logger: opts.logger } : {}) });
  }

  /** Makes this history the process's event sink ({@link emitEvent} lands here). */
  sink(): this {
    setEventSink((e) => this.add(e));
    return this;
  }

  /** Records a VRRP transition as a `vrrp` event and counts it. */
  record(t: { readonly at: string; readonly instance: string; readonly from: string; readonly to: string; readonly reason: string; readonly priority?: number }): void {
    const severity = t.to === 'FAULT' ? 'warn' : 'info';
    this.store.add({
      at: t.at,
      subsystem: 'vrrp',
      severity,
      subject: t.instance,
      message: `${t.from} -> ${t.to}: ${t.reason}`,
      fields: { from: t.from, to: t.to, reason: t.reason, ...(t.priority !== undefined ? { priority: t.priority } : {}) },
    });
    const c = (this.counts[t.instance] ??= {});
    c[t.to] = (c[t.to] ?? 0) + 1;
  }

  /** Records any event (e.g. one a child sent). */
  add(e: unknown): void {
    const n = e as { subsystem?: unknown; fields?: { url?: unknown; hook?: unknown } };
    if (n.subsystem === 'notify' && n.fields) {
      // src/notify: a webhook's failure names its url, a hook's its command line.
      const kind = n.fields.url !== undefined ? 'webhook' : n.fields.hook !== undefined ? 'hook' : undefined;
      if (kind) this.notifyFailures[kind] = (this.notifyFailures[kind] ?? 0) + 1;
    }
    this.store.add(e);
  }

  /**
   * The answer to `events`. Arguments (each optional): `limit` (a positive
   * number; default 50 unless `since` or `after` is given, then all that
   * match), `since` (ISO time), `subsystem` (a name or a list), `after` (a
   * seq: only newer events) with `wait` (ms to wait for one, for
   * `lvsctl events --follow`). Bad arguments are refused with `BAD_ARGS`.
   */
  async events(args: Readonly<Record<string, unknown>>): Promise<EventsResult> {
    const q = eventQueryOf(args);
    const r = q.after !== undefined && typeof args.wait === 'number' && args.wait > 0 ? await this.store.wait({ ...q, after: q.after }, args.wait) : this.store.query(q);
    return { events: r.events, seq: r.seq };
  }

  /** Closes the file. */
  close(): void {
    this.store.close();
  }
}

/** Reads `events` arguments into a query; throws {@link ControlError} `BAD_ARGS`. */
export function eventQueryOf(args: Readonly<Record<string, unknown>>): EventQuery {
  const bad = (m: string): never => {
    throw new ControlError('BAD_ARGS', `events: ${m}`);
  };
  const { since, after, subsystem } = args;
  if (since !== undefined && (typeof since !== 'string' || Number.isNaN(Date.parse(since)))) bad(`"since" must be an ISO 8601 time, not ${JSON.stringify(since)}`);
  if (after !== undefined && (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0)) bad(`"after" must be a whole number, not ${JSON.stringify(after)}`);
  const subs = subsystem === undefined ? [] : Array.isArray(subsystem) ? subsystem : [subsystem];
  for (const s of subs) if (!isEventSubsystem(s)) bad(`unknown subsystem ${JSON.stringify(s)} (known: ${EVENT_SUBSYSTEMS.join(', ')})`);
  const limit = typeof args.limit === 'number' && args.limit > 0 ? Math.floor(args.limit) : since !== undefined || after !== undefined ? undefined : EVENTS_DEFAULT_LIMIT;
  return {
    ...(since !== undefined ? { since: since as string } : {}),
    ...(after !== undefined ? { after: after as number } : {}),
    ...(subs.length ? { subsystems: subs as EventSubsystem[] } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

/** Wraps the operator commands (drain, disable, enable) of `handlers` so each one that succeeds is recorded as an `operator` event. */
export function withOperatorEvents(handlers: ControlHandlers): ControlHandlers {
  const out: Record<string, ControlHandler> = { ...handlers };
  for (const what of ['drain', 'disable', 'enable'] as const) {
    const h = handlers[what];
    if (!h) continue;
    out[what] = async (args, ctx) => {
      const r = await h(args, ctx);
      if (what === 'drain' && args.vs === undefined && args.rs === undefined) {
        emitEvent({ subsystem: 'operator', subject: 'director', message: 'director drained: every BGP-announced VIP withdrawn', fields: { command: 'drain' } });
        return r;
      }
      const vs = String(args.vs);
      const rs = String(args.rs);
      emitEvent({ subsystem: 'operator', subject: `${vs}/${rs}`, message: what === 'enable' ? 'enabled: override cleared' : what === 'drain' ? 'drained: weight 0, established connections continue' : 'disabled: removed from the table', fields: { command: what } });
      return r;
    };
  }
  const undrain = handlers.undrain;
  if (undrain) {
    out.undrain = async (args, ctx) => {
      const r = await undrain(args, ctx);
      emitEvent({ subsystem: 'operator', subject: 'director', message: 'director undrained: VIPs announced again where quorum allows', fields: { command: 'undrain' } });
      return r;
    };
  }
  return out;
}

/** What {@link vrrpHandlers} answers from. */
export interface VrrpControl {
  status(): StatusResult | Promise<StatusResult>;
  reload(): Promise<{ changes: string[]; warnings: string[] }>;
  readonly history: EventHistory;
}

/** The commands answered without the director: `status`, `show vrrp`, `events` and `reload`. */
export function vrrpHandlers(p: VrrpControl): ControlHandlers {
  return {
    status: () => p.status(),
    'show vrrp': () => p.status(),
    events: (args) => p.history.events(args),
    reload: () => p.reload(),
  };
}
