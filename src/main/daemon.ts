/**
 * The daemon: wires configuration, logging, the kernel, the VRRP engine,
 * notification hooks and the control socket together, and handles signals.
 * It holds no protocol logic of its own.
 */
import { hostname } from 'node:os';
import { type ConfigDiff, type LvsdConfig, type Script, type VrrpInstance, diffConfig } from '../config';
import { ControlError, ControlServer, type ControlHandlers } from '../control/server';
import type { ChecksResult, StatusResult } from '../control/types';
import type { DirectorStatus } from '../director/status';
import { type Addresses, DelegatingAddresses, KernelAddresses } from '../kernel/addresses';
import { type Announcer, PacketAnnouncer } from '../kernel/arp/sender';
import { KernelLinks, type Links } from '../kernel/links';
import { systemClock } from '../lib/clock';
import { type Logger, createLogger } from '../log';
import { NotifyFifo } from '../notify/fifo';
import { type NotifyScripts, type NotifyVrrpState, NotifyRunner, scriptPolicy } from '../notify/scripts';
import { Director, type DirectorReloadPlan } from '../director/director';
import { FakeIpvs } from '../kernel/ipvs/fake';
import { IpvsClient } from '../kernel/ipvs/client';
import type { Ipvs } from '../kernel/ipvs/types';
import { parseAuditInterval } from '../reconcile/audit';
import { type EngineEvent, VrrpEngine, type VrrpReloadPlan } from '../vrrp/engine';
import { type NewEvent, emitEvent } from '../events';
import { createMetrics } from '../metrics/registry';
import { EventHistory, type LoadedConfig, loadAtStart, loadForReload, vrrpHandlers } from './control';
import type { ChildRoleName, ResumeHint, TransitionMessage } from './ipc';
import { ResumeGuard, resumeMasters } from './resume';
import { MetricsServer } from '../metrics/server';
import { WebhookNotifier, WebhookNotifyRunner } from '../notify/webhook';
import type { Transition } from '../vrrp/instance';
import { BgpService } from '../bgp/service';
import { FakeVipRoutes, KernelVipRoutes } from '../bgp/routes';
import { ProcSysctls } from '../kernel/sysctl';

/** lvsd's version, from package.json. */
export const VERSION: string = (require('../../../package.json') as { version: string }).version;

/** Options of {@link Daemon}. */
export interface DaemonOptions {
  configFile: string;
  dryRun: boolean;
  logLevel?: string;
  /**
   * What this process runs: `all` (VRRP and director in one process, with the
   * control socket and metrics), or one child role of the supervisor (no
   * control socket, no metrics: the parent owns them). Default `all`.
   */
  role?: 'all' | ChildRoleName;
  /** VRRP role: called for every transition to report (the parent records and forwards it). */
  onTransition?: (t: TransitionMessage) => void;
  /** VRRP role, after a restart: which instances were MASTER and when the previous process died. */
  resume?: ResumeHint;
  /**
   * The configuration, already loaded and validated (a child role: the parent
   * is the only reader of the file). Without it, `configFile` is read.
   */
  config?: LoadedConfig;
}

/** A reload a child has prepared and waits to commit or abort. */
interface PendingReload {
  readonly id: number;
  readonly next: LvsdConfig;
  readonly diff: ConfigDiff;
  readonly changes: string[];
  /** The engine's own plan (VRRP roles). */
  vrrp?: VrrpReloadPlan;
  /** The director's own plan (director roles with a running director). */
  director?: DirectorReloadPlan;
  /** The IPVS client opened to start a director the running configuration did not have. */
  ipvs?: Ipvs;
}

/** Addresses that read the real kernel but only log changes (--dry-run). */
class DryRunAddresses extends DelegatingAddresses {
  constructor(real: Addresses, private readonly log: Logger) {
    super(real);
  }
  override async add(ifname: string, cidr: string): Promise<'added'> {
    this.log.info('dry run: would add address', { ifname, cidr });
    return 'added';
  }
  override async remove(ifname: string, cidr: string): Promise<'removed'> {
    this.log.info('dry run: would remove address', { ifname, cidr });
    return 'removed';
  }
}

