/**
 * What the single-process daemon (daemon.ts) and the supervisor's parent
 * process (supervisor.ts) do alike: load the configuration at start and on
 * `reload`, keep the history of VRRP transitions behind `lvsctl events` (and
 * the metrics' transition counts), and answer the control commands that
 * need no director.
 */
import { type LvsdConfig, formatProblems, hasErrors, loadConfig } from '../config';
import { ControlError, type ControlHandlers } from '../control/server';
import type { EventRecord, EventsResult, StatusResult } from '../control/types';
import type { Logger } from '../log';

/** How many transitions `lvsctl events` can look back on. */
export const EVENT_HISTORY = 1000;

/** How many transitions `lvsctl events` answers when given no usable limit. */
const EVENTS_DEFAULT_LIMIT = 50;

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
  const loaded = loadConfig(file);
  if (!loaded.config || hasErrors(loaded.problems)) {
    throw Object.assign(new Error(`invalid configuration:\n${formatProblems(loaded.problems).join('\n')}`), { code: 'ECONFIG' });
  }
  return { config: loaded.config, warnings: formatProblems(loaded.problems) };
}

/**
 * Loads `file` for `reload`. An invalid file is logged problem by problem and
 * refused with a {@link ControlError} `ECONFIG`; the caller changes nothing.
 */
export function loadForReload(file: string, log: Logger): LoadedConfig {
  const loaded = loadConfig(file);
  if (!loaded.config || hasErrors(loaded.problems)) {
    const lines = formatProblems(loaded.problems);
    log.error('reload refused: the configuration is invalid; nothing was changed', { problems: lines.length });
    for (const l of lines) log.error(l);
    throw new ControlError('ECONFIG', `configuration invalid, nothing changed:\n${lines.join('\n')}`);
  }
  return { config: loaded.config, warnings: formatProblems(loaded.problems) };
}

/**
 * The last {@link EVENT_HISTORY} VRRP transitions, oldest first, and how many
 * times each instance entered each state since start (for metrics).
 */
export class TransitionHistory {
  private readonly records: EventRecord[] = [];
  /** Transitions since start, instance → state entered → count. */
  readonly counts: Record<string, Record<string, number>> = {};

  /** Keeps `e`, dropping the oldest beyond {@link EVENT_HISTORY}, and counts it. */
  record(e: EventRecord): void {
    this.records.push(e);
    if (this.records.length > EVENT_HISTORY) this.records.splice(0, this.records.length - EVENT_HISTORY);
    const c = (this.counts[e.instance] ??= {});
    c[e.to] = (c[e.to] ?? 0) + 1;
  }

  /** The answer to `events`: the last `args.limit` transitions (a positive number; default 50). */
  events(args: Readonly<Record<string, unknown>>): EventsResult {
    const limit = typeof args.limit === 'number' && args.limit > 0 ? Math.floor(args.limit) : EVENTS_DEFAULT_LIMIT;
    return { events: this.records.slice(-limit) };
  }
}

/** What {@link vrrpHandlers} answers from. */
export interface VrrpControl {
  status(): StatusResult | Promise<StatusResult>;
  reload(): Promise<{ changes: string[]; warnings: string[] }>;
  readonly history: TransitionHistory;
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
