/**
 * Sends VIP announcements (gratuitous ARP, unsolicited NA) from an AF_PACKET
 * socket, as keepalived does after becoming master (RFC 5798 §6.4.2).
 */
import { AF, ETH_P, SOCK } from '../native';
import { NativeSocket } from '../socket';
import { sockaddrLl } from '../sockaddr';
import type { Link, Links } from '../links';
import { parseIp, parseMac } from '../rtnl/inet';
import { ETHER_ALL_NODES, ETHER_BROADCAST, encodeGarp, encodeUnsolicitedNa } from './packet';

/** Announcing failed; `failures` says which VIPs, and why. */
export class AnnounceError extends Error {
  readonly code = 'ERR_ANNOUNCE';
  constructor(
    readonly ifname: string,
    readonly failures: ReadonlyArray<{ vip: string; error: Error }>,
    why?: string,
  ) {
    super(why ?? `announcing on "${ifname}" failed for ${failures.map((f) => `${f.vip} (${f.error.message})`).join(', ')}`);
    this.name = 'AnnounceError';
  }
}

/** Options for one announcement round. */
export interface AnnounceOptions {
  /** Set the NA Router flag (keepalived does when the interface forwards IPv6). Default false. */
  router?: boolean;
  /**
   * The interface as the caller last saw it (index and MAC, e.g. from a link
   * subscription): spares the RTM_GETLINK round trip that otherwise comes
   * before the first frame of a takeover. Must be the link named `ifname`.
   */
  link?: Link;
}

/** Something that tells the segment a VIP now lives here. */
export interface Announcer {
  /**
   * Sends one frame per VIP out of `ifname`: a gratuitous ARP for each IPv4
   * address, an unsolicited NA for each IPv6 one (VIPs may be CIDRs; the
   * prefix is ignored). Every VIP is tried; rejects with AnnounceError listing
   * the ones that failed (or why none could: no such interface, no MAC).
   * Resolves with the number of frames sent.
   */
  announce(ifname: string, vips: readonly string[], opts?: AnnounceOptions): Promise<number>;
  /** Releases the socket. */
  close(): void;
}

/** {@link Announcer} over one shared AF_PACKET SOCK_RAW socket; the interface comes from `links`. */
export class PacketAnnouncer implements Announcer {
  private sock: NativeSocket | undefined;

  constructor(private readonly links: Links) {}

  async announce(ifname: string, vips: readonly string[], opts: AnnounceOptions = {}): Promise<number> {
    const link = opts.link?.name === ifname ? opts.link : await this.links.get(ifname);
    if (!link) throw new AnnounceError(ifname, [], `cannot announce on "${ifname}": no such interface`);
    if (!link.mac || link.mac === '00:00:00:00:00:00') {
      throw new AnnounceError(ifname, [], `cannot announce on "${ifname}": it has no Ethernet address`);
    }
    const mac = parseMac(link.mac);
    // Protocol 0: this socket only sends, so the kernel queues nothing to it.
    this.sock ??= new NativeSocket(AF.PACKET, SOCK.RAW, 0);
    const failures: { vip: string; error: Error }[] = [];
    let sent = 0;
    for (const vip of vips) {
      try {
        const ip = parseIp(vip.split('/')[0]!);
        const frame = ip.family === 4 ? encodeGarp(mac, ip.bytes) : encodeUnsolicitedNa(mac, ip.bytes, opts);
        const to = ip.family === 4 ? sockaddrLl(link.index, ETH_P.ARP, ETHER_BROADCAST) : sockaddrLl(link.index, ETH_P.IPV6, ETHER_ALL_NODES);
        this.sock.send(frame, to);
        sent++;
      } catch (e) {
        failures.push({ vip, error: e as Error });
      }
    }
    if (failures.length > 0) throw new AnnounceError(ifname, failures);
    return sent;
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
  }
}
