/**
 * The narrow view of interface addresses that VRRP needs: list, add and
 * remove VIPs, find the source addresses adverts are sent from, and be told
 * when any address comes or goes (whoever changed it).
 * {@link KernelAddresses} is the real one over rtnetlink; the fake lives in fake.ts.
 */
import type { NlMessage } from './netlink/message';
import { type IfAddress, IFA_F, RT_SCOPE, parseAddr } from './rtnl/addr';
import { Rtnl, noSuchInterface, type AddrChange, type RtnlSubscription } from './rtnl/client';
import { parseIp, type IpFamily } from './rtnl/inet';
import { RTM, RTNLGRP } from './rtnl/link';

export type { IfAddress } from './rtnl/addr';
export type { AddrChange } from './rtnl/client';
export type { IpFamily } from './rtnl/inet';

/**
 * An address event. 'new' is an address added (or changed) on an interface,
 * 'del' one removed — by lvsd or by anyone else: the kernel reports both
 * alike. 'resync' follows lost notifications (ENOBUFS): it carries every
 * address now present, and listeners should treat it as truth.
 */
export type AddressEvent =
  | { readonly kind: 'new'; readonly address: IfAddress }
  | { readonly kind: 'del'; readonly address: IfAddress }
  | { readonly kind: 'resync'; readonly addresses: readonly IfAddress[] };

/** Interface addresses, as VRRP sees them. */
export interface Addresses {
  /**
   * Addresses on interface `iface` (name or index), of `family` or both, in
   * kernel order. Rejects with NetlinkError ENODEV for a missing interface.
   */
  list(iface: string | number, family?: IpFamily): Promise<IfAddress[]>;
  /**
   * Adds `cidr` ("192.0.2.10/24", "2001:db8::10/64"; a bare address is a host
   * prefix) to `ifname`. IPv6 is added with IFA_F_NODAD. Already present
   * (EEXIST) is success and resolves 'existed'. Rejects with NetlinkError
   * (code ENODEV for a missing interface) or InvalidAddressError.
   */
  add(ifname: string, cidr: string): Promise<AddrChange>;
  /**
   * Removes `cidr` from `ifname`. Not present (EADDRNOTAVAIL / ENOENT) is
   * success and resolves 'absent'.
   */
  remove(ifname: string, cidr: string): Promise<AddrChange>;
  /** The interface's primary IPv4 address (its first non-secondary one), or undefined. */
  primaryIPv4(ifname: string): Promise<string | undefined>;
  /** The interface's usable link-local IPv6 address (fe80::/64, not tentative or failed DAD), or undefined. */
  linkLocalIPv6(ifname: string): Promise<string | undefined>;
  /**
   * Calls `listener` for every address added or removed from now on, on any
   * interface (RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR); returns the
   * unsubscriber. Errors that cannot be recovered go to `onError` when given.
   */
  onChange(listener: (event: AddressEvent) => void, onError?: (err: Error) => void): () => void;
  /** Releases sockets; later calls fail. */
  close(): void;
}

/** Picks the primary IPv4 address out of an interface's addresses (kernel order). */
export function pickPrimaryIPv4(addrs: readonly IfAddress[]): string | undefined {
  return addrs.find((a) => a.family === 4 && !a.secondary)?.address;
}

/** Picks the usable link-local IPv6 address out of an interface's addresses. */
export function pickLinkLocalIPv6(addrs: readonly IfAddress[]): string | undefined {
  return addrs.find((a) => {
    if (a.family !== 6 || (a.flags & (IFA_F.TENTATIVE | IFA_F.DADFAILED)) !== 0) return false;
    const b = parseIp(a.address).bytes;
    // fe80::/64 (RFC 4291 §2.5.6): the first 64 bits are fe80:0:0:0.
    return b[0] === 0xfe && b[1] === 0x80 && b.subarray(2, 8).every((x) => x === 0) && a.scope === RT_SCOPE.LINK;
  })?.address;
}

