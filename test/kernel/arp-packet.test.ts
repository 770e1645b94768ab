import * as assert from 'node:assert/strict';
import {
  ARPOP,
  AnnounceFrameError,
  GARP_LEN,
  NA_LEN,
  decodeArp,
  decodeNa,
  encodeGarp,
  encodeUnsolicitedNa,
  icmpv6Checksum,
} from '../../src/kernel/arp/packet';
import { formatIp, parseIp, parseMac } from '../../src/kernel/rtnl/inet';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

const MAC = parseMac('02:00:00:00:00:01');

describe('gratuitous ARP frame', () => {
  it('is keepalived\'s frame: broadcast, ARP request, sender = target = VIP, target MAC broadcast', () => {
    const f = encodeGarp(MAC, parseIp('192.0.2.10').bytes);
    assert.equal(f.length, GARP_LEN);
    assert.deepEqual(
      f,
      hex(`ffffffffffff 020000000001 0806
           0001 0800 06 04 0001
           020000000001 c000020a
           ffffffffffff c000020a`),
    );
  });

  it('decodes back, padding allowed', () => {
    const f = Uint8Array.from([...encodeGarp(MAC, parseIp('203.0.113.7').bytes), ...new Uint8Array(18)]);
    const a = decodeArp(f);
    assert.equal(a.op, ARPOP.REQUEST);
    assert.equal(formatIp(a.senderIp), '203.0.113.7');
    assert.equal(formatIp(a.targetIp), '203.0.113.7');
    assert.deepEqual(a.senderMac, MAC);
    assert.throws(() => decodeArp(f.subarray(0, 30)), AnnounceFrameError);
  });

  it('refuses a MAC or VIP of the wrong size', () => {
    assert.throws(() => encodeGarp(MAC.subarray(0, 5), parseIp('192.0.2.1').bytes), RangeError);
    assert.throws(() => encodeGarp(MAC, parseIp('2001:db8::1').bytes), RangeError);
  });
});

describe('unsolicited Neighbour Advertisement frame', () => {
  it('matches RFC 4861 §7.2.6 and keepalived byte for byte (checksum computed independently)', () => {
    const f = encodeUnsolicitedNa(MAC, parseIp('2001:db8::10').bytes);
    assert.equal(f.length, NA_LEN);
    assert.deepEqual(
      f,
      hex(`333300000001 020000000001 86dd
           60000000 0020 3a ff
           20010db8000000000000000000000010
           ff020000000000000000000000000001
           88 00 f90c 20000000
           20010db8000000000000000000000010
           02 01 020000000001`),
    );
  });

  it('decodes back with Override set, Solicited clear, the TLLA option and a valid checksum', () => {
    const na = decodeNa(encodeUnsolicitedNa(MAC, parseIp('2001:db8::10').bytes, { router: true }));
    assert.equal(na.hopLimit, 255);
    assert.ok(na.override);
    assert.ok(!na.solicited);
    assert.ok(na.router);
    assert.equal(formatIp(na.target), '2001:db8::10');
    assert.equal(formatIp(na.ipSrc), '2001:db8::10');
    assert.equal(formatIp(na.ipDst), 'ff02::1');
    assert.deepEqual(na.targetMac, MAC);
  });

  it('refuses a frame with a corrupted checksum', () => {
    const f = encodeUnsolicitedNa(MAC, parseIp('2001:db8::10').bytes);
    f[f.length - 1] ^= 1;
    assert.throws(() => decodeNa(f), /checksum/);
  });

  it('computes the RFC 1071 checksum over the pseudo-header, odd lengths included', () => {
    const src = parseIp('fe80::1').bytes;
    const dst = parseIp('ff02::1').bytes;
    const msg = Uint8Array.of(0x80, 0, 0, 0, 0x12, 0x34, 0, 1, 0xab);
    const c = icmpv6Checksum(src, dst, msg);
    const withSum = Uint8Array.from(msg);
    withSum[2] = c >> 8;
    withSum[3] = c & 0xff;
    assert.equal(icmpv6Checksum(src, dst, withSum), 0);
  });
});
