/**
 * An rtnetlink client: link and address dumps, address add/delete, and
 * multicast subscriptions, over {@link NetlinkSocket}.
 */
import { native } from '../native';
import { ERRNO, NetlinkError } from '../netlink/errors';
import { NETLINK, NLM_F, type NlMessage } from '../netlink/message';
import { NetlinkSocket } from '../netlink/socket';
import { IFA_F, addrRequest, getAddrRequest, parseAddr, type IfAddress } from './addr';
import { parseCidr, type Cidr, type IpFamily } from './inet';
import { RTM, getLinkRequest, parseLink, type Link } from './link';
import { getRouteRequest, hostRouteRequest, parseRoute, type Route } from './route';

/** What an add or delete did. */
export type AddrChange = 'added' | 'existed' | 'removed' | 'absent';

/** A live multicast subscription; close() leaves it. */
export interface RtnlSubscription {
  close(): void;
}

/** An rtnetlink request socket. Open with {@link Rtnl.open}; close when done. */
export class Rtnl {
  /** Opens a NETLINK_ROUTE socket; throws the shim's errno error. */
  static open(opts: { timeoutMs?: number } = {}): Rtnl {
    return new Rtnl(NetlinkSocket.open(NETLINK.ROUTE, { timeoutMs: opts.timeoutMs }));
  }

  constructor(readonly nl: NetlinkSocket) {}

  /** Every link (RTM_GETLINK dump), in kernel order. */
  async listLinks(): Promise<Link[]> {
    const msgs = await this.nl.dump({ type: RTM.GETLINK, payload: getLinkRequest(), name: 'RTM_GETLINK', object: 'dump' });
    return msgs.filter((m) => m.type === RTM.NEWLINK).map(parseLink);
  }

  /** The link named `name`, or undefined when there is none (ENODEV). */
  async getLink(name: string): Promise<Link | undefined> {
    try {
      const msgs = await this.nl.request({ type: RTM.GETLINK, payload: getLinkRequest(name), name: 'RTM_GETLINK', object: `"${name}"` });
      const m = msgs.find((x) => x.type === RTM.NEWLINK);
      return m ? parseLink(m) : undefined;
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') return undefined;
      throw e;
    }
  }

  /** Addresses of `family` (both when omitted), optionally of one interface index. */
  async listAddresses(family?: IpFamily, ifindex?: number): Promise<IfAddress[]> {
    const families: IpFamily[] = family ? [family] : [4, 6];
    const out: IfAddress[] = [];
    for (const f of families) {
      const msgs = await this.nl.dump({ type: RTM.GETADDR, payload: getAddrRequest(f), name: 'RTM_GETADDR', object: `IPv${f} dump` });
      for (const m of msgs) {
        if (m.type !== RTM.NEWADDR) continue;
        const a = parseAddr(m);
        if (a && (ifindex === undefined || a.ifindex === ifindex)) out.push(a);
      }
    }
    return out;
  }

