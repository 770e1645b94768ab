/**
 * `lvs_sync_daemon`: the kernel's connection synchronisation follows one VRRP
 * instance — master sync while it is MASTER, backup sync otherwise — so the
 * backup director already holds the connection table when it takes over
 * (keepalived: the sync daemon is switched on every transition).
 *
 * Each switch stops the other role's daemon first (ESRCH = already stopped)
 * and starts the wanted one (EEXIST = already running). A failure is logged,
 * counted and retried after a growing delay on the injected clock; the
 * latest wanted role always wins.
 */
import type { LvsSyncDaemon } from '../config/types';
import type { Clock, TimerHandle } from '../lib/clock';
import type { Logger } from '../log';
import type { Ipvs, SyncState } from '../kernel/ipvs/types';

/** A VRRP state as the lead's hook reports it. */
export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** What {@link SyncDaemonController.status} reports. */
export interface SyncDaemonStatus {
  readonly interface: string;
  readonly instance: string;
  readonly syncId: number;
  readonly port: number;
  /** The role wanted from the last VRRP state; null after stop. */
  readonly wanted: SyncState | null;
  /** The role last started successfully. */
  readonly running: SyncState | null;
  readonly errors: number;
  readonly lastError: string | null;
}

const errCode = (e: unknown): string | undefined => (e as { code?: string })?.code;

/** Drives the kernel's sync daemon from VRRP transitions. */
export class SyncDaemonController {
  private wanted: SyncState | null = null;
  private running: SyncState | null = null;
  private chain: Promise<void> = Promise.resolve();
  private retry?: TimerHandle;
  private retryMs = 0;
  private errors = 0;
  private lastError: string | null = null;

  constructor(
    private cfg: LvsSyncDaemon,
    private readonly ipvs: Ipvs,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** The configuration it follows (replace with {@link reconfigure}). */
  get config(): LvsSyncDaemon {
    return this.cfg;
  }

  /** Starts in the backup role (every instance starts as BACKUP, as keepalived's). Resolves when applied (or failed and scheduled for retry). */
  start(): Promise<void> {
    return this.want('backup');
  }

  /** Follows a VRRP transition; states of other instances are ignored. Resolves when applied. */
  onVrrpState(instance: string, state: VrrpState): Promise<void> {
    if (instance !== this.cfg.instance) return this.chain;
    return this.want(state === 'MASTER' ? 'master' : 'backup');
  }

  /** Applies new settings: restarts the current role's daemon when interface, id or port changed. */
  reconfigure(next: LvsSyncDaemon): Promise<void> {
    const changed = next.interface !== this.cfg.interface || next.syncId !== this.cfg.syncId || next.port !== this.cfg.port;
    this.cfg = next;
    if (!changed || this.wanted === null) return this.chain;
    const role = this.wanted;
    this.running = null;
    return this.enqueue(async () => {
      try {
        await this.stopRole(role);
      } catch (e) {
        this.logger.warn('lvs sync daemon stop before restart failed', { state: role, error: (e as Error).message });
      }
      await this.apply();
    });
  }

  /** Stops both daemons and any retry. */
  stop(): Promise<void> {
    this.wanted = null;
    this.clock.clear(this.retry);
    this.retry = undefined;
    return this.enqueue(async () => {
      for (const role of ['master', 'backup'] as const) {
        try {
          await this.stopRole(role);
        } catch (e) {
          this.errors++;
          this.lastError = (e as Error).message;
          this.logger.error('lvs sync daemon stop failed', { state: role, error: (e as Error).message });
        }
      }
      this.running = null;
    });
  }

  /** Current state for status output. */
  status(): SyncDaemonStatus {
    return {
      interface: this.cfg.interface,
      instance: this.cfg.instance,
      syncId: this.cfg.syncId,
      port: this.cfg.port,
      wanted: this.wanted,
      running: this.running,
      errors: this.errors,
      lastError: this.lastError,
    };
  }

  private want(role: SyncState): Promise<void> {
    this.wanted = role;
    return this.enqueue(() => this.apply());
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn, fn);
    return this.chain;
  }

  private async apply(): Promise<void> {
    const role = this.wanted;
    if (role === null || this.running === role) return;
    const other: SyncState = role === 'master' ? 'backup' : 'master';
    try {
      await this.stopRole(other);
      try {
        await this.ipvs.startDaemon({ state: role, ifname: this.cfg.interface, syncId: this.cfg.syncId, mcastPort: this.cfg.port });
      } catch (e) {
        if (errCode(e) !== 'EEXIST') throw e;
      }
      this.running = role;
      this.retryMs = 0;
      this.logger.info('lvs sync daemon started', { state: role, interface: this.cfg.interface, sync_id: this.cfg.syncId, instance: this.cfg.instance });
    } catch (e) {
      this.errors++;
      this.lastError = (e as Error).message;
      this.retryMs = Math.min(this.retryMs ? this.retryMs * 2 : 1000, 60_000);
      this.logger.error('lvs sync daemon switch failed; will retry', { state: role, error: (e as Error).message, retry_ms: this.retryMs });
      this.clock.clear(this.retry);
      this.retry = this.clock.at(this.clock.now() + this.retryMs, () => {
        this.retry = undefined;
        void this.enqueue(() => this.apply());
      });
    }
  }

  private async stopRole(role: SyncState): Promise<void> {
    try {
      await this.ipvs.stopDaemon(role);
      this.logger.info('lvs sync daemon stopped', { state: role });
    } catch (e) {
      if (errCode(e) !== 'ESRCH') throw e;
    }
  }
}
