/**
 * The director role: configuration → health checks → desired IPVS table →
 * reconciler, plus operator overrides, real-server notifications, the sync
 * daemon and `status()` for lvsctl.
 *
 * Flow: the {@link HealthSource} (the checker process) reports real-server
 * health; a change marks its virtual server, and the next reconciler pass
 * recomputes the desired service of the marked virtual servers alone
 * ({@link desiredServiceOf}, pure) and diffs only those, so a real server
 * that goes down leaves the kernel table within one pass, at a cost in
 * proportion to the change (bursts of changes coalesce into one pass).
 * Overrides and the last known health of the real servers live in a JSON
 * state file under `global.stateDir` and survive reloads and restarts; a
 * restarted checker is handed the last known health, so no server known down
 * comes back and no notify_up fires because a process restarted. A reload is
 * two-phase ({@link Director.prepareReload}, {@link Director.commitReload}):
 * it sends the checker only the changed checks and recomputes only the
 * virtual servers it touches; untouched real servers keep their health.
 */
import type { CheckStatsView } from '../metrics/registry';
import { emitEvent } from '../events';
import { type CronScheduler, MaintenanceWindows } from './maintenance';
import type { LvsdConfig, RealServer, VirtualServer } from '../config/types';
import { destKeyId, formatDestKey, formatServiceKey, serviceKeyId } from '../kernel/ipvs/addr';
import type { Ipvs } from '../kernel/ipvs/types';
import type { RsChange } from '../check/types';
import { systemClock, type Clock } from '../lib/clock';
import { nullLogger, type Logger } from '../log';
import { formatEndpoint } from '../notify/fifo';
import { NotifyRunner, scriptPolicy, type NotifyScripts } from '../notify/scripts';
import { parseAuditInterval, type AuditSchedule } from '../reconcile/audit';
import { desiredServiceOf, destPort, healthOf, Override, serviceKeyOf, type DesiredService, type OverrideName, type RsHealth } from '../reconcile/desired';
import { Reconciler, type ObjectFailure, type PassResult } from '../reconcile/reconciler';
import { SyncDaemonController } from '../reconcile/sync';
import { checkSetOf, rsId, splitRsId } from './checks';
import { workerHealthSource, type HealthSource } from './health';
import { planReload, realServerChecksOf } from './reload';
import { KnownHealthStore } from './known-health';
import { loadState, saveState, type StoredHealth } from './state';
import { KernelCounters } from './counters';
import { kernelDestStatus, type DirectorStatus, type IpvsObjectError, type VirtualServerStatus } from './status';
import type { KnownHealth, RealServerChecks } from '../check/types';

/** The longest a health change's pass waits for more changes arriving turn after turn (a burst); see `kickSoon`. */
export const COALESCE_MAX_MS = 5;

/** Constructor options of {@link Director}. */
export interface DirectorOptions {
  readonly config: LvsdConfig;
  readonly ipvs: Ipvs;
  readonly logger?: Logger;
  /** Monotonic clock for retries and interval audits; default the system clock. */
  readonly clock?: Clock;
  /** Health of real servers; default the forked checker process. */
  readonly health?: HealthSource;
  /** Runs notify_up/notify_down, the global notify and quorum scripts; default one of its own. */
  readonly notify?: NotifyRunner;
  /** When to audit the kernel table; default every minute (node-cron). See `parseAuditInterval`. */
  readonly audit?: AuditSchedule;
  /** Where director.json lives; default `config.global.stateDir`. */
  readonly stateDir?: string;
  /** Runs the maintenance windows' cron expressions; default node-cron (tests inject their own). */
  readonly cron?: CronScheduler;
  /**
   * Told when an IPVS object (a virtual server's service, or one real server's
   * dest) starts failing and when it recovers, for an event and a metric; the
   * same errors are in `status().errors`.
   */
  readonly onIpvsError?: (e: IpvsObjectError, state: 'failing' | 'recovered') => void;
  /**
   * Told a virtual server's quorum after the pass that applied it (its first
   * value, then each change): what BGP announcement follows (src/bgp).
   */
  readonly onQuorum?: (vs: string, up: boolean) => void;
}

/**
 * A reload computed by {@link Director.prepareReload}, applied by
 * {@link Director.commitReload} or dropped by {@link Director.abortReload}.
 * `changes` says what will change, one line each, virtual server by virtual
 * server (`virtual_server web: real_server web2 weight 1 -> 2`).
 */
export interface DirectorReloadPlan {
  readonly changes: readonly string[];
}

interface PlanState {
  readonly base: LvsdConfig;
  readonly next: LvsdConfig;
  readonly generation: number;
  readonly virtualServers: ReadonlySet<string>;
  readonly removedRealServers: readonly string[];
  readonly checkUpdates: readonly RealServerChecks[];
  readonly checkTexts: ReadonlyMap<string, string>;
  readonly global: boolean;
}

