/**
 * The VIP routes in lvsd's table: what BIRD's kernel protocol imports and
 * exports over BGP. A route is `VIP/32` (or /128) through `vip_interface`,
 * scope link, protocol {@link LVSD_RTPROT}; lvsd owns the routes of that
 * protocol in its table and no other.
 */
import { parseCidr } from '../kernel/rtnl/inet';
import { Rtnl } from '../kernel/rtnl/client';

/**
 * The rtm_protocol of lvsd's routes (`ip route show table 100 proto 250`).
 * Not one iproute2 names; BIRD learns any protocol but kernel and its own.
 */
export const LVSD_RTPROT = 250;

/** The VIP routes of one table. */
export interface VipRoutes {
  /** The VIPs lvsd has routes for in `table` (canonical text). */
  list(table: number): Promise<string[]>;
  /** Adds (or replaces) the route to `vip`; idempotent. */
  add(vip: string, ifname: string, table: number): Promise<void>;
  /** Deletes the route to `vip`; absent is success. */
  del(vip: string, ifname: string, table: number): Promise<void>;
  close(): void;
}

/** A VIP as a host prefix (`/32`, `/128`). */
export function hostCidr(vip: string): string {
  return `${vip}/${vip.includes(':') ? 128 : 32}`;
}

/** Routes through rtnetlink. */
export class KernelVipRoutes implements VipRoutes {
  private rtnl: Rtnl | undefined;

  private get nl(): Rtnl {
    this.rtnl ??= Rtnl.open();
    return this.rtnl;
  }

  async list(table: number): Promise<string[]> {
    const routes = await this.nl.listRoutes(table);
    return routes.filter((r) => r.protocol === LVSD_RTPROT && r.dstLen === (r.family === 4 ? 32 : 128)).map((r) => r.dst);
  }

  async add(vip: string, ifname: string, table: number): Promise<void> {
    await this.nl.replaceRoute(parseCidr(hostCidr(vip)), ifname, table, LVSD_RTPROT);
  }

  async del(vip: string, ifname: string, table: number): Promise<void> {
    await this.nl.deleteRoute(parseCidr(hostCidr(vip)), ifname, table, LVSD_RTPROT);
  }

  close(): void {
    this.rtnl?.close();
    this.rtnl = undefined;
  }
}

/** In memory (dry run, tests); `fail` makes the next calls reject. */
export class FakeVipRoutes implements VipRoutes {
  readonly tables = new Map<number, Set<string>>();
  fail: Error | undefined;
  readonly calls: string[] = [];

  async list(table: number): Promise<string[]> {
    if (this.fail) throw this.fail;
    return [...(this.tables.get(table) ?? [])];
  }
  async add(vip: string, _ifname: string, table: number): Promise<void> {
    this.calls.push(`add ${vip} table ${table}`);
    if (this.fail) throw this.fail;
    let t = this.tables.get(table);
    if (!t) this.tables.set(table, (t = new Set()));
    t.add(vip);
  }
  async del(vip: string, _ifname: string, table: number): Promise<void> {
    this.calls.push(`del ${vip} table ${table}`);
    if (this.fail) throw this.fail;
    this.tables.get(table)?.delete(vip);
  }
  close(): void {}
}
