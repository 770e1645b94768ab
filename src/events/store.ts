/**
 * The event store: the last {@link EventStoreOptions.capacity} events in
 * memory, persisted in `state_dir` as JSON lines so they survive a restart.
 *
 * On disk it is a ring of two files: `events.jsonl` takes every new event
 * (one line, appended at once, no fsync: a killed lvsd loses nothing the
 * kernel has, a power cut may lose the last lines) and, when it holds
 * `capacity` lines, becomes `events.1.jsonl` (replacing the older one) and a
 * new file starts. So the disk holds at most 2 × capacity lines, and a
 * restart always finds the last `capacity` events. A line that does not
 * parse (a torn write at a crash) is skipped, and a torn last line is cut
 * off before the first append so the next event starts on a line of its own.
 *
 * A store without a directory (or whose directory cannot be written: logged
 * once) keeps its events in memory only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventEmitter } from 'node:events';
import type { Logger } from '../log';
import { nullLogger } from '../log';
import { type EventSubsystem, type LvsdEvent, type NewEvent, EVENT_CAPACITY, EVENT_SUBSYSTEMS, normalizeEvent } from './types';

/** The file new events are appended to. */
export const EVENTS_FILE = 'events.jsonl';
/** The previous file, kept until the current one fills. */
export const EVENTS_FILE_OLD = 'events.1.jsonl';
/** Events answered when a query names no limit. */
export const EVENTS_DEFAULT_LIMIT = 50;
/** Longest a follower's query waits for a new event, in ms. */
export const EVENTS_MAX_WAIT_MS = 60_000;

/** Options of {@link EventStore}. */
export interface EventStoreOptions {
  /** The directory (`state_dir`); absent: memory only. */
  readonly dir?: string;
  /** Events kept in memory and lines per file; default {@link EVENT_CAPACITY}. */
  readonly capacity?: number;
  readonly logger?: Logger;
  /** The wall clock, for events that come without a time. */
  readonly now?: () => Date;
}

/** What {@link EventStore.query} selects; every part optional. */
export interface EventQuery {
  /** Only events with a larger `seq` (a follower's last seen). */
  readonly after?: number;
  /** Only events at or after this time (ISO 8601). */
  readonly since?: string;
  /** Only these subsystems. */
  readonly subsystems?: readonly EventSubsystem[];
  /** The most recent this many of the selection; default all of it. */
  readonly limit?: number;
}

/** The answer of {@link EventStore.query}: oldest first, and the store's last `seq`. */
export interface EventQueryResult {
  readonly events: readonly LvsdEvent[];
  /** The newest event's seq (0 when empty): where a follower continues from. */
  readonly seq: number;
}

/** The in-memory ring of events with its files; see the file's doc. */
export class EventStore extends EventEmitter {
  private readonly ring: LvsdEvent[] = [];
  private readonly capacity: number;
  private readonly log: Logger;
  private readonly now: () => Date;
  private seq = 0;
  private fd: number | undefined;
  /** Lines in the current file. */
  private lines = 0;
  private writable: boolean;

  constructor(private readonly opts: EventStoreOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.capacity = Math.max(1, Math.floor(opts.capacity ?? EVENT_CAPACITY));
    this.log = opts.logger ?? nullLogger;
    this.now = opts.now ?? (() => new Date());
    this.writable = opts.dir !== undefined;
    if (opts.dir !== undefined) this.load(opts.dir);
  }

  /** The newest event's seq (0 when there is none). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Events kept (at most the capacity). */
  get size(): number {
    return Math.min(this.ring.length, this.capacity);
  }

  private file(name: string): string {
    return path.join(this.opts.dir!, name);
  }