/** Failure codes of {@link DirectorError}. */
export const DirectorErrorCode = {
  UNKNOWN_REAL_SERVER: 'DIRECTOR_UNKNOWN_REAL_SERVER',
  NOT_STARTED: 'DIRECTOR_NOT_STARTED',
  /** The director is stopping or stopped: no reload. */
  STOPPED: 'DIRECTOR_STOPPED',
  /** The new configuration cannot be applied (two virtual servers with one IPVS service, …). */
  RELOAD_INVALID: 'DIRECTOR_RELOAD_INVALID',
  /** The plan was made against another configuration, or a newer plan replaced it, or it was aborted. */
  RELOAD_STALE: 'DIRECTOR_RELOAD_STALE',
} as const;

/** An operator request the director cannot honour; `code` is one of {@link DirectorErrorCode}. */
export class DirectorError extends Error {
  constructor(
    readonly code: (typeof DirectorErrorCode)[keyof typeof DirectorErrorCode],
    message: string,
  ) {
    super(message);
    this.name = 'DirectorError';
  }
}

/** A real server's state as the director last judged it. */
interface Known {
  up: boolean;
  reason: string;
  weight?: number;
}

/** The director role; see the file's doc. */
export class Director {
  private config: LvsdConfig;
  private readonly ipvs: Ipvs;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly health: HealthSource;
  private readonly notifier: NotifyRunner;
  private readonly ownNotifier: boolean;
  private readonly auditSchedule: AuditSchedule;
  private readonly stateDir: string;
  private reconciler: Reconciler;
  private sync: SyncDaemonController | null = null;
  private readonly reports = new Map<string, RsHealth>();
  /** Health of the real servers not in their starting state: what the state file keeps. */
  private readonly known: KnownHealthStore;
  private overrides = new Map<string, OverrideName>();
  private quorum = new Map<string, boolean>();
  /** Quorum values computed but not yet told to `onQuorum` (after their pass), and the last told. */
  private readonly quorumPending = new Map<string, boolean>();
  private readonly quorumTold = new Map<string, boolean>();
  /** Desired service by virtual-server name, and the service id it was handed to the reconciler as. */
  private readonly desired = new Map<string, DesiredService>();
  private readonly desiredIds = new Map<string, string>();
  /** Virtual servers whose desired service must be recomputed before the next pass. */
  private dirty = new Set<string>();
  private dirtyAll = true;
  /** Checker input per real server, as last sent (JSON), to send a reload only what changed. */
  private checkTexts = new Map<string, string>();
  private planGeneration = 0;
  private kickQueued = false;
  /** When the queued pass was first asked for (performance.now), and whether a change came since the last turn. */
  private kickFirstAt = 0;
  private changedSinceTurn = false;
  private readonly plans = new WeakMap<DirectorReloadPlan, PlanState>();
  /**
   * Real-server state changes whose log line, event and hooks wait for the pass that
   * acts on them to have issued its writes (a burst's announcements cost about as
   * much as its pass): told, in the order they came, when that pass ends.
   */
  private announcements: { vs: VirtualServer; rs: RealServer; h: RsHealth }[] = [];
  private readonly onIpvsError?: (e: IpvsObjectError, state: 'failing' | 'recovered') => void;
  private readonly onQuorum?: (vs: string, up: boolean) => void;
  /** The reconciler's managedVersion the state file holds. */
  private savedManaged = -1;
  private started = false;
  private stopped = false;
  private readonly maintenance: MaintenanceWindows;
  /** The kernel figures of status answers: the reconciler's snapshot plus one batched read. */
  private readonly counters: KernelCounters;

  constructor(opts: DirectorOptions) {
    this.config = opts.config;
    this.ipvs = opts.ipvs;
    this.logger = opts.logger ?? nullLogger;
    this.clock = opts.clock ?? systemClock;
    this.counters = new KernelCounters(this.ipvs, this.clock);
    this.health = opts.health ?? workerHealthSource({ clock: this.clock, logger: this.logger.child({ role: 'checker' }) });
    this.health.knownFrom?.((rs) => this.knownHealth(rs));
    this.known = new KnownHealthStore(this.clock, () => this.saveNow(false));
    if (opts.onIpvsError) this.onIpvsError = opts.onIpvsError;
    if (opts.onQuorum) this.onQuorum = opts.onQuorum;
    this.ownNotifier = opts.notify === undefined;
    this.notifier = opts.notify ?? new NotifyRunner({ logger: this.logger, ...scriptPolicy(this.config) });
    this.auditSchedule = opts.audit ?? parseAuditInterval(undefined, this.clock);
    this.stateDir = opts.stateDir ?? this.config.global.stateDir;
    this.reconciler = this.makeReconciler([]);
    this.maintenance = new MaintenanceWindows(this.clock, this.logger, (ids) => {
      for (const id of ids) this.dirty.add(id.slice(0, id.indexOf('/')));
      if (this.started && !this.stopped) void this.kick();
    }, opts.cron);
    this.health.onStates((states) => this.onHealth(states));
    this.health.onChange((ev) => this.onHealth([ev]));
  }