/** The running daemon. */
export class Daemon {
  private config!: LvsdConfig;
  private log!: Logger;
  private links!: Links;
  private addresses!: Addresses;
  private announcer!: Announcer;
  private engine!: VrrpEngine;
  private control: ControlServer | undefined;
  private director: Director | undefined;
  /** With `[bgp]`: VIP announcement through BIRD (director roles). */
  private bgp: BgpService | undefined;
  private ipvs: Ipvs | undefined;
  private notify!: NotifyRunner;
  private webhooks: WebhookNotifier | undefined;
  private fifo: NotifyFifo | undefined;
  /** The transitions behind `lvsctl events` and the metrics' transition counts. */
  private readonly history = new EventHistory();
  /** The state each sync group was last notified in. */
  private readonly groupStates = new Map<string, string>();
  private metricsServer: MetricsServer | undefined;
  private readonly startedAt = new Date();
  private stopping: Promise<void> | undefined;
  /** Instances whose startup transitions are not reported (a resumed master). */
  private readonly quietStartup = new Set<string>();
  private guard: ResumeGuard | undefined;

  constructor(private readonly opts: DaemonOptions) {}

  private get role(): 'all' | ChildRoleName {
    return this.opts.role ?? 'all';
  }

  /** Loads the configuration and starts everything; throws with a message an operator can act on. */
  async start(): Promise<void> {
    const loaded = this.opts.config ?? loadAtStart(this.opts.configFile);
    this.config = loaded.config;
    const level = (this.opts.logLevel ?? this.config.global.logLevel) as 'info';
    this.log = this.role === 'all' ? createLogger({ level }) : createLogger({ level }).child({ process: this.role });
    // A child's warnings were logged by the parent, which read the file.
    if (!this.opts.config) for (const w of loaded.warnings) this.log.warn(w);
    this.log.info('lvsd starting', { version: VERSION, config: this.opts.configFile, pid: process.pid, dryRun: this.opts.dryRun });

    const kernelLinks = new KernelLinks();
    this.links = kernelLinks;
    if (this.opts.dryRun) {
      this.addresses = new DryRunAddresses(new KernelAddresses(), this.log);
      const log = this.log;
      this.announcer = {
        async announce(ifname: string, vips: readonly string[]): Promise<number> {
          log.debug('dry run: would announce', { ifname, vips: vips.join(' ') });
          return vips.length;
        },
        close(): void {},
      };
    } else {
      this.addresses = new KernelAddresses();
      this.announcer = new PacketAnnouncer(this.links);
    }
    if (this.opts.resume && this.role === 'vrrp') {
      // A resumed master's VIPs must survive the startup's stale-VIP cleanup (see resume.ts).
      this.guard = new ResumeGuard(this.addresses, this.log);
      this.addresses = this.guard;
    }
    this.fifo = this.config.global.notifyFifo ? new NotifyFifo({ path: this.config.global.notifyFifo, create: true, logger: this.log }) : undefined;
    this.webhooks = new WebhookNotifier(this.config.notifiers.values(), { logger: this.log.child({ role: 'webhook' }), hostname: hostname(), routerId: this.config.global.routerId ?? hostname() });
    // Webhooks ride on the notify runner, so the director's real-server events reach them too.
    this.notify = new WebhookNotifyRunner({ logger: this.log, ...scriptPolicy(this.config), ...(this.fifo ? { fifo: this.fifo } : {}) }, this.webhooks);

    this.engine = new VrrpEngine({
      clock: systemClock,
      log: this.log,
      links: this.links,
      addresses: this.addresses,
      announcer: this.announcer,
      onTransition: (t) => this.transitioned(t),
      onEvent: (e) => emitEvent(engineEvent(e)),
      onTrack: (e) => emitEvent({ subsystem: 'track', severity: e.severity, subject: e.instance, message: e.message }),
    });
    if (this.role === 'all') {
      this.control = new ControlServer({ path: this.config.global.controlSocket, handlers: this.handlers(), logger: this.log });
      await this.control.listen();
      await this.startMetrics();
    }
    // The director (checks + IPVS) starts first, so the table is warm before this node can become master.
    if (this.role !== 'vrrp' && (this.config.virtualServers.size > 0 || this.config.global.lvsSyncDaemon)) await this.startDirector(this.config);
    if (this.role !== 'director') {
      if (this.guard && this.opts.resume) {
        for (const name of this.opts.resume.masters) if (this.config.vrrpInstances.has(name)) this.quietStartup.add(name);
        this.guard.hold(this.config, [...this.quietStartup], (name) => this.engine.instance(name)?.state);
      }
      await this.engine.start(this.config);
      if (this.guard && this.opts.resume) {
        const resumed = await resumeMasters(this.engine, this.config, this.opts.resume, this.addresses, this.log);
        this.quietStartup.clear();
        for (const name of this.opts.resume.masters) {
          if (resumed.includes(name)) this.guard.resumed(name);
          else {
            this.guard.release(name);
            const r = this.engine.instance(name);
            // The parent last heard MASTER; tell it (and the hooks) where the instance stands now.
            if (r) this.transitioned({ instance: name, from: 'MASTER', to: r.state, reason: 'VRRP process restarted and did not resume as master', priority: r.status().effectivePriority, at: performance.now(), bySync: false });
          }
        }
      }
    }
    this.log.info('lvsd started', { instances: this.config.vrrpInstances.size, virtualServers: this.config.virtualServers.size });
  }

