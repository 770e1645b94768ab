/**
 * Runs the checks of many real servers and reports when a real server's health changes.
 *
 * - Each check runs every delay_loop (measured from the end of the previous attempt, as
 *   keepalived), its first round after a random delay in [0, warmup] so thousands of
 *   checks do not fire together.
 * - A failed attempt of an up check is retried after delay_before_retry, `retry` times,
 *   before it counts (hysteresis.ts holds that logic, and rise/fall).
 * - A real server is up only when all of its checks are up (keepalived).
 * - At most `maxInFlight` probes run at once; the rest wait their turn in FIFO order, so
 *   10,000 real servers do not open 10,000 sockets at once.
 * - `onChange` is called only when a real server's up state, or its dynamic weight while
 *   up, changes. The starting state (every check up, or down with `alpha`; or the
 *   `known` state the director carried over a restart) is the baseline and is not
 *   announced; read it with {@link CheckScheduler.states}. A check added to a real
 *   server already running starts from that server's current state, so a reload that
 *   changes a check neither brings a down server back nor takes an up one out.
 *
 * Time comes from an injected {@link Clock}; probes from an injected {@link ProbeFn}, so
 * tests drive it with a fake clock and fake probes.
 */
import { DurationHistogram, type HistogramSnapshot } from '../lib/histogram';
import { type Clock, type TimerHandle, systemClock } from '../lib/clock';
import { hysteresisInit, HysteresisOptions, HysteresisState, hysteresisStep } from './hysteresis';
import { ProbeFn, runProbe } from './probe';
import { CheckOptions, KnownHealth, RealServerChecks, ResolvedSchedule, RsChange, scheduleDefaults } from './types';

/** Constructor options of {@link CheckScheduler}. */
export interface SchedulerOptions {
  /** Called on every change of a real server's health; must not throw. */
  onChange: (ev: RsChange) => void;
  /** The probe runner; default {@link runProbe}. */
  probe?: ProbeFn;
  /** Monotonic clock and its timers; default the system clock. */
  clock?: Clock;
  /** Uniform random in [0, 1) for warmup; default Math.random. */
  random?: () => number;
  /** Most probes in flight at once; default 256. */
  maxInFlight?: number;
}

/** Default bound on probes in flight. */
export const DEFAULT_MAX_IN_FLIGHT = 256;

interface CheckRun {
  readonly key: string;
  readonly rs: RsEntry;
  readonly opts: CheckOptions;
  readonly sched: ResolvedSchedule;
  readonly hopts: HysteresisOptions;
  h: HysteresisState;
  reason: string;
  weight?: number;
  timer?: TimerHandle;
  abort?: AbortController;
  queued: boolean;
  removed: boolean;
  /** Attempts since the check started, and how long each took. */
  ok: number;
  failed: number;
  durations: DurationHistogram;
}

interface RsEntry {
  readonly rs: string;
  checks: CheckRun[];
  up: boolean;
  reason: string;
  weight?: number;
}

/** One check's figures, as {@link CheckScheduler.stats} reports them. */
export interface CheckRunStats {
  /** The real server's key (`VS/RS`). */
  readonly rs: string;
  /** The check's place in the real server's list of checks. */
  readonly index: number;
  readonly ok: number;
  readonly failed: number;
  readonly durations: HistogramSnapshot;
}

/** Schedules and runs health checks; see the module doc for its contract. */
export class CheckScheduler {
  private readonly onChange: (ev: RsChange) => void;
  private readonly probe: ProbeFn;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly maxInFlight: number;
  private readonly servers = new Map<string, RsEntry>();
  private readonly queue: CheckRun[] = [];
  private running = 0;
  private stopped = false;

  constructor(opts: SchedulerOptions) {
    this.onChange = opts.onChange;
    this.probe = opts.probe ?? runProbe;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.maxInFlight = Math.max(1, Math.floor(opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT));
  }

  /** Probes running right now (never above maxInFlight). */
  get inFlight(): number {
    return this.running;
  }