  /**
   * Starts: loads the state file, flushes the table if `lvs_flush` is set
   * (otherwise adopts it), starts the sync daemon (as backup), runs the first
   * pass (one pipelined stream of writes; nothing read back unless the table
   * was adopted: then the managed services' dests are read before the diff),
   * then starts the checks and the audit. Resolves after that.
   */
  async start(): Promise<PassResult> {
    const st = loadState(this.stateDir);
    if (st.problem) this.logger.warn('director state file ignored', { problem: st.problem });
    this.overrides = st.overrides;
    this.pruneOverrides();
    const restored = this.known.restore(st.health, (id) => this.lookup(id), this.reports);
    if (restored.servers > 0) this.logger.info('real-server health restored from the state file', restored);
    // Keys lvsd owned before a restart stay owned, so a virtual server removed meanwhile is deleted.
    this.reconciler = this.makeReconciler(st.managed);
    this.savedManaged = this.reconciler.managedVersion;
    if (this.config.global.lvsFlush) {
      try {
        await this.ipvs.flush();
        this.logger.info('ipvs table flushed at start (lvs_flush)');
      } catch (e) {
        this.logger.error('ipvs flush at start failed', { error: (e as Error).message });
      }
    }
    this.started = true;
    if (this.config.global.lvsSyncDaemon) {
      this.sync = new SyncDaemonController(this.config.global.lvsSyncDaemon, this.ipvs, this.clock, this.logger.child({ role: 'sync' }));
      await this.sync.start();
    }
    // The table first (from the configuration and the health known from before a
    // restart), then the checks: building and sending 40,000 checks takes longer than
    // writing the table, and their first verdicts come later anyway.
    const result = await this.reconcile('start');
    this.health.set(this.checkSetWithKnown());
    this.maintenance.set(this.config);
    this.reconciler.startAudit(this.auditSchedule);
    return result;
  }

  /** Recomputes the whole desired table and runs a reconciler pass now. */
  reconcile(reason: 'change' | 'start' = 'change'): Promise<PassResult> {
    this.dirtyAll = true;
    return this.kick(reason);
  }

  /**
   * A pass once the verdicts stop coming: after the next event-loop turn, and while
   * each turn brings more (the checker's messages of a backend shared by many virtual
   * servers, read a few at a time), one turn more, for at most {@link COALESCE_MAX_MS}
   * after the first. A burst makes one pass, or one per COALESCE_MAX_MS; a lone change
   * waits two turns. Changes during a pass are merged into the next one (the reconciler's).
   */
  private kickSoon(): void {
    this.changedSinceTurn = true;
    if (this.kickQueued) return;
    this.kickQueued = true;
    this.kickFirstAt = performance.now();
    this.changedSinceTurn = true;
    setImmediate(this.kickTurn);
  }

  private readonly kickTurn = (): void => {
    if (this.stopped) {
      this.kickQueued = false;
      return;
    }
    if (this.changedSinceTurn && performance.now() - this.kickFirstAt < COALESCE_MAX_MS) {
      this.changedSinceTurn = false;
      setImmediate(this.kickTurn);
      return;
    }
    this.kickQueued = false;
    void this.kick();
  };

  /** Runs a pass; the desired services of the marked virtual servers are recomputed at its start. */
  private kick(reason: 'change' | 'start' = 'change'): Promise<PassResult> {
    return this.reconciler.pass(reason).then(
      (r) => {
        this.tellAnnouncements();
        this.persistManaged();
        this.tellQuorum();
        return r;
      },
      (e: unknown) => {
        this.tellAnnouncements();
        throw e;
      },
    );
  }

  /** Logs, records and hands the hooks the real-server state changes waiting for their pass. */
  private tellAnnouncements(): void {
    if (this.announcements.length === 0) return;
    const list = this.announcements;
    this.announcements = [];
    for (const a of list) this.announce(a.vs, a.rs, a.h);
  }

  /** Hands `onQuorum` the quorum values the last pass applied. */
  private tellQuorum(): void {
    if (!this.onQuorum || this.quorumPending.size === 0) return;
    const pending = [...this.quorumPending];
    this.quorumPending.clear();
    for (const [vs, up] of pending) {
      if (!this.config.virtualServers.has(vs) || this.quorumTold.get(vs) === up) continue;
      this.quorumTold.set(vs, up);
      this.onQuorum(vs, up);
    }
  }

  /** Reconciler passes run so far (a cheap counter, for benchmarks and metrics). */
  reconcilerPasses(): number {
    return this.reconciler.stats().passes;
  }

  /** The IPVS objects that fail now, with the virtual and real server each belongs to. */
  ipvsErrors(): IpvsObjectError[] {
    return this.reconciler.failures().map((f) => this.nameFailure(f));
  }

