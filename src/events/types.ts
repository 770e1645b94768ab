/**
 * The shape of an lvsd event: one thing that happened, in any subsystem, as
 * an operator reads it in `lvsctl events` (and the status page's timeline).
 * Plain JSON, the same in the store's file, over IPC and on the control
 * socket.
 */
import { redactText } from '../notify/redact';

/** The subsystems that record events. */
export const EVENT_SUBSYSTEMS = [
  'vrrp', // instance transitions
  'track', // track script / interface results and priority changes
  'check', // real server up / down with the check's cause
  'quorum', // a virtual server gained or lost quorum
  'reload', // configuration reloads, applied or refused
  'operator', // drain / disable / enable from lvsctl
  'maintenance', // maintenance windows opening and closing
  'reconcile', // drift repaired, reconciler errors
  'sync', // connection sync daemon role changes
  'process', // child processes started, died, restarted
  'notify', // hook and webhook failures
  'bgp', // VIPs announced and withdrawn (with the cause), BIRD and its sessions, sysctls
] as const;
/** One of {@link EVENT_SUBSYSTEMS}. */
export type EventSubsystem = (typeof EVENT_SUBSYSTEMS)[number];

/** How bad it is, as the log levels say it. */
export const EVENT_SEVERITIES = ['error', 'warn', 'info'] as const;
/** One of {@link EVENT_SEVERITIES}. */
export type EventSeverity = (typeof EVENT_SEVERITIES)[number];

/** A field value an event may carry. */
export type EventFieldValue = string | number | boolean | null;

/** What a subsystem reports ({@link emitEvent}); the store adds `seq`. */
export interface NewEvent {
  /** ISO 8601 wall time; default: when it is emitted. For display only. */
  readonly at?: string;
  readonly subsystem: EventSubsystem;
  /** Default `info`. */
  readonly severity?: EventSeverity;
  /** What it is about: an instance (`VI_1`), `vs/rs` (`web/web1`), a virtual server, a process role. */
  readonly subject: string;
  /** One line, e.g. `BACKUP -> MASTER: master down timer expired`. */
  readonly message: string;
  /** Details by name (`from`, `to`, `reason`, `priority`, `check` ...). */
  readonly fields?: Readonly<Record<string, EventFieldValue>>;
}

/** An event as stored and answered. */
export interface LvsdEvent {
  /** Increases by one per event, across restarts (the store continues from its file). */
  readonly seq: number;
  readonly at: string;
  readonly subsystem: EventSubsystem;
  readonly severity: EventSeverity;
  readonly subject: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, EventFieldValue>>;
  /** VRRP transitions also carry the old `events` answer's fields, so its readers keep working. */
  readonly instance?: string;
  readonly from?: string;
  readonly to?: string;
  readonly reason?: string;
}

/** Default capacity of the store: events in memory and lines per file. */
export const EVENT_CAPACITY = 5000;

/** Longest message and field text kept, in characters. */
export const MAX_EVENT_TEXT = 1000;
/** Most fields kept per event. */
export const MAX_EVENT_FIELDS = 32;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  const one = redactText(s.replace(/\r?\n/g, ' '));
  return one.length > MAX_EVENT_TEXT ? `${one.slice(0, MAX_EVENT_TEXT - 3)}...` : one;
}

/**
 * Checks and cleans an event from anywhere (a child's IPC message, a line
 * of the file): a known subsystem and severity, string subject and message
 * (one line, at most {@link MAX_EVENT_TEXT} characters, URLs redacted),
 * scalar fields only. Returns null for something that is not an event.
 */
export function normalizeEvent(v: unknown, seq: number, now: () => Date = () => new Date()): LvsdEvent | null {
  if (!isRecord(v)) return null;
  if (typeof v.subsystem !== 'string' || !(EVENT_SUBSYSTEMS as readonly string[]).includes(v.subsystem)) return null;
  if (typeof v.subject !== 'string' || typeof v.message !== 'string') return null;
  const severity = v.severity === undefined ? 'info' : v.severity;
  if (typeof severity !== 'string' || !(EVENT_SEVERITIES as readonly string[]).includes(severity)) return null;
  const at = typeof v.at === 'string' && !Number.isNaN(Date.parse(v.at)) ? new Date(Date.parse(v.at)).toISOString() : now().toISOString();
  const fields: Record<string, EventFieldValue> = {};
  if (isRecord(v.fields)) {
    for (const [k, f] of Object.entries(v.fields).slice(0, MAX_EVENT_FIELDS)) {
      if (f === null || typeof f === 'boolean' || (typeof f === 'number' && Number.isFinite(f))) fields[k] = f;
      else if (f !== undefined) fields[k] = text(f);
    }
  }
  const e: LvsdEvent = { seq, at, subsystem: v.subsystem as EventSubsystem, severity: severity as EventSeverity, subject: text(v.subject), message: text(v.message), fields };
  if (e.subsystem === 'vrrp' && typeof fields.from === 'string' && typeof fields.to === 'string') {
    return { ...e, instance: e.subject, from: fields.from, to: fields.to, reason: typeof fields.reason === 'string' ? fields.reason : '' };
  }
  return e;
}
