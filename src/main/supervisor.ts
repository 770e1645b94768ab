/**
 * lvsd's parent process (keepalived's model): it forks the VRRP process and,
 * when there are virtual servers, the director process (checks + IPVS
 * reconciler), owns the pid file, the control socket and the metrics
 * listener, records VRRP transitions (the `events` history) and forwards
 * them to the director (sync daemon).
 *
 * The parent is the only reader of the configuration file. It keeps the
 * last accepted configuration and hands each child its part of it
 * (reload.ts `configFor`) in the child's `start` message: at start, after a
 * crash (whatever the file on disk holds by then) and, on reload, in a
 * two-phase exchange: every concerned child prepares the new part and
 * answers ready or refused; only when all are ready do they commit; if one
 * refuses or does not answer in time, all keep the running configuration and
 * the operator is told which part refused and why. Reloads run one at a
 * time; requests that arrive meanwhile coalesce into one more.
 *
 * Supervision never gives up: every child death, one during start-up too, is
 * followed by a restart with backoff (restart.ts), the first one at once so a
 * crashed VRRP child resumes its masters ({@link ResumeHint}, resume.ts);
 * deaths in a row make a visible crash loop, during which the parent removes
 * the VIPs the dead VRRP child held (never a VIP on a node whose VRRP is
 * dead). Children send heartbeats; one whose event loop is stuck is killed
 * and restarted, and the systemd watchdog is pinged only while every child
 * is alive or being restarted.
 *
 * Signals: SIGTERM/SIGINT stop the children cleanly (priority-0 advert, VIPs
 * removed, IPVS per lvs_flush_onstop) and remove the pid file; SIGHUP reloads
 * (an invalid file changes nothing). A child that exits 0 on its own was
 * stopped by an operator's signal: the whole lvsd stops with it.
 */
import { SdNotify } from '../kernel/sdnotify';
import { fork, type ChildProcess } from 'node:child_process';
import { childExecArgv } from '../lib/child-flags';
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { type LvsdConfig, diffConfig } from '../config';
import { ControlError, ControlServer, type ControlHandlers } from '../control/server';
import type { StatusResult } from '../control/types';
import type { DirectorStatus } from '../director/status';
import type { BgpStatus } from '../bgp/service';
import { type Addresses, KernelAddresses } from '../kernel/addresses';
import { type Logger, createLogger } from '../log';
import { type CheckStatsView, createMetrics, type VrrpView } from '../metrics/registry';
import { MetricsServer } from '../metrics/server';
import { emitEvent } from '../events';
import { EventHistory, loadAtStart, loadForReload, reloadEvent, vrrpHandlers, withOperatorEvents } from './control';
import { VERSION } from './daemon';
import { ChildRequestError, ChildRole, type ChildRoleName, ChildRpc, type ResumeHint, type ToChild, type ToParent, type TransitionMessage } from './ipc';
import { SerialRuns, concerns, configFor } from './reload';
import { CRASH_LOOP_RUNS, HUNG_MS, STABLE_RUN_MS, restartDelayMs } from './restart';

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  readonly configFile: string;
  readonly dryRun: boolean;
  readonly logLevel?: string;
  /** The child entry module; default dist/src/main/child.js beside this file. */
  readonly childModule?: string;
}

const STOP_GRACE_MS = 10_000;
/** How long each child has to prepare a reload before the reload is refused. */
const PREPARE_TIMEOUT_MS = 10_000;
/** How long a child may stay down (backoff included) before the watchdog stops being pinged. */
const DOWN_LIMIT_MS = 120_000;
/** How often the parent looks at its children's heartbeats. */
const HEARTBEAT_CHECK_MS = 250;
/** How long after a VRRP process is ready its standby is forked (out of the way of the start). */
const STANDBY_DELAY_MS = 1_000;

/** What a child process is doing, as `status` and `processes` show it. */
export type ChildState = 'starting' | 'running' | 'restarting' | 'crash-loop';

