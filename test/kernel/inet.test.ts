import * as assert from 'node:assert/strict';
import { InvalidAddressError, formatIp, formatMac, parseCidr, parseIp, parseMac } from '../../src/kernel/rtnl/inet';

describe('address text', () => {
  it('formats IPv6 canonically (RFC 5952 §4)', () => {
    const cases: Array<[string, string]> = [
      ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of equal runs
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'], // §5's dotted form for mapped addresses is not used
      ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ];
    for (const [input, want] of cases) assert.equal(parseIp(input).text, want, input);
  });

  it('parses IPv4 strictly', () => {
    assert.deepEqual([...parseIp('198.51.100.255').bytes], [198, 51, 100, 255]);
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', '', 'a.b.c.d', '1:2:3', '1::2::3', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9']) {
      assert.throws(() => parseIp(bad), InvalidAddressError, bad);
    }
  });

  it('parses CIDRs, defaulting to a host prefix', () => {
    assert.deepEqual(parseCidr('192.0.2.10/24').prefix, 24);
    assert.equal(parseCidr('192.0.2.10').prefix, 32);
    assert.equal(parseCidr('2001:db8::10').prefix, 128);
    assert.equal(parseCidr('2001:DB8::10/64').text, '2001:db8::10');
    assert.throws(() => parseCidr('192.0.2.1/33'), /prefix length must be 0\.\.32/);
    assert.throws(() => parseCidr('2001:db8::1/129'), InvalidAddressError);
    assert.throws(() => parseCidr('192.0.2.1/'), InvalidAddressError);
  });

  it('round-trips MAC addresses', () => {
    assert.equal(formatMac(parseMac('7A:e2:92:0c:eb:BD')), '7a:e2:92:0c:eb:bd');
    assert.throws(() => parseMac('7a:e2:92:0c:eb'), InvalidAddressError);
    assert.equal(formatIp(Uint8Array.of(192, 0, 2, 1)), '192.0.2.1');
  });
});