  /**
   * Adds `cidr` to interface `ifname` (RTM_NEWADDR, NLM_F_CREATE|NLM_F_EXCL).
   * IPv6 addresses get IFA_F_NODAD so a VIP is usable at once. Resolves
   * 'existed' when the kernel says EEXIST (the address is already there: success).
   * Rejects with NetlinkError (ENODEV for a missing interface, ...).
   */
  async addAddress(ifname: string, cidr: string | Cidr): Promise<AddrChange> {
    const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
    const object = `${c.text}/${c.prefix} on "${ifname}"`;
    try {
      await this.nl.request({
        type: RTM.NEWADDR,
        flags: NLM_F.CREATE | NLM_F.EXCL,
        payload: addrRequest(this.ifindex(ifname), c, c.family === 6 ? IFA_F.NODAD : 0),
        name: 'RTM_NEWADDR',
        object,
      });
      return 'added';
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'EEXIST') return 'existed';
      throw e;
    }
  }

  /**
   * Deletes `cidr` from `ifname` (RTM_DELADDR). Resolves 'absent' when the
   * kernel says EADDRNOTAVAIL or ENOENT (nothing to delete: success).
   */
  async deleteAddress(ifname: string, cidr: string | Cidr): Promise<AddrChange> {
    const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
    try {
      await this.nl.request({ type: RTM.DELADDR, payload: addrRequest(this.ifindex(ifname), c), name: 'RTM_DELADDR', object: `${c.text}/${c.prefix} on "${ifname}"` });
      return 'removed';
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOENT')) return 'absent';
      throw e;
    }
  }

  /**
   * Adds or replaces the host route to `cidr` through `ifname` in `table`
   * with protocol `protocol` (RTM_NEWROUTE, NLM_F_CREATE|NLM_F_REPLACE:
   * idempotent). Rejects with NetlinkError (ENODEV for a missing interface).
   */
  async replaceRoute(cidr: string | Cidr, ifname: string, table: number, protocol: number): Promise<void> {
    const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
    await this.nl.request({
      type: RTM.NEWROUTE,
      flags: NLM_F.CREATE | NLM_F.REPLACE,
      payload: hostRouteRequest(c, this.ifindex(ifname), table, protocol),
      name: 'RTM_NEWROUTE',
      object: `${c.text}/${c.prefix} dev "${ifname}" table ${table}`,
    });
  }

  /**
   * Deletes the route to `cidr` of `protocol` in `table` (RTM_DELROUTE).
   * Resolves 'absent' when there is none (ESRCH, ENOENT: success).
   */
  async deleteRoute(cidr: string | Cidr, ifname: string, table: number, protocol: number): Promise<'removed' | 'absent'> {
    const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
    try {
      await this.nl.request({ type: RTM.DELROUTE, payload: hostRouteRequest(c, this.ifindex(ifname), table, protocol), name: 'RTM_DELROUTE', object: `${c.text}/${c.prefix} table ${table}` });
      return 'removed';
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === 'ESRCH' || e.code === 'ENOENT')) return 'absent';
      throw e;
    }
  }

  /** The routes of `table` (both families; RTM_GETROUTE dumps, filtered here). */
  async listRoutes(table: number): Promise<Route[]> {
    const out: Route[] = [];
    for (const f of [4, 6] as const) {
      const msgs = await this.nl.dump({ type: RTM.GETROUTE, payload: getRouteRequest(f), name: 'RTM_GETROUTE', object: `IPv${f} dump` });
      for (const m of msgs) {
        if (m.type !== RTM.NEWROUTE) continue;
        const r = parseRoute(m);
        if (r && r.table === table) out.push(r);
      }
    }
    return out;
  }

  /**
   * The interface index of `ifname` in this namespace. A missing interface
   * yields 0, which the kernel refuses with ENODEV, so the caller sees the
   * kernel's own error for the request it made.
   */
  ifindex(ifname: string): number {
    return native().ifNameToIndex(ifname);
  }

  /**
   * Opens a separate socket joined to `groups` (RTNLGRP_* numbers), with a
   * 4 MiB receive buffer, and hands each notification to `onMessage`.
   * `onOverrun` is called when notifications were lost (ENOBUFS) or a read
   * failed: the caller must re-read what it tracks.
   */
  static subscribe(groups: readonly number[], onMessage: (msg: NlMessage) => void, onOverrun: (err: Error) => void): RtnlSubscription {
    const s = NetlinkSocket.open(NETLINK.ROUTE, { rcvbuf: 4 << 20, groups });
    s.onNotification((m) => onMessage(m));
    s.onError(onOverrun);
    return { close: () => s.close() };
  }

  close(): void {
    this.nl.close();
  }
}

/** A NetlinkError for a request about an interface that does not exist, made without asking the kernel. */
export function noSuchInterface(request: string, ifname: string): NetlinkError {
  return new NetlinkError(ERRNO.ENODEV, request, `interface "${ifname}"`);
}