  /** Runs an audit pass now (re-read the kernel and repair drift), as the schedule does. */
  audit(): Promise<PassResult> {
    return this.reconciler.pass('audit').then((r) => {
      this.persistManaged();
      return r;
    });
  }

  /** Drains a real server: weight 0, established connections continue. Kept across reloads and restarts. */
  drain(vs: string, rs: string): Promise<PassResult> {
    return this.setOverride(vs, rs, Override.DRAIN);
  }

  /** Disables a real server: removed from the table. Kept across reloads and restarts. */
  disable(vs: string, rs: string): Promise<PassResult> {
    return this.setOverride(vs, rs, Override.DISABLE);
  }

  /** Clears a drain or disable. */
  enable(vs: string, rs: string): Promise<PassResult> {
    return this.setOverride(vs, rs, undefined);
  }

  /** The current overrides, by `VS/RS`. */
  listOverrides(): ReadonlyMap<string, OverrideName> {
    return this.overrides;
  }

  /** The lead's hook: a VRRP instance changed state; the sync daemon follows its instance. */
  onVrrpState(instance: string, state: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP'): Promise<void> {
    return this.sync ? this.sync.onVrrpState(instance, state) : Promise.resolve();
  }

  /**
   * Applies a new configuration: {@link prepareReload} then {@link commitReload}.
   * Returns one line per change.
   */
  async reload(next: LvsdConfig): Promise<string[]> {
    const plan = await this.prepareReload(next);
    await this.commitReload(plan);
    return [...plan.changes];
  }

  /**
   * Validates `next` (its global, check, virtual-server and notifier sections;
   * VRRP sections are never read) and computes what a commit will change:
   * the lines for the operator, the virtual servers to recompute and the
   * checks to send. No side effect on IPVS, the checks or any state. Throws a
   * {@link DirectorError} with a `code` to refuse. A newer plan makes an
   * older one stale.
   */
  async prepareReload(next: LvsdConfig): Promise<DirectorReloadPlan> {
    if (this.stopped) throw new DirectorError(DirectorErrorCode.STOPPED, 'the director is stopping: reload refused');
    const delta = planReload(this.config, next);
    // Two virtual servers on one IPVS service: only the virtual servers the reload touches can clash.
    const owner = new Map<string, string>();
    for (const [name, id] of this.desiredIds) if (!delta.virtualServers.has(name)) owner.set(id, name);
    for (const name of delta.virtualServers) {
      const vs = next.virtualServers.get(name);
      if (!vs) continue;
      const id = serviceKeyId(serviceKeyOf(vs));
      const other = owner.get(id);
      if (other !== undefined) {
        throw new DirectorError(DirectorErrorCode.RELOAD_INVALID, `virtual servers "${other}" and "${vs.name}" are the same IPVS service (${formatServiceKey(serviceKeyOf(vs))}): give each its own address, port, protocol or fwmark`);
      }
      owner.set(id, vs.name);
    }
    const checkUpdates: RealServerChecks[] = [];
    const checkTexts = new Map<string, string>();
    for (const id of delta.checkCandidates) {
      const slash = id.indexOf('/');
      const vs = next.virtualServers.get(id.slice(0, slash));
      const rs = vs?.realServers.get(id.slice(slash + 1));
      if (!vs || !rs) continue;
      const c = realServerChecksOf(next, vs, rs);
      const text = JSON.stringify(c.checks);
      if (this.checkTexts.get(id) === text) continue;
      checkUpdates.push(c);
      checkTexts.set(id, text);
    }
    const plan: DirectorReloadPlan = { changes: delta.changes };
    this.plans.set(plan, {
      base: this.config,
      next,
      generation: ++this.planGeneration,
      virtualServers: delta.virtualServers,
      removedRealServers: delta.removedRealServers,
      checkUpdates,
      checkTexts,
      global: delta.global,
    });
    return plan;
  }

  /**
   * Applies a prepared plan: the new configuration in force, the changed
   * checks sent to the checker (unchanged checks keep their state), overrides
   * and health of removed real servers dropped, the sync daemon adjusted, then
   * one pass over the touched virtual servers only. Throws a
   * {@link DirectorError} `DIRECTOR_RELOAD_STALE` when the plan no longer
   * applies (then nothing changed).
   */
  async commitReload(plan: DirectorReloadPlan): Promise<void> {
    const p = this.plans.get(plan);
    if (!p || p.generation !== this.planGeneration || p.base !== this.config) {
      throw new DirectorError(DirectorErrorCode.RELOAD_STALE, 'this reload plan no longer applies (the configuration changed since it was prepared, or a newer plan replaced it): prepare it again');
    }
    if (this.stopped) throw new DirectorError(DirectorErrorCode.STOPPED, 'the director is stopping: reload refused');
    this.plans.delete(plan);
    const next = p.next;
    this.config = next;
    if (this.ownNotifier && p.global) this.notifier.configure(scriptPolicy(next));
    for (const id of p.removedRealServers) {
      this.reports.delete(id);
      this.known.drop(id);
      this.checkTexts.delete(id);
    }
    for (const [id, text] of p.checkTexts) this.checkTexts.set(id, text);
    for (const name of p.virtualServers) {
      if (!next.virtualServers.has(name)) this.quorum.delete(name);
      this.dirty.add(name);
    }
    if (this.pruneOverrides()) this.saveNow();
    await this.reloadSync(next);
    if (this.started && !this.stopped) {
      if (p.checkUpdates.length > 0 || p.removedRealServers.length > 0) this.health.update([...p.checkUpdates], [...p.removedRealServers]);
      this.maintenance.set(next);
      if (this.dirty.size > 0) await this.kick();
    }
    this.logger.info('director reloaded', { changes: plan.changes.length });
  }