  /** Opens IPVS for a director; throws EIPVS with what to do when it cannot be reached. */
  private async openIpvs(): Promise<Ipvs> {
    try {
      // The dry run's table: no call log, which would grow for as long as lvsd runs.
      return this.opts.dryRun ? new FakeIpvs({ record: false }) : await IpvsClient.open();
    } catch (e) {
      throw Object.assign(new Error(`the configuration has virtual servers but IPVS cannot be reached (${(e as Error).message}); load the ip_vs module or remove the [virtual_server.*] sections`), { code: 'EIPVS' });
    }
  }

  /** The BGP announcer of a configuration with `[bgp]` (started before the director, whose passes feed it quorum). */
  private async startBgp(config: LvsdConfig): Promise<void> {
    if (!config.bgp || this.bgp) return;
    this.bgp = new BgpService({
      config,
      routes: this.opts.dryRun ? new FakeVipRoutes() : new KernelVipRoutes(),
      addresses: this.addresses,
      sysctls: new ProcSysctls(),
      readOnlySysctls: this.opts.dryRun,
      ...(this.ipvs ? { ipvs: this.ipvs } : {}),
      clock: systemClock,
      logger: this.log.child({ role: 'bgp' }),
    });
    await this.bgp.start();
  }

  private async startDirector(config: LvsdConfig, ipvs?: Ipvs): Promise<void> {
    this.ipvs = ipvs ?? (await this.openIpvs());
    await this.startBgp(config);
    this.director = new Director({
      onQuorum: (vs, up) => this.bgp?.quorum(vs, up),
      config,
      ipvs: this.ipvs,
      logger: this.log,
      clock: systemClock,
      notify: this.notify,
      audit: parseAuditInterval(config.global.auditInterval, systemClock),
      onIpvsError: (e, state) =>
        emitEvent({
          subsystem: 'reconcile',
          severity: state === 'failing' ? 'error' : 'info',
          subject: e.realServer ? `${e.virtualServer ?? e.service}/${e.realServer}` : (e.virtualServer ?? e.service),
          message: state === 'failing' ? `IPVS refuses ${e.operation}: ${e.error}; retried on its own` : `IPVS accepts ${e.operation} again`,
          fields: { code: e.code, attempts: e.attempts },
        }),
    });
    await this.director.start();
  }

