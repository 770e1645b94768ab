/**
 * The director role: configuration → health checks → desired IPVS table →
 * reconciler, plus operator overrides, real-server notifications, the sync
 * daemon and `status()` for lvsctl.
 *
 * Flow: the {@link HealthSource} (the checker process) reports real-server
 * health; every change recomputes the desired table ({@link desiredState},
 * pure) and runs a reconciler pass, so a real server that goes down leaves
 * the kernel table within one pass. Overrides live in a JSON state file under
 * `global.stateDir` and survive reloads and restarts. A reload sends the new
 * check set (unchanged checks keep their state) and applies only the
 * difference; untouched real servers keep their health.
 */
import { type CronScheduler, MaintenanceWindows } from './maintenance';
import { diffConfig } from '../config/diff';
import type { LvsdConfig, RealServer, VirtualServer } from '../config/types';
import { destKeyId, formatDestKey, formatServiceKey, serviceKeyId } from '../kernel/ipvs/addr';
import type { Ipvs } from '../kernel/ipvs/types';
import type { RsChange } from '../check/types';
import { systemClock, type Clock } from '../lib/clock';
import { nullLogger, type Logger } from '../log';
import { formatEndpoint } from '../notify/fifo';
import { NotifyRunner, scriptPolicy, type NotifyScripts } from '../notify/scripts';
import { parseAuditInterval, type AuditSchedule } from '../reconcile/audit';
import { desiredState, destPort, healthOf, Override, serviceKeyOf, type DesiredState, type OverrideName, type RsHealth } from '../reconcile/desired';
import { Reconciler, type PassResult } from '../reconcile/reconciler';
import { SyncDaemonController } from '../reconcile/sync';
import { checkSetOf, rsId } from './checks';
import { workerHealthSource, type HealthSource } from './health';
import { loadState, saveState } from './state';
import { kernelDestStatus, type DirectorStatus, type VirtualServerStatus } from './status';

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
}

