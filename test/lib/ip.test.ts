import { strict as assert } from 'node:assert';
import { compareIp, formatIp, parseIp } from '../../src/lib/ip';

describe('lib/ip', () => {
  const cases: Array<[string, string]> = [
    ['192.0.2.1', '192.0.2.1'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['ff02::12', 'ff02::12'],
  ];
  for (const [input, canonical] of cases) {
    it(`round-trips ${input}`, () => {
      const b = parseIp(input);
      assert.ok(b, `${input} should parse`);
      assert.equal(formatIp(b), canonical);
    });
  }
  it('gives the bytes in network order', () => {
    assert.deepEqual(Array.from(parseIp('ff02::12')!), [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12]);
    assert.deepEqual(Array.from(parseIp('198.51.100.7')!), [198, 51, 100, 7]);
  });
  it('rejects what is not an address', () => {
    for (const bad of ['', '1.2.3', '256.0.0.1', '2001:db8::1::2', 'eth0', '192.0.2.1/24']) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });
  it('orders addresses as unsigned big-endian numbers', () => {
    assert.ok(compareIp(parseIp('192.0.2.12')!, parseIp('192.0.2.11')!) > 0);
    assert.ok(compareIp(parseIp('192.0.2.2')!, parseIp('192.0.2.10')!) < 0);
    assert.equal(compareIp(parseIp('2001:db8::1')!, parseIp('2001:db8::1')!), 0);
  });
});
