/**
 * lvsd's parent process (keepalived's model): it forks the VRRP process and,
 * when there are virtual servers, the director process (checks + IPVS
 * reconciler), owns the pid file, the control socket and the metrics
 * listener, records VRRP transitions (the `events` history) and forwards
 * them to the director (sync daemon), and restarts a dead child with backoff
 * (restart.ts). A restarted VRRP child gets a {@link ResumeHint} so a master
 * keeps its VIPs (resume.ts).
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
import type { LvsdConfig } from '../config';
import { ControlError, ControlServer, type ControlHandlers } from '../control/server';
import type { StatusResult } from '../control/types';
import type { DirectorStatus } from '../director/status';
import { type Logger, createLogger } from '../log';
import { createMetrics, type VrrpView } from '../metrics/registry';
import { MetricsServer } from '../metrics/server';
import { TransitionHistory, loadAtStart, loadForReload, vrrpHandlers } from './control';
import { VERSION } from './daemon';
import { ChildRequestError, ChildRole, type ChildRoleName, ChildRpc, RESUME_ENV, type ResumeHint, type ToChild, type ToParent, type TransitionMessage } from './ipc';
import { STABLE_RUN_MS, restartDelayMs } from './restart';

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  readonly configFile: string;
  readonly dryRun: boolean;
  readonly logLevel?: string;
  /** The child entry module; default dist/src/main/child.js beside this file. */
  readonly childModule?: string;
}

const STOP_GRACE_MS = 10_000;

interface Slot {
  readonly role: ChildRoleName;
  child: ChildProcess | undefined;
  rpc: ChildRpc | undefined;
  startedAt: number;
  shortRuns: number;
  restartTimer: NodeJS.Timeout | undefined;
  ready: boolean;
  restarts: number;
}

/** The parent process; see the file's doc. */
export class Supervisor {
  private config!: LvsdConfig;
  private log!: Logger;
  private control: ControlServer | undefined;
  private metricsServer: MetricsServer | undefined;
  private readonly slots = new Map<ChildRoleName, Slot>();
  /** The transitions behind `lvsctl events` and the metrics' transition counts. */
  private readonly history = new TransitionHistory();
  /** Each instance's last state, as the VRRP child reported it. */
  private readonly vrrpStates = new Map<string, TransitionMessage['to']>();
  private vrrpDiedAt: number | undefined;
  private readonly startedAt = new Date();
  private stopping: Promise<void> | undefined;
  private pidWritten = false;
  /** systemd's readiness protocol; a no-op when not started by systemd with Type=notify. */
  private readonly sd = new SdNotify();

  constructor(private readonly opts: SupervisorOptions) {}