  /** Drops a prepared plan; nothing was changed by it. */
  abortReload(plan: DirectorReloadPlan): void {
    this.plans.delete(plan);
  }

  /** Per virtual and real server: weights, health, overrides, and the kernel's connections and rates. */
  /**
   * Every health check's attempts (succeeded, failed) and durations since
   * its checker started, named by virtual server, real server, address and
   * `[check.NAME]` (the metrics' lvsd_check_* series).
   */
  async checkStats(): Promise<CheckStatsView[]> {
    const out: CheckStatsView[] = [];
    for (const s of (await this.health.stats?.()) ?? []) {
      const { vs: vsName, rs: rsName } = splitRsId(s.rs);
      const vs = this.config.virtualServers.get(vsName);
      const rs = vs?.realServers.get(rsName);
      // The checker's list is the real server's checks in order (checkSetOf).
      const check = rs?.checks.filter((n) => this.config.checks.has(n))[s.index];
      if (!vs || !rs || !check) continue;
      const address = formatDestKey({ address: rs.address.address, port: destPort(vs, rs.address.port) });
      out.push({ virtualServer: vsName, realServer: rsName, address, check, ok: s.ok, failed: s.failed, durations: s.durations });
    }
    return out;
  }

  async status(): Promise<DirectorStatus> {
    const { observed, kernelError, counters } = await this.counters.read(this.reconciler.lastObserved(), this.reconciler.managedKeys());
    const byKey = new Map(observed.map((o) => [serviceKeyId(o.service.key), o]));
    const vss: VirtualServerStatus[] = [];
    const errors = this.ipvsErrors();
    const errorOf = new Map<string, string>();
    for (const e of errors) errorOf.set(e.realServer === null ? `${e.virtualServer}` : `${e.virtualServer}/${e.realServer}`, e.error);
    for (const vs of this.config.virtualServers.values()) {
      const want = this.desired.get(vs.name);
      if (!want) continue;
      const have = byKey.get(serviceKeyId(want.service.key));
      const dests = new Map((have?.dests ?? []).map((dd) => [destKeyId(dd), dd]));
      const realServers = want.realServers.map((r) => {
        const rs = vs.realServers.get(r.name)!;
        const h = healthOf(vs, rs, this.reports);
        const dest = r.dest ?? { address: rs.address.address, port: destPort(vs, rs.address.port) };
        return {
          name: r.name,
          address: formatDestKey(dest),
          configuredWeight: rs.weight,
          effectiveWeight: r.dest ? r.dest.weight : null,
          health: h.up ? ('up' as const) : ('down' as const),
          reason: h.reason ?? '',
          checks: [...rs.checks],
          override: this.overrides.get(rsId(vs.name, rs.name)) ?? null,
          maintenance: this.maintenance.active().has(rsId(vs.name, rs.name)),
          disposition: r.disposition,
          kernel: kernelDestStatus(dests.get(destKeyId(dest))),
          error: errorOf.get(rsId(vs.name, rs.name)) ?? null,
        };
      });
      const sorryKey = vs.sorryServer ? { address: vs.sorryServer.address, port: destPort(vs, vs.sorryServer.port) } : undefined;
      vss.push({
        name: vs.name,
        service: formatServiceKey(want.service.key),
        scheduler: want.service.scheduler,
        lbKind: vs.lbKind,
        persistenceTimeoutS: want.service.timeoutS,
        quorum: { up: want.quorumUp, weightSum: want.weightSum, quorum: vs.quorum, hysteresis: vs.hysteresis },
        sorryServer: vs.sorryServer
          ? {
              address: formatDestKey(sorryKey!),
              active: want.sorry !== undefined,
              kernel: kernelDestStatus(dests.get(destKeyId(sorryKey!))),
            }
          : null,
        inKernel: have !== undefined,
        stats: have?.service.stats ?? null,
        error: errorOf.get(vs.name) ?? null,
        realServers,
      });
    }
    return { virtualServers: vss, reconciler: this.reconciler.stats(), syncDaemon: this.sync?.status() ?? null, kernelError, kernelCounters: counters, errors };
  }

