/**
 * BGP announcement in the director process: drives the {@link Announcer}
 * with the director's quorum reports, the operator's drain and the stop,
 * carries its actions out as VIP routes in lvsd's table (retried with
 * backoff when the kernel refuses), keeps each announcing VIP as a local
 * address on `vip_interface`, sets and checks the IPVS sysctls, and watches
 * BIRD ({@link BirdMonitor}) for `lvsctl status`, events and metrics.
 *
 * Nothing here can hold VRRP or IPVS up: BIRD is only read, every kernel
 * call is awaited on its own and its failure is logged, reported and
 * retried. The director drain is kept in `STATE_DIR/bgp.json`, so it
 * survives a restart of the director process and of lvsd (until `lvsctl
 * undrain`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BgpConfig, LvsdConfig } from '../config/types';
import { emitEvent } from '../events';
import type { Addresses } from '../kernel/addresses';
import type { Sysctls } from '../kernel/sysctl';
import type { Clock, TimerHandle } from '../lib/clock';
import type { Logger } from '../log';
import { Announcer, type AnnouncerAction, type AnnouncerInput } from './announcer';
import { BirdClient, type BirdTransport } from './bird';
import { BirdMonitor, type BirdSnapshot } from './monitor';
import { hostCidr, type VipRoutes } from './routes';
import { ensureSysctls, type SysctlState } from './sysctls';
import { ActiveSyncDaemons, type ActiveSyncStatus } from './sync';
import type { Ipvs } from '../kernel/ipvs/types';

/** The VIPs to announce: VIP → the virtual servers with `announce = bgp` on it, in file order. */
export function announcedVips(config: LvsdConfig): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!config.bgp) return out;
  for (const vs of config.virtualServers.values()) {
    if (vs.announce !== 'bgp' || !vs.address) continue;
    const list = out.get(vs.address.address);
    if (list) list.push(vs.name);
    else out.set(vs.address.address, [vs.name]);
  }
  return out;
}

/** One VIP in `lvsctl status`. */
export interface BgpVipStatus {
  readonly vip: string;
  /** The announcer's decision. */
  readonly state: 'announced' | 'withdrawn' | 'pending';
  readonly cause: string;
  /** Seconds since the last change (null: none yet). */
  readonly sinceS: number | null;
  readonly virtualServers: readonly string[];
  /** Whether the route is in the table as far as lvsd knows. */
  readonly route: boolean;
  /** The kernel's refusal of the last route change, retried. */
  readonly routeError: string | null;
}

/** One BGP protocol of BIRD in `lvsctl status`. */
export interface BgpProtocolStatus {
  readonly name: string;
  readonly state: string;
  readonly bgpState: string;
  readonly since: string;
  readonly neighbor: string | null;
  readonly lastError: string;
  readonly exportedRoutes: number | null;
  /** The BFD session to its neighbour: Up, Down, Init, AdminDown, or null when there is none. */
  readonly bfd: string | null;
}

/** The `bgp` part of `lvsctl status`. */
export interface BgpStatus {
  readonly birdSocket: string;
  readonly routeTable: number;
  readonly vipInterface: string;
  readonly drained: boolean;
  readonly vips: readonly BgpVipStatus[];
  readonly bird: { readonly up: boolean; readonly error: string | null; readonly version: string | null; readonly polledAgoS: number | null };
  readonly bfdExpected: boolean;
  readonly protocols: readonly BgpProtocolStatus[];
  readonly bfdMissing: readonly string[];
  readonly sysctlsManaged: boolean;
  readonly sysctls: readonly SysctlState[];
  /** `sync_daemon`: both roles' daemons; null without it. */
  readonly syncDaemon: ActiveSyncStatus | null;
}

