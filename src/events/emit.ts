/**
 * The one call every subsystem makes to record an event:
 * `emitEvent({ subsystem: 'check', severity: 'warn', subject: 'web/web1', message: 'down: ECONNREFUSED' })`.
 *
 * Where it goes is set once per process with {@link setEventSink}: the
 * parent (or a single-process lvsd) stores it (./store.ts); a child sends it
 * to the parent over IPC (`{ kind: 'event', event }`). Until a sink is set,
 * the last {@link PENDING_MAX} events wait and are handed over when one is.
 * emitEvent never throws and never blocks on I/O of its caller's.
 */
import type { NewEvent } from './types';

/** Where this process's events go. */
export type EventSink = (e: NewEvent) => void;

/** Events kept while no sink is set. */
export const PENDING_MAX = 256;

let sink: EventSink | undefined;
const pending: NewEvent[] = [];

/** Sets (or with undefined, clears) this process's sink; events waiting for one are handed to it, oldest first. */
export function setEventSink(s: EventSink | undefined): void {
  sink = s;
  if (!s) return;
  for (const e of pending.splice(0)) deliver(s, e);
}

function deliver(s: EventSink, e: NewEvent): void {
  try {
    s(e);
  } catch {
    /* recording an event never fails its caller */
  }
}

/** Records `e` through this process's sink; stamps `at` with the wall clock when it has none. */
export function emitEvent(e: NewEvent): void {
  const stamped: NewEvent = e.at ? e : { ...e, at: new Date().toISOString() };
  if (sink) return deliver(sink, stamped);
  pending.push(stamped);
  if (pending.length > PENDING_MAX) pending.shift();
}