  /** Serves /metrics when `metrics_listen` is set; a reload does not move it (restart to change it). */
  private async startMetrics(): Promise<void> {
    const at = this.config.global.metricsListen;
    if (!at) return;
    const metrics = createMetrics({
      info: () => ({ version: VERSION, routerId: this.config.global.routerId ?? hostname() }),
      vrrp: () => this.status(),
      director: () => this.director?.status(),
      checks: () => this.director?.checkStats(),
      ...(this.config.bgp ? { bgp: () => this.bgp?.status() } : {}),
      transitions: () => this.history.counts,
      events: async () => (await this.history.events({ limit: 200 })).events, // the status page's timeline (STATUS_EVENTS)
    });
    this.metricsServer = new MetricsServer(metrics, this.log);
    const bound = await this.metricsServer.listen(at.host, at.port);
    this.log.info('metrics served', { address: `${bound.address}:${bound.port}`, path: '/metrics' });
  }

  /** Stops cleanly: priority 0 adverts, VIPs removed, sockets closed. Idempotent. */
  stop(why: string): Promise<void> {
    this.stopping ??= (async () => {
      this.log?.info('lvsd stopping', { why });
      // Withdraw first: the routers move the flows to the other directors while this one still forwards.
      try {
        await this.bgp?.stop();
      } catch (e) {
        this.log.error('error while withdrawing the BGP routes', { error: (e as Error).message });
      }
      try {
        await this.engine?.stop();
      } catch (e) {
        this.log.error('error while stopping VRRP', { error: (e as Error).message });
      }
      try {
        await this.director?.stop();
      } catch (e) {
        this.log.error('error while stopping the director', { error: (e as Error).message });
      }
      this.ipvs?.close();
      // STOP events get a moment to leave, but a dead receiver never holds the stop up.
      if (this.webhooks) await Promise.race([this.webhooks.idle(), new Promise((r) => setTimeout(r, 1000).unref())]);
      await this.webhooks?.close();
      await this.control?.close();
      await this.metricsServer?.close();
      this.fifo?.close();
      this.announcer?.close();
      this.addresses?.close();
      this.links?.close();
      this.log?.info('lvsd stopped');
    })();
    return this.stopping;
  }

  /**
   * Re-reads the file and applies the difference (the single-process daemon;
   * a child gets its configuration from the parent through
   * {@link prepareReload}). An invalid file changes nothing and the problems
   * are returned (and logged).
   */
  async reload(): Promise<{ changes: string[]; warnings: string[] }> {
    const loaded = loadForReload(this.opts.configFile, this.log);
    const { changes } = await this.prepareReload(loaded.config, 0);
    await this.commitReload(0);
    return { changes, warnings: loaded.warnings };
  }

  private pending: PendingReload | undefined;

  /**
   * The first phase of a reload: works out what `next` changes and checks
   * that it can be applied, changing nothing. Refuses (throws with a `code`)
   * when a part cannot be had: a new instance's socket, IPVS for a new
   * director. {@link commitReload} or {@link abortReload} with the same `id`
   * follows.
   */
  async prepareReload(next: LvsdConfig, id: number): Promise<{ changes: string[] }> {
    if (this.pending) this.abortReload(this.pending.id);
    const diff = diffConfig(this.config, next);
    // The engine words its instances' changes itself (what changed, and whether a transition follows),
    // the director its checks, virtual and real servers.
    const changes = describeDiff(diff, [...(this.role === 'director' ? [] : ['vrrpInstances']), ...(this.director ? ['checks', 'virtualServers', 'realServers'] : [])]);
    const pending: PendingReload = { id, next, diff, changes };
    if (!diff.empty && this.role !== 'director') {
      pending.vrrp = await this.engine.prepareReload(next, diff);
      changes.push(...pending.vrrp.changes);
    }
    if (this.role !== 'vrrp' && this.director && !diff.empty) {
      try {
        pending.director = await this.director.prepareReload(next);
      } catch (e) {
        if (pending.vrrp) this.engine.abortReload(pending.vrrp);
        throw e;
      }
      changes.push(...pending.director.changes);
    } else if (this.role !== 'vrrp' && !this.director && (next.virtualServers.size > 0 || next.global.lvsSyncDaemon)) {
      pending.ipvs = await this.openIpvs();
      changes.push('director started');
    }
    this.pending = pending;
    return { changes };
  }

