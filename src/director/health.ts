/**
 * Where the director's real-server health comes from: the checker process in
 * production ({@link workerHealthSource}), a scripted source in tests.
 */
import { type CheckRunStats, CheckScheduler, type SchedulerOptions } from '../check/scheduler';
import { forkCheckWorker, type CheckWorker } from '../check/worker';
import type { KnownHealth, RealServerChecks, RsChange } from '../check/types';
import type { Clock, TimerHandle } from '../lib/clock';
import type { Logger } from '../log';

/**
 * A source of real-server health. `set` replaces the whole check set (checks
 * left unchanged keep their state; a real server new to the source starts from
 * its `known` health when given); `update` changes part of it (a reload's
 * difference); the source answers with the state of the real servers it was
 * given (`onStates`) and then one change at a time (`onChange`).
 */
export interface HealthSource {
  set(servers: RealServerChecks[]): void;
  update(servers: RealServerChecks[], removed: string[]): void;
  /**
   * Where the source finds the director's last known health of a real server
   * when it must start its checks again (a restarted checker process).
   */
  knownFrom?(fn: (rs: string) => KnownHealth | undefined): void;
  onStates(fn: (states: RsChange[]) => void): void;
  onChange(fn: (ev: RsChange) => void): void;
  /** Every check's attempts and durations (the metrics); empty when the checker cannot say. */
  stats?(): Promise<CheckRunStats[]>;
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
  /**
   * The director's last known health of a real server, handed to a respawned
   * child so it starts from it (no server known down comes back, no notify_up,
   * because the checker restarted).
   */
  readonly known?: (rs: string) => KnownHealth | undefined;
}

/**
 * The checker process as a {@link HealthSource}. A child that dies is
 * respawned as keepalived does: at once if it ran over 60 s, else after 1,
 * 2, 4 … 60 s; the new child gets the last check set with the director's last
 * known health of each real server (`known`), so its baseline `states` repeat
 * what the director knows instead of resetting every server to up.
 */
export function workerHealthSource(opts: WorkerHealthOptions): HealthSource {
  const statesFns: ((s: RsChange[]) => void)[] = [];
  const changeFns: ((e: RsChange) => void)[] = [];
  const fork = opts.fork ?? (() => forkCheckWorker(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}));
  let servers: Map<string, RealServerChecks> | undefined;
  let worker: CheckWorker | undefined;
  let stopped = false;
  let startedAt = 0;
  let backoffMs = 0;
  let respawn: TimerHandle | undefined;
  let knownOf = opts.known;
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
    if (servers) {
      const all: RealServerChecks[] = [];
      for (const s of servers.values()) {
        const known = (s.checks.length > 0 ? knownOf?.(s.rs) : undefined) ?? s.known;
        all.push(known ? { ...s, known } : s);
      }
      w.set(all);
    }
  };
  return {
    set(s) {
      servers = new Map(s.map((x) => [x.rs, x]));
      if (!worker && !stopped && respawn === undefined) spawn();
      else worker?.set(s);
    },
    update(s, removed) {
      if (!servers) return this.set(s);
      for (const rs of removed) servers.delete(rs);
      for (const x of s) servers.set(x.rs, x);
      worker?.update(s, removed);
    },
    knownFrom(fn) {
      knownOf = fn;
    },
    onStates: (fn) => void statesFns.push(fn),
    onChange: (fn) => void changeFns.push(fn),
    stats: () => worker?.stats() ?? Promise.resolve([]),
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
    update(servers, removed) {
      scheduler.update(servers, removed);
      const states: RsChange[] = [];
      for (const x of servers) {
        const st = scheduler.state(x.rs);
        if (st) states.push(st);
      }
      statesFns.forEach((f) => f(states));
    },
    onStates: (fn) => void statesFns.push(fn),
    onChange: (fn) => void changeFns.push(fn),
    stats: async () => scheduler.stats(),
    async stop() {
      scheduler.stop();
    },
  };
}