  /** Checks waiting for a free slot. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Replaces the whole check set (initial load and reload). A check whose real server
   * key and options are unchanged keeps its state and timing; removed checks are
   * cancelled (an in-flight probe is aborted and its result ignored); new checks start
   * with a warmup delay. A real server whose up state changes because its set of checks
   * changed is announced through onChange; a new real server is not (its baseline is in
   * {@link states}).
   */
  set(servers: readonly RealServerChecks[]): void {
    if (this.stopped) return;
    const wanted = new Map<string, RealServerChecks>();
    for (const s of servers) wanted.set(s.rs, s);
    this.update([...wanted.values()], [...this.servers.keys()].filter((rs) => !wanted.has(rs)));
  }

  /**
   * Changes part of the check set, as {@link set} would for these real servers alone:
   * `servers` are added or have their checks replaced (unchanged checks keep their state),
   * the real servers named in `removed` are dropped. Work is proportional to the change.
   */
  update(servers: readonly RealServerChecks[], removed: readonly string[] = []): void {
    if (this.stopped) return;
    for (const rs of removed) {
      const entry = this.servers.get(rs);
      if (!entry) continue;
      for (const c of entry.checks) this.cancel(c);
      this.servers.delete(rs);
    }
    for (const s of servers) {
      const existing = this.servers.get(s.rs);
      const entry: RsEntry = existing ?? { rs: s.rs, checks: [], up: true, reason: 'starting' };
      // New checks start from what is known of the real server (its running state, or the
      // state carried over a restart), so neither a reload nor a restart flaps it.
      const seed: KnownHealth | undefined = existing ? { up: existing.up, reason: existing.reason, ...(existing.weight !== undefined ? { weight: existing.weight } : {}) } : s.known;
      const old = new Map(entry.checks.map((c) => [c.key, c]));
      const seen = new Map<string, number>();
      const next: CheckRun[] = [];
      for (const opts of s.checks) {
        const base = JSON.stringify(opts);
        const n = (seen.get(base) ?? 0) + 1;
        seen.set(base, n);
        const key = `${n}\u0000${base}`;
        const kept = old.get(key);
        if (kept) {
          old.delete(key);
          next.push(kept);
          continue;
        }
        const sched = scheduleDefaults(opts);
        const run: CheckRun = {
          key,
          rs: entry,
          opts,
          sched,
          hopts: { retry: sched.retry, rise: sched.rise, fall: sched.fall },
          h: hysteresisInit(seed ? !seed.up : sched.alpha),
          reason: seed && !seed.up ? carried(seed.reason, opts.type) : !seed && sched.alpha ? 'alpha: starts down' : 'not checked yet',
          ...(seed?.up && seed.weight !== undefined && next.length === 0 ? { weight: seed.weight } : {}),
          queued: false,
          removed: false,
          ok: 0,
          failed: 0,
          durations: new DurationHistogram(),
        };
        next.push(run);
        this.arm(run, this.random() * sched.warmupMs);
      }
      for (const c of old.values()) this.cancel(c);
      entry.checks = next;
      if (!existing) {
        const v = verdict(entry);
        entry.up = v.up;
        entry.reason = v.reason;
        entry.weight = v.weight;
        this.servers.set(s.rs, entry);
      } else {
        this.evaluate(entry);
      }
    }
  }

  /** Current health of every real server (baseline included). */
  states(): RsChange[] {
    return [...this.servers.values()].map((e) => snapshot(e));
  }

  /** Each check's attempts (succeeded, failed) and durations, by real server and the check's place in its list. */
  stats(): CheckRunStats[] {
    return [...this.servers.values()].flatMap((e) => e.checks.map((c, index) => ({ rs: e.rs, index, ok: c.ok, failed: c.failed, durations: c.durations.snapshot() })));
  }

  /** Current health of one real server, or undefined if unknown. */
  state(rs: string): RsChange | undefined {
    const e = this.servers.get(rs);
    return e && snapshot(e);
  }

