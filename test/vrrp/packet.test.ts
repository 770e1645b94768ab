import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatIp, parseIp } from '../../src/lib/ip';
import { finishChecksum, internetChecksum, pseudoHeaderSum, sumWords } from '../../src/vrrp/checksum';
import { VrrpEncodeError } from '../../src/vrrp/errors';
import { decodeIpv4Header, encodeIpv4Header, IPPROTO_VRRP, VRRP_TOS, VRRP_TTL } from '../../src/vrrp/ipv4';
import {
  advertIntervalCs,
  decodeVrrp,
  encodeVrrp,
  passwordAuthData,
  VRRP_AUTH_TYPE,
  type VrrpCodecContext,
  type VrrpPacket,
} from '../../src/vrrp/packet';
import { FIXTURES, readCaptureConf, readPcap } from './pcap';

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ip = (s: string): Uint8Array => parseIp(s)!;

/** One VRRP packet out of a captured Ethernet frame, with its IP context. */
interface Captured {
  family: 4 | 6;
  ipHeader: Uint8Array;
  payload: Uint8Array;
  src: Uint8Array;
  dst: Uint8Array;
  ttl: number;
}

function unwrap(frame: Uint8Array): Captured {
  const type = (frame[12]! << 8) | frame[13]!;
  const l3 = frame.subarray(14);
  if (type === ETH_IPV4) {
    const d = decodeIpv4Header(l3);
    assert.ok(d.ok, 'captured IPv4 header decodes');
    return { family: 4, ipHeader: l3.subarray(0, d.header.headerLength), payload: d.payload, src: d.header.src, dst: d.header.dst, ttl: d.header.ttl };
  }
  assert.equal(type, ETH_IPV6, 'frame is IPv4 or IPv6');
  assert.equal(l3[6], IPPROTO_VRRP, 'IPv6 next header is VRRP');
  const plen = (l3[4]! << 8) | l3[5]!;
  return { family: 6, ipHeader: l3.subarray(0, 40), payload: l3.subarray(40, 40 + plen), src: l3.slice(8, 24), dst: l3.slice(24, 40), ttl: l3[7]! };
}

const cases = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => f.replace(/\.pcap$/, ''));