/** Options of {@link BgpService}. */
export interface BgpServiceOptions {
  readonly config: LvsdConfig;
  readonly routes: VipRoutes;
  readonly addresses: Pick<Addresses, 'add' | 'remove'>;
  readonly sysctls: Sysctls;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where bgp.json lives; default `config.global.stateDir`. */
  readonly stateDir?: string;
  /** BIRD; default a {@link BirdClient} on `bird_socket`. */
  readonly bird?: (socket: string) => BirdTransport;
  /** BIRD poll period; default 2000 ms. */
  readonly pollMs?: number;
  /** How often the sysctls are checked again; default 30000 ms. */
  readonly sysctlCheckMs?: number;
  /** Never write sysctls (dry run). */
  readonly readOnlySysctls?: boolean;
  /** IPVS, for `sync_daemon` (absent: no sync daemons are started). */
  readonly ipvs?: Pick<Ipvs, 'startDaemon' | 'stopDaemon'>;
}

/** First retry of a refused route change; doubled up to {@link ROUTE_RETRY_MAX_MS}. */
export const ROUTE_RETRY_FIRST_MS = 1000;
export const ROUTE_RETRY_MAX_MS = 30_000;
/** How long a stop waits for the withdrawals. */
export const STOP_WITHDRAW_MS = 3000;

/** The service; see the file's doc. */
export class BgpService {
  private config: LvsdConfig;
  private bgp: BgpConfig;
  private readonly announcer = new Announcer();
  /** The route state wanted per VIP, and what the kernel has as far as we know. */
  private readonly want = new Map<string, boolean>();
  private readonly have = new Map<string, boolean>();
  private readonly routeErrors = new Map<string, string>();
  private syncing: Promise<void> | undefined;
  private resync = false;
  private retryTimer: TimerHandle | undefined;
  private retryFailures = 0;
  private monitor: BirdMonitor;
  private sysctlTimer: TimerHandle | undefined;
  private sysctlStates: SysctlState[] = [];
  private stopped = false;
  private readonly stateDir: string;
  /** VIP addresses lvsd put on vip_interface. */
  private vipAddresses = new Set<string>();
  private syncDaemons: ActiveSyncDaemons | undefined;

  constructor(private readonly o: BgpServiceOptions) {
    if (!o.config.bgp) throw new Error('BgpService needs a [bgp] section');
    this.config = o.config;
    this.bgp = o.config.bgp;
    this.stateDir = o.stateDir ?? o.config.global.stateDir;
    this.monitor = this.makeMonitor();
  }

  private makeMonitor(): BirdMonitor {
    const transport = this.o.bird ? this.o.bird(this.bgp.birdSocket) : new BirdClient(this.bgp.birdSocket);
    return new BirdMonitor({
      transport,
      clock: this.o.clock,
      bfd: this.bgp.bfd,
      ...(this.o.pollMs ? { intervalMs: this.o.pollMs } : {}),
      onChange: (c) => {
        (c.severity === 'error' ? this.o.logger.error : c.severity === 'warn' ? this.o.logger.warn : this.o.logger.info).call(this.o.logger, `bgp: ${c.subject}: ${c.message}`);
        emitEvent({ subsystem: 'bgp', severity: c.severity, subject: c.subject, message: c.message });
      },
    });
  }

  /**
   * Starts: the drain from bgp.json, the VIP addresses, the routes already in
   * the table (kept while their quorum is not known), the sysctls and the
   * BIRD watch. Never throws for the kernel or BIRD: both are retried.
   */
  async start(): Promise<void> {
    const drained = this.loadDrain();
    this.step({ kind: 'config', vips: announcedVips(this.config) });
    if (drained) this.step({ kind: 'drain', drained: true });
    await this.syncAddresses();
    try {
      const found = await this.o.routes.list(this.bgp.routeTable);
      for (const v of found) this.have.set(v, true);
      this.step({ kind: 'installed', vips: found });
    } catch (e) {
      this.o.logger.error('bgp: cannot read the VIP routes of the table', { table: this.bgp.routeTable, error: (e as Error).message });
    }
    await this.checkSysctls();
    await this.reloadSyncDaemons();
    await this.monitor.start();
    await this.sync();
  }