/** Failure codes of {@link DirectorError}. */
export const DirectorErrorCode = {
  UNKNOWN_REAL_SERVER: 'DIRECTOR_UNKNOWN_REAL_SERVER',
  NOT_STARTED: 'DIRECTOR_NOT_STARTED',
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
  private overrides = new Map<string, OverrideName>();
  private quorum = new Map<string, boolean>();
  private desired: DesiredState = { services: [], quorum: new Map() };
  private savedManaged = '';
  private started = false;
  private stopped = false;
  private readonly maintenance: MaintenanceWindows;

  constructor(opts: DirectorOptions) {
    this.config = opts.config;
    this.ipvs = opts.ipvs;
    this.logger = opts.logger ?? nullLogger;
    this.clock = opts.clock ?? systemClock;
    this.health = opts.health ?? workerHealthSource({ clock: this.clock, logger: this.logger.child({ role: 'checker' }) });
    this.ownNotifier = opts.notify === undefined;
    this.notifier = opts.notify ?? new NotifyRunner({ logger: this.logger, ...scriptPolicy(this.config) });
    this.auditSchedule = opts.audit ?? parseAuditInterval(undefined, this.clock);
    this.stateDir = opts.stateDir ?? this.config.global.stateDir;
    this.reconciler = new Reconciler({ ipvs: this.ipvs, logger: this.logger.child({ role: 'reconciler' }), clock: this.clock });
    this.maintenance = new MaintenanceWindows(this.clock, this.logger, () => {
      if (this.started && !this.stopped) void this.reconcile();
    }, opts.cron);
    this.health.onStates((states) => this.onHealth(states));
    this.health.onChange((ev) => this.onHealth([ev]));
  }

  /**
   * Starts: loads the state file, flushes the table if `lvs_flush` is set
   * (otherwise adopts it), starts the checks, the sync daemon (as backup) and
   * the audit, and runs the first pass. Resolves after that pass.
   */
  async start(): Promise<PassResult> {
    const st = loadState(this.stateDir);
    if (st.problem) this.logger.warn('director state file ignored', { problem: st.problem });
    this.overrides = st.overrides;
    this.pruneOverrides();
    // Keys lvsd owned before a restart stay owned, so a virtual server removed meanwhile is deleted.
    this.reconciler = new Reconciler({ ipvs: this.ipvs, logger: this.logger.child({ role: 'reconciler' }), clock: this.clock, managed: st.managed });
    this.savedManaged = JSON.stringify([...st.managed].sort());
    if (this.config.global.lvsFlush) {
      try {
        await this.ipvs.flush();
        this.logger.info('ipvs table flushed at start (lvs_flush)');
      } catch (e) {
        this.logger.error('ipvs flush at start failed', { error: (e as Error).message });
      }
    }
    this.started = true;
    this.health.set(checkSetOf(this.config));
    if (this.config.global.lvsSyncDaemon) {
      this.sync = new SyncDaemonController(this.config.global.lvsSyncDaemon, this.ipvs, this.clock, this.logger.child({ role: 'sync' }));
      await this.sync.start();
    }
    const result = await this.reconcile('start');
    this.maintenance.set(this.config);
    this.reconciler.startAudit(this.auditSchedule);
    return result;
  }

  /** Recomputes the desired table and runs a reconciler pass now. */
  reconcile(reason: 'change' | 'start' = 'change'): Promise<PassResult> {
    this.recompute();
    return this.reconciler.pass(reason).then((r) => {
      this.persistManaged();
      return r;
    });
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
   * Applies a new configuration: new check set (unchanged checks keep their
   * state), overrides of removed real servers dropped, sync daemon adjusted,
   * then one pass applying only the difference. Returns one line per change.
   */
  async reload(next: LvsdConfig): Promise<string[]> {
    const d = diffConfig(this.config, next);
    const changes: string[] = [];
    for (const [kind, nd] of [['virtual_server', d.virtualServers], ['real_server', d.realServers], ['check', d.checks]] as const) {
      for (const n of nd.added) changes.push(`${kind} ${n} added`);
      for (const n of nd.removed) changes.push(`${kind} ${n} removed`);
      for (const n of nd.changed) changes.push(`${kind} ${n} changed`);
    }
    this.config = next;
    if (this.ownNotifier) this.notifier.configure(scriptPolicy(next));
    const ids = new Set(this.allRs().map(([vs, rs]) => rsId(vs.name, rs.name)));
    for (const id of [...this.reports.keys()]) if (!ids.has(id)) this.reports.delete(id);
    for (const name of [...this.quorum.keys()]) if (!next.virtualServers.has(name)) this.quorum.delete(name);
    if (this.pruneOverrides()) this.saveNow();
    await this.reloadSync(next);
    if (this.started && !this.stopped) {
      this.health.set(checkSetOf(next));
      this.maintenance.set(next);
      await this.reconcile();
    }
    this.logger.info('director reloaded', { changes: changes.length });
    return changes;
  }

  /** Per virtual and real server: weights, health, overrides, and the kernel's connections and rates. */
  async status(): Promise<DirectorStatus> {
    let kernelError: string | null = null;
    let observed = this.reconciler.lastObserved();
    try {
      observed = await this.reconciler.observe();
    } catch (e) {
      kernelError = (e as Error).message;
    }
    const byKey = new Map(observed.map((o) => [serviceKeyId(o.service.key), o]));
    const vss: VirtualServerStatus[] = [];
    for (const want of this.desired.services) {
      const vs = this.config.virtualServers.get(want.vs);
      if (!vs) continue;
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
        realServers,
      });
    }
    return { virtualServers: vss, reconciler: this.reconciler.stats(), syncDaemon: this.sync?.status() ?? null, kernelError };
  }

  /**
   * Stops: checks, audit and sync daemon stop; then `lvs_flush_onstop`:
   * `none` leaves the table (connections continue), `vs` deletes the
   * services lvsd manages, `all` flushes the whole table.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
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
        this.savedManaged = '';
        saveStateQuiet(this.stateDir, this.overrides, [], this.logger);
      }
    } catch (e) {
      this.logger.error('ipvs cleanup at stop failed', { mode, error: (e as Error).message });
    }
    if (this.ownNotifier) await this.notifier.close();
  }

  // ---- internals ----

  private allRs(): [VirtualServer, RealServer][] {
    const out: [VirtualServer, RealServer][] = [];
    for (const vs of this.config.virtualServers.values()) for (const rs of vs.realServers.values()) out.push([vs, rs]);
    return out;
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
      const now: RsHealth = { up: ev.up, reason: ev.reason, ...(ev.weight !== undefined ? { weight: ev.weight } : {}) };
      this.reports.set(ev.rs, now);
      if (before.up !== now.up || before.weight !== now.weight) changed = true;
      if (before.up !== now.up && rs.checks.length > 0) this.announce(vs, rs, now);
    }
    if (changed && this.started) void this.reconcile();
  }

  private announce(vs: VirtualServer, rs: RealServer, h: RsHealth): void {
    const state = h.up ? 'UP' : 'DOWN';
    const port = vs.address && (vs.lbKind === 'DR' || vs.lbKind === 'TUN') ? vs.address.port : rs.address.port;
    const realServer = formatEndpoint(rs.address.address, vs.protocol, port);
    const virtualServer = vs.address ? formatEndpoint(vs.address.address, vs.protocol, vs.address.port) : `fwmark:${vs.fwmark}`;
    (h.up ? this.logger.info : this.logger.warn).call(this.logger, `real server ${state}`, { vs: vs.name, rs: rs.name, address: realServer, reason: h.reason });
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

  private recompute(): void {
    const next = desiredState({ config: this.config, health: this.reports, overrides: this.effectiveOverrides(), quorum: this.quorum });
    for (const svc of next.services) {
      const before = this.quorum.get(svc.vs);
      if (before !== undefined && before !== svc.quorumUp) {
        const vs = this.config.virtualServers.get(svc.vs)!;
        const script = svc.quorumUp ? vs.quorumUp : vs.quorumDown;
        this.logger.warn(svc.quorumUp ? 'quorum gained' : 'quorum lost', {
          vs: svc.vs,
          weight_sum: svc.weightSum,
          quorum: vs.quorum,
          hysteresis: vs.hysteresis,
          sorry_server: vs.sorryServer ? vs.sorryServer.address : undefined,
        });
        if (script) void this.notifier.run(`VS:${svc.vs}`, script.argv, { LVSD_TYPE: 'VS', LVSD_VIRTUAL_SERVER: svc.vs, LVSD_STATE: svc.quorumUp ? 'UP' : 'DOWN' });
      }
    }
    this.desired = next;
    this.quorum = new Map(next.quorum);
    this.reconciler.setDesired(next.services);
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
      saveState(this.stateDir, { overrides: this.overrides, managed: this.reconciler.managedKeys() });
    } catch (e) {
      if (before) this.overrides.set(id, before);
      else this.overrides.delete(id);
      throw e;
    }
    this.logger.info(o ? `real server ${o === 'drain' ? 'drained' : 'disabled'} by operator` : 'real server enabled by operator', { vs: vsName, rs: rsName });
    return this.reconcile();
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

  private saveNow(): void {
    const managed = [...this.reconciler.managedKeys()];
    saveStateQuiet(this.stateDir, this.overrides, managed, this.logger);
    this.savedManaged = JSON.stringify(managed.sort());
  }

  /** Writes the state file when the managed keys changed since the last write. */
  private persistManaged(): void {
    if (this.stopped) return;
    const now = JSON.stringify([...this.reconciler.managedKeys()].sort());
    if (now !== this.savedManaged) this.saveNow();
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

function saveStateQuiet(dir: string, overrides: ReadonlyMap<string, OverrideName>, managed: Iterable<string>, logger: Logger): void {
  try {
    saveState(dir, { overrides, managed });
  } catch (e) {
    logger.error('cannot save director state', { error: (e as Error).message });
  }
}

/** The IPVS service key id of a virtual server (for lvsctl and tests). */
export function virtualServerKeyId(vs: VirtualServer): string {
  return serviceKeyId(serviceKeyOf(vs));
}