  /** Applies the reload prepared under `id`. */
  async commitReload(id: number): Promise<{ changes: string[] }> {
    const p = this.pending;
    if (!p || p.id !== id) throw new ControlError('NO_PREPARED_RELOAD', `no reload ${id} is prepared in the ${this.role} process`);
    this.pending = undefined;
    const { next, diff, changes } = p;
    if (diff.empty && !p.ipvs) {
      this.log.info('reload: no change');
      return { changes: [] };
    }
    if (p.vrrp) await this.engine.commitReload(p.vrrp);
    if (p.director) await this.director!.commitReload(p.director);
    else if (p.ipvs) await this.startDirector(next, p.ipvs);
    if (this.role !== 'vrrp' && this.director && (diff.bgp || diff.virtualServers.added.length + diff.virtualServers.removed.length + diff.virtualServers.changed.length > 0)) changes.push(...(await this.reloadBgp(next)));
    if (diff.global && next.global.logLevel !== this.config.global.logLevel && !this.opts.logLevel) {
      this.log.setLevel(next.global.logLevel);
    }
    this.config = next;
    this.notify.configure(scriptPolicy(next));
    this.webhooks?.setNotifiers(next.notifiers.values());
    this.webhooks?.setIdentity(hostname(), next.global.routerId ?? hostname());
    this.log.info('reload applied', { changes: changes.join('; ') });
    return { changes };
  }

  /** The BGP part of a committed reload: started, reconfigured, or stopped (every VIP withdrawn). */
  private async reloadBgp(next: LvsdConfig): Promise<string[]> {
    try {
      if (next.bgp && !this.bgp) {
        await this.startBgp(next);
        return ['bgp: started'];
      }
      if (!next.bgp && this.bgp) {
        const b = this.bgp;
        this.bgp = undefined;
        await b.stop();
        return ['bgp: stopped, every VIP withdrawn'];
      }
      return this.bgp ? await this.bgp.reload(next) : [];
    } catch (e) {
      this.log.error('bgp: reload failed', { error: (e as Error).message });
      return [`bgp: reload failed: ${(e as Error).message}`];
    }
  }

  /** Drops the reload prepared under `id`; the running configuration stays. */
  abortReload(id: number): void {
    const p = this.pending;
    if (!p || p.id !== id) return;
    this.pending = undefined;
    p.ipvs?.close();
    if (p.vrrp) this.engine.abortReload(p.vrrp);
    if (p.director) this.director?.abortReload(p.director);
    this.log.info('reload aborted; the running configuration stays', { id });
  }

  status(): StatusResult {
    const s = this.engine.status();
    return {
      routerId: this.config.global.routerId ?? hostname(),
      pid: process.pid,
      version: VERSION,
      startedAt: this.startedAt.toISOString(),
      instances: s.instances.map((i) => ({
        ...i,
        state: i.state as StatusResult['instances'][number]['state'],
        lastTransition: i.lastTransition && { ...i.lastTransition, at: this.wallTime(i.lastTransition.at) },
      })),
      drops: s.drops,
      ...(this.role === 'all' && this.config.bgp ? { bgp: this.bgp ? this.bgp.status() : { error: 'no virtual servers: BGP announcement is not running' } } : {}),
    };
  }

  /** Monotonic ms → ISO wall time, for display only. */
  private wallTime(monotonic: number): string {
    return new Date(Date.now() - (performance.now() - monotonic)).toISOString();
  }

  /** The director role's hook: a VRRP instance (in the VRRP process) changed state. */
  vrrpState(instance: string, state: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT'): void {
    this.director?.onVrrpState(instance, state).catch((e: Error) => this.log.error('sync daemon switch failed', { error: e.message }));
  }

