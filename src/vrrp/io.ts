/**
 * VRRP transports: how advertisements leave and arrive. Three kinds, one
 * interface, chosen per instance by `transport` and the address family:
 *
 * - raw IPv4 (IP protocol 112, IP_HDRINCL like keepalived, so TTL, DF and the
 *   source address are exactly ours) to 224.0.0.18 (or vrrp_mcast_group4) or
 *   to unicast peers;
 * - raw IPv6 (protocol 112, link-local source) to ff02::12 (or
 *   vrrp_mcast_group6) or to unicast
 *   peers, with the received hop limit read from IPV6_HOPLIMIT;
 * - UDP (Node's dgram) to unicast peers only, where raw sockets are not
 *   allowed. It carries the same VRRP payload; there is no TTL to check.
 *
 * The sender chooses the TTL / hop limit of each packet: 255 to the group
 * (RFC 5798 §5.1.1.3, §5.1.2.3), keepalived's unicast_ttl to a peer.
 *
 * A transport moves bytes and reports the IP facts of each arrival (source,
 * destination, TTL/hop limit); it never decodes VRRP. One transport serves
 * every instance on its interface and family: the daemon demultiplexes by VRID.
 */
import * as dgram from 'node:dgram';
import { AF, IP, IPPROTO, IPV6, SO, SOCK, SOL, native } from '../kernel/native';
import { hostInt, ipMreqn, ipv6Mreq, parseCmsgs, parseSockaddr, sockaddrIn, sockaddrIn6 } from '../kernel/sockaddr';
import { NativeSocket } from '../kernel/socket';
import { formatIp, parseIp } from '../lib/ip';
import { decodeIpv4Header, encodeIpv4Header } from './ipv4';

/** VRRP's IPv4 multicast group (RFC 5798 §5.1.1.2). */
export const VRRP_GROUP_V4 = Uint8Array.of(224, 0, 0, 18);
/** VRRP's IPv6 multicast group (RFC 5798 §5.1.2.2). */
export const VRRP_GROUP_V6 = Uint8Array.from([0xff, 0x02, ...new Array<number>(13).fill(0), 0x12]);
/** Default UDP port of the dgram transport (an lvsd choice: VRRP has no UDP port). */
export const DEFAULT_UDP_PORT = 5112;
/** Most adverts the UDP transport holds while it cannot send (not bound yet, or a TTL change waiting). */
const MAX_UDP_QUEUE = 64;

/** One advertisement as it arrived. */
export interface Arrival {
  family: 4 | 6;
  /** The VRRP packet (IP header removed). */
  payload: Uint8Array;
  src: Uint8Array;
  /** Destination address, when the transport can tell. */
  dst: Uint8Array | undefined;
  /** TTL / hop limit, when the transport can tell (not over UDP). */
  ttl: number | undefined;
}

/** Where a transport sends. */
export interface TransportOptions {
  family: 4 | 6;
  ifname: string;
  /** Our source address (IPv4 primary address, or IPv6 link-local). */
  source: Uint8Array;
  /** Unicast peers; empty means multicast. */
  peers: readonly Uint8Array[];
  /** The multicast group joined when `peers` is empty ([global] vrrp_mcast_group4/6); default the RFC group. */
  group?: Uint8Array;
  /** UDP only: the port to bind and to send to. */
  udpPort?: number;
}

/** A VRRP transport. `send` throws the socket's error (the caller counts it). */
export interface VrrpTransport {
  readonly kind: 'raw' | 'udp';
  readonly options: TransportOptions;
  /**
   * Sends one VRRP packet to `dst` (the group or one unicast peer) with IPv4
   * TTL / IPv6 hop limit `ttl` (1..255). The caller encodes per destination:
   * the v3 checksum covers it.
   */
  sendTo(payload: Uint8Array, dst: Uint8Array, ttl: number): void;
  /** Delivers every arrival until close(). */
  onArrival(listener: (a: Arrival) => void, onError: (e: Error) => void): void;
  /**
   * Resolves once the transport can send and receive; rejects with the error
   * that stops it from ever doing so (a UDP bind refused: EADDRINUSE,
   * EADDRNOTAVAIL). Absent: ready when constructed (raw sockets, which
   * throw from the constructor instead).
   */
  ready?(): Promise<void>;
  close(): void;
}

/** Opens the transport for `kind` ('raw' or 'udp'). */
export function openTransport(kind: 'raw' | 'udp', opts: TransportOptions): VrrpTransport {
  if (kind === 'udp') return new UdpTransport(opts);
  return opts.family === 4 ? new RawV4Transport(opts) : new RawV6Transport(opts);
}

function ifindexOf(ifname: string): number {
  const index = native().ifNameToIndex(ifname);
  if (index === 0) {
    const e = new Error(`interface ${ifname} does not exist`) as Error & { code: string };
    e.code = 'ENODEV';
    throw e;
  }
  return index;
}