  /** Loads the config, writes the pid file, opens the socket, starts the children; throws on failure. */
  async start(): Promise<void> {
    const loaded = loadAtStart(this.opts.configFile);
    this.config = loaded.config;
    this.log = createLogger({ level: (this.opts.logLevel ?? this.config.global.logLevel) as 'info' }).child({ process: 'parent' });
    for (const w of loaded.warnings) this.log.warn(w);
    this.log.info('lvsd starting', { version: VERSION, config: this.opts.configFile, pid: process.pid, dryRun: this.opts.dryRun });
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
  childPids(): Partial<Record<ChildRoleName, number>> {
    const out: Partial<Record<ChildRoleName, number>> = {};
    for (const [role, s] of this.slots) if (s.child?.pid && s.child.exitCode === null) out[role] = s.child.pid;
    return out;
  }

  /** Forks `role`; with `initial`, resolves when it is ready and rejects when it cannot start. */
  private spawn(role: ChildRoleName, initial: boolean): Promise<void> {
    let slot = this.slots.get(role);
    if (!slot) {
      slot = { role, child: undefined, rpc: undefined, startedAt: 0, shortRuns: 0, restartTimer: undefined, ready: false, restarts: 0 };
      this.slots.set(role, slot);
    }
    const s = slot;
    const args = [role, this.opts.configFile, ...(this.opts.dryRun ? ['--dry-run'] : []), ...(this.opts.logLevel ? ['--log-level', this.opts.logLevel] : [])];
    const env = { ...process.env };
    delete env[RESUME_ENV];
    if (role === ChildRole.VRRP && this.vrrpDiedAt !== undefined) {
      const hint: ResumeHint = { masters: [...this.vrrpStates].filter(([, st]) => st === 'MASTER').map(([n]) => n), diedAgoMs: performance.now() - this.vrrpDiedAt };
      if (hint.masters.length) env[RESUME_ENV] = JSON.stringify(hint);
    }
    const child = fork(this.opts.childModule ?? path.join(__dirname, 'child.js'), args, { env, execArgv: childExecArgv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    s.child = child;
    s.rpc = new ChildRpc(child, role);
    s.startedAt = performance.now();
    s.ready = false;
    this.log.info(`${role} process started`, { pid: child.pid });
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      child.on('message', (m: ToParent) => {
        if (s.rpc?.answer(m)) return;
        if (m.kind === 'ready') {
          s.ready = true;
          if (role === ChildRole.DIRECTOR) for (const [instance, state] of this.vrrpStates) this.sendTo(ChildRole.DIRECTOR, { kind: 'vrrp-state', instance, state: state as 'MASTER' });
          if (!settled) ((settled = true), resolve());
        } else if (m.kind === 'start-failed') {
          this.log.error(`${role} process cannot start`, { code: m.code, error: m.message });
          if (initial && !settled) {
            settled = true;
            reject(Object.assign(new Error(m.message), { code: m.code }));
          }
        } else if (m.kind === 'transition') this.transition(m.t);
      });
      child.on('exit', (code, signal) => {
        s.rpc?.failAll(`exited (${signal ?? code})`);
        if (role === ChildRole.VRRP) this.vrrpDiedAt = performance.now();
        if (s.child === child) s.child = undefined;
        if (!settled) {
          settled = true;
          reject(Object.assign(new Error(`the ${role} process exited (${signal ?? code}) before it was ready`), { code: 'ECHILD' }));
          return;
        }
        this.exited(s, code, signal);
      });
    });
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
    s.shortRuns = ran >= STABLE_RUN_MS ? 0 : s.shortRuns + 1;
    const delay = restartDelayMs(ran, s.shortRuns);
    this.log.error(`${s.role} process died; restarting`, { code, signal, ranMs: Math.round(ran), restartInMs: delay });
    s.restartTimer = setTimeout(() => {
      s.restartTimer = undefined;
      if (this.stopping) return;
      s.restarts++;
      this.spawn(s.role, false).catch((e: Error) => this.log.error(`${s.role} process restart failed`, { error: e.message }));
    }, delay);
  }

  private transition(t: TransitionMessage): void {
    this.vrrpStates.set(t.instance, t.to);
    this.history.record({ at: t.at, instance: t.instance, from: t.from, to: t.to, reason: t.reason });
    if (t.to === 'INIT' || t.to === 'BACKUP' || t.to === 'MASTER' || t.to === 'FAULT') this.sendTo(ChildRole.DIRECTOR, { kind: 'vrrp-state', instance: t.instance, state: t.to });
  }

  private sendTo(role: ChildRoleName, m: ToChild): void {
    const c = this.slots.get(role)?.child;
    if (!c || !c.connected) return;
    try {
      c.send(m);
    } catch {
      /* it died; its exit handler restarts it */
    }
  }

  private request(role: ChildRoleName, cmd: string, args: Readonly<Record<string, unknown>> = {}): Promise<unknown> {
    const s = this.slots.get(role);
    if (!s?.rpc || !s.child || !s.ready) {
      if (role === ChildRole.DIRECTOR && !s) {
        return Promise.reject(new ControlError('NO_VIRTUAL_SERVERS', 'this lvsd manages no virtual servers (no [virtual_server.*] in its configuration)'));
      }
      return Promise.reject(new ControlError('CHILD_RESTARTING', `the ${role} process is starting or restarting; try again in a moment`));
    }
    return s.rpc.request(cmd, args).catch((e: unknown) => {
      if (e instanceof ChildRequestError) throw new ControlError(e.code, e.message);
      throw e;
    });
  }

  /** The aggregated status: the VRRP process's, with the parent's pid and start time. */
  async status(): Promise<StatusResult> {
    const st = (await this.request(ChildRole.VRRP, 'status')) as StatusResult;
    return { ...st, pid: process.pid, startedAt: this.startedAt.toISOString() };
  }

  /** Validates the file, then has each child apply its difference. An invalid file changes nothing. */
  async reload(): Promise<{ changes: string[]; warnings: string[] }> {
    const loaded = loadForReload(this.opts.configFile, this.log);
    const changes: string[] = [];
    const warnings = loaded.warnings;
    this.sd.reloading();
    try {
      await this.applyReload(loaded.config, changes);
    } finally {
      this.sd.ready(this.readyStatus());
    }
    this.log.info('reload applied', { changes: changes.join('; ') });
    return { changes, warnings };
  }

  private async applyReload(next: LvsdConfig, changes: string[]): Promise<void> {
    const v = (await this.request(ChildRole.VRRP, 'reload')) as { changes: string[] };
    changes.push(...v.changes);
    if (this.slots.has(ChildRole.DIRECTOR)) {
      const d = (await this.request(ChildRole.DIRECTOR, 'reload')) as { changes: string[] };
      for (const c of d.changes) if (!changes.includes(c)) changes.push(c);
    } else if (this.wantsDirector(next)) {
      await this.spawn(ChildRole.DIRECTOR, true);
      changes.push('director process started');
    }
    this.config = next;
  }

  private handlers(): ControlHandlers {
    const director = (cmd: string) => (args: Readonly<Record<string, unknown>>) => this.request(ChildRole.DIRECTOR, cmd, args);
    return {
      ...vrrpHandlers({ status: () => this.status(), reload: () => this.reload(), history: this.history }),
      'show services': director('show services'),
      'show checks': director('show checks'),
      drain: director('drain'),
      disable: director('disable'),
      enable: director('enable'),
      processes: () => ({ parent: process.pid, ...this.childPids(), restarts: Object.fromEntries([...this.slots].map(([r, s]) => [r, s.restarts])) }),
    };
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
        transitions: () => this.history.counts,
        events: async () => (await this.history.events({ limit: 200 })).events, // the status page's timeline (STATUS_EVENTS)
        childRestarts: () => Object.fromEntries([...this.slots].map(([r, s]) => [r, s.restarts])),
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
      for (const s of this.slots.values()) if (s.restartTimer) clearTimeout(s.restartTimer);
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
      await this.control?.close();
      await this.metricsServer?.close();
      if (this.config) this.removePid();
      this.log?.info('lvsd stopped');
    })();
    return this.stopping;
  }
}