  /** Starts, reconfigures or stops the sync daemons as `sync_daemon` says. */
  private async reloadSyncDaemons(): Promise<void> {
    const want = this.bgp.syncDaemon;
    if (!this.o.ipvs) return;
    if (!want) {
      await this.syncDaemons?.stop();
      this.syncDaemons = undefined;
    } else if (!this.syncDaemons) {
      this.syncDaemons = new ActiveSyncDaemons(want, this.o.ipvs, this.o.clock, this.o.logger);
      await this.syncDaemons.start();
    } else await this.syncDaemons.reconfigure(want);
  }

  /** The director's report: a virtual server's quorum after a pass. */
  quorum(vs: string, up: boolean): void {
    if (this.stopped) return;
    this.step({ kind: 'quorum', vs, up });
  }

  /** `lvsctl drain` / `undrain` (no arguments): withdraw or announce every VIP; kept in bgp.json first. */
  async drain(drained: boolean): Promise<BgpStatus> {
    if (this.stopped) throw Object.assign(new Error('lvsd is stopping'), { code: 'BGP_STOPPING' });
    this.saveDrain(drained);
    this.o.logger.info(drained ? 'bgp: director drained by operator' : 'bgp: director undrained by operator');
    this.step({ kind: 'drain', drained });
    await this.sync();
    return this.status();
  }

