/**
 * When a master announces its VIPs (keepalived's garp_master_* settings):
 * a burst of `repeat` gratuitous ARPs / unsolicited NAs on becoming master,
 * a second burst `delayMs` later, then one burst every `refreshMs` while it
 * stays master (0 = never). Time comes from the injected clock.
 */
import type { Clock, TimerHandle } from '../lib/clock';

/** garp_master_delay / garp_master_repeat / garp_master_refresh, in ms and counts. */
export interface GarpSettings {
  delayMs: number;
  repeat: number;
  refreshMs: number;
  /** garp_master_refresh_repeat: frames per refresh burst (default 1). */
  refreshRepeat?: number;
}

/** Runs the announce schedule of one instance. */
export class GarpSchedule {
  private timer: TimerHandle | undefined;

  /** `announce(count, why)` sends `count` frames per VIP; it must not throw. */
  constructor(
    private readonly clock: Clock,
    private settings: GarpSettings,
    private readonly announce: (count: number, why: string) => void,
  ) {}

  /** Starts (or restarts) the schedule: first burst now. */
  start(): void {
    this.stop();
    this.announce(this.settings.repeat, 'became master');
    if (this.settings.delayMs > 0) {
      this.timer = this.clock.at(this.clock.now() + this.settings.delayMs, () => {
        this.announce(this.settings.repeat, 'garp_master_delay');
        this.scheduleRefresh();
      });
    } else {
      this.scheduleRefresh();
    }
  }

  /** One immediate burst outside the schedule (e.g. a healed split brain). */
  burst(why: string): void {
    this.announce(this.settings.repeat, why);
  }

  /** Applies new settings from a reload; a running schedule keeps its next due time. */
  update(settings: GarpSettings): void {
    this.settings = settings;
  }

  stop(): void {
    this.clock.clear(this.timer);
    this.timer = undefined;
  }

  private scheduleRefresh(): void {
    this.timer = undefined;
    if (this.settings.refreshMs <= 0) return;
    this.timer = this.clock.at(this.clock.now() + this.settings.refreshMs, () => {
      this.announce(this.settings.refreshRepeat ?? 1, 'garp_master_refresh');
      this.scheduleRefresh();
    });
  }
}