describe('vrrp codec: packets captured from keepalived 2.2.7', () => {
  it('has the five capture cases', () => {
    assert.deepEqual([...cases].sort(), ['v2-ipv4-unicast', 'v2-pass-ipv4', 'v3-ipv4', 'v3-ipv4-unicast', 'v3-ipv6']);
  });

  for (const name of cases) {
    describe(name, () => {
      const conf = readCaptureConf(path.join(FIXTURES, `${name}.conf`));
      const frames = readPcap(path.join(FIXTURES, `${name}.pcap`)).map((f) => unwrap(f.data));

      it('holds several adverts and ends with the priority-0 advert of the SIGTERM', () => {
        assert.ok(frames.length >= 3, `${frames.length} frames`);
        const prios = frames.map((c) => decodeVrrp(c.payload, c).ok && (decodeVrrp(c.payload, c) as { packet: VrrpPacket }).packet.priority);
        assert.deepEqual(prios, [...new Array<number>(frames.length - 1).fill(conf.priority), 0]);
      });

      it('decodes every advert to what the keepalived.conf configured', () => {
        for (const c of frames) {
          const r = decodeVrrp(c.payload, c);
          assert.ok(r.ok, `decode failed: ${!r.ok && r.reason}`);
          const p = r.packet;
          assert.equal(p.version, conf.version);
          assert.equal(p.vrid, conf.vrid);
          assert.equal(r.length, c.payload.length);
          assert.equal(advertIntervalCs(p), Math.round(conf.advertIntervalSeconds * 100));
          assert.deepEqual(p.addresses.map(formatIp), conf.vips);
          assert.equal(r.checksumForm, p.version === 2 && c.family === 4 ? 'no-pseudo-header' : 'pseudo-header');
          if (p.version === 2) {
            assert.equal(p.authType, conf.authPass ? VRRP_AUTH_TYPE.pass : VRRP_AUTH_TYPE.none);
            assert.equal(hex(p.authData), hex(conf.authPass ? passwordAuthData(conf.authPass) : new Uint8Array(8)));
          }
          const wantDst = conf.unicastPeers[0] ?? (c.family === 4 ? '224.0.0.18' : 'ff02::12');
          assert.equal(formatIp(c.dst), wantDst);
          assert.equal(c.ttl, VRRP_TTL);
        }
      });

      it('re-encodes every advert to the same bytes', () => {
        for (const c of frames) {
          const r = decodeVrrp(c.payload, c);
          assert.ok(r.ok);
          const again = encodeVrrp(r.packet, { family: c.family, src: c.src, dst: c.dst, checksumForm: r.checksumForm });
          assert.equal(hex(again), hex(c.payload));
        }
      });

      if (name.includes('ipv4')) {
        it("matches keepalived's IPv4 header: TOS 0xc0, no DF, TTL 255, proto 112, id counting from 1", () => {
          frames.forEach((c, i) => {
            const d = decodeIpv4Header(concat(c.ipHeader, c.payload));
            assert.ok(d.ok);
            const h = d.header;
            assert.equal(h.tos, VRRP_TOS);
            assert.equal(h.dontFragment, false);
            assert.equal(h.ttl, 255);
            assert.equal(h.protocol, IPPROTO_VRRP);
            assert.equal(h.id, i + 1);
            const built = encodeIpv4Header({ src: h.src, dst: h.dst, payloadLength: c.payload.length, id: h.id });
            assert.equal(hex(built), hex(c.ipHeader));
          });
        });
      }
    });
  }
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}

describe('vrrp codec: checksum (RFC 1071)', () => {
  it('computes the RFC 1071 §3 worked example', () => {
    // Words 0001 f203 f4f5 f6f7 sum to 2ddf0, fold to ddf2; complement 220d.
    assert.equal(internetChecksum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
  });
  it('pads an odd byte with zero', () => {
    assert.equal(internetChecksum(Uint8Array.of(0x01)), ~0x0100 & 0xffff);
  });
  it('IPv6 pseudo-header carries a 32-bit length', () => {
    const z = new Uint8Array(16);
    assert.equal(pseudoHeaderSum(z, z, 112, 0x10002), 1 + 2 + 112);
    assert.equal(finishChecksum(sumWords(new Uint8Array(0), pseudoHeaderSum(z, z, 112, 8))), ~(112 + 8) & 0xffff);
  });
});

describe('vrrp codec: v3 over IPv4 checksum forms', () => {
  const ctx: VrrpCodecContext = { family: 4, src: ip('192.0.2.11'), dst: ip('224.0.0.18') };
  const pkt: VrrpPacket = { version: 3, vrid: 51, priority: 100, maxAdvertInterval: 100, addresses: [ip('192.0.2.100')] };

  it('sends the pseudo-header form by default and decodes it as such', () => {
    const b = encodeVrrp(pkt, ctx);
    const r = decodeVrrp(b, ctx);
    assert.ok(r.ok);
    assert.equal(r.checksumForm, 'pseudo-header');
  });
  it('sends the no-pseudo-header form on request and decodes it as such', () => {
    const b = encodeVrrp(pkt, { ...ctx, checksumForm: 'no-pseudo-header' });
    assert.notEqual(hex(b), hex(encodeVrrp(pkt, ctx)));
    const r = decodeVrrp(b, ctx);
    assert.ok(r.ok);
    assert.equal(r.checksumForm, 'no-pseudo-header');
    assert.equal(internetChecksum(b), 0);
  });
  it('rejects a pseudo-header checksum made for another source', () => {
    const b = encodeVrrp(pkt, { ...ctx, src: ip('192.0.2.12') });
    assert.deepEqual(decodeVrrp(b, ctx), { ok: false, reason: 'checksum' });
  });
  it('ignores the form option for IPv6 (always the pseudo-header)', () => {
    const c6: VrrpCodecContext = { family: 6, src: ip('fe80::1'), dst: ip('ff02::12'), checksumForm: 'no-pseudo-header' };
    const p6: VrrpPacket = { ...pkt, addresses: [ip('2001:db8::100')] };
    const r = decodeVrrp(encodeVrrp(p6, c6), c6);
    assert.ok(r.ok);
    assert.equal(r.checksumForm, 'pseudo-header');
  });
});

describe('vrrp codec: malformed input gives a reason, never an exception', () => {
  const ctx: VrrpCodecContext = { family: 4, src: ip('192.0.2.11'), dst: ip('224.0.0.18') };
  const v2: VrrpPacket = {
    version: 2,
    vrid: 7,
    priority: 200,
    authType: VRRP_AUTH_TYPE.pass,
    advertInterval: 3,
    addresses: [ip('192.0.2.100'), ip('192.0.2.101')],
    authData: passwordAuthData('longer-than-8'),
  };
  const good = encodeVrrp(v2, ctx);

  it('round-trips a v2 PASS packet, password cut to 8 bytes', () => {
    const r = decodeVrrp(good, ctx);
    assert.ok(r.ok);
    assert.deepEqual(r.packet, { ...v2, addresses: v2.addresses.map((a) => Uint8Array.from(a)) });
    assert.equal(Buffer.from((r.packet as { authData: Uint8Array }).authData).toString(), 'longer-t');
  });
  it("'short' under 8 bytes", () => assert.deepEqual(decodeVrrp(good.subarray(0, 7), ctx), { ok: false, reason: 'short' }));
  it("'version' for version 1 and 4", () => {
    for (const v of [1, 4]) {
      const b = Uint8Array.from(good);
      b[0] = (v << 4) | 1;
      assert.deepEqual(decodeVrrp(b, ctx), { ok: false, reason: 'version' });
    }
  });
  it("'type' for type 2", () => {
    const b = Uint8Array.from(good);
    b[0] = 0x22;
    assert.deepEqual(decodeVrrp(b, ctx), { ok: false, reason: 'type' });
  });
  it("'length' when the address count does not fit", () => {
    assert.deepEqual(decodeVrrp(good.subarray(0, good.length - 1), ctx), { ok: false, reason: 'length' });
    const b = Uint8Array.from(good);
    b[3] = 3;
    assert.deepEqual(decodeVrrp(b, ctx), { ok: false, reason: 'length' });
  });
  it("'checksum' for a flipped bit", () => {
    const b = Uint8Array.from(good);
    b[9] ^= 0x10;
    assert.deepEqual(decodeVrrp(b, ctx), { ok: false, reason: 'checksum' });
  });
  it('accepts trailing Ethernet padding: the address count decides the length', () => {
    const padded = concat(good, new Uint8Array(18).fill(0xee));
    const r = decodeVrrp(padded, ctx);
    assert.ok(r.ok);
    assert.equal(r.length, good.length);
    assert.equal(hex(encodeVrrp(r.packet, ctx)), hex(good));
  });
  it('v3 padding too, checksum over the counted length', () => {
    const p: VrrpPacket = { version: 3, vrid: 1, priority: 255, maxAdvertInterval: 4095, addresses: [] };
    const b = encodeVrrp(p, ctx);
    const r = decodeVrrp(concat(b, Uint8Array.of(1, 2, 3)), ctx);
    assert.ok(r.ok);
    assert.equal(r.length, 8);
  });
});

describe('vrrp codec: encoder refuses values the wire cannot carry', () => {
  const ctx: VrrpCodecContext = { family: 4, src: ip('192.0.2.11'), dst: ip('224.0.0.18') };
  const base: VrrpPacket = { version: 3, vrid: 1, priority: 100, maxAdvertInterval: 100, addresses: [ip('192.0.2.1')] };
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof VrrpEncodeError);
      return e.code;
    }
    return 'no error';
  };
  it('field out of range', () => {
    assert.equal(code(() => encodeVrrp({ ...base, vrid: 256 }, ctx)), 'ERR_VRRP_ENCODE_FIELD');
    assert.equal(code(() => encodeVrrp({ ...base, maxAdvertInterval: 4096 }, ctx)), 'ERR_VRRP_ENCODE_FIELD');
    assert.equal(code(() => encodeVrrp({ ...base, priority: -1 }, ctx)), 'ERR_VRRP_ENCODE_FIELD');
    const v2: VrrpPacket = { version: 2, vrid: 1, priority: 1, authType: 0, advertInterval: 256, addresses: [], authData: new Uint8Array(8) };
    assert.equal(code(() => encodeVrrp(v2, ctx)), 'ERR_VRRP_ENCODE_FIELD');
    assert.equal(code(() => encodeVrrp({ ...v2, advertInterval: 1, authData: new Uint8Array(7) }, ctx)), 'ERR_VRRP_ENCODE_FIELD');
  });
  it('address of the wrong family', () => {
    assert.equal(code(() => encodeVrrp({ ...base, addresses: [ip('2001:db8::1')] }, ctx)), 'ERR_VRRP_ENCODE_ADDRESS');
    assert.equal(code(() => encodeIpv4Header({ src: ip('2001:db8::1'), dst: ip('224.0.0.18'), payloadLength: 8 })), 'ERR_VRRP_ENCODE_ADDRESS');
  });
  it('pseudo-header without usable addresses', () => {
    assert.equal(code(() => encodeVrrp(base, { ...ctx, src: new Uint8Array(0) })), 'ERR_VRRP_ENCODE_CONTEXT');
  });
});

