/**
 * Notify hooks: the operator's scripts run on VRRP and real-server changes,
 * with keepalived's argument conventions (vrrp_notify.c):
 *
 * - per-state scripts (`notify_master`, `notify_backup`, `notify_fault`,
 *   `notify_stop`; for real servers `notify_up`, `notify_down`) run with
 *   exactly their configured argv, no extra arguments;
 * - the generic `notify` script gets `INSTANCE|GROUP <name>
 *   MASTER|BACKUP|FAULT|STOP <priority>` appended (a group's priority is 0),
 *   and for real servers lvsd appends the notify_fifo RS form
 *   `RS <[rip]:proto:port> <[vip]:proto:port> UP|DOWN`.
 *
 * Unlike keepalived, which forks hooks concurrently, hooks of one key (one
 * instance, group or real server) run one at a time in event order, so a
 * script never sees BACKUP after MASTER out of order. Hooks of different
 * keys run in parallel. Every hook also gets the details as LVSD_* variables.
 *
 * Hooks are spawned without a shell (argv arrays), detached in their own
 * process group so a timeout can kill the hook and everything it started,
 * as the script_user when one is set (keepalived's rule for every script).
 * `run()` returns at once; failures are logged, never thrown.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describeSpawnError, runAsSpawnOptions, type RunAsIds } from '../lib/run-as';
import type { Logger } from '../log';
import { nullLogger } from '../log';
import type { FifoEvent, NotifyFifo } from './fifo';
import { emitEvent } from '../events/emit';
import { checkScriptSecurity } from './security';

/** A VRRP instance's or group's state as hooks name it. */
export type NotifyVrrpState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

/** A change worth notifying. */
export type NotifyEvent =
  | {
      readonly type: 'INSTANCE';
      readonly name: string;
      readonly state: NotifyVrrpState;
      /** The state left, e.g. `BACKUP` or `INIT`. */
      readonly previousState?: string;
      /** The effective priority (keepalived passes the effective one). */
      readonly priority: number;
      readonly reason?: string;
    }
  | {
      readonly type: 'GROUP';
      readonly name: string;
      readonly state: NotifyVrrpState;
      readonly previousState?: string;
      readonly reason?: string;
    }
  | {
      readonly type: 'RS';
      /** `[ip]:proto:port`, see formatEndpoint in ./fifo. */
      readonly realServer: string;
      /** `[vip]:proto:port` (or `fwmark:N`). */
      readonly virtualServer: string;
      readonly state: 'UP' | 'DOWN';
      readonly previousState?: string;
      readonly reason?: string;
    };

/** An argv: program then arguments, run without a shell. */
export type Command = readonly string[];

/** The hooks configured for one instance, group or real server. */
export interface NotifyScripts {
  /** Generic script: gets the event appended as arguments. */
  readonly notify?: Command;
  readonly master?: Command;
  readonly backup?: Command;
  readonly fault?: Command;
  readonly stop?: Command;
  /** Real server came up / went down (keepalived `notify_up`/`notify_down`). */
  readonly up?: Command;
  readonly down?: Command;
}

/** How a hook ended. */
export const HookOutcome = {
  /** Exited 0. */
  OK: 'OK',
  /** Exited non-zero or was killed by a signal it did not get from us. */
  FAILED: 'FAILED',
  /** Ran past the timeout; its process group was killed. */
  TIMEOUT: 'TIMEOUT',
  /** Could not be started (ENOENT, EACCES ...). */
  SPAWN_ERROR: 'SPAWN_ERROR',
  /** Refused by enable_script_security. */
  REFUSED: 'REFUSED',
  /** Dropped: the key's queue was full, or the runner was closed. */
  DROPPED: 'DROPPED',
} as const;
/** One of {@link HookOutcome}. */
export type HookOutcomeCode = (typeof HookOutcome)[keyof typeof HookOutcome];

/** The record of one finished (or never started) hook. */
export interface HookResult {
  readonly key: string;
  readonly argv: Command;
  readonly outcome: HookOutcomeCode;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last bytes of the hook's stderr (at most `stderrTailBytes`). */
  readonly stderrTail: string;
  readonly durationMs: number;
  /** Why it did not run or failed, for SPAWN_ERROR / REFUSED / DROPPED. */
  readonly error?: string;
}

