/**
 * Sends crafted VRRP packets to 224.0.0.18 out of eth0, from inside a test
 * namespace: `node send-vrrp.js KIND SRC [VRID] [VIP] [COUNT] [GAP_MS]`.
 * KIND names what is wrong with it (ttl, checksum, version, short, vrid,
 * good-low; interval0: v3, priority 254, Max Adver Int 0; badauth: v2,
 * priority 254, PASS with a wrong password, 1 s); the daemon under test must
 * count each under its reason and carry on. COUNT packets (default 1) go
 * GAP_MS apart (default 0): a flood.
 */
import { AF, IP, IPPROTO, SO, SOCK, SOL } from '../../../src/kernel/native';
import { hostInt, ipMreqn, sockaddrIn } from '../../../src/kernel/sockaddr';
import { NativeSocket } from '../../../src/kernel/socket';
import { parseIp } from '../../../src/lib/ip';
import { encodeIpv4Header } from '../../../src/vrrp/ipv4';
import { encodeVrrp } from '../../../src/vrrp/packet';

const [kind, srcText, vridText, vipText, countText, gapText] = process.argv.slice(2);
const src = parseIp(srcText ?? '');
if (!kind || !src) {
  process.stderr.write('usage: send-vrrp KIND SRC [VRID] [VIP]\n');
  process.exit(2);
}
const group = Uint8Array.of(224, 0, 0, 18);
const vrid = Number(vridText ?? 51);
const vip = parseIp(vipText ?? '192.0.2.100')!;
const wrongPass = new Uint8Array(8);
wrongPass.set(new TextEncoder().encode('hostile!'));
let payload =
  kind === 'badauth'
    ? encodeVrrp({ version: 2, vrid, priority: 254, authType: 1, advertInterval: 1, addresses: [vip], authData: wrongPass }, { family: 4, src, dst: group })
    : encodeVrrp(
        {
          version: 3, vrid: kind === 'vrid' ? 99 : vrid,
          priority: kind === 'good-low' ? 1 : kind === 'interval0' ? 254 : 200,
          maxAdvertInterval: kind === 'interval0' ? 0 : 20, addresses: [vip],
        },
        { family: 4, src, dst: group },
      );
if (kind === 'checksum') {
  payload = Uint8Array.from(payload);
  payload[6] ^= 0xff;
}
if (kind === 'version') {
  payload = Uint8Array.from(payload);
  payload[0] = (4 << 4) | 1;
}
if (kind === 'short') payload = payload.subarray(0, 4);
const ttl = kind === 'ttl' ? 64 : 255;
const header = encodeIpv4Header({ src, dst: group, ttl, protocol: IPPROTO.VRRP, payloadLength: payload.length });
const frame = new Uint8Array(header.length + payload.length);
frame.set(header);
frame.set(payload, header.length);
const s = new NativeSocket(AF.INET, SOCK.RAW, IPPROTO.VRRP);
s.setsockopt(SOL.SOCKET, SO.BINDTODEVICE, Buffer.from('eth0\0'));
s.setsockopt(SOL.IP, IP.HDRINCL, hostInt(1));
s.setsockopt(SOL.IP, IP.MULTICAST_IF, ipMreqn(new Uint8Array(4), 0));
const count = Number(countText ?? 1);
const gap = Number(gapText ?? 0);
void (async () => {
  for (let i = 0; i < count; i++) {
    s.send(frame, sockaddrIn(group));
    if (gap > 0) await new Promise((r) => setTimeout(r, gap));
  }
  s.close();
})();
