/**
 * The checker process: runs a {@link CheckScheduler} apart from the VRRP engine, so that
 * no health check (a slow DNS lookup, a TLS handshake, 10,000 timers) can ever delay a
 * VRRP advert. Started by {@link forkCheckWorker} (child_process.fork with an IPC
 * channel); run directly, this file is that child's entry.
 *
 * ## Protocol (JSON over Node's IPC channel, process.send / 'message')
 * Parent → child:
 * - `{ "type": "set", "servers": RealServerChecks[] }` — replace the whole check set
 *   (first load, and after a restart of this process: each entry may carry the real
 *   server's `known` health, which it starts from; unchanged checks keep their state).
 * - `{ "type": "update", "servers": RealServerChecks[], "removed": string[] }` — a
 *   reload's difference: these real servers added or their checks replaced, those
 *   removed; the others untouched.
 * - `{ "type": "stop" }` — stop all checks and exit 0.
 *
 * Child → parent:
 * - `{ "type": "ready" }` — once, when it accepts messages.
 * - `{ "type": "states", "states": RsChange[] }` — after each `set`: the full current
 *   health of every real server (the baseline; later changes come one by one); after
 *   an `update`: the health of the real servers it named.
 * - `{ "type": "change", "rs", "up", "reason", "weight"? }` — one real server changed.
 * - `{ "type": "error", "message" }` — a message it could not understand (ignored).
 *
 * The child exits when the parent goes away (IPC 'disconnect'), so a crashed daemon
 * leaves no orphan checker. `LVSD_CHECK_MAX_IN_FLIGHT` in its environment bounds the
 * probes in flight (default 256).
 */
import { ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { childExecArgv } from '../lib/child-flags';
import { CheckScheduler, type CheckRunStats, DEFAULT_MAX_IN_FLIGHT } from './scheduler';
import { RealServerChecks, RsChange } from './types';

/** Messages the parent sends. */
export type ToWorker =
  | { type: 'set'; servers: RealServerChecks[] }
  | { type: 'update'; servers: RealServerChecks[]; removed: string[] }
  /** Asks for every check's figures; answered by `stats` with the same id. */
  | { type: 'stats'; id: number }
  | { type: 'stop' };

/** Messages the worker sends. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'states'; states: RsChange[] }
  | ({ type: 'change' } & RsChange)
  | { type: 'stats'; id: number; stats: CheckRunStats[] }
  | { type: 'error'; message: string };

/** The two ends of the channel the worker needs, so it can run over a fake in tests. */
export interface WorkerChannel {
  send(msg: FromWorker): void;
  onMessage(fn: (msg: unknown) => void): void;
  /** Called when the worker is done (after `stop`). */
  exit(code: number): void;
}

/**
 * Runs the worker loop over `ch` with a scheduler built by `make` (default: real probes,
 * real time). Returns the scheduler so tests can inspect it.
 */
export function runWorker(
  ch: WorkerChannel,
  make: (onChange: (ev: RsChange) => void) => CheckScheduler = (onChange) =>
    new CheckScheduler({ onChange, maxInFlight: maxInFlightFromEnv() }),
): CheckScheduler {
  const sched = make((ev) => ch.send({ type: 'change', ...ev }));
  ch.onMessage((msg) => {
    const m = msg as Partial<ToWorker> | null;
    if (m && m.type === 'set' && Array.isArray((m as { servers?: unknown }).servers)) {
      sched.set((m as { servers: RealServerChecks[] }).servers);
      ch.send({ type: 'states', states: sched.states() });
    } else if (m && m.type === 'update' && Array.isArray((m as { servers?: unknown }).servers) && Array.isArray((m as { removed?: unknown }).removed)) {
      const u = m as { servers: RealServerChecks[]; removed: string[] };
      sched.update(u.servers, u.removed);
      const states: RsChange[] = [];
      for (const x of u.servers) {
        const st = sched.state(x.rs);
        if (st) states.push(st);
      }
      ch.send({ type: 'states', states });
    } else if (m && m.type === 'stats' && typeof (m as { id?: unknown }).id === 'number') {
      ch.send({ type: 'stats', id: (m as { id: number }).id, stats: sched.stats() });
    } else if (m && m.type === 'stop') {
      sched.stop();
      ch.exit(0);
    } else {
      ch.send({ type: 'error', message: `unknown message: ${JSON.stringify(msg)?.slice(0, 200)}` });
    }
  });
  ch.send({ type: 'ready' });
  return sched;
}

function maxInFlightFromEnv(): number {
  const n = Number(process.env.LVSD_CHECK_MAX_IN_FLIGHT);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_IN_FLIGHT;
}

/** Options of {@link forkCheckWorker}. */
export interface ForkCheckWorkerOptions {
  /** Bound on probes in flight in the child; default 256. */
  maxInFlight?: number;
}

/**
 * Parent-side handle of a checker process. Events: `'ready'`, `'states'
 * (states: RsChange[])`, `'change' (ev: RsChange)`, `'protocolError' (message: string)`,
 * `'exit' (code: number | null, signal: NodeJS.Signals | null)`.
 */
export class CheckWorker extends EventEmitter {
  /** The child process itself (pid, kill). */
  readonly child: ChildProcess;

  constructor(child: ChildProcess) {
    super();
    this.child = child;
    child.on('message', (raw: unknown) => {
      const m = raw as FromWorker;
      switch (m?.type) {
        case 'ready':
          this.emit('ready');
          break;
        case 'states':
          this.emit('states', m.states);
          break;
        case 'change': {
          const { type: _t, ...ev } = m;
          this.emit('change', ev as RsChange);
          break;
        }
        case 'stats': {
          const w = this.statsWaiting.get(m.id);
          if (w) {
            this.statsWaiting.delete(m.id);
            w(m.stats);
          }
          break;
        }
        case 'error':
          this.emit('protocolError', m.message);
          break;
      }
    });
    child.on('exit', (code, signal) => this.emit('exit', code, signal));
  }

  private statsSeq = 0;
  private readonly statsWaiting = new Map<number, (s: CheckRunStats[]) => void>();

  /** Every check's figures from the child; empty when it is gone or does not answer within `timeoutMs`. */
  stats(timeoutMs = 2000): Promise<CheckRunStats[]> {
    if (!this.child.connected) return Promise.resolve([]);
    const id = ++this.statsSeq;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.statsWaiting.delete(id);
        resolve([]);
      }, timeoutMs);
      this.statsWaiting.set(id, (s) => {
        clearTimeout(t);
        resolve(s);
      });
      this.child.send({ type: 'stats', id } satisfies ToWorker);
    });
  }

  /** Sends the whole check set; see the protocol. Returns false if the child is gone. */
  set(servers: RealServerChecks[]): boolean {
    if (!this.child.connected) return false;
    this.child.send({ type: 'set', servers } satisfies ToWorker);
    return true;
  }

  /** Sends a part of the check set; see the protocol. Returns false if the child is gone. */
  update(servers: RealServerChecks[], removed: string[]): boolean {
    if (!this.child.connected) return false;
    this.child.send({ type: 'update', servers, removed } satisfies ToWorker);
    return true;
  }

  /** Asks the child to stop; resolves when it has exited (SIGKILL after `graceMs`). */
  stop(graceMs = 2000): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      this.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      if (this.child.connected) this.child.send({ type: 'stop' } satisfies ToWorker);
      else this.child.kill('SIGTERM');
    });
  }
}

/** Forks the checker process (this file as entry) and returns its handle. */
export function forkCheckWorker(opts: ForkCheckWorkerOptions = {}): CheckWorker {
  const env = { ...process.env };
  if (opts.maxInFlight !== undefined) env.LVSD_CHECK_MAX_IN_FLIGHT = String(opts.maxInFlight);
  const child = fork(path.join(__dirname, 'worker.js'), [], {
    env,
    execArgv: childExecArgv(),
    serialization: 'json',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new CheckWorker(child);
}

if (require.main === module && typeof process.send === 'function') {
  process.on('disconnect', () => process.exit(0));
  runWorker({
    send: (msg) => {
      if (process.connected) process.send?.(msg);
    },
    onMessage: (fn) => process.on('message', fn),
    exit: (code) => {
      process.disconnect?.();
      process.exitCode = code;
      // In-flight probes were aborted; let their sockets close, then go.
      setImmediate(() => process.exit(code));
    },
  });
}