  /** Stops everything: timers cleared, probes aborted, no further events. Idempotent. */
  stop(): void {
    this.stopped = true;
    for (const e of this.servers.values()) for (const c of e.checks) this.cancel(c);
    this.servers.clear();
    this.queue.length = 0;
  }

  private arm(run: CheckRun, ms: number): void {
    run.timer = this.clock.at(this.clock.now() + Math.max(0, ms), () => {
      run.timer = undefined;
      if (run.removed) return;
      run.queued = true;
      this.queue.push(run);
      this.pump();
    });
  }

  private cancel(run: CheckRun): void {
    run.removed = true;
    this.clock.clear(run.timer);
    run.timer = undefined;
    run.abort?.abort();
    if (run.queued) {
      const i = this.queue.indexOf(run);
      if (i >= 0) this.queue.splice(i, 1);
      run.queued = false;
    }
  }

  private pump(): void {
    while (!this.stopped && this.running < this.maxInFlight && this.queue.length > 0) {
      const run = this.queue.shift() as CheckRun;
      run.queued = false;
      if (run.removed) continue;
      this.start(run);
    }
  }

  private start(run: CheckRun): void {
    const t0 = performance.now();
    const ac = new AbortController();
    run.abort = ac;
    this.running++;
    let p: Promise<{ ok: boolean; reason: string; weight?: number }>;
    try {
      p = this.probe(run.opts, ac.signal);
    } catch (err) {
      // A probe must not throw; treat one that does as a failed attempt.
      p = Promise.resolve({ ok: false, reason: `probe threw: ${(err as Error).message}` });
    }
    p.catch((err: unknown) => ({ ok: false, reason: `probe rejected: ${(err as Error)?.message ?? err}` }))
      .then((res) => {
        this.running--;
        run.abort = undefined;
        if (!run.removed && !this.stopped) {
          if (res.ok) run.ok++;
          else run.failed++;
          run.durations.observe((performance.now() - t0) / 1000);
          this.record(run, res);
        }
        this.pump();
      });
  }

  private record(run: CheckRun, res: { ok: boolean; reason: string; weight?: number }): void {
    const step = hysteresisStep(run.hopts, run.h, res.ok);
    run.h = step.state;
    // The reason shown is the one that explains the current state: a failed attempt that
    // is still being retried does not replace the reason the check is up.
    if (step.changed || res.ok === step.state.up) run.reason = res.reason;
    if (res.ok && step.state.up) run.weight = res.weight;
    this.evaluate(run.rs);
    this.arm(run, step.next === 'delay_before_retry' ? run.sched.delayBeforeRetryMs : run.sched.delayLoopMs);
  }

  private evaluate(entry: RsEntry): void {
    const v = verdict(entry);
    const changed = v.up !== entry.up || (v.up && v.weight !== entry.weight);
    entry.up = v.up;
    entry.weight = v.weight;
    entry.reason = v.reason;
    if (changed) this.onChange(snapshot(entry));
  }
}

/** The reason a check starts with when it inherits a known state: `ECONNREFUSED (last known)`. */
function carried(reason: string, type: string): string {
  const own = reason.startsWith(`${type}: `) ? reason.slice(type.length + 2) : reason;
  return own.endsWith('(last known)') ? own : `${own} (last known)`;
}

/** All checks up → up; reason of the first down check otherwise; first dynamic weight. */
function verdict(e: RsEntry): { up: boolean; reason: string; weight?: number } {
  const down = e.checks.find((c) => !c.h.up);
  if (down) return { up: false, reason: `${down.opts.type}: ${down.reason}` };
  const w = e.checks.find((c) => c.weight !== undefined);
  const reason = e.checks.length === 0 ? 'no checks' : e.checks.map((c) => `${c.opts.type}: ${c.reason}`).join('; ');
  return w ? { up: true, reason, weight: w.weight } : { up: true, reason };
}

function snapshot(e: RsEntry): RsChange {
  return e.weight !== undefined && e.up
    ? { rs: e.rs, up: e.up, reason: e.reason, weight: e.weight }
    : { rs: e.rs, up: e.up, reason: e.reason };
}
