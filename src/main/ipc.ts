/**
 * The messages between lvsd's supervisor (the parent) and its children (the
 * VRRP process and the director process), over Node's fork IPC channel, and a
 * small request/answer helper for the parent side. Plain JSON-able data.
 */
import type { ChildProcess } from 'node:child_process';
import type { LvsdConfig } from '../config/types';
import type { NewEvent } from '../events/types';

/** The roles a child process plays. */
export const ChildRole = { VRRP: 'vrrp', DIRECTOR: 'director' } as const;
/** One of {@link ChildRole}. */
export type ChildRoleName = (typeof ChildRole)[keyof typeof ChildRole];

/** What the parent tells a restarted VRRP child (environment variable {@link RESUME_ENV}, JSON). */
export interface ResumeHint {
  /** Instances that were MASTER when the previous VRRP child died. */
  readonly masters: readonly string[];
  /** How long before the parent sent this hint the previous VRRP process died, in ms. */
  readonly diedAgoMs: number;
  /** The child's performance.now() when the hint arrived (set by the child on receipt). */
  readonly receivedAt?: number;
}

/**
 * Parent → child. The channel uses Node's "advanced" serialization (the
 * structured clone algorithm), so a parsed {@link LvsdConfig} with its Maps
 * and byte arrays crosses it as it is: the children never read the file.
 */
export type ToChild =
  /** The first message a child gets: its part of the last accepted configuration. */
  | { readonly kind: 'start'; readonly config: LvsdConfig; readonly warnings: readonly string[]; readonly resume?: ResumeHint; /** The parent's number for `config`, named by reload patches. */ readonly version?: number }
  | { readonly kind: 'req'; readonly id: number; readonly cmd: string; readonly args: Readonly<Record<string, unknown>> }
  /** A VRRP instance's state, for the director's sync daemon. */
  | { readonly kind: 'vrrp-state'; readonly instance: string; readonly state: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' }
  /** Stop cleanly and exit 0. */
  | { readonly kind: 'stop' };

/** A transition as the VRRP child reports it (wall time already ISO). */
export interface TransitionMessage {
  readonly instance: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly priority: number;
  readonly at: string;
}

/** How often a child sends a heartbeat. */
export const HEARTBEAT_MS = 500;

/** Child → parent. */
export type ToParent =
  | { readonly kind: 'ready' }
  /** Every {@link HEARTBEAT_MS}: the child's event loop turns (the parent kills a child that stops sending them). */
  | { readonly kind: 'heartbeat' }
  | { readonly kind: 'start-failed'; readonly code: string; readonly message: string }
  | { readonly kind: 'res'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly kind: 'res'; readonly id: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string } }
  | { readonly kind: 'transition'; readonly t: TransitionMessage }
  /** An event of any subsystem (src/events), for the parent's store. */
  | { readonly kind: 'event'; readonly event: NewEvent };

/** A child's answer was an error; `code` is the child's own (e.g. `ECONFIG`, `DIRECTOR_UNKNOWN_REAL_SERVER`). */
export class ChildRequestError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ChildRequestError';
  }
}

/** How long the parent waits for a child's answer by default. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** Requests to one child process, answered by id. */
export class ChildRpc {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly child: ChildProcess, private readonly role: ChildRoleName) {}

  /** Feeds an answer from the child; true when it was one. */
  answer(m: ToParent): boolean {
    if (m.kind !== 'res') return false;
    const w = this.waiting.get(m.id);
    if (!w) return true;
    this.waiting.delete(m.id);
    clearTimeout(w.timer);
    if (m.ok) w.resolve(m.result);
    else w.reject(new ChildRequestError(m.error.code, m.error.message));
    return true;
  }

  /** Sends `cmd` and resolves with the child's result; rejects with {@link ChildRequestError}. */
  request(cmd: string, args: Readonly<Record<string, unknown>> = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.next++;
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new ChildRequestError('CHILD_TIMEOUT', `the ${this.role} process did not answer "${cmd}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      const msg: ToChild = { kind: 'req', id, cmd, args };
      try {
        this.child.send(msg);
      } catch (e) {
        this.waiting.delete(id);
        clearTimeout(timer);
        reject(new ChildRequestError('CHILD_GONE', `the ${this.role} process is not running (${(e as Error).message})`));
      }
    });
  }

  /** Fails every pending request (the child died). */
  failAll(why: string): void {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new ChildRequestError('CHILD_GONE', `the ${this.role} process ${why}`));
      this.waiting.delete(id);
    }
  }
}