  /** The control commands this process answers (the socket's in `all`, the parent's requests in a child). */
  handlers(): ControlHandlers {
    return {
      ...vrrpHandlers({ status: () => this.status(), reload: () => this.reload(), history: this.history }),
      'reload-prepare': (args) => this.prepareReload(args.config as LvsdConfig, Number(args.id)),
      'reload-commit': (args) => this.commitReload(Number(args.id)),
      'reload-abort': (args) => (this.abortReload(Number(args.id)), {}),
      'show services': () => this.directorOrThrow().status(),
      'check stats': () => this.directorOrThrow().checkStats(),
      'show checks': async () => checksOf(await this.directorOrThrow().status(), this.config),
      drain: (args) => (args.vs === undefined && args.rs === undefined ? this.bgpOrThrow().drain(true) : this.override('drain', args)),
      undrain: () => this.bgpOrThrow().drain(false),
      'bgp status': () => this.bgpOrThrow().status(),
      'bgp withdraw': async () => (await this.bgp?.withdrawAll(), {}),
      disable: (args) => this.override('disable', args),
      enable: (args) => this.override('enable', args),
    };
  }

  private bgpOrThrow(): BgpService {
    if (!this.bgp) throw new ControlError('NO_BGP', 'this lvsd announces nothing over BGP (no [bgp] section, or no virtual servers): lvsctl drain needs VS RS');
    return this.bgp;
  }

  private directorOrThrow(): Director {
    if (!this.director) throw new ControlError('NO_VIRTUAL_SERVERS', 'this lvsd manages no virtual servers (no [virtual_server.*] in its configuration)');
    return this.director;
  }

  private async override(what: 'drain' | 'disable' | 'enable', args: Readonly<Record<string, unknown>>): Promise<unknown> {
    const vs = args.vs;
    const rs = args.rs;
    if (typeof vs !== 'string' || typeof rs !== 'string') throw new ControlError('BAD_ARGS', `${what} needs {"vs": NAME, "rs": NAME}`);
    const d = this.directorOrThrow();
    await d[what](vs, rs);
    this.log.info(`operator: ${what} ${vs}/${rs}`);
    return { vs, rs, override: what === 'enable' ? null : what };
  }

  private transitioned(t: Transition): void {
    // A resumed master's startup (INIT -> BACKUP -> MASTER within one tick) is not news: it was and is MASTER.
    if (this.quietStartup.has(t.instance)) {
      this.log.info(`${t.instance}: startup transition not reported (resuming as master)`, { from: t.from, to: t.to });
      return;
    }
    this.opts.onTransition?.({ instance: t.instance, from: t.from, to: t.to, reason: t.reason, priority: t.priority, at: this.wallTime(t.at) });
    if (this.director) {
      const st = t.to as 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';
      this.director.onVrrpState(t.instance, st).catch((e: Error) => this.log.error('sync daemon switch failed', { error: e.message }));
    }
    this.history.record({ at: this.wallTime(t.at), instance: t.instance, from: t.from, to: t.to, reason: t.reason });
    const inst = this.config.vrrpInstances.get(t.instance);
    if (!inst) return;
    const state = notifyState(t.to);
    if (!state) return;
    // Never awaited: a slow or failing hook cannot hold VRRP up.
    void this.notify.notify({ type: 'INSTANCE', name: t.instance, state, previousState: t.from, priority: t.priority, reason: t.reason }, notifyScripts(inst, this.config.global.notify));
    if (inst.syncGroup) this.groupTransitioned(inst.syncGroup, t.reason);
  }

