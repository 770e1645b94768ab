/**
 * Sends adverts through lvsd's real transports (raw IPv4, raw IPv6, UDP over
 * both) to this namespace's own loopback with chosen TTLs / hop limits, and
 * reads back what went on the wire with capture sockets of its own: the IPv4
 * header's TTL, or IPv6's IPV6_HOPLIMIT; and what the raw transports
 * themselves report on arrival. Run inside a fresh namespace with lo up:
 * `node ttl-probe.js TTL...`. Prints one JSON object: transport → the TTLs
 * seen, in sending order.
 */
import { AF, IPPROTO, IPV6, SOCK, SOL } from '../../../src/kernel/native';
import { hostInt, parseCmsgs } from '../../../src/kernel/sockaddr';
import { NativeSocket } from '../../../src/kernel/socket';
import { decodeIpv4Header } from '../../../src/vrrp/ipv4';
import { openTransport, type VrrpTransport } from '../../../src/vrrp/io';

const PORT = 5112;
const V4 = Uint8Array.of(127, 0, 0, 1);
const V6 = Uint8Array.from([...new Array<number>(15).fill(0), 1]);
const ttls = process.argv.slice(2).map(Number);
if (ttls.length === 0 || ttls.some((t) => !Number.isInteger(t) || t < 1 || t > 255)) {
  process.stderr.write('usage: ttl-probe TTL...\n');
  process.exit(2);
}

const seen: Record<string, number[]> = { raw4: [], raw6: [], udp4: [], udp6: [], rxRaw4: [], rxRaw6: [] };
const captures: NativeSocket[] = [];

/** A raw capture socket; `pick` returns the TTL of a packet it wants, or undefined. */
function capture(family: 4 | 6, proto: number, pick: (data: Uint8Array, hopLimit: number | undefined) => [string, number] | undefined): void {
  const s = new NativeSocket(family === 4 ? AF.INET : AF.INET6, SOCK.RAW, proto, { controlLen: 256 });
  if (family === 6) s.setsockopt(SOL.IPV6, IPV6.RECVHOPLIMIT, hostInt(1));
  s.listen((msg) => {
    let hop: number | undefined;
    for (const c of parseCmsgs(msg.control)) if (c.level === SOL.IPV6 && c.type === IPV6.HOPLIMIT) hop = Buffer.from(c.data).readInt32LE(0);
    const got = pick(msg.data, hop);
    if (got) seen[got[0]]!.push(got[1]);
  }, (e) => process.stderr.write(`capture: ${e.message}\n`));
  captures.push(s);
}

// IPv4 raw sockets get the IP header; IPv6 ones only the payload, the hop limit comes as a cmsg.
capture(4, IPPROTO.VRRP, (d) => {
  const ip = decodeIpv4Header(d);
  return ip.ok ? ['raw4', ip.header.ttl] : undefined;
});
capture(6, IPPROTO.VRRP, (_d, hop) => (hop === undefined ? undefined : ['raw6', hop]));
capture(4, IPPROTO.UDP, (d) => {
  const ip = decodeIpv4Header(d);
  if (!ip.ok || ip.payload.length < 4 || ((ip.payload[2]! << 8) | ip.payload[3]!) !== PORT) return undefined;
  return ['udp4', ip.header.ttl];
});
capture(6, IPPROTO.UDP, (d, hop) => (hop !== undefined && d.length >= 4 && ((d[2]! << 8) | d[3]!) === PORT ? ['udp6', hop] : undefined));

const transports: VrrpTransport[] = [
  openTransport('raw', { family: 4, ifname: 'lo', source: V4, peers: [V4] }),
  openTransport('raw', { family: 6, ifname: 'lo', source: V6, peers: [V6] }),
  openTransport('udp', { family: 4, ifname: 'lo', source: V4, peers: [V4], udpPort: PORT }),
  openTransport('udp', { family: 6, ifname: 'lo', source: V6, peers: [V6], udpPort: PORT }),
];
// The raw transports hear their own adverts on lo: what they report is what the receive path judges.
transports.forEach((t, i) => {
  const rx = i === 0 ? seen.rxRaw4! : i === 1 ? seen.rxRaw6! : undefined;
  t.onArrival((a) => rx && a.ttl !== undefined && rx.push(a.ttl), (e) => process.stderr.write(`transport: ${e.message}\n`));
});

const payload = Uint8Array.of(0x31, 51, 100, 0, 0, 100, 0, 0); // the bytes do not matter here
for (const ttl of ttls) {
  for (const t of transports) t.sendTo(payload, t.options.source, ttl);
}

const want = ttls.length;
const deadline = Date.now() + 5000;
const timer = setInterval(() => {
  if (Object.values(seen).every((v) => v.length >= want) || Date.now() > deadline) {
    clearInterval(timer);
    for (const t of transports) t.close();
    for (const c of captures) c.close();
    process.stdout.write(JSON.stringify(seen) + '\n');
  }
}, 20);