describe('vrrp codec: IPv4 header', () => {
  const hdr = encodeIpv4Header({ src: ip('192.0.2.1'), dst: ip('224.0.0.18'), payloadLength: 12, id: 7, dontFragment: true });
  const frame = concat(hdr, new Uint8Array(12));
  it('encodes a valid header checksum and decodes its fields', () => {
    assert.equal(internetChecksum(hdr), 0);
    const d = decodeIpv4Header(frame);
    assert.ok(d.ok);
    assert.equal(d.header.id, 7);
    assert.equal(d.header.dontFragment, true);
    assert.equal(d.header.totalLength, 32);
    assert.equal(d.payload.length, 12);
  });
  it('skips options by IHL', () => {
    const opt = Uint8Array.from(hdr);
    const withOpts = concat(concat(opt, Uint8Array.of(1, 1, 1, 0)), new Uint8Array(12));
    withOpts[0] = 0x46;
    withOpts[3] = 36;
    withOpts[10] = 0;
    withOpts[11] = 0;
    const c = internetChecksum(withOpts.subarray(0, 24));
    withOpts[10] = c >> 8;
    withOpts[11] = c & 0xff;
    const d = decodeIpv4Header(withOpts);
    assert.ok(d.ok);
    assert.equal(d.header.headerLength, 24);
    assert.equal(hex(d.header.options), '01010100');
    assert.equal(d.payload.length, 12);
  });
  it('cuts link padding off the payload', () => {
    const d = decodeIpv4Header(concat(frame, new Uint8Array(10)));
    assert.ok(d.ok);
    assert.equal(d.payload.length, 12);
  });
  it('carries unicast_ttl: a unicast advert header with TTL 64, byte for byte both ways', () => {
    // 45 c0 | len 32 | id 0 | no flags | TTL 0x40 | proto 112 | checksum | 192.0.2.11 → 192.0.2.12
    const want = '45c00020000000004070f596c000020bc000020c';
    const built = encodeIpv4Header({ src: ip('192.0.2.11'), dst: ip('192.0.2.12'), payloadLength: 12, ttl: 64 });
    assert.equal(hex(built), want);
    const d = decodeIpv4Header(concat(Uint8Array.from(Buffer.from(want, 'hex')), new Uint8Array(12)));
    assert.ok(d.ok);
    assert.equal(d.header.ttl, 64);
    assert.equal(d.header.tos, VRRP_TOS);
    assert.equal(d.header.protocol, IPPROTO_VRRP);
    assert.equal(hex(encodeIpv4Header({ src: ip('192.0.2.11'), dst: ip('192.0.2.12'), payloadLength: 12 })).slice(16, 18), 'ff', 'TTL 255 by default');
  });
  it('rejects bad headers', () => {
    assert.deepEqual(decodeIpv4Header(hdr.subarray(0, 19)), { ok: false, reason: 'short' });
    const bad = (mut: (b: Uint8Array) => void): unknown => {
      const b = Uint8Array.from(frame);
      mut(b);
      return decodeIpv4Header(b);
    };
    const no = { ok: false, reason: 'ip-header' };
    assert.deepEqual(bad((b) => (b[0] = 0x65)), no);
    assert.deepEqual(bad((b) => (b[0] = 0x44)), no);
    assert.deepEqual(bad((b) => (b[3] = 200)), no);
    assert.deepEqual(bad((b) => (b[8] = 1)), no); // checksum now wrong
  });
});