  /** Reads both files, oldest first, keeping the last `capacity` events; cuts a torn last line. */
  private load(dir: string): void {
    let skipped = 0;
    for (const name of [EVENTS_FILE_OLD, EVENTS_FILE]) {
      let text: string;
      try {
        text = fs.readFileSync(path.join(dir, name), 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // Not there yet (ENOENT), or state_dir is no directory (ENOTDIR: the first write says so).
        if (code !== 'ENOENT' && code !== 'ENOTDIR') this.log.warn('cannot read the event history', { file: path.join(dir, name), error: (e as Error).message });
        continue;
      }
      const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
      if (complete.length < text.length) {
        skipped++;
        if (name === EVENTS_FILE) this.cut(path.join(dir, name), Buffer.byteLength(complete));
      }
      let count = 0;
      for (const line of complete.split('\n')) {
        if (line === '') continue;
        count++;
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch {
          skipped++;
          continue;
        }
        const seq = (v as { seq?: unknown }).seq;
        const e = typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 ? normalizeEvent(v, seq, this.now) : null;
        if (!e) {
          skipped++;
          continue;
        }
        this.push(e);
        if (e.seq > this.seq) this.seq = e.seq;
      }
      if (name === EVENTS_FILE) this.lines = count;
    }
    if (skipped) this.log.warn('event history: unreadable lines skipped', { dir, lines: skipped });
  }

  /** Truncates a file whose last line was torn, so appends start on a fresh line. */
  private cut(file: string, bytes: number): void {
    try {
      fs.truncateSync(file, bytes);
    } catch (e) {
      this.log.warn('cannot repair the event history', { file, error: (e as Error).message });
    }
  }

  // The array grows to twice the capacity before the oldest are cut in one go
  // (a splice per event would make a burst quadratic); readers see the last `capacity`.
  private push(e: LvsdEvent): void {
    this.ring.push(e);
    if (this.ring.length >= 2 * this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
  }

  private kept(): LvsdEvent[] {
    return this.ring.length > this.capacity ? this.ring.slice(this.ring.length - this.capacity) : this.ring;
  }

  /**
   * Records `ev` (checked and cleaned by {@link normalizeEvent}; something
   * that is not an event is dropped and null returned), appends it to the
   * file and wakes followers. Never throws.
   */
  add(ev: NewEvent | unknown): LvsdEvent | null {
    const e = normalizeEvent(ev, this.seq + 1, this.now);
    if (!e) {
      this.log.debug('not an event: dropped', { event: JSON.stringify(ev)?.slice(0, 200) });
      return null;
    }
    this.seq = e.seq;
    this.push(e);
    this.persist(e);
    this.emit('event', e);
    return e;
  }

  private persist(e: LvsdEvent): void {
    if (!this.writable) return;
    try {
      if (this.lines >= this.capacity) this.rotate();
      if (this.fd === undefined) {
        fs.mkdirSync(this.opts.dir!, { recursive: true, mode: 0o750 });
        this.fd = fs.openSync(this.file(EVENTS_FILE), 'a', 0o640);
      }
      fs.writeSync(this.fd, JSON.stringify(e) + '\n');
      this.lines++;
    } catch (err) {
      // One warning, then memory only: a full or read-only disk must not flood the log.
      this.writable = false;
      this.closeFd();
      this.log.warn('cannot write the event history; events are kept in memory only', { dir: this.opts.dir, error: (err as Error).message });
    }
  }

  private rotate(): void {
    this.closeFd();
    fs.renameSync(this.file(EVENTS_FILE), this.file(EVENTS_FILE_OLD));
    this.lines = 0;
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    this.fd = undefined;
  }

  /** The events `q` selects, oldest first. */
  query(q: EventQuery = {}): EventQueryResult {
    const since = q.since !== undefined ? Date.parse(q.since) : NaN;
    const subs = q.subsystems && q.subsystems.length ? new Set(q.subsystems) : undefined;
    let out = this.kept().filter(
      (e) => (q.after === undefined || e.seq > q.after) && (Number.isNaN(since) || Date.parse(e.at) >= since) && (!subs || subs.has(e.subsystem)),
    );
    if (q.limit !== undefined && q.limit >= 0 && out.length > q.limit) out = out.slice(out.length - q.limit);
    return { events: out, seq: this.seq };
  }

  /**
   * Like {@link query} with `after`, but when nothing newer than `q.after`
   * is there yet, waits up to `waitMs` (at most {@link EVENTS_MAX_WAIT_MS})
   * for it: what `lvsctl events --follow` polls.
   */
  wait(q: EventQuery & { readonly after: number }, waitMs: number): Promise<EventQueryResult> {
    const now = this.query(q);
    if (now.events.length > 0 || waitMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const onEvent = (): void => {
        const r = this.query(q);
        if (r.events.length === 0) return;
        clearTimeout(timer);
        this.off('event', onEvent);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.off('event', onEvent);
        resolve(this.query(q));
      }, Math.min(waitMs, EVENTS_MAX_WAIT_MS));
      timer.unref();
      this.on('event', onEvent);
    });
  }

  /** Closes the file; events added later are kept in memory only. */
  close(): void {
    this.writable = false;
    this.closeFd();
  }
}

/** True for a known subsystem name. */
export function isEventSubsystem(s: unknown): s is EventSubsystem {
  return typeof s === 'string' && (EVENT_SUBSYSTEMS as readonly string[]).includes(s);
}