class RawV4Transport implements VrrpTransport {
  readonly kind = 'raw' as const;
  private readonly sock: NativeSocket;

  constructor(readonly options: TransportOptions) {
    const ifindex = ifindexOf(options.ifname);
    this.sock = new NativeSocket(AF.INET, SOCK.RAW, IPPROTO.VRRP);
    try {
      const s = this.sock;
      s.setsockopt(SOL.SOCKET, SO.BINDTODEVICE, Buffer.from(options.ifname + '\0'));
      s.setsockopt(SOL.IP, IP.HDRINCL, hostInt(1));
      // Only the groups joined on this socket, never every group the host joined.
      s.setsockopt(SOL.IP, IP.MULTICAST_ALL, hostInt(0));
      s.setsockopt(SOL.IP, IP.MULTICAST_LOOP, hostInt(0));
      s.setsockopt(SOL.IP, IP.MULTICAST_IF, ipMreqn(new Uint8Array(4), ifindex));
      if (options.peers.length === 0) {
        s.setsockopt(SOL.IP, IP.ADD_MEMBERSHIP, ipMreqn(options.group ?? VRRP_GROUP_V4, ifindex));
      }
    } catch (e) {
      this.sock.close();
      throw e;
    }
  }

  sendTo(payload: Uint8Array, dst: Uint8Array, ttl: number): void {
    const header = encodeIpv4Header({
      src: this.options.source,
      dst,
      ttl,
      protocol: IPPROTO.VRRP,
      payloadLength: payload.length,
    });
    const frame = new Uint8Array(header.length + payload.length);
    frame.set(header, 0);
    frame.set(payload, header.length);
    this.sock.send(frame, sockaddrIn(dst));
  }

  onArrival(listener: (a: Arrival) => void, onError: (e: Error) => void): void {
    this.sock.listen((msg) => {
      const ip = decodeIpv4Header(msg.data);
      if (!ip.ok) return; // the kernel hands raw sockets only well-formed IPv4
      listener({
        family: 4,
        payload: ip.payload,
        src: ip.header.src,
        dst: ip.header.dst,
        ttl: ip.header.ttl,
      });
    }, onError);
  }

  close(): void {
    this.sock.close();
  }
}

class RawV6Transport implements VrrpTransport {
  readonly kind = 'raw' as const;
  private readonly sock: NativeSocket;
  private readonly ifindex: number;
  /** The hop limits the socket is set to, so a send changes them only when they differ. */
  private readonly hops = { unicast: 255, multicast: 255 };

  constructor(readonly options: TransportOptions) {
    this.ifindex = ifindexOf(options.ifname);
    this.sock = new NativeSocket(AF.INET6, SOCK.RAW, IPPROTO.VRRP, { controlLen: 256 });
    try {
      const s = this.sock;
      s.setsockopt(SOL.SOCKET, SO.BINDTODEVICE, Buffer.from(options.ifname + '\0'));
      s.setsockopt(SOL.IPV6, IPV6.RECVHOPLIMIT, hostInt(1));
      s.setsockopt(SOL.IPV6, IPV6.RECVPKTINFO, hostInt(1));
      s.setsockopt(SOL.IPV6, IPV6.MULTICAST_HOPS, hostInt(255)); // RFC 5798 §5.1.2.3
      s.setsockopt(SOL.IPV6, IPV6.UNICAST_HOPS, hostInt(255));
      s.setsockopt(SOL.IPV6, IPV6.MULTICAST_IF, hostInt(this.ifindex));
      s.setsockopt(SOL.IPV6, IPV6.MULTICAST_LOOP, hostInt(0));
      s.setsockopt(SOL.IPV6, IPV6.MULTICAST_ALL, hostInt(0));
      // The source of our adverts is the link-local address (RFC 5798 §5.1.2.1).
      s.bind(sockaddrIn6(options.source, 0, this.ifindex));
      if (options.peers.length === 0) {
        s.setsockopt(SOL.IPV6, IPV6.ADD_MEMBERSHIP, ipv6Mreq(options.group ?? VRRP_GROUP_V6, this.ifindex));
      }
    } catch (e) {
      this.sock.close();
      throw e;
    }
  }

  sendTo(payload: Uint8Array, dst: Uint8Array, ttl: number): void {
    const linkScoped = dst[0] === 0xfe && (dst[1]! & 0xc0) === 0x80;
    const multicast = dst[0] === 0xff;
    // The kernel writes the IPv6 header: the hop limit is a socket option (sends are synchronous, so it holds for this one).
    const kind = multicast ? 'multicast' : 'unicast';
    if (this.hops[kind] !== ttl) {
      this.sock.setsockopt(SOL.IPV6, multicast ? IPV6.MULTICAST_HOPS : IPV6.UNICAST_HOPS, hostInt(ttl));
      this.hops[kind] = ttl;
    }
    this.sock.send(payload, sockaddrIn6(dst, 0, linkScoped || multicast ? this.ifindex : 0));
  }

