/**
 * Where the director's real-server health comes from: the checker process in
 * production ({@link workerHealthSource}), a scripted source in tests.
 */
import { CheckScheduler, type SchedulerOptions } from '../check/scheduler';
import { forkCheckWorker, type CheckWorker } from '../check/worker';
import type { RealServerChecks, RsChange } from '../check/types';
import type { Clock, TimerHandle } from '../lib/clock';
import type { Logger } from '../log';

/**
 * A source of real-server health. `set` replaces the whole check set (checks
 * left unchanged keep their state); the source answers with the full state
 * (`onStates`) and then one change at a time (`onChange`).
 */
export interface HealthSource {
  set(servers: RealServerChecks[]): void;
  onStates(fn: (states: RsChange[]) => void): void;
  onChange(fn: (ev: RsChange) => void): void;
  /** Stops checking; resolves when done. */
  stop(): Promise<void>;
}

/** Options of {@link workerHealthSource}. */
export interface WorkerHealthOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Probes in flight in the child; default 256. */
  readonly maxInFlight?: number;
  /** How to start the child; default {@link forkCheckWorker}. */
  readonly fork?: () => CheckWorker;
}

/**
 * The checker process as a {@link HealthSource}. A child that dies is
 * respawned as keepalived does: at once if it ran over 60 s, else after 1,
 * 2, 4 … 60 s; the new child gets the last check set and its baseline
 * `states` reach the director like any other.
 */
export function workerHealthSource(opts: WorkerHealthOptions): HealthSource {
  const statesFns: ((s: RsChange[]) => void)[] = [];
  const changeFns: ((e: RsChange) => void)[] = [];
  const fork = opts.fork ?? (() => forkCheckWorker(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}));
  let servers: RealServerChecks[] | undefined;
  let worker: CheckWorker | undefined;
  let stopped = false;
  let startedAt = 0;
  let backoffMs = 0;
  let respawn: TimerHandle | undefined;
  const spawn = (): void => {
    startedAt = opts.clock.now();
    const w = fork();
    worker = w;
    w.on('states', (s: RsChange[]) => statesFns.forEach((f) => f(s)));
    w.on('change', (e: RsChange) => changeFns.forEach((f) => f(e)));
    w.on('protocolError', (m: string) => opts.logger.warn('checker protocol error', { message: m }));
    w.on('exit', (code: number | null, signal: string | null) => {
      if (stopped || worker !== w) return;
      worker = undefined;
      const ran = opts.clock.now() - startedAt;
      backoffMs = ran > 60_000 ? 0 : Math.min(backoffMs ? backoffMs * 2 : 1000, 60_000);
      opts.logger.error('checker process exited; respawning', { code, signal, in_ms: backoffMs });
      respawn = opts.clock.at(opts.clock.now() + backoffMs, () => {
        respawn = undefined;
        if (!stopped) spawn();
      });
    });
    if (servers) w.set(servers);
  };
  return {
    set(s) {
      servers = s;
      if (!worker && !stopped && respawn === undefined) spawn();
      else worker?.set(s);
    },
    onStates: (fn) => void statesFns.push(fn),
    onChange: (fn) => void changeFns.push(fn),
    async stop() {
      stopped = true;
      opts.clock.clear(respawn);
      await worker?.stop();
      worker = undefined;
    },
  };
}

/**
 * A {@link CheckScheduler} in this process as a {@link HealthSource}: for
 * `--dry-run` and for tests that drive real hysteresis (rise/fall, retry) on a
 * fake clock with scripted probes. Production uses {@link workerHealthSource}
 * so no check can delay VRRP.
 */
export function schedulerHealthSource(opts: Omit<SchedulerOptions, 'onChange'> = {}): HealthSource & { readonly scheduler: CheckScheduler } {
  const statesFns: ((s: RsChange[]) => void)[] = [];
  const changeFns: ((e: RsChange) => void)[] = [];
  const scheduler = new CheckScheduler({ ...opts, onChange: (ev) => changeFns.forEach((f) => f(ev)) });
  return {
    scheduler,
    set(servers) {
      scheduler.set(servers);
      const states = scheduler.states();
      statesFns.forEach((f) => f(states));
    },
    onStates: (fn) => void statesFns.push(fn),
    onChange: (fn) => void changeFns.push(fn),
    async stop() {
      scheduler.stop();
    },
  };
}