interface Slot {
  readonly role: ChildRoleName;
  child: ChildProcess | undefined;
  rpc: ChildRpc | undefined;
  startedAt: number;
  shortRuns: number;
  restartTimer: NodeJS.Timeout | undefined;
  ready: boolean;
  restarts: number;
  state: ChildState;
  /** When the child last sent a heartbeat (or was forked). */
  lastBeat: number;
  /** When it last died, while it is down. */
  downSince: number | undefined;
  /** The last heartbeat of a child killed as stuck: its loop (and its adverts) stopped then, not at its death. */
  stuckSince: number | undefined;
  lastExit: string | undefined;
}

/** The parent process; see the file's doc. */
export class Supervisor {
  private config!: LvsdConfig;
  private warnings: readonly string[] = [];
  private log!: Logger;
  private control: ControlServer | undefined;
  private metricsServer: MetricsServer | undefined;
  private readonly slots = new Map<ChildRoleName, Slot>();
  /** Every subsystem's events behind `lvsctl events` (in state_dir once started) and the metrics' transition counts. */
  private history = new EventHistory();
  /** Each instance's last state, as the VRRP child reported it. */
  private readonly vrrpStates = new Map<string, TransitionMessage['to']>();
  private vrrpDiedAt: number | undefined;
  private readonly startedAt = new Date();
  private stopping: Promise<void> | undefined;
  private pidWritten = false;
  /** systemd's readiness protocol; a no-op when not started by systemd with Type=notify. */
  private readonly sd = new SdNotify(process.env, () => this.healthy());
  private readonly reloads = new SerialRuns(() => this.runReload());
  private reloadSeq = 0;
  /** Reload outcomes since start (metrics). */
  readonly reloadCounts: { ok: number; refused: number; failed: number; lastOk: boolean | null } = { ok: 0, refused: 0, failed: 0, lastOk: null };
  private hangTimer: NodeJS.Timeout | undefined;
  private lastCheck = 0;
  /** The parent's own address handle, to take a dead VRRP child's VIPs away; opened when first needed. */
  private addresses: Addresses | undefined;
  /**
   * A VRRP process forked ahead of need, its modules loaded, waiting for a
   * `start` message: a crashed VRRP child is replaced by it within
   * milliseconds instead of a Node start (seconds on a loaded machine), so it
   * resumes its masters inside the 2 x advert_int window.
   */
  private standby: ChildProcess | undefined;
  private standbyTimer: NodeJS.Timeout | undefined;
  private standbyDeaths = 0;

  constructor(private readonly opts: SupervisorOptions) {}

  /** Loads the config, writes the pid file, opens the socket, starts the children; throws on failure. */
  async start(): Promise<void> {
    const loaded = loadAtStart(this.opts.configFile);
    this.config = loaded.config;
    this.warnings = loaded.warnings;
    this.log = createLogger({ level: (this.opts.logLevel ?? this.config.global.logLevel) as 'info' }).child({ process: 'parent' });
    for (const w of loaded.warnings) this.log.warn(w);
    this.log.info('lvsd starting', { version: VERSION, config: this.opts.configFile, pid: process.pid, dryRun: this.opts.dryRun });
    this.history = new EventHistory({ dir: this.config.global.stateDir, logger: this.log }).sink(); // events: the parent stores every process's
    this.writePid();
    this.control = new ControlServer({ path: this.config.global.controlSocket, handlers: this.handlers(), logger: this.log });
    await this.control.listen();
    await this.startMetrics();
    // Both children start together: VRRP spends at least Master_Down_Interval in
    // BACKUP before it can become master, which is when the director makes its
    // first pass, so the table is warm in time without the starts adding up
    // (each is a Node start: seconds under emulation).
    await Promise.all([
      ...(this.wantsDirector(this.config) ? [this.spawn(ChildRole.DIRECTOR, true)] : []),
      this.spawn(ChildRole.VRRP, true),
    ]);
    this.lastCheck = performance.now();
    this.hangTimer = setInterval(() => this.checkHeartbeats(), HEARTBEAT_CHECK_MS);
    this.hangTimer.unref();
    this.log.info('lvsd started', { vrrpPid: this.slots.get(ChildRole.VRRP)?.child?.pid, directorPid: this.slots.get(ChildRole.DIRECTOR)?.child?.pid });
    // READY only now: VRRP is running and, when configured, the reconciler has made its first pass.
    this.sd.ready(this.readyStatus());
  }