  /**
   * Stops: checks, audit and sync daemon stop; then `lvs_flush_onstop`:
   * `none` leaves the table (connections continue), `vs` deletes the
   * services lvsd manages, `all` flushes the whole table.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.tellAnnouncements();
    this.counters.stop();
    this.known.stop();
    if (this.known.dirty) this.saveNow();
    this.maintenance.stop();
    await this.reconciler.stop();
    await this.health.stop();
    await this.sync?.stop();
    const mode = this.config.global.lvsFlushOnstop;
    try {
      if (mode === 'all') {
        await this.ipvs.flush();
        this.logger.info('ipvs table flushed at stop (lvs_flush_onstop ALL)');
      } else if (mode === 'vs') {
        const managed = this.reconciler.managedKeys();
        for (const s of await this.ipvs.services()) {
          if (!managed.has(serviceKeyId(s.key))) continue;
          try {
            await this.ipvs.delService(s.key);
            this.logger.info(`ipvs: delete service ${formatServiceKey(s.key)}`, { reason: 'stop' });
          } catch (e) {
            if ((e as { code?: string }).code !== 'ESRCH') throw e;
          }
        }
        this.savedManaged = -1;
        saveStateQuiet(this.stateDir, this.overrides, [], this.logger, this.known.deviating);
      }
    } catch (e) {
      this.logger.error('ipvs cleanup at stop failed', { mode, error: (e as Error).message });
    }
    if (this.ownNotifier) await this.notifier.close();
  }

  // ---- internals ----

  private makeReconciler(managed: Iterable<string>): Reconciler {
    return new Reconciler({
      ipvs: this.ipvs,
      logger: this.logger.child({ role: 'reconciler' }),
      clock: this.clock,
      managed,
      beforePass: () => this.recompute(),
      onFailure: (f, state) => this.onIpvsError?.(this.nameFailure(f), state),
    });
  }

  /** A failing IPVS object with the names of the virtual server (and real server) it belongs to. */
  private nameFailure(f: ObjectFailure): IpvsObjectError {
    const id = serviceKeyId(f.key);
    let vsName: string | null = null;
    for (const [name, sid] of this.desiredIds) {
      if (sid === id) {
        vsName = name;
        break;
      }
    }
    let rsName: string | null = null;
    const vs = vsName !== null ? this.config.virtualServers.get(vsName) : undefined;
    if (vs && f.dest) {
      const did = destKeyId(f.dest);
      for (const rs of vs.realServers.values()) {
        if (destKeyId({ address: rs.address.address, port: destPort(vs, rs.address.port) }) === did) {
          rsName = rs.name;
          break;
        }
      }
      if (rsName === null && vs.sorryServer && destKeyId({ address: vs.sorryServer.address, port: destPort(vs, vs.sorryServer.port) }) === did) rsName = 'sorry_server';
    }
    const now = this.clock.now();
    return {
      virtualServer: vsName,
      realServer: rsName,
      service: formatServiceKey(f.key),
      ...(f.dest ? { dest: formatDestKey(f.dest) } : {}),
      operation: f.op,
      error: f.error,
      code: f.code,
      attempts: f.attempts,
      failingForMs: Math.max(0, now - f.since),
      nextRetryInMs: Math.max(0, f.nextRetryAt - now),
    };
  }

  /** What the checker is handed for a real server: the director's last report of it. */
  private knownHealth(rs: string): KnownHealth | undefined {
    const r = this.reports.get(rs);
    return r ? { up: r.up, reason: r.reason ?? '', ...(r.weight !== undefined ? { weight: r.weight } : {}) } : undefined;
  }

  /** The whole check set, each real server with its last known health (start, and after a restart). */
  private checkSetWithKnown(): RealServerChecks[] {
    const set = checkSetOf(this.config);
    this.checkTexts = new Map();
    for (const c of set) {
      this.checkTexts.set(c.rs, JSON.stringify(c.checks));
      const k = this.knownHealth(c.rs);
      if (k && c.checks.length > 0) c.known = k;
    }
    return set;
  }

  /** The virtual and real server of an id `VS/RS` in the running configuration. */
  private lookup(id: string): { vs: VirtualServer; rs: RealServer } | undefined {
    const slash = id.indexOf('/');
    const vs = this.config.virtualServers.get(id.slice(0, slash));
    const rs = vs?.realServers.get(id.slice(slash + 1));
    return vs && rs ? { vs, rs } : undefined;
  }

  private onHealth(events: readonly RsChange[]): void {
    if (this.stopped) return;
    let changed = false;
    for (const ev of events) {
      const slash = ev.rs.indexOf('/');
      const vs = this.config.virtualServers.get(ev.rs.slice(0, slash));
      const rs = vs?.realServers.get(ev.rs.slice(slash + 1));
      if (!vs || !rs) continue; // a report from before a reload removed it
      const before: Known = healthOf(vs, rs, this.reports) as Known;
      const now: RsHealth = ev.weight !== undefined ? { up: ev.up, reason: ev.reason, weight: ev.weight } : { up: ev.up, reason: ev.reason };
      this.reports.set(ev.rs, now);
      if (rs.checks.length > 0) this.known.note(vs, rs, now, ev.rs);
      if (before.up !== now.up || before.weight !== now.weight) {
        changed = true;
        this.dirty.add(vs.name);
      }
      if (before.up !== now.up && rs.checks.length > 0) {
        if (this.started) this.announcements.push({ vs, rs, h: now });
        else this.announce(vs, rs, now);
      }
    }
    if (changed && this.started) this.kickSoon();
    else this.tellAnnouncements();
  }

