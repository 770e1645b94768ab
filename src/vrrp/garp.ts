/**
 * When a master announces its VIPs (keepalived's garp_master_* settings):
 * a burst of `repeat` gratuitous ARPs / unsolicited NAs per address on
 * becoming master, a second burst `delayMs` later, then one burst every
 * `refreshMs` while it stays master (0 = never). Time comes from the
 * injected clock.
 *
 * Inside a burst, keepalived's garp_interval (IPv4) and gna_interval (IPv6)
 * space the messages: with an interval `i`, no two messages of one family
 * leave closer than `i` apart, so a burst of N messages goes out at 0, i,
 * 2i … (N−1)i, each address of a round in turn. A burst that starts while
 * the previous one is still going waits its turn behind it. Interval 0 sends
 * a burst back to back. The spacing runs on timers, never by blocking, and
 * {@link GarpSchedule.stop} drops what is still queued. A burst asked for
 * while one is still queued only tops it up (at most one burst per address
 * waits), so a lasting split brain cannot grow the queue.
 */
import type { Clock, TimerHandle } from '../lib/clock';

/** garp_master_delay / garp_master_repeat / garp_master_refresh, garp_interval / gna_interval, in ms and counts. */
export interface GarpSettings {
  delayMs: number;
  repeat: number;
  refreshMs: number;
  /** garp_master_refresh_repeat: messages per address in a refresh burst (default 1). */
  refreshRepeat?: number;
  /** garp_interval: spacing of the gratuitous ARPs of a burst; 0 (default) = back to back. */
  garpIntervalMs?: number;
  /** gna_interval: spacing of the unsolicited NAs of a burst; 0 (default) = back to back. */
  gnaIntervalMs?: number;
}

/** An address a master announces: by gratuitous ARP (family 4) or unsolicited NA (family 6). */
export interface AnnouncedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * Sends `count` rounds of one message per address, back to back; it must
 * not throw. With an interval, it is called once per message (one address,
 * count 1).
 */
export type AnnounceFn = (addresses: readonly string[], count: number, why: string) => void;

/** Lets the messages of one family out no closer than its interval. */
class Pacer {
  private readonly queue: { address: string; why: string }[] = [];
  private nextAt = -Infinity;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: () => number,
    private readonly send: AnnounceFn,
  ) {}

  /**
   * Queues `count` rounds over `addresses` and sends what is due now. An
   * address already waiting is only topped up to `count` messages: repeated
   * bursts (a split brain that lasts, one burst per advert heard) coalesce,
   * so the queue never holds more than one burst per address.
   */
  push(addresses: readonly string[], count: number, why: string): void {
    const waiting = new Map<string, number>();
    for (const m of this.queue) waiting.set(m.address, (waiting.get(m.address) ?? 0) + 1);
    for (let r = 0; r < count; r++) {
      for (const address of addresses) if ((waiting.get(address) ?? 0) <= r) this.queue.push({ address, why });
    }
    this.pump();
  }

  /** Drops the queued messages; the spacing from the last one sent still holds. */
  cancel(): void {
    this.queue.length = 0;
    this.clock.clear(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    if (this.timer !== undefined) return;
    while (this.queue.length > 0) {
      const now = this.clock.now();
      if (now < this.nextAt) {
        this.timer = this.clock.at(this.nextAt, () => {
          this.timer = undefined;
          this.pump();
        });
        return;
      }
      const m = this.queue.shift()!;
      this.nextAt = now + this.intervalMs();
      this.send([m.address], 1, m.why);
    }
  }
}

/** Runs the announce schedule of one instance. */
export class GarpSchedule {
  private timer: TimerHandle | undefined;
  private readonly arp: Pacer;
  private readonly na: Pacer;

  constructor(
    private readonly clock: Clock,
    private settings: GarpSettings,
    private addresses: readonly AnnouncedAddress[],
    private readonly announce: AnnounceFn,
  ) {
    this.arp = new Pacer(clock, () => this.settings.garpIntervalMs ?? 0, announce);
    this.na = new Pacer(clock, () => this.settings.gnaIntervalMs ?? 0, announce);
  }

  /** Starts (or restarts) the schedule: first burst now. */
  start(): void {
    this.stop();
    this.send(this.settings.repeat, 'became master');
    if (this.settings.delayMs > 0) {
      this.timer = this.clock.at(this.clock.now() + this.settings.delayMs, () => {
        this.send(this.settings.repeat, 'garp_master_delay');
        this.scheduleRefresh();
      });
    } else {
      this.scheduleRefresh();
    }
  }

  /**
   * One immediate burst outside the schedule (e.g. a healed split brain);
   * with `only`, for those of the addresses alone (VIPs a reload added).
   */
  burst(why: string, only?: readonly string[]): void {
    this.send(this.settings.repeat, why, only);
  }

  /** A reload's new address list; the schedule's timers run on, later bursts use it. */
  setAddresses(addresses: readonly AnnouncedAddress[]): void {
    this.addresses = addresses;
  }

  /** Applies new settings from a reload; a running schedule keeps its next due time. */
  update(settings: GarpSettings): void {
    this.settings = settings;
  }

  /** Stops the schedule and drops the rest of a burst in progress. */
  stop(): void {
    this.clock.clear(this.timer);
    this.timer = undefined;
    this.arp.cancel();
    this.na.cancel();
  }

  /** One burst of `count` messages per address: unspaced families at once, the others through their pacer. */
  private send(count: number, why: string, only?: readonly string[]): void {
    const paced = (f: 4 | 6): boolean => ((f === 4 ? this.settings.garpIntervalMs : this.settings.gnaIntervalMs) ?? 0) > 0;
    const list = only ? this.addresses.filter((a) => only.includes(a.address)) : this.addresses;
    const of = (f: 4 | 6): string[] => list.filter((a) => a.family === f).map((a) => a.address);
    const now = list.filter((a) => !paced(a.family)).map((a) => a.address);
    if (now.length > 0) this.announce(now, count, why);
    if (paced(4)) this.arp.push(of(4), count, why);
    if (paced(6)) this.na.push(of(6), count, why);
  }

  private scheduleRefresh(): void {
    this.timer = undefined;
    if (this.settings.refreshMs <= 0) return;
    this.timer = this.clock.at(this.clock.now() + this.settings.refreshMs, () => {
      this.send(this.settings.refreshRepeat ?? 1, 'garp_master_refresh');
      this.scheduleRefresh();
    });
  }
}