/** Options of {@link NotifyRunner}. */
export interface NotifyRunnerOptions {
  readonly logger?: Logger;
  /** Kill a hook (and its process group) after this long; default 30 000. */
  readonly timeoutMs?: number;
  /** After SIGTERM to the group, SIGKILL after this long; default 2 000. */
  readonly killGraceMs?: number;
  /** Check each script with enable_script_security before running it. */
  readonly scriptSecurity?: boolean;
  /** Run every hook as this user and group (keepalived's script_user); absent: the daemon's own. */
  readonly runAs?: RunAsIds;
  /** Base environment; default `process.env`. LVSD_* are added on top. */
  readonly env?: NodeJS.ProcessEnv;
  /** Extra variables for every hook (e.g. `{ LVSD_ROUTER_ID: 'lvs-a' }`). */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Pending hooks kept per key before new ones are dropped; default 64. */
  readonly maxQueuePerKey?: number;
  /** stderr kept for the log; default 2 048 bytes. */
  readonly stderrTailBytes?: number;
  /** Where {@link NotifyRunner.notify} also writes its notify_fifo line. */
  readonly fifo?: NotifyFifo;
}

interface Job {
  readonly key: string;
  readonly argv: Command;
  readonly env: Readonly<Record<string, string>>;
  readonly resolve: (r: HookResult) => void;
}

/** The hook policy a configuration's `[global]` sets: enable_script_security and script_user. */
export function scriptPolicy(cfg: {
  readonly global: { readonly enableScriptSecurity: boolean; readonly scriptUser?: RunAsIds | undefined };
}): { scriptSecurity: boolean; runAs?: RunAsIds } {
  const u = cfg.global.scriptUser;
  return { scriptSecurity: cfg.global.enableScriptSecurity, ...(u ? { runAs: { uid: u.uid, gid: u.gid } } : {}) };
}

/**
 * The spawn options of one hook: no shell, its own process group (setsid, so
 * kill(-pgid) reaches grandchildren), stdin and stdout on /dev/null, stderr
 * piped for the log, started as `runAs` when given.
 */
export function hookSpawnOptions(env: NodeJS.ProcessEnv, runAs: RunAsIds | undefined): SpawnOptions {
  return { detached: true, shell: false, stdio: ['ignore', 'ignore', 'pipe'], env, ...runAsSpawnOptions(runAs) };
}

/** The queue key {@link NotifyRunner.notify} uses for an event. */
export function eventKey(ev: NotifyEvent): string {
  switch (ev.type) {
    case 'INSTANCE':
      return `INSTANCE:${ev.name}`;
    case 'GROUP':
      return `GROUP:${ev.name}`;
    case 'RS':
      return `RS:${ev.virtualServer}/${ev.realServer}`;
  }
}

/** The LVSD_* variables a hook gets for `ev`. */
export function eventEnv(ev: NotifyEvent): Record<string, string> {
  const env: Record<string, string> = { LVSD_TYPE: ev.type, LVSD_STATE: ev.state };
  if (ev.previousState !== undefined) env.LVSD_PREVIOUS_STATE = ev.previousState;
  if (ev.reason !== undefined) env.LVSD_REASON = ev.reason;
  switch (ev.type) {
    case 'INSTANCE':
      env.LVSD_NAME = env.LVSD_INSTANCE = ev.name;
      env.LVSD_PRIORITY = String(ev.priority);
      break;
    case 'GROUP':
      env.LVSD_NAME = env.LVSD_GROUP = ev.name;
      env.LVSD_PRIORITY = '0';
      break;
    case 'RS':
      env.LVSD_REAL_SERVER = ev.realServer;
      env.LVSD_VIRTUAL_SERVER = ev.virtualServer;
      break;
  }
  return env;
}

/**
 * The argvs to run for `ev`, in order: the per-state script (as configured),
 * then the generic `notify` script with keepalived's arguments appended.
 */
export function hookCommands(ev: NotifyEvent, scripts: NotifyScripts): Command[] {
  const out: Command[] = [];
  let specific: Command | undefined;
  if (ev.type === 'RS') specific = ev.state === 'UP' ? scripts.up : scripts.down;
  else {
    specific = { MASTER: scripts.master, BACKUP: scripts.backup, FAULT: scripts.fault, STOP: scripts.stop }[ev.state];
  }
  if (specific && specific.length > 0) out.push(specific);
  if (scripts.notify && scripts.notify.length > 0) {
    switch (ev.type) {
      case 'INSTANCE':
        out.push([...scripts.notify, 'INSTANCE', ev.name, ev.state, String(ev.priority)]);
        break;
      case 'GROUP':
        out.push([...scripts.notify, 'GROUP', ev.name, ev.state, '0']);
        break;
      case 'RS':
        out.push([...scripts.notify, 'RS', ev.realServer, ev.virtualServer, ev.state]);
        break;
    }
  }
  return out;
}

