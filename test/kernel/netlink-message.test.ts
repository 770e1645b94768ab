import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import {
  NLM_F,
  NLMSG,
  attrMap,
  attrNested,
  attrString,
  attrU16,
  attrU32,
  encodeAttrs,
  encodeMessage,
  parseAttrs,
  parseDone,
  parseError,
  parseMessages,
  readString,
  readU32,
} from '../../src/kernel/netlink/message';
import { NetlinkError, NetlinkMalformedError, errnoName } from '../../src/kernel/netlink/errors';
import { CTRL_ATTR, GENL_ID_CTRL, decodeGenl, getFamilyRequest, parseFamily } from '../../src/kernel/netlink/genl';
import { RTM, getLinkRequest, parseLink } from '../../src/kernel/rtnl/link';
import { IFA_F, addrRequest, parseAddr } from '../../src/kernel/rtnl/addr';
import { parseCidr } from '../../src/kernel/rtnl/inet';

/** Hex with spaces/newlines allowed → bytes. */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

// The golden captures below were taken on x86_64 (little-endian) with
// `strace -e trace=sendmsg -e write=3 -xx ip ...` inside a namespace.
const littleEndian = os.endianness() === 'LE';

describe('netlink message codec', () => {
  before(function () {
    if (!littleEndian) throw new Error('golden netlink captures are little-endian; this host is big-endian');
  });

  it('encodes `ip -4 addr add 192.0.2.1/24 dev <ifindex 3>` byte for byte', () => {
    // nlmsghdr len 40, RTM_NEWADDR(20), REQUEST|ACK|EXCL|CREATE, seq 0x6b083bd4, pid 0;
    // ifaddrmsg AF_INET /24 flags 0 scope 0 index 3; IFA_LOCAL; IFA_ADDRESS.
    const captured = hex(`28000000 14000506 d43b086b 00000000
                          02180000 03000000 08000200 c0000201
                          08000100 c0000201`);
    const mine = encodeMessage({
      type: RTM.NEWADDR,
      flags: NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL,
      seq: 0x6b083bd4,
      pid: 0,
      payload: addrRequest(3, parseCidr('192.0.2.1/24')),
    });
    assert.deepEqual(mine, captured);
  });

  it('encodes `ip addr add 2001:db8::1/64 dev <3> nodad` and `ip addr del` byte for byte', () => {
    const add = hex(`40000000 14000506 d43b086b 00000000
                     0a400200 03000000 14000200 20010db8 00000000 00000000 00000001
                     14000100 20010db8 00000000 00000000 00000001`);
    const del = hex(`40000000 15000500 d43b086b 00000000
                     0a400000 03000000 14000200 20010db8 00000000 00000000 00000001
                     14000100 20010db8 00000000 00000000 00000001`);
    const c = parseCidr('2001:db8::1/64');
    assert.deepEqual(
      encodeMessage({ type: RTM.NEWADDR, flags: 0x0605, seq: 0x6b083bd4, pid: 0, payload: addrRequest(3, c, IFA_F.NODAD) }),
      add,
    );
    assert.deepEqual(encodeMessage({ type: RTM.DELADDR, flags: NLM_F.REQUEST | NLM_F.ACK, seq: 0x6b083bd4, pid: 0, payload: addrRequest(3, c) }), del);
  });

  it('encodes `genl ctrl get name nlctrl` byte for byte', () => {
    const captured = hex(`20000000 10000500 6f3c086b 00000000
                          03000000 0b000200 6e6c6374 726c0000`);
    assert.deepEqual(
      encodeMessage({ type: GENL_ID_CTRL, flags: NLM_F.REQUEST | NLM_F.ACK, seq: 0x6b083c6f, pid: 0, payload: getFamilyRequest('nlctrl') }),
      captured,
    );
  });

  it('pads attributes to 4 bytes but leaves nla_len unpadded, and marks nests', () => {
    const b = encodeAttrs([attrString(3, 'd0'), attrNested(7, [attrU16(1, 0x1234)]), attrU32(2, 5)]);
    assert.deepEqual(
      b,
      hex(`07000300 64300000
           0c000780 06000100 34120000
           08000200 05000000`),
    );
    const attrs = parseAttrs(b);
    assert.deepEqual(attrs.map((a) => [a.type, a.nested, a.value.length]), [
      [3, false, 3],
      [7, true, 8],
      [2, false, 4],
    ]);
    assert.equal(readString(attrs[0]!.value), 'd0');
    assert.deepEqual([...attrMap(attrs[1]!.value).get(1)!], [0x34, 0x12]);
  });

  it('splits a datagram into messages and pads odd lengths', () => {
    const a = encodeMessage({ type: 100, flags: NLM_F.MULTI, seq: 7, pid: 9, payload: Uint8Array.of(1, 2, 3) });
    assert.equal(a.length, 20);
    assert.equal(a[0], 19); // nlmsg_len excludes padding
    const done = encodeMessage({ type: NLMSG.DONE, flags: NLM_F.MULTI, seq: 7, pid: 9, payload: new Uint8Array(4) });
    const msgs = parseMessages(Uint8Array.from([...a, ...done]));
    assert.equal(msgs.length, 2);
    assert.deepEqual([...msgs[0]!.payload], [1, 2, 3]);
    assert.equal(msgs[0]!.seq, 7);
    assert.equal(msgs[1]!.type, NLMSG.DONE);
    assert.equal(parseDone(msgs[1]!), 0);
  });

  it('refuses lengths that run past the datagram', () => {
    const m = encodeMessage({ type: 100, flags: 0, seq: 1, pid: 0, payload: new Uint8Array(8) });
    assert.throws(() => parseMessages(m.subarray(0, 20)), NetlinkMalformedError);
    const bad = Uint8Array.from(m);
    bad[0] = 8; // shorter than a header
    assert.throws(() => parseMessages(bad), NetlinkMalformedError);
    assert.throws(() => parseAttrs(hex('0900 0100 00000000')), NetlinkMalformedError);
  });

  it('decodes an NLMSG_ERROR with extended ACK (capped, NLMSGERR_ATTR_MSG and OFFS)', () => {
    // struct nlmsgerr: int error = -19; the request's nlmsghdr (capped: no payload);
    // then TLVs: MSG "Device not found\0" (17 bytes, padded to 20), OFFS u32 24.
    const payload = hex(`edffffff
                         28000000 14000506 01000000 00000000
                         15000100 44657669 6365206e 6f742066 6f756e64 00000000
                         08000200 18000000`);
    const msg = { type: NLMSG.ERROR, flags: NLM_F.CAPPED | NLM_F.ACK_TLVS, seq: 1, pid: 5, payload };
    const e = parseError(msg);
    assert.equal(e.error, -19);
    assert.equal(e.request.type, RTM.NEWADDR);
    assert.equal(e.request.seq, 1);
    assert.equal(e.extackMessage, 'Device not found');
    assert.equal(e.extackOffset, 24);
    const err = new NetlinkError(-e.error, 'RTM_NEWADDR', '192.0.2.1/24 on "eth9"', e.extackMessage);
    assert.equal(err.code, 'ENODEV');
    assert.equal(err.errno, 19);
    assert.match(err.message, /^RTM_NEWADDR 192\.0\.2\.1\/24 on "eth9": no such device \(ENODEV\): Device not found$/);
  });

  it('decodes an uncapped NLMSG_ERROR that echoes the whole request, and a plain ACK', () => {
    const req = encodeMessage({ type: RTM.DELADDR, flags: 5, seq: 3, pid: 0, payload: hex('0218000003000000') });
    const payload = Uint8Array.from([...hex('9dffffff'), ...req]); // -99 EADDRNOTAVAIL
    const e = parseError({ type: NLMSG.ERROR, flags: 0, seq: 3, pid: 1, payload });
    assert.equal(e.error, -99);
    assert.equal(errnoName(-e.error), 'EADDRNOTAVAIL');
    assert.equal(e.request.payload.length, 8);
    const ack = parseError({ type: NLMSG.ERROR, flags: NLM_F.CAPPED, seq: 3, pid: 1, payload: Uint8Array.from([0, 0, 0, 0, ...req.subarray(0, 16)]) });
    assert.equal(ack.error, 0);
    assert.throws(() => parseError({ type: NLMSG.ERROR, flags: 0, seq: 3, pid: 1, payload: new Uint8Array(6) }), NetlinkMalformedError);
  });
});