  /** Withdraws every VIP (the stop's first step) and waits for it, at most {@link STOP_WITHDRAW_MS}. */
  async withdrawAll(): Promise<void> {
    this.step({ kind: 'stop' });
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.sync(), new Promise<void>((r) => (t = setTimeout(r, STOP_WITHDRAW_MS)))]);
    if (t) clearTimeout(t);
  }

  /** Stops: withdraws every VIP, then stops the watch. The VIP addresses stay (IPVS keeps serving). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.withdrawAll();
    this.stopped = true;
    this.o.clock.clear(this.retryTimer);
    this.o.clock.clear(this.sysctlTimer);
    this.monitor.stop();
    await this.syncDaemons?.stop();
    this.o.routes.close();
  }

  /** Applies a new configuration (virtual servers with announce, [bgp]); returns one line per change. */
  async reload(next: LvsdConfig): Promise<string[]> {
    const changes: string[] = [];
    const nb = next.bgp;
    if (!nb) throw new Error('BgpService.reload needs a [bgp] section');
    const old = this.bgp;
    if (nb.routeTable !== old.routeTable || nb.vipInterface !== old.vipInterface) {
      // Move the routes: out of the old table first, so no peer sees them twice.
      for (const [vip, on] of this.have) {
        if (!on) continue;
        try {
          await this.o.routes.del(vip, old.vipInterface, old.routeTable);
          this.have.set(vip, false);
        } catch (e) {
          this.o.logger.error('bgp: cannot delete a VIP route from the old table', { vip, table: old.routeTable, error: (e as Error).message });
        }
      }
      changes.push(`bgp: routes move from table ${old.routeTable} dev ${old.vipInterface} to table ${nb.routeTable} dev ${nb.vipInterface}`);
    }
    const oldVips = announcedVips(this.config);
    this.config = next;
    this.bgp = nb;
    const vips = announcedVips(next);
    for (const v of vips.keys()) if (!oldVips.has(v)) changes.push(`bgp: ${v} announced by ${vips.get(v)!.join(', ')} when quorum allows`);
    for (const v of oldVips.keys()) if (!vips.has(v)) changes.push(`bgp: ${v} no longer announced`);
    if (nb.birdSocket !== old.birdSocket || nb.bfd !== old.bfd) {
      this.monitor.stop();
      this.monitor = this.makeMonitor();
      void this.monitor.start();
      changes.push(`bgp: BIRD read at ${nb.birdSocket}${nb.bfd ? ' (BFD expected)' : ''}`);
    }
    this.step({ kind: 'config', vips });
    await this.syncAddresses();
    if (nb.sysctls !== old.sysctls) await this.checkSysctls();
    await this.reloadSyncDaemons();
    await this.sync();
    return changes;
  }

  /** The `bgp` part of `lvsctl status`. */
  status(): BgpStatus {
    const now = this.o.clock.now();
    const snap: BirdSnapshot = this.monitor.snapshot;
    const bfdOf = (addr: string | undefined) => (addr ? snap.bfdSessions.find((s) => s.address === addr)?.state ?? null : null);
    return {
      birdSocket: this.bgp.birdSocket,
      routeTable: this.bgp.routeTable,
      vipInterface: this.bgp.vipInterface,
      drained: this.announcer.isDrained,
      vips: this.announcer.view().map((v) => ({
        vip: v.vip,
        state: v.state,
        cause: v.cause,
        sinceS: v.since ? Math.round((now - v.since) / 100) / 10 : null,
        virtualServers: v.virtualServers,
        route: this.have.get(v.vip) === true,
        routeError: this.routeErrors.get(v.vip) ?? null,
      })),
      bird: { up: snap.up, error: snap.error ?? null, version: snap.version ?? null, polledAgoS: snap.polledAt ? Math.round((now - snap.polledAt) / 100) / 10 : null },
      bfdExpected: this.bgp.bfd,
      protocols: snap.protocols.map((p) => ({
        name: p.name,
        state: p.state,
        bgpState: p.bgpState,
        since: p.since,
        neighbor: p.neighborAddress ?? null,
        lastError: p.lastError,
        exportedRoutes: p.exportedRoutes ?? null,
        bfd: bfdOf(p.neighborAddress),
      })),
      bfdMissing: snap.bfdMissing,
      sysctlsManaged: this.bgp.sysctls,
      sysctls: this.sysctlStates,
      syncDaemon: this.syncDaemons?.status() ?? null,
    };
  }

  // ---- internals ----

  private step(input: AnnouncerInput): void {
    const actions = this.announcer.step(input, this.o.clock.now());
    for (const a of actions) this.act(a);
    if (actions.length && !this.stopped) void this.sync();
  }

  private act(a: AnnouncerAction): void {
    this.want.set(a.vip, a.kind === 'announce');
    const msg = `${a.vip} ${a.kind === 'announce' ? 'announced' : 'withdrawn'}: ${a.cause}`;
    if (a.kind === 'announce') this.o.logger.info(`bgp: ${msg}`, { table: this.bgp.routeTable });
    else this.o.logger.warn(`bgp: ${msg}`, { table: this.bgp.routeTable });
    emitEvent({ subsystem: 'bgp', severity: a.kind === 'announce' ? 'info' : 'warn', subject: a.vip, message: `${a.kind === 'announce' ? 'announced' : 'withdrawn'}: ${a.cause}`, fields: { vip: a.vip, action: a.kind, cause: a.cause } });
  }

  /** Brings the table to `want`, one route at a time; one run at a time, a request during a run makes one more. */
  private sync(): Promise<void> {
    if (this.syncing) {
      this.resync = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.resync = false;
        await this.syncOnce();
      } while (this.resync);
    })().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    let failed = false;
    for (const [vip, on] of [...this.want]) {
      if (this.have.get(vip) === on && !this.routeErrors.has(vip)) {
        if (!on) this.want.delete(vip);
        continue;
      }
      try {
        if (on) await this.o.routes.add(vip, this.bgp.vipInterface, this.bgp.routeTable);
        else await this.o.routes.del(vip, this.bgp.vipInterface, this.bgp.routeTable);
        this.have.set(vip, on);
        if (this.routeErrors.delete(vip)) emitEvent({ subsystem: 'bgp', severity: 'info', subject: vip, message: `route ${on ? 'added' : 'deleted'} after earlier refusals` });
        if (!on && this.want.get(vip) === false) this.want.delete(vip);
      } catch (e) {
        failed = true;
        const msg = (e as Error).message;
        if (this.routeErrors.get(vip) !== msg) {
          this.o.logger.error(`bgp: cannot ${on ? 'add' : 'delete'} the route to ${vip}; retrying`, { table: this.bgp.routeTable, error: msg });
          emitEvent({ subsystem: 'bgp', severity: 'error', subject: vip, message: `cannot ${on ? 'add' : 'delete'} its route in table ${this.bgp.routeTable}: ${msg}; retrying` });
        }
        this.routeErrors.set(vip, msg);
      }
    }
    this.o.clock.clear(this.retryTimer);
    this.retryTimer = undefined;
    if (failed && !this.stopped) {
      const delay = Math.min(ROUTE_RETRY_FIRST_MS * 2 ** this.retryFailures, ROUTE_RETRY_MAX_MS);
      this.retryFailures++;
      this.retryTimer = this.o.clock.at(this.o.clock.now() + delay, () => void this.sync());
    } else this.retryFailures = 0;
  }

  /** Every announcing VIP as a local /32 or /128 on vip_interface; VIPs no longer configured removed. */
  private async syncAddresses(): Promise<void> {
    const vips = new Set(announcedVips(this.config).keys());
    const ifname = this.bgp.vipInterface;
    for (const v of vips) {
      try {
        await this.o.addresses.add(ifname, hostCidr(v));
        this.vipAddresses.add(v);
      } catch (e) {
        this.o.logger.error('bgp: cannot add the VIP address', { vip: v, interface: ifname, error: (e as Error).message });
        emitEvent({ subsystem: 'bgp', severity: 'error', subject: v, message: `cannot add ${hostCidr(v)} to ${ifname}: ${(e as Error).message}` });
      }
    }
    for (const v of [...this.vipAddresses]) {
      if (vips.has(v)) continue;
      try {
        await this.o.addresses.remove(ifname, hostCidr(v));
        this.vipAddresses.delete(v);
      } catch (e) {
        this.o.logger.error('bgp: cannot remove the VIP address', { vip: v, interface: ifname, error: (e as Error).message });
      }
    }
  }

  private async checkSysctls(): Promise<void> {
    const before = new Map(this.sysctlStates.map((s) => [s.name, s]));
    const set = this.bgp.sysctls && !this.o.readOnlySysctls;
    this.sysctlStates = await ensureSysctls(this.o.sysctls, set);
    for (const s of this.sysctlStates) {
      const b = before.get(s.name);
      if (b && b.ok === s.ok && b.have === s.have) continue;
      if (s.ok && !b) continue;
      const msg = s.ok ? `${s.name} = ${s.have}` : `${s.name}: ${s.have === null ? s.error ?? 'missing' : `${s.have}${s.error ? ` (${s.error})` : ''}`}; active/active needs ${s.want}: ${s.why}`;
      (s.ok ? this.o.logger.info : this.o.logger.warn).call(this.o.logger, `bgp: sysctl ${msg}`);
      emitEvent({ subsystem: 'bgp', severity: s.ok ? 'info' : 'warn', subject: s.name, message: msg });
    }
    this.o.clock.clear(this.sysctlTimer);
    if (!this.stopped) this.sysctlTimer = this.o.clock.at(this.o.clock.now() + (this.o.sysctlCheckMs ?? 30_000), () => void this.checkSysctls());
  }

  private drainFile(): string {
    return path.join(this.stateDir, 'bgp.json');
  }

  private loadDrain(): boolean {
    try {
      const j = JSON.parse(fs.readFileSync(this.drainFile(), 'utf8')) as { drained?: unknown };
      return j.drained === true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.o.logger.warn('bgp: state file ignored', { file: this.drainFile(), error: (e as Error).message });
      return false;
    }
  }

  /** Writes bgp.json (temporary file, fsync, rename); throws when it cannot, so the operator hears it. */
  private saveDrain(drained: boolean): void {
    fs.mkdirSync(this.stateDir, { recursive: true });
    const tmp = `${this.drainFile()}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify({ drained })}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.drainFile());
  }
}