/** {@link Addresses} over rtnetlink. */
export class KernelAddresses implements Addresses {
  private sub: RtnlSubscription | undefined;
  private readonly listeners = new Map<(e: AddressEvent) => void, ((e: Error) => void) | undefined>();
  private resyncing = false;

  /** Uses `rtnl` (opens its own when omitted, and then closes it in close()). */
  constructor(private readonly rtnl: Rtnl = Rtnl.open(), private readonly ownsRtnl = true) {}

  onChange(listener: (event: AddressEvent) => void, onError?: (err: Error) => void): () => void {
    this.listeners.set(listener, onError);
    this.sub ??= Rtnl.subscribe([RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR], (m) => this.onMessage(m), () => void this.resync());
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.sub?.close();
        this.sub = undefined;
      }
    };
  }

  private onMessage(m: NlMessage): void {
    if (m.type !== RTM.NEWADDR && m.type !== RTM.DELADDR) return;
    let address: IfAddress | undefined;
    try {
      address = parseAddr(m);
    } catch (e) {
      for (const onError of this.listeners.values()) onError?.(e as Error);
      return;
    }
    if (!address) return;
    const event: AddressEvent = { kind: m.type === RTM.NEWADDR ? 'new' : 'del', address };
    for (const l of [...this.listeners.keys()]) l(event);
  }

  private async resync(): Promise<void> {
    if (this.resyncing) return;
    this.resyncing = true;
    try {
      const addresses = await this.rtnl.listAddresses();
      for (const l of [...this.listeners.keys()]) l({ kind: 'resync', addresses });
    } catch (e) {
      for (const onError of this.listeners.values()) onError?.(e as Error);
    } finally {
      this.resyncing = false;
    }
  }

  async list(iface: string | number, family?: IpFamily): Promise<IfAddress[]> {
    const index = typeof iface === 'number' ? iface : this.rtnl.ifindex(iface);
    if (index === 0) throw noSuchInterface('RTM_GETADDR', String(iface));
    return this.rtnl.listAddresses(family, index);
  }

  add(ifname: string, cidr: string): Promise<AddrChange> {
    return this.rtnl.addAddress(ifname, cidr);
  }

  remove(ifname: string, cidr: string): Promise<AddrChange> {
    return this.rtnl.deleteAddress(ifname, cidr);
  }

  async primaryIPv4(ifname: string): Promise<string | undefined> {
    return pickPrimaryIPv4(await this.list(ifname, 4));
  }

  async linkLocalIPv6(ifname: string): Promise<string | undefined> {
    return pickLinkLocalIPv6(await this.list(ifname, 6));
  }

  close(): void {
    this.listeners.clear();
    this.sub?.close();
    this.sub = undefined;
    if (this.ownsRtnl) this.rtnl.close();
  }
}

/**
 * An {@link Addresses} that passes every call on to `real`: the base of the
 * wrappers that change only some calls (the dry run's, the resume guard's).
 */
export class DelegatingAddresses implements Addresses {
  constructor(protected readonly real: Addresses) {}

  list(iface: string | number, family?: IpFamily): Promise<IfAddress[]> {
    return this.real.list(iface, family);
  }

  add(ifname: string, cidr: string): Promise<AddrChange> {
    return this.real.add(ifname, cidr);
  }

  remove(ifname: string, cidr: string): Promise<AddrChange> {
    return this.real.remove(ifname, cidr);
  }

  primaryIPv4(ifname: string): Promise<string | undefined> {
    return this.real.primaryIPv4(ifname);
  }

  linkLocalIPv6(ifname: string): Promise<string | undefined> {
    return this.real.linkLocalIPv6(ifname);
  }

  onChange(listener: (event: AddressEvent) => void, onError?: (err: Error) => void): () => void {
    return this.real.onChange(listener, onError);
  }

  close(): void {
    this.real.close();
  }
}