describe('rtnetlink and generic netlink payloads', () => {
  it('decodes an RTM_NEWLINK into a Link', () => {
    // ifinfomsg: family 0, type 1 (ether), index 3, flags UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP = 0x11043.
    const payload = hex(`00000100 03000000 43100100 00000000
                         07000300 64300000
                         08000400 dc050000
                         05001000 06000000
                         0a000100 7ae2920c ebbd0000`);
    const l = parseLink({ type: RTM.NEWLINK, flags: 0, seq: 0, pid: 0, payload });
    assert.deepEqual(l, {
      index: 3,
      name: 'd0',
      up: true,
      running: true,
      lowerUp: true,
      operstate: 'up',
      mac: '7a:e2:92:0c:eb:bd',
      mtu: 1500,
      flags: 0x11043,
      type: 1,
    });
  });

  it('encodes RTM_GETLINK for one name with stats skipped', () => {
    assert.deepEqual(getLinkRequest('d0'), hex('00000000 00000000 00000000 00000000 08001d00 08000000 07000300 64300000'));
  });

  it('decodes RTM_NEWADDR, preferring IFA_FLAGS over the u8 flags', () => {
    // AF_INET6 /64 flags 0x80 scope 253 index 3; IFA_ADDRESS fe80::1; IFA_FLAGS 0xc0 (PERMANENT|TENTATIVE).
    const payload = hex(`0a4080fd 03000000
                         14000100 fe800000 00000000 00000000 00000001
                         08000800 c0000000`);
    const a = parseAddr({ type: RTM.NEWADDR, flags: 0, seq: 0, pid: 0, payload });
    assert.deepEqual(a, { ifindex: 3, family: 6, address: 'fe80::1', prefix: 64, scope: 253, flags: 0xc0, secondary: false, label: '' });
    const v4 = parseAddr({
      type: RTM.NEWADDR,
      flags: 0,
      seq: 0,
      pid: 0,
      payload: hex('02180100 05000000 08000200 c6336401 07000300 65300000'),
    });
    assert.deepEqual(v4, { ifindex: 5, family: 4, address: '198.51.100.1', prefix: 24, scope: 0, flags: 1, secondary: true, label: 'e0' });
  });

  it('decodes a CTRL_CMD_NEWFAMILY answer with its multicast groups', () => {
    const payload = hex(`01020000
                         06000100 1a000000
                         09000200 49505653 00000000
                         08000300 01000000
                         08000400 00000000
                         08000500 09000000
                         1c000780 18000100 08000200 03000000 09000100 73796e63 00000000`);
    // Last nest: MCAST_GROUPS [ {index 1: ID 3, NAME "sync"} ]
    const f = parseFamily({ type: GENL_ID_CTRL, flags: 0, seq: 1, pid: 0, payload });
    assert.equal(f.id, 0x1a);
    assert.equal(f.name, 'IPVS');
    assert.equal(f.version, 1);
    assert.equal(f.maxAttr, 9);
    assert.deepEqual([...f.mcastGroups], [['sync', 3]]);
    assert.equal(decodeGenl(payload).cmd, 1);
    assert.equal(readU32(attrMap(decodeGenl(payload).body).get(CTRL_ATTR.VERSION)!), 1);
  });
});
