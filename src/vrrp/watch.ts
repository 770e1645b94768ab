/**
 * The VIP watch: what the engine does when an address event names one of
 * its VIPs, whoever made the change (the kernel does not say).
 *
 * - A VIP removed from a MASTER that holds its VIPs (`ip addr del`, a DHCP
 *   client or ifupdown flushing the interface) is added back at once and
 *   announced, with a warning: a master must answer for its VIPs.
 *   (keepalived 2.2.7 instead steps down to BACKUP and takes the VIP back
 *   when its down timer expires; adding it back keeps the gap to one netlink
 *   round trip.)
 * - A VIP that appears on the interface of a BACKUP or FAULT instance is
 *   reported and left alone: keepalived does not remove it either (it acts
 *   only on deletions), and an operator may have added it on purpose. Before
 *   it reports, the watch lets the instance's own VIP changes finish and
 *   re-reads the interface, so a late event of lvsd's own add (followed by
 *   its own removal) is never reported.
 *
 * Deletions seen in one burst (one netlink datagram, an `ip addr flush`) are
 * restored together, with one announcement per instance.
 */
import type { VrrpInstance } from '../config/types';
import type { Addresses, IfAddress } from '../kernel/addresses';
import { formatIp, parseIp } from '../lib/ip';
import type { Logger } from '../log';

/** What the watch needs of an instance (VrrpInstanceRuntime). */
export interface WatchedInstance {
  readonly name: string;
  readonly config: VrrpInstance;
  readonly state: string;
  readonly holdsVips: boolean;
  restoreVips(cidrs: readonly string[], why: string): boolean;
  vipsSettled(): Promise<void>;
}

/** A VIP the watch acted on or reported. */
export interface VipWatchEvent {
  kind: 'vip-restored' | 'vip-foreign';
  instance: string;
  interface: string;
  /** "192.0.2.100/24" */
  vip: string;
  /** The instance's state when it happened. */
  state: string;
}

/** Canonical text of an address (so "2001:DB8::1" and "2001:db8::1" meet). */
function canonical(address: string): string {
  const b = parseIp(address);
  return b ? formatIp(b) : address;
}

/** Watches the VIPs of every instance added to it; see the file's doc. */
export class VipWatch {
  /** `ifname|address` → the instances holding that VIP there, with its CIDR. */
  private readonly byKey = new Map<string, Array<{ r: WatchedInstance; cidr: string }>>();
  /** Restores gathered in this burst, per instance. */
  private readonly pending = new Map<WatchedInstance, Set<string>>();

  constructor(
    private readonly addresses: Addresses,
    private readonly log: Logger,
    private readonly onEvent: (e: VipWatchEvent) => void,
  ) {}

  /** Starts watching `r`'s VIPs (advertised and excluded). */
  add(r: WatchedInstance): void {
    for (const v of [...r.config.virtualIpaddress, ...r.config.virtualIpaddressExcluded]) {
      const key = `${r.config.interface}|${canonical(v.address)}`;
      const list = this.byKey.get(key) ?? [];
      list.push({ r, cidr: `${v.address}/${v.prefix}` });
      this.byKey.set(key, list);
    }
  }

  /** Watches `r`'s VIPs as its configuration now lists them (after a reload changed them in place). */
  update(r: WatchedInstance): void {
    this.remove(r);
    this.add(r);
  }

  /** Stops watching `r`. */
  remove(r: WatchedInstance): void {
    for (const [key, list] of this.byKey) {
      const rest = list.filter((e) => e.r !== r);
      if (rest.length) this.byKey.set(key, rest);
      else this.byKey.delete(key);
    }
    this.pending.delete(r);
  }

  /** An address event on interface `ifname`; true when the address is a watched VIP there. */
  event(kind: 'new' | 'del', ifname: string, a: IfAddress): boolean {
    const watched = this.byKey.get(`${ifname}|${canonical(a.address)}`);
    for (const { r, cidr } of watched ?? []) {
      // The same address with another prefix is not this VIP (a reload that changes the prefix removes the old one).
      if (kind === 'del') {
        if (cidr.endsWith(`/${a.prefix}`)) this.missing(r, cidr);
      }
      else if (r.state === 'BACKUP' || r.state === 'FAULT') void this.verifyForeign(r, cidr);
    }
    return watched !== undefined;
  }

  /**
   * After lost notifications: `present` is every address now on the system
   * (with its interface name). Masters missing a VIP get it back; VIPs on
   * backups are reported.
   */
  resync(present: ReadonlyArray<{ ifname: string; address: string }>): void {
    const here = new Set(present.map((p) => `${p.ifname}|${canonical(p.address)}`));
    for (const [key, list] of this.byKey) {
      for (const { r, cidr } of list) {
        if (!here.has(key)) this.missing(r, cidr);
        else if (r.state === 'BACKUP' || r.state === 'FAULT') void this.verifyForeign(r, cidr);
      }
    }
  }

  private missing(r: WatchedInstance, cidr: string): void {
    if (r.state !== 'MASTER' || !r.holdsVips) return;
    const first = this.pending.size === 0;
    const set = this.pending.get(r) ?? new Set<string>();
    set.add(cidr);
    this.pending.set(r, set);
    if (first) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    const batch = [...this.pending];
    this.pending.clear();
    for (const [r, set] of batch) {
      const cidrs = [...set];
      const ifname = r.config.interface;
      if (!r.restoreVips(cidrs, `VIP ${cidrs.join(', ')} removed from ${ifname} by someone else`)) continue;
      for (const vip of cidrs) {
        this.log.warn(`${r.name}: VIP ${vip} was removed from ${ifname} by someone else while MASTER: adding it back and announcing it`, { instance: r.name, vip, interface: ifname });
        this.onEvent({ kind: 'vip-restored', instance: r.name, interface: ifname, vip, state: r.state });
      }
    }
  }

  private async verifyForeign(r: WatchedInstance, cidr: string): Promise<void> {
    try {
      await r.vipsSettled();
      if (r.state === 'MASTER' || r.holdsVips) return;
      const ifname = r.config.interface;
      const address = canonical(cidr.split('/')[0]!);
      const now = await this.addresses.list(ifname);
      if (!now.some((a) => canonical(a.address) === address)) return;
      if (r.state === 'MASTER' || r.holdsVips) return;
      this.log.warn(`${r.name}: VIP ${cidr} is on ${ifname} while ${r.state}: not added by lvsd, left in place (remove it, or it answers ARP beside the master)`, { instance: r.name, vip: cidr, interface: ifname, state: r.state });
      this.onEvent({ kind: 'vip-foreign', instance: r.name, interface: ifname, vip: cidr, state: r.state });
    } catch (e) {
      this.log.debug(`${r.name}: cannot check VIP ${cidr}`, { error: (e as Error).message });
    }
  }
}