function fifoEventOf(ev: NotifyEvent): FifoEvent {
  switch (ev.type) {
    case 'INSTANCE':
      return { type: 'INSTANCE', name: ev.name, state: ev.state, priority: ev.priority };
    case 'GROUP':
      return { type: 'GROUP', name: ev.name, state: ev.state };
    case 'RS':
      return { type: 'RS', realServer: ev.realServer, virtualServer: ev.virtualServer, state: ev.state };
  }
}

/** How a hook failed, in a few words: `exited 3`, `killed by SIGKILL`, `timed out after 30000 ms`, `refused: ...`. */
function hookFailure(r: HookResult): string {
  if (r.outcome === HookOutcome.FAILED) return r.signal ? `killed by ${r.signal}` : `exited ${r.exitCode}`;
  return `${r.outcome.toLowerCase().replace(/_/g, ' ')}${r.error ? `: ${r.error}` : ''}`;
}

/**
 * Runs notify hooks, one at a time per key, never blocking or throwing into
 * the caller. Emits `'result'` with a {@link HookResult} after each hook.
 */
export class NotifyRunner extends EventEmitter {
  private readonly queues = new Map<string, Job[]>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly logger: Logger;
  private closed = false;
  private scriptSecurity: boolean;
  private runAs: RunAsIds | undefined;

  constructor(private readonly opts: NotifyRunnerOptions = {}) {
    super();
    this.logger = opts.logger ?? nullLogger;
    this.scriptSecurity = opts.scriptSecurity ?? false;
    this.runAs = opts.runAs;
  }

  /**
   * Applies a reload's enable_script_security and script_user to the hooks
   * that start from now on (running ones keep what they started with).
   */
  configure(policy: { readonly scriptSecurity: boolean; readonly runAs?: RunAsIds | undefined }): void {
    this.scriptSecurity = policy.scriptSecurity;
    this.runAs = policy.runAs;
  }

  /**
   * Notifies `ev`: writes the fifo line (if a fifo is set) and queues the
   * hooks of {@link hookCommands} under {@link eventKey}. Returns at once;
   * the promise resolves (never rejects) when all those hooks have ended.
   */
  notify(ev: NotifyEvent, scripts: NotifyScripts): Promise<HookResult[]> {
    this.opts.fifo?.write(fifoEventOf(ev));
    const key = eventKey(ev);
    const env = eventEnv(ev);
    return Promise.all(hookCommands(ev, scripts).map((argv) => this.run(key, argv, env)));
  }

  /**
   * Queues one hook under `key`; it starts when the previous hook of that
   * key has ended. Returns at once; the promise resolves (never rejects)
   * with the hook's result.
   */
  run(key: string, argv: Command, env: Readonly<Record<string, string>> = {}): Promise<HookResult> {
    return new Promise<HookResult>((resolve) => {
      const job: Job = { key, argv: [...argv], env, resolve };
      if (this.closed) return this.finish(job, this.dropped(job, 'notify runner is closed'));
      if (argv.length === 0) return this.finish(job, this.dropped(job, 'empty command'));
      let q = this.queues.get(key);
      if (!q) this.queues.set(key, (q = []));
      const max = this.opts.maxQueuePerKey ?? 64;
      if (q.length >= max) return this.finish(job, this.dropped(job, `queue of ${key} is full (${max} pending)`));
      q.push(job);
      if (!this.running.has(key)) this.drain(key);
    });
  }

