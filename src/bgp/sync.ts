/**
 * `[bgp] sync_daemon`: the kernel's IPVS connection sync run as master AND
 * backup at once on every active director, so each sends its connections to
 * the others and learns theirs (for flows scheduled before a real server
 * change, which `mh` alone would move). There is no VRRP role to follow.
 * A daemon the kernel refuses is retried after 1, 2, 4 ... 60 s.
 */
import type { BgpSyncDaemon } from '../config/types';
import type { Ipvs, SyncState } from '../kernel/ipvs/types';
import type { Clock, TimerHandle } from '../lib/clock';
import type { Logger } from '../log';

/** What status shows. */
export interface ActiveSyncStatus {
  readonly interface: string;
  readonly syncId: number;
  readonly port: number;
  readonly running: readonly SyncState[];
  readonly lastError: string | null;
}

const ROLES: readonly SyncState[] = ['master', 'backup'];

/** Both sync daemons, kept running. */
export class ActiveSyncDaemons {
  private running = new Set<SyncState>();
  private lastError: string | null = null;
  private retry: TimerHandle | undefined;
  private retryMs = 0;
  private stopped = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private cfg: BgpSyncDaemon,
    private readonly ipvs: Pick<Ipvs, 'startDaemon' | 'stopDaemon'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Starts both (resolves when tried; failures are retried). */
  start(): Promise<void> {
    return this.enqueue(() => this.apply());
  }

  /** New settings: both daemons restarted when interface, id or port changed. */
  reconfigure(next: BgpSyncDaemon): Promise<void> {
    const changed = next.interface !== this.cfg.interface || next.syncId !== this.cfg.syncId || next.port !== this.cfg.port;
    this.cfg = next;
    if (!changed) return this.chain;
    return this.enqueue(async () => {
      await this.stopBoth();
      await this.apply();
    });
  }

  /** Stops both and any retry. */
  stop(): Promise<void> {
    this.stopped = true;
    this.clock.clear(this.retry);
    return this.enqueue(() => this.stopBoth());
  }

  status(): ActiveSyncStatus {
    return { interface: this.cfg.interface, syncId: this.cfg.syncId, port: this.cfg.port, running: ROLES.filter((r) => this.running.has(r)), lastError: this.lastError };
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn, fn);
    return this.chain;
  }

  private async apply(): Promise<void> {
    if (this.stopped) return;
    let failed = false;
    for (const state of ROLES) {
      if (this.running.has(state)) continue;
      try {
        await this.ipvs.startDaemon({ state, ifname: this.cfg.interface, syncId: this.cfg.syncId, mcastPort: this.cfg.port });
        this.running.add(state);
        this.logger.info('lvs sync daemon started (active/active: master and backup)', { state, interface: this.cfg.interface, sync_id: this.cfg.syncId });
      } catch (e) {
        if ((e as { code?: string }).code === 'EEXIST') {
          this.running.add(state);
          continue;
        }
        failed = true;
        this.lastError = (e as Error).message;
        this.logger.error('lvs sync daemon start failed; will retry', { state, error: this.lastError });
      }
    }
    if (!failed) {
      this.retryMs = 0;
      this.lastError = null;
      return;
    }
    this.retryMs = Math.min(this.retryMs ? this.retryMs * 2 : 1000, 60_000);
    this.clock.clear(this.retry);
    this.retry = this.clock.at(this.clock.now() + this.retryMs, () => void this.enqueue(() => this.apply()));
  }

  private async stopBoth(): Promise<void> {
    for (const state of ROLES) {
      try {
        await this.ipvs.stopDaemon(state);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ESRCH') this.logger.error('lvs sync daemon stop failed', { state, error: (e as Error).message });
      }
      this.running.delete(state);
    }
  }
}