  onArrival(listener: (a: Arrival) => void, onError: (e: Error) => void): void {
    this.sock.listen((msg) => {
      const from = parseSockaddr(msg.addr);
      if (!from) return;
      let ttl: number | undefined;
      let dst: Uint8Array | undefined;
      for (const c of parseCmsgs(msg.control)) {
        if (c.level !== SOL.IPV6) continue;
        if (c.type === IPV6.HOPLIMIT && c.data.length >= 4) ttl = Buffer.from(c.data).readInt32LE(0) & 0xff;
        if (c.type === IPV6.PKTINFO && c.data.length >= 20) dst = Uint8Array.from(c.data.subarray(0, 16));
      }
      listener({ family: 6, payload: msg.data, src: from.addr, dst, ttl });
    }, onError);
  }

  close(): void {
    this.sock.close();
  }
}

class UdpTransport implements VrrpTransport {
  readonly kind = 'udp' as const;
  private readonly sock: dgram.Socket;
  private readonly port: number;
  private bound = false;
  private closed = false;
  /** Sends not yet handed to the socket: before bind() completes, or waiting for a TTL change. */
  private readonly queue: Array<[Uint8Array, Uint8Array, number]> = [];
  /** Sends handed to dgram whose callback has not come yet. */
  private inFlight = 0;
  private ttl = -1;
  private onError: ((e: Error) => void) | undefined;
  private readonly bind: Promise<void>;

  constructor(readonly options: TransportOptions) {
    if (options.peers.length === 0) {
      throw Object.assign(new Error('the udp transport needs unicast_peer addresses'), { code: 'EINVAL' });
    }
    this.port = options.udpPort ?? DEFAULT_UDP_PORT;
    this.sock = dgram.createSocket({ type: options.family === 4 ? 'udp4' : 'udp6', reuseAddr: false });
    // bind() is asynchronous in dgram: sends wait in the queue until it completes.
    const scope = options.family === 6 && options.source[0] === 0xfe ? `%${options.ifname}` : '';
    this.bind = new Promise<void>((resolve, reject) => {
      this.sock.once('listening', () => {
        this.bound = true;
        resolve();
        this.pump();
      });
      // A bind error is the transport's end (ready() rejects with it); later errors go to onError.
      this.sock.on('error', (e) => (this.bound ? this.onError?.(e) : reject(e)));
    });
    this.bind.catch(() => undefined); // observed through ready()
    this.sock.bind(this.port, formatIp(options.source) + scope);
  }

  ready(): Promise<void> {
    return this.bind;
  }

  sendTo(payload: Uint8Array, peer: Uint8Array, ttl: number): void {
    if (this.closed) return;
    // A socket that never binds must not hoard adverts: only the newest matter.
    if (this.queue.length >= MAX_UDP_QUEUE) this.queue.shift();
    this.queue.push([payload, peer, ttl]);
    this.pump();
  }

  /**
   * Hands queued sends to dgram in order. dgram sends later than it is
   * called (it resolves the address first), and the TTL is the socket's
   * (IP_TTL, or IPV6_UNICAST_HOPS on udp6): so the TTL changes only once
   * every earlier send has gone out.
   */
  private pump(): void {
    while (this.bound && !this.closed && this.queue.length > 0) {
      const [payload, peer, ttl] = this.queue[0]!;
      if (ttl !== this.ttl) {
        if (this.inFlight > 0) return;
        try {
          this.sock.setTTL(ttl);
        } catch (e) {
          this.queue.shift();
          this.onError?.(e as Error);
          continue;
        }
        this.ttl = ttl;
      }
      this.queue.shift();
      this.inFlight++;
      const scope = this.options.family === 6 && peer[0] === 0xfe ? `%${this.options.ifname}` : '';
      const done = (err: Error | null): void => {
        this.inFlight--;
        if (err) this.onError?.(err);
        this.pump();
      };
      try {
        this.sock.send(payload, this.port, formatIp(peer) + scope, done);
      } catch (e) {
        done(e as Error);
        return;
      }
    }
  }

  onArrival(listener: (a: Arrival) => void, onError: (e: Error) => void): void {
    this.onError = onError;
    this.sock.on('message', (msg, rinfo) => {
      listener({
        family: this.options.family,
        payload: new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength),
        src: parseIp(rinfo.address.split('%')[0]!) ?? new Uint8Array(0),
        dst: undefined,
        ttl: undefined,
      });
    });
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    try {
      this.sock.close();
    } catch {
      /* already closed */
    }
  }
}