  /** Resolves when no hook is queued or running (for `key`, or for all). */
  async idle(key?: string): Promise<void> {
    for (;;) {
      const pending = key === undefined ? [...this.running.values()] : [this.running.get(key)].filter((p): p is Promise<void> => !!p);
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** Number of hooks queued (not yet started) under `key`. */
  pending(key: string): number {
    return this.queues.get(key)?.length ?? 0;
  }

  /**
   * Stops accepting hooks and resolves when the queued and running ones have
   * ended (each keeps its timeout), so STOP hooks queued at shutdown still
   * run. With `dropQueued`, hooks not yet started are dropped instead.
   */
  async close(opts: { readonly dropQueued?: boolean } = {}): Promise<void> {
    this.closed = true;
    if (opts.dropQueued) {
      for (const [, q] of this.queues) {
        for (const job of q.splice(0)) this.finish(job, this.dropped(job, 'notify runner is closed'));
      }
    }
    await this.idle();
  }

  private drain(key: string): void {
    const loop = async (): Promise<void> => {
      for (;;) {
        const job = this.queues.get(key)?.shift();
        if (!job) break;
        const result = await this.execute(job);
        this.finish(job, result);
      }
      this.queues.delete(key);
      this.running.delete(key);
    };
    this.running.set(key, loop());
  }

  private finish(job: Job, result: HookResult): void {
    const fields = { key: job.key, argv: job.argv.join(' '), outcome: result.outcome, ms: result.durationMs };
    if (result.outcome === HookOutcome.OK) this.logger.debug('notify hook done', fields);
    else {
      emitEvent({
        subsystem: 'notify',
        severity: 'warn',
        subject: job.key,
        message: `hook ${job.argv[0] ?? '(none)'} ${hookFailure(result)}`,
        fields: { hook: job.argv.join(' '), outcome: result.outcome, exit: result.exitCode, signal: result.signal, ms: result.durationMs },
      });
      this.logger.warn('notify hook failed', {
        ...fields,
        exit: result.exitCode,
        signal: result.signal,
        error: result.error,
        stderr: result.stderrTail.trimEnd() || undefined,
      });
    }
    job.resolve(result);
    try {
      this.emit('result', result);
    } catch (e) {
      this.logger.error('notify result listener threw', { error: (e as Error).message });
    }
  }

  private dropped(job: Job, why: string): HookResult {
    return { key: job.key, argv: job.argv, outcome: HookOutcome.DROPPED, exitCode: null, signal: null, stderrTail: '', durationMs: 0, error: why };
  }

  private async execute(job: Job): Promise<HookResult> {
    const started = performance.now();
    const base = { key: job.key, argv: job.argv, exitCode: null, signal: null, stderrTail: '' };
    const runAs = this.runAs;
    if (this.scriptSecurity) {
      const verdict = await checkScriptSecurity(job.argv[0]!, (this.opts.env ?? process.env).PATH, runAs);
      if (!verdict.ok) {
        return { ...base, outcome: HookOutcome.REFUSED, durationMs: 0, error: verdict.message };
      }
    }
    return new Promise<HookResult>((resolve) => {
      const tailMax = this.opts.stderrTailBytes ?? 2048;
      let tail = Buffer.alloc(0);
      let timedOut = false;
      let settled = false;
      let killTimer: NodeJS.Timeout | undefined;
      const done = (r: Omit<HookResult, 'durationMs' | 'key' | 'argv' | 'stderrTail'>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(killTimer);
        resolve({ key: job.key, argv: job.argv, stderrTail: tail.toString('utf8'), durationMs: Math.round(performance.now() - started), ...r });
      };
      const child = spawn(job.argv[0]!, job.argv.slice(1), hookSpawnOptions({ ...(this.opts.env ?? process.env), ...this.opts.extraEnv, ...job.env }, runAs));
      const pid = child.pid;
      child.stderr?.on('data', (chunk: Buffer) => {
        tail = Buffer.concat([tail, chunk]);
        if (tail.length > tailMax) tail = tail.subarray(tail.length - tailMax);
      });
      // The stderr pipe may stay open in a grandchild the hook left running:
      // completion is the hook's exit, not the pipe's close.
      child.stderr?.on('error', () => {});
      const timer = setTimeout(() => {
        timedOut = true;
        this.killGroup(pid, 'SIGTERM');
        killTimer = setTimeout(() => this.killGroup(pid, 'SIGKILL'), this.opts.killGraceMs ?? 2000);
      }, this.opts.timeoutMs ?? 30_000);
      child.on('error', (err) => {
        done({ outcome: HookOutcome.SPAWN_ERROR, exitCode: null, signal: null, error: describeSpawnError(err, runAs) });
      });
      child.on('exit', (code, signal) => {
        const finish = (): void => {
          child.stderr?.destroy();
          if (timedOut) {
            // Make sure stragglers of the group die too, then report.
            this.killGroup(pid, 'SIGKILL');
            done({ outcome: HookOutcome.TIMEOUT, exitCode: code, signal, error: `timed out after ${this.opts.timeoutMs ?? 30_000} ms` });
          } else {
            done({ outcome: code === 0 ? HookOutcome.OK : HookOutcome.FAILED, exitCode: code, signal });
          }
        };
        // Give the pipe a moment to deliver the last stderr bytes.
        if (child.stderr && !child.stderr.readableEnded) {
          const t = setTimeout(finish, 50);
          child.stderr.once('close', () => {
            clearTimeout(t);
            finish();
          });
        } else finish();
      });
    });
  }

  private killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch (e) {
      // ESRCH: the group is already gone. EPERM: it runs as script_user and we lack CAP_KILL.
      if ((e as NodeJS.ErrnoException).code === 'EPERM') this.logger.error('cannot stop a notify hook', { pid, signal, error: 'EPERM: lvsd lacks CAP_KILL' });
    }
  }
}