  private announce(vs: VirtualServer, rs: RealServer, h: RsHealth): void {
    const state = h.up ? 'UP' : 'DOWN';
    const { realServer, virtualServer } = endpointsOf(vs, rs);
    (h.up ? this.logger.info : this.logger.warn).call(this.logger, `real server ${state}`, { vs: vs.name, rs: rs.name, address: realServer, reason: h.reason });
    emitEvent({ subsystem: 'check', severity: h.up ? 'info' : 'warn', subject: `${vs.name}/${rs.name}`, message: `${realServer} ${state}${h.reason ? `: ${h.reason}` : ''}`, fields: { address: realServer, up: h.up } });
    const scripts: NotifyScripts = {
      ...(this.config.global.notify ? { notify: this.config.global.notify.argv } : {}),
      ...(rs.notifyUp ? { up: rs.notifyUp.argv } : {}),
      ...(rs.notifyDown ? { down: rs.notifyDown.argv } : {}),
    };
    void this.notifier.notify({ type: 'RS', realServer, virtualServer, state, previousState: h.up ? 'DOWN' : 'UP', ...(h.reason ? { reason: h.reason } : {}) }, scripts);
  }

  /** The operator's overrides, plus a drain for each open maintenance window (an operator's disable wins). */
  private effectiveOverrides(): ReadonlyMap<string, OverrideName> {
    const open = this.maintenance.active();
    if (open.size === 0) return this.overrides;
    const merged = new Map(this.overrides);
    for (const id of open) if (!merged.has(id)) merged.set(id, Override.DRAIN);
    return merged;
  }

  /**
   * Brings the desired table up to date before a pass: the marked virtual
   * servers alone (all of them at start), handed to the reconciler as a
   * partial update; quorum changes run their scripts. Then the state file
   * gets the health that changed, before the pass writes the table (a crash in
   * between leaves a file that is ahead of the table, never behind it).
   */
  private recompute(): void {
    if (this.dirtyAll || this.dirty.size > 0) {
      const full = this.dirtyAll;
      const names = full ? new Set([...this.config.virtualServers.keys(), ...this.desired.keys()]) : this.dirty;
      this.dirty = new Set();
      this.dirtyAll = false;
      const overrides = this.effectiveOverrides();
      const put: DesiredService[] = [];
      const remove: string[] = [];
      for (const name of names) {
        const vs = this.config.virtualServers.get(name);
        const oldId = this.desiredIds.get(name);
        if (!vs) {
          this.desired.delete(name);
          this.desiredIds.delete(name);
          this.quorum.delete(name);
          this.quorumTold.delete(name);
          if (oldId !== undefined) remove.push(oldId);
          continue;
        }
        const svc = desiredServiceOf(vs, { health: this.reports, overrides, quorum: this.quorum });
        const before = this.quorum.get(name);
        if (before !== undefined && before !== svc.quorumUp) this.quorumChanged(vs, svc);
        this.quorum.set(name, svc.quorumUp);
        if (this.onQuorum && this.quorumTold.get(name) !== svc.quorumUp) this.quorumPending.set(name, svc.quorumUp);
        this.desired.set(name, svc);
        const id = serviceKeyId(svc.service.key);
        if (oldId !== undefined && oldId !== id) remove.push(oldId);
        this.desiredIds.set(name, id);
        put.push(svc);
      }
      if (full) {
        const all: DesiredService[] = [];
        for (const name of this.config.virtualServers.keys()) all.push(this.desired.get(name)!);
        this.reconciler.setDesired(all);
      } else this.reconciler.updateDesired(put, remove);
    }
    this.known.flush();
  }

  private quorumChanged(vs: VirtualServer, svc: DesiredService): void {
    const script = svc.quorumUp ? vs.quorumUp : vs.quorumDown;
    this.logger.warn(svc.quorumUp ? 'quorum gained' : 'quorum lost', {
      vs: vs.name,
      weight_sum: svc.weightSum,
      quorum: vs.quorum,
      hysteresis: vs.hysteresis,
      sorry_server: vs.sorryServer ? vs.sorryServer.address : undefined,
    });
    emitEvent({ subsystem: 'quorum', severity: svc.quorumUp ? 'info' : 'error', subject: vs.name, message: `${svc.quorumUp ? 'quorum gained' : 'quorum lost'}: weight ${svc.weightSum} against quorum ${vs.quorum} (hysteresis ${vs.hysteresis})${!svc.quorumUp && vs.sorryServer ? `; sorry server ${vs.sorryServer.address}` : ''}`, fields: { weightSum: svc.weightSum, quorum: vs.quorum } });
    if (script) void this.notifier.run(`VS:${vs.name}`, script.argv, { LVSD_TYPE: 'VS', LVSD_VIRTUAL_SERVER: vs.name, LVSD_STATE: svc.quorumUp ? 'UP' : 'DOWN' });
  }