  /** A sync group is notified once all its members have reached one state. */
  private groupTransitioned(name: string, reason: string): void {
    const g = this.config.vrrpSyncGroups.get(name);
    if (!g) return;
    const states = new Set(g.group.map((m) => this.engine.instance(m.name)?.state));
    if (states.size !== 1) return;
    const [only] = states;
    const state = notifyState(only);
    const previous = this.groupStates.get(name);
    if (!state || previous === state) return;
    this.groupStates.set(name, state);
    void this.notify.notify({ type: 'GROUP', name, state, ...(previous ? { previousState: previous } : {}), reason }, notifyScripts(g, this.config.global.notify));
  }
}

/** What the VRRP engine repaired or found on its own, as an event. */
export function engineEvent(e: EngineEvent): NewEvent {
  switch (e.kind) {
    case 'vip-restored':
      return { subsystem: 'vrrp', severity: 'warn', subject: e.instance, message: `VIP ${e.vip} was removed from ${e.interface} by someone else while MASTER: added back and announced`, fields: { vip: e.vip, interface: e.interface } };
    case 'vip-foreign':
      return { subsystem: 'vrrp', severity: 'warn', subject: e.instance, message: `VIP ${e.vip} is on ${e.interface} while the instance is ${e.state}: added by someone else`, fields: { vip: e.vip, interface: e.interface } };
    case 'detached':
      return { subsystem: 'vrrp', severity: 'error', subject: e.instance, message: `no VRRP socket on ${e.interface}: ${e.reason} (FAULT until it can attach)`, fields: { interface: e.interface } };
    case 'attached':
      return { subsystem: 'vrrp', severity: 'info', subject: e.instance, message: `VRRP socket open on ${e.interface} (index ${e.ifindex}) again`, fields: { interface: e.interface, ifindex: e.ifindex } };
  }
}

/** One line per named object a reload adds, removes or changes. */
export function describeDiff(diff: ConfigDiff, skip: readonly string[] = []): string[] {
  const changes: string[] = [];
  for (const [kind, d] of Object.entries(diff)) {
    if (typeof d !== 'object' || d === null || skip.includes(kind)) continue;
    const nd = d as { added: string[]; removed: string[]; changed: string[] };
    for (const n of nd.added) changes.push(`${kind}: added ${n}`);
    for (const n of nd.removed) changes.push(`${kind}: removed ${n}`);
    for (const n of nd.changed) changes.push(`${kind}: changed ${n}`);
  }
  if (diff.global) changes.push('global: changed');
  if (diff.bgp) changes.push('bgp: changed');
  return changes;
}

/** The state a VRRP state is notified as (INIT as STOP, as keepalived); undefined for one not notified. */
function notifyState(state: string | undefined): NotifyVrrpState | undefined {
  return state === 'INIT' ? 'STOP' : state === 'MASTER' || state === 'BACKUP' || state === 'FAULT' ? state : undefined;
}

/** An instance's or sync group's notify scripts; its generic `notify` falls back to the global one. */
function notifyScripts(hooks: Pick<VrrpInstance, 'notify' | 'notifyMaster' | 'notifyBackup' | 'notifyFault' | 'notifyStop'>, globalNotify: Script | undefined): NotifyScripts {
  const generic = hooks.notify ?? globalNotify;
  return {
    ...(generic ? { notify: generic.argv } : {}),
    ...(hooks.notifyMaster ? { master: hooks.notifyMaster.argv } : {}),
    ...(hooks.notifyBackup ? { backup: hooks.notifyBackup.argv } : {}),
    ...(hooks.notifyFault ? { fault: hooks.notifyFault.argv } : {}),
    ...(hooks.notifyStop ? { stop: hooks.notifyStop.argv } : {}),
  };
}

/** The `show checks` answer, derived from the director's status and the config's check types. */
export function checksOf(st: DirectorStatus, config: LvsdConfig): ChecksResult {
  return {
    realServers: st.virtualServers.flatMap((vs) =>
      vs.realServers.map((rs) => ({
        vs: vs.name,
        rs: rs.name,
        address: rs.address,
        health: rs.health,
        reason: rs.reason,
        checks: rs.checks.map((name) => ({ name, type: config.checks.get(name)?.type ?? 'unknown' })),
      })),
    ),
  };
}