  private readyStatus(): string {
    const c = this.config;
    return `${c.vrrpInstances.size} VRRP instance(s), ${c.virtualServers.size} virtual server(s)`;
  }

  private wantsDirector(c: LvsdConfig): boolean {
    return c.virtualServers.size > 0 || c.global.lvsSyncDaemon !== undefined;
  }

  private writePid(): void {
    const file = this.config.global.pidFile;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, `${process.pid}\n`);
      this.pidWritten = true;
    } catch (e) {
      this.log.warn('cannot write the pid file', { file, error: (e as Error).message });
    }
  }

  private removePid(): void {
    if (!this.pidWritten) return;
    const file = this.config.global.pidFile;
    try {
      // Another lvsd may have taken the file over since: only our own pid is removed.
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
    } catch {
      /* already gone */
    }
  }

  /** The pids of the running children (tests, SIGUSR1). */
  childPids(): Partial<Record<ChildRoleName | 'standby', number>> {
    const out: Partial<Record<ChildRoleName | 'standby', number>> = {};
    for (const [role, s] of this.slots) if (s.child?.pid && s.child.exitCode === null) out[role] = s.child.pid;
    if (this.standby?.pid && this.standby.exitCode === null) out.standby = this.standby.pid;
    return out;
  }

  /** Each child's state, restarts and last exit (status, `processes`, metrics). */
  processes(): Record<string, { pid: number | null; state: ChildState; restarts: number; lastExit: string | null }> {
    return Object.fromEntries(
      [...this.slots].map(([role, s]) => [role, { pid: s.child?.pid ?? null, state: s.state, restarts: s.restarts, lastExit: s.lastExit ?? null }]),
    );
  }

  /**
   * Forks `role` and sends it its part of `config` (default: the last
   * accepted one). With `initial`, resolves when it is ready and rejects when
   * it cannot start; otherwise a child that fails to start is restarted like
   * any other that dies.
   */
  private spawn(role: ChildRoleName, initial: boolean, config: LvsdConfig = this.config): Promise<void> {
    let slot = this.slots.get(role);
    if (!slot) {
      slot = { role, child: undefined, rpc: undefined, startedAt: 0, shortRuns: 0, restartTimer: undefined, ready: false, restarts: 0, state: 'starting', lastBeat: 0, downSince: undefined, stuckSince: undefined, lastExit: undefined };
      this.slots.set(role, slot);
    }
    const s = slot;
    // The file is named for `ps` only: the child never reads it.
    const args = [role, this.opts.configFile, ...(this.opts.dryRun ? ['--dry-run'] : []), ...(this.opts.logLevel ? ['--log-level', this.opts.logLevel] : [])];
    let resume: ResumeHint | undefined;
    if (role === ChildRole.VRRP && this.vrrpDiedAt !== undefined) {
      const hint: ResumeHint = { masters: [...this.vrrpStates].filter(([, st]) => st === 'MASTER').map(([n]) => n), diedAgoMs: performance.now() - this.vrrpDiedAt };
      if (hint.masters.length) resume = hint;
    }
    const child = role === ChildRole.VRRP ? this.takeStandby() ?? this.forkChild(args) : this.forkChild(args);
    s.child = child;
    s.rpc = new ChildRpc(child, role);
    s.startedAt = performance.now();
    s.lastBeat = s.startedAt;
    s.ready = false;
    if (s.state !== 'crash-loop') s.state = 'starting';
    this.log.info(`${role} process started`, { pid: child.pid, standby: child.spawnargs.includes('--standby') });
    this.sendTo(role, { kind: 'start', config: configFor(role, config), warnings: this.warnings, ...(resume ? { resume } : {}) }, child);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      child.on('message', (m: ToParent) => {
        if (s.child !== child) return;
        if (m.kind === 'heartbeat') {
          s.lastBeat = performance.now();
          return;
        }
        if (s.rpc?.answer(m)) return;
        if (m.kind === 'ready') {
          s.ready = true;
          s.state = 'running';
          s.downSince = undefined;
          s.lastBeat = performance.now();
          if (role === ChildRole.DIRECTOR) for (const [instance, state] of this.vrrpStates) this.sendTo(ChildRole.DIRECTOR, { kind: 'vrrp-state', instance, state: state as 'MASTER' });
          else this.scheduleStandby(STANDBY_DELAY_MS);
          if (!settled) ((settled = true), resolve());
        } else if (m.kind === 'start-failed') {
          this.log.error(`${role} process cannot start`, { code: m.code, error: m.message });
          if (!settled) {
            settled = true;
            reject(Object.assign(new Error(m.message), { code: m.code }));
          }
        } else if (m.kind === 'transition') this.transition(m.t);
        else if (m.kind === 'event') this.history.add(m.event); // events: a child's
      });
      child.on('exit', (code, signal) => {
        s.rpc?.failAll(`exited (${signal ?? code})`);
        // A stuck VRRP process stopped advertising at its last heartbeat: the resume window counts from then.
        if (role === ChildRole.VRRP) this.vrrpDiedAt = s.stuckSince ?? performance.now();
        s.stuckSince = undefined;
        if (s.child === child) {
          s.child = undefined;
          s.ready = false;
        }
        if (!settled) {
          settled = true;
          reject(Object.assign(new Error(`the ${role} process exited (${signal ?? code}) before it was ready`), { code: 'ECHILD' }));
        }
        // The first start's failure is lvsd's own (it does not start); every later death is restarted.
        if (initial && !s.restarts && s.state === 'starting') return;
        this.exited(s, code, signal);
      });
    });
  }

  private forkChild(args: readonly string[]): ChildProcess {
    return fork(this.opts.childModule ?? path.join(__dirname, 'child.js'), args, {
      execArgv: childExecArgv(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Structured clone: the parsed configuration's Maps and byte arrays cross as they are.
      serialization: 'advanced',
    });
  }

  /** The standby VRRP process, taken out of standby; undefined when there is none alive. */
  private takeStandby(): ChildProcess | undefined {
    const c = this.standby;
    this.standby = undefined;
    if (!c || !c.connected || c.exitCode !== null || c.signalCode !== null) return undefined;
    c.removeAllListeners('exit');
    c.removeAllListeners('message');
    return c;
  }

  /** Forks a standby VRRP process after `delayMs`, unless one is there; see {@link standby}. */
  private scheduleStandby(delayMs: number): void {
    if (this.stopping || this.standby || this.standbyTimer) return;
    this.standbyTimer = setTimeout(() => {
      this.standbyTimer = undefined;
      if (this.stopping || this.standby) return;
      const args = [ChildRole.VRRP, this.opts.configFile, ...(this.opts.dryRun ? ['--dry-run'] : []), ...(this.opts.logLevel ? ['--log-level', this.opts.logLevel] : []), '--standby'];
      const c = this.forkChild(args);
      this.standby = c;
      c.on('message', () => undefined); // heartbeats: it only waits
      c.on('exit', (code, signal) => {
        if (this.standby !== c) return;
        this.standby = undefined;
        if (this.stopping) return;
        this.standbyDeaths++;
        this.log.warn('the standby VRRP process died', { code, signal });
        if (this.standbyDeaths <= 5) this.scheduleStandby(STANDBY_DELAY_MS * 2 ** this.standbyDeaths);
      });
    }, delayMs);
    this.standbyTimer.unref();
  }

  private exited(s: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    if (code === 0) {
      // A child stops with 0 only when it was told to (a signal from the operator): stop everything.
      this.log.info(`${s.role} process stopped on its own; stopping lvsd`);
      void this.stop(`${s.role} process stopped`).then(() => setImmediate(() => process.exit(0)));
      return;
    }
    const ran = performance.now() - s.startedAt;
    s.shortRuns = ran >= STABLE_RUN_MS ? 1 : s.shortRuns + 1;
    s.downSince ??= performance.now();
    s.lastExit = signal ?? `exit ${code}`;
    const delay = restartDelayMs(ran, s.shortRuns);
    s.state = s.shortRuns >= CRASH_LOOP_RUNS ? 'crash-loop' : 'restarting';
    this.log.error(`${s.role} process died; restarting`, { code, signal, ranMs: Math.round(ran), restartInMs: delay, state: s.state, deathsInARow: s.shortRuns });
    emitEvent({ subsystem: 'process', severity: 'error', subject: s.role, message: `died (${s.lastExit}) after ${Math.round(ran)} ms; restarting in ${delay} ms${s.state === 'crash-loop' ? ` (crash loop: ${s.shortRuns} deaths in a row)` : ''}`, fields: { code, signal, restartInMs: delay, state: s.state } });
    // A VRRP child restarted too late to resume its masters: their VIPs go now, not at its start.
    if (s.role === ChildRole.VRRP && delay > 0) void this.dropVips(delay);
    s.restartTimer = setTimeout(() => {
      s.restartTimer = undefined;
      if (this.stopping) return;
      s.restarts++;
      this.spawn(s.role, false).catch((e: Error) => this.log.error(`${s.role} process restart failed`, { error: e.message }));
    }, delay);
  }

  /**
   * Removes the VIPs of every instance the dead VRRP child last reported
   * MASTER and that cannot resume after a restart `delayMs` away (the resume
   * window is 2 x advert_int from the death, see restart.ts).
   */
  private async dropVips(delayMs: number): Promise<void> {
    for (const [name, st] of this.vrrpStates) {
      if (st !== 'MASTER') continue;
      const inst = this.config.vrrpInstances.get(name);
      if (!inst || delayMs < 2 * inst.advertIntCs * 10) continue;
      this.transition({ instance: name, from: 'MASTER', to: 'INIT', reason: 'VRRP process died and restarts after a backoff: VIPs removed by the parent', priority: 0, at: new Date().toISOString() });
      for (const v of [...inst.virtualIpaddress, ...inst.virtualIpaddressExcluded]) {
        const cidr = `${v.address}/${v.prefix}`;
        const ifname = inst.interface;
        if (this.opts.dryRun) {
          this.log.info('dry run: would remove address', { ifname, cidr });
          continue;
        }
        try {
          this.addresses ??= new KernelAddresses();
          await this.addresses.remove(ifname, cidr);
          this.log.warn(`${name}: VIP removed by the parent while the VRRP process is down`, { ifname, cidr });
          emitEvent({ subsystem: 'vrrp', severity: 'warn', subject: name, message: `VIP ${cidr} removed from ${ifname} by the parent: the VRRP process is down for ${delayMs} ms` });
        } catch (e) {
          this.log.error(`${name}: cannot remove VIP while the VRRP process is down`, { ifname, cidr, error: (e as Error).message });
        }
      }
    }
  }

  /** Kills a child whose heartbeats stopped (SIGSTOP, an endless loop); its exit restarts it. */
  private checkHeartbeats(): void {
    if (this.stopping) return;
    const now = performance.now();
    const since = now - this.lastCheck;
    this.lastCheck = now;
    if (since > HEARTBEAT_CHECK_MS * 4) {
      // The parent itself stood still (SIGSTOP, a stall): the heartbeats wait unread in
      // the channel. Count from now rather than kill children that were fine all along.
      this.log.warn(`the lvsd parent process stood still for ${Math.round(since)} ms; heartbeats are counted afresh`);
      emitEvent({ subsystem: 'process', severity: 'warn', subject: 'parent', message: `stood still for ${Math.round(since)} ms (stopped or starved); children not judged on it` });
      for (const s of this.slots.values()) s.lastBeat = now;
      return;
    }
    for (const s of this.slots.values()) {
      if (!s.child || !s.ready) continue;
      const silent = now - s.lastBeat;
      if (silent < HUNG_MS[s.role]) continue;
      this.log.error(`${s.role} process is not responding (no heartbeat for ${Math.round(silent)} ms); killing it`, { pid: s.child.pid });
      emitEvent({ subsystem: 'process', severity: 'error', subject: s.role, message: `stuck: no heartbeat for ${Math.round(silent)} ms; killed`, fields: { pid: s.child.pid ?? null } });
      s.ready = false;
      s.stuckSince = s.lastBeat;
      s.child.kill('SIGKILL');
    }
  }

  /** For the watchdog: every child is alive, or down no longer than a restart takes. */
  private healthy(): boolean {
    const now = performance.now();
    for (const s of this.slots.values()) {
      if (s.ready && now - s.lastBeat > HUNG_MS[s.role] * 2) return false;
      if (s.downSince !== undefined && now - s.downSince > DOWN_LIMIT_MS) return false;
    }
    return true;
  }

  private transition(t: TransitionMessage): void {
    this.vrrpStates.set(t.instance, t.to);
    this.history.record({ at: t.at, instance: t.instance, from: t.from, to: t.to, reason: t.reason, priority: t.priority });
    if (t.to === 'INIT' || t.to === 'BACKUP' || t.to === 'MASTER' || t.to === 'FAULT') this.sendTo(ChildRole.DIRECTOR, { kind: 'vrrp-state', instance: t.instance, state: t.to });
  }

  private sendTo(role: ChildRoleName, m: ToChild, to?: ChildProcess): void {
    const c = to ?? this.slots.get(role)?.child;
    if (!c || !c.connected) return;
    try {
      c.send(m);
    } catch {
      /* it died; its exit handler restarts it */
    }
  }

  private request(role: ChildRoleName, cmd: string, args: Readonly<Record<string, unknown>> = {}, timeoutMs?: number): Promise<unknown> {
    const s = this.slots.get(role);
    if (!s?.rpc || !s.child || !s.ready) {
      if (role === ChildRole.DIRECTOR && !s) {
        return Promise.reject(new ControlError('NO_VIRTUAL_SERVERS', 'this lvsd manages no virtual servers (no [virtual_server.*] in its configuration)'));
      }
      const why = s?.state === 'crash-loop' ? `is in a crash loop (last exit: ${s.lastExit ?? 'unknown'}; restarted ${s.restarts} times)` : 'is starting or restarting';
      return Promise.reject(new ControlError('CHILD_RESTARTING', `the ${role} process ${why}; try again in a moment`));
    }
    return s.rpc.request(cmd, args, timeoutMs).catch((e: unknown) => {
      if (e instanceof ChildRequestError) throw new ControlError(e.code, e.message);
      throw e;
    });
  }

  /** The aggregated status: the VRRP process's, with the parent's pid, start time and children. */
  async status(): Promise<StatusResult> {
    const st = (await this.request(ChildRole.VRRP, 'status')) as StatusResult;
    let bgp: StatusResult['bgp'];
    if (this.config.bgp) {
      try {
        bgp = (await this.request(ChildRole.DIRECTOR, 'bgp status')) as StatusResult['bgp'];
      } catch (e) {
        bgp = { error: (e as Error).message };
      }
    }
    return { ...st, pid: process.pid, startedAt: this.startedAt.toISOString(), processes: this.processes(), ...(bgp ? { bgp } : {}) };
  }

  /**
   * Reads and validates the file, then has the children apply their part of
   * the difference in two phases. One runs at a time; a request made while
   * one runs is answered by the next one. An invalid file, or a part that
   * refuses, changes nothing.
   */
  reload(): Promise<{ changes: string[]; warnings: string[] }> {
    return this.reloads.request();
  }

  private async runReload(): Promise<{ changes: string[]; warnings: string[] }> {
    let loaded;
    try {
      loaded = loadForReload(this.opts.configFile, this.log);
    } catch (e) {
      this.reloadCounts.refused++;
      this.reloadCounts.lastOk = false;
      throw e;
    }
    this.sd.reloading();
    let changes: string[];
    try {
      changes = await this.applyReload(loaded.config);
    } catch (e) {
      const refused = (e as { code?: string }).code === 'RELOAD_REFUSED';
      if (refused) this.reloadCounts.refused++;
      else this.reloadCounts.failed++;
      this.reloadCounts.lastOk = false;
      this.log.error(refused ? 'reload refused' : 'reload failed', { error: (e as Error).message });
      emitEvent({ subsystem: 'reload', severity: 'error', subject: this.opts.configFile, message: (e as Error).message, fields: { result: refused ? 'refused' : 'failed' } });
      throw e;
    } finally {
      this.sd.ready(this.readyStatus());
    }
    this.warnings = loaded.warnings;
    this.reloadCounts.ok++;
    this.reloadCounts.lastOk = true;
    if (!changes.length) this.log.info('reload: no change');
    else {
      this.log.info('reload applied', { changes: changes.length });
      for (const c of changes) this.log.info(`reload: ${c}`);
    }
    reloadEvent(this.opts.configFile, changes, loaded.warnings);
    return { changes, warnings: loaded.warnings };
  }

  private async applyReload(next: LvsdConfig): Promise<string[]> {
    const diff = diffConfig(this.config, next);
    const id = ++this.reloadSeq;
    const changes: string[] = [];
    const add = (r: unknown): void => {
      for (const c of (r as { changes?: string[] }).changes ?? []) if (!changes.includes(c)) changes.push(c);
    };
    const parts = [ChildRole.VRRP, ChildRole.DIRECTOR].filter((role) => this.slots.has(role) && concerns(role, diff));
    const startDirector = !this.slots.has(ChildRole.DIRECTOR) && this.wantsDirector(next);
    // Phase one: every concerned child prepares; nothing changes yet.
    const asked: ChildRoleName[] = [];
    let current: string = ChildRole.VRRP;
    try {
      for (const role of parts) {
        current = role;
        asked.push(role);
        add(await this.request(role, 'reload-prepare', { id, config: configFor(role, next) }, PREPARE_TIMEOUT_MS));
      }
      if (startDirector) {
        current = ChildRole.DIRECTOR;
        await this.spawn(ChildRole.DIRECTOR, true, next);
        changes.push('director process started');
      }
    } catch (e) {
      // Every part has dropped its plan before the operator hears the answer.
      await Promise.allSettled(asked.map((role) => this.request(role, 'reload-abort', { id })));
      if (startDirector && this.slots.get(ChildRole.DIRECTOR)?.ready !== true) this.forget(ChildRole.DIRECTOR);
      throw new ControlError('RELOAD_REFUSED', `the ${current} process refused the reload; nothing was changed: ${(e as Error).message}`);
    }
    // Decided: from here a child that restarts gets the new configuration.
    this.config = next;
    const failed: string[] = [];
    for (const role of asked) {
      try {
        add(await this.request(role, 'reload-commit', { id }));
      } catch (e) {
        failed.push(`${role}: ${(e as Error).message}`);
      }
    }
    if (failed.length) {
      throw new ControlError('RELOAD_COMMIT_FAILED', `the reload was accepted but not every part applied it (a process that died restarts on the new configuration): ${failed.join('; ')}`);
    }
    return changes;
  }

  /** Drops a slot whose child never became ready (a director a refused reload started). */
  private forget(role: ChildRoleName): void {
    const s = this.slots.get(role);
    if (!s) return;
    if (s.restartTimer) clearTimeout(s.restartTimer);
    s.child?.kill('SIGKILL');
    this.slots.delete(role);
  }

  private handlers(): ControlHandlers {
    const director = (cmd: string) => (args: Readonly<Record<string, unknown>>) => this.request(ChildRole.DIRECTOR, cmd, args);
    return withOperatorEvents({ // events: drain/disable/enable recorded
      ...vrrpHandlers({ status: () => this.status(), reload: () => this.reload(), history: this.history }),
      'show services': director('show services'),
      'show checks': director('show checks'),
      drain: director('drain'),
      undrain: director('undrain'),
      'bgp status': director('bgp status'),
      disable: director('disable'),
      enable: director('enable'),
      processes: () => ({ parent: process.pid, ...this.childPids(), restarts: Object.fromEntries([...this.slots].map(([r, s]) => [r, s.restarts])), children: this.processes() }),
    });
  }

  private async startMetrics(): Promise<void> {
    const at = this.config.global.metricsListen;
    if (!at) return;
    const quiet = <T>(p: Promise<unknown>): Promise<T | undefined> => p.then((x) => x as T).catch(() => undefined);
    this.metricsServer = new MetricsServer(
      createMetrics({
        info: () => ({ version: VERSION, routerId: this.config.global.routerId ?? hostname() }),
        vrrp: () => quiet<VrrpView>(this.request(ChildRole.VRRP, 'status')),
        director: () => (this.slots.has(ChildRole.DIRECTOR) ? quiet<DirectorStatus>(this.request(ChildRole.DIRECTOR, 'show services')) : undefined),
        checks: () => (this.slots.has(ChildRole.DIRECTOR) ? quiet<CheckStatsView[]>(this.request(ChildRole.DIRECTOR, 'check stats')) : undefined),
        // With [bgp] at start (as metrics_listen itself): no BGP series otherwise.
        ...(this.config.bgp ? { bgp: () => (this.slots.has(ChildRole.DIRECTOR) ? quiet<BgpStatus>(this.request(ChildRole.DIRECTOR, 'bgp status')) : undefined) } : {}),
        transitions: () => this.history.counts,
        events: async () => (await this.history.events({ limit: 200 })).events, // the status page's timeline (STATUS_EVENTS)
        childRestarts: () => Object.fromEntries([...this.slots].map(([r, s]) => [r, s.restarts])),
        childStates: () => Object.fromEntries([...this.slots].map(([r, s]) => [r, s.state])),
        reloads: () => ({ ...this.reloadCounts }),
        notifyFailures: () => this.history.notifyFailures,
      }),
      this.log,
    );
    const bound = await this.metricsServer.listen(at.host, at.port);
    this.log.info('metrics served', { address: `${bound.address}:${bound.port}`, path: '/metrics' });
  }

  /** Stops the children cleanly (VRRP first), closes the socket and listener, removes the pid file. Idempotent. */
  stop(why: string): Promise<void> {
    this.stopping ??= (async () => {
      this.log?.info('lvsd stopping', { why });
      this.sd.stopping();
      if (this.hangTimer) clearInterval(this.hangTimer);
      if (this.standbyTimer) clearTimeout(this.standbyTimer);
      const standby = this.standby;
      this.standby = undefined;
      const standbyGone = standby && standby.exitCode === null && standby.signalCode === null ? new Promise<void>((r) => standby.once('exit', () => r())) : undefined;
      standby?.kill('SIGTERM');
      for (const s of this.slots.values()) if (s.restartTimer) clearTimeout(s.restartTimer);
      // BGP-announced VIPs are withdrawn before anything stops, so the routers move flows away while this node still forwards.
      if (this.config?.bgp && this.slots.get(ChildRole.DIRECTOR)?.ready) {
        await this.request(ChildRole.DIRECTOR, 'bgp withdraw', {}, 5000).catch((e: Error) => this.log.error('bgp: withdraw at stop failed', { error: e.message }));
      }
      for (const role of [ChildRole.VRRP, ChildRole.DIRECTOR]) {
        const c = this.slots.get(role)?.child;
        if (!c || c.exitCode !== null || c.signalCode !== null) continue;
        const gone = new Promise<void>((r) => c.once('exit', () => r()));
        this.sendTo(role, { kind: 'stop' });
        const t = setTimeout(() => {
          this.log.error(`${role} process did not stop in time; killing it`);
          c.kill('SIGKILL');
        }, STOP_GRACE_MS);
        await gone;
        clearTimeout(t);
      }
      if (standbyGone) await Promise.race([standbyGone, new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
      await this.control?.close();
      await this.metricsServer?.close();
      this.addresses?.close();
      if (this.config) this.removePid();
      this.log?.info('lvsd stopped');
    })();
    return this.stopping;
  }
}