  private async setOverride(vsName: string, rsName: string, o: OverrideName | undefined): Promise<PassResult> {
    const vs = this.config.virtualServers.get(vsName);
    if (!vs?.realServers.has(rsName)) {
      throw new DirectorError(DirectorErrorCode.UNKNOWN_REAL_SERVER, `no real server "${rsName}" in virtual server "${vsName}" (see lvsctl show services)`);
    }
    const id = rsId(vsName, rsName);
    const before = this.overrides.get(id);
    if (o) this.overrides.set(id, o);
    else this.overrides.delete(id);
    try {
      saveState(this.stateDir, { overrides: this.overrides, managed: this.reconciler.managedKeys(), health: this.known.deviating });
    } catch (e) {
      if (before) this.overrides.set(id, before);
      else this.overrides.delete(id);
      throw e;
    }
    this.logger.info(o ? `real server ${o === 'drain' ? 'drained' : 'disabled'} by operator` : 'real server enabled by operator', { vs: vsName, rs: rsName });
    this.dirty.add(vsName);
    return this.kick();
  }

  /** Drops overrides of real servers no longer configured; true when any was dropped. */
  private pruneOverrides(): boolean {
    let dropped = false;
    for (const id of [...this.overrides.keys()]) {
      const slash = id.indexOf('/');
      if (!this.config.virtualServers.get(id.slice(0, slash))?.realServers.has(id.slice(slash + 1))) {
        this.overrides.delete(id);
        dropped = true;
      }
    }
    return dropped;
  }

  private saveNow(durable = true): void {
    saveStateQuiet(this.stateDir, this.overrides, this.reconciler.managedKeys(), this.logger, this.known.deviating, durable, this.reconciler.managedVersion);
    this.savedManaged = this.reconciler.managedVersion;
    this.known.dirty = false;
  }

  /** Writes the state file when the managed keys changed since the last write. */
  private persistManaged(): void {
    if (this.stopped) return;
    if (this.reconciler.managedVersion !== this.savedManaged) this.saveNow();
  }

  private async reloadSync(next: LvsdConfig): Promise<void> {
    const want = next.global.lvsSyncDaemon;
    if (!this.started || this.stopped) return;
    if (!want && this.sync) {
      await this.sync.stop();
      this.sync = null;
    } else if (want && !this.sync) {
      this.sync = new SyncDaemonController(want, this.ipvs, this.clock, this.logger.child({ role: 'sync' }));
      await this.sync.start();
    } else if (want && this.sync) {
      if (want.instance !== this.sync.config.instance) {
        await this.sync.stop();
        this.sync = new SyncDaemonController(want, this.ipvs, this.clock, this.logger.child({ role: 'sync' }));
        await this.sync.start();
      } else await this.sync.reconfigure(want);
    }
  }
}

// The endpoint texts of a real server's announcements, computed once per configuration object.
const endpointTexts = new WeakMap<RealServer, { vs: VirtualServer; realServer: string; virtualServer: string }>();

/** `realServer` and `virtualServer` as a real server's log line, event and hooks name them. */
function endpointsOf(vs: VirtualServer, rs: RealServer): { realServer: string; virtualServer: string } {
  const t = endpointTexts.get(rs);
  if (t !== undefined && t.vs === vs) return t;
  const port = vs.address && (vs.lbKind === 'DR' || vs.lbKind === 'TUN') ? vs.address.port : rs.address.port;
  const realServer = formatEndpoint(rs.address.address, vs.protocol, port);
  const virtualServer = vs.address ? formatEndpoint(vs.address.address, vs.protocol, vs.address.port) : `fwmark:${vs.fwmark}`;
  const made = { vs, realServer, virtualServer };
  endpointTexts.set(rs, made);
  return made;
}

function saveStateQuiet(dir: string, overrides: ReadonlyMap<string, OverrideName>, managed: Iterable<string>, logger: Logger, health?: ReadonlyMap<string, StoredHealth>, durable = true, managedVersion?: number): void {
  try {
    saveState(dir, { overrides, managed, ...(health ? { health } : {}), ...(managedVersion !== undefined ? { managedVersion } : {}) }, durable);
  } catch (e) {
    logger.error('cannot save director state', { error: (e as Error).message });
  }
}

/** The IPVS service key id of a virtual server (for lvsctl and tests). */
export function virtualServerKeyId(vs: VirtualServer): string {
  return serviceKeyId(serviceKeyOf(vs));
}
