import { strict as assert } from 'node:assert';
import { formatIPv6, parseEndpoint, parseIpPrefix, parseIPv6Bytes } from '../../src/config/address';
import { formatProblems, hasErrors, ProblemCode, type Problem } from '../../src/config/errors';
import { closest, parseSecondsMs, splitArgv } from '../../src/config/reader';
import { decodeValue } from '../../src/config/source';

describe('config: value parsers', () => {
  it('splits scripts into argv with simple quoting, never a shell', () => {
    assert.deepEqual(splitArgv('/usr/bin/check  a "b c" \'d $e\' f\\ g'), { ok: true, value: ['/usr/bin/check', 'a', 'b c', 'd $e', 'f g'] });
    assert.deepEqual(splitArgv('/bin/x ""'), { ok: true, value: ['/bin/x', ''] });
    assert.deepEqual(splitArgv('/bin/x "open'), { ok: false, error: 'unterminated " quote in "/bin/x "open"' });
    assert.deepEqual(splitArgv('   '), { ok: false, error: 'empty command' });
  });

  it('decodes values as ini does, and allows a comment after a quoted value', () => {
    assert.equal(decodeValue('value   ; comment'), 'value');
    assert.equal(decodeValue('a \\; b'), 'a ; b');
    assert.equal(decodeValue('"a;b"'), 'a;b');
    assert.equal(decodeValue('"a;b"   ; comment'), 'a;b');
    assert.equal(decodeValue("'x # y'  # c"), 'x # y');
  });

  it('parses addresses, prefixes and endpoints into bytes', () => {
    const v4 = parseIpPrefix('192.0.2.100/24');
    assert.ok(v4.ok);
    assert.deepEqual([v4.value.family, v4.value.address, [...v4.value.bytes], v4.value.prefix], [4, '192.0.2.100', [192, 0, 2, 100], 24]);
    const v6 = parseEndpoint('[2001:DB8:0:0:0:0:0:1]:443');
    assert.ok(v6.ok);
    assert.deepEqual([v6.value.family, v6.value.address, v6.value.port, v6.value.bytes.length], [6, '2001:db8::1', 443, 16]);
    assert.deepEqual([...parseIPv6Bytes('::ffff:192.0.2.1')!], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
    assert.equal(formatIPv6(parseIPv6Bytes('2001:db8:0:1:0:0:0:1')!), '2001:db8:0:1::1');
    assert.equal(formatIPv6(parseIPv6Bytes('2001:db8:0:1:1:1:1:1')!), '2001:db8:0:1:1:1:1:1');
    assert.equal(parseIpPrefix('192.0.2.1/33').ok, false);
    assert.equal(parseIpPrefix('192.0.2.01').ok, false, 'leading zero (octal to inet_aton)');
    assert.equal(parseEndpoint('192.0.2.1:0').ok, false);
    assert.equal(parseEndpoint('192.0.2.1').ok, false);
    assert.deepEqual(parseEndpoint('192.0.2.1', true).ok && parseEndpoint('192.0.2.1', true), { ok: true, value: { ...(parseIpPrefix('192.0.2.1') as { value: object }).value, port: 0 } });
  });

  it('reads seconds into whole milliseconds', () => {
    assert.deepEqual(parseSecondsMs('2.5'), { ok: true, value: 2500 });
    assert.deepEqual(parseSecondsMs('0.0005'), { ok: false, error: '"0.0005" is finer than a millisecond' });
    assert.deepEqual(parseSecondsMs('3', { max: 2 }), { ok: false, error: '3 s is out of range (allowed: 0–2 s)' });
  });

  it('suggests near names only', () => {
    assert.equal(closest('prioirty', ['priority', 'state']), 'priority');
    assert.equal(closest('wbe', ['web']), 'web');
    assert.equal(closest('C', ['A', 'B']), undefined);
    assert.equal(closest('completely_else', ['priority']), undefined);
  });
});

describe('config: problem formatting', () => {
  const p = (line: number, severity: 'error' | 'warning', message: string): Problem => ({ file: 'f.conf', line, severity, code: ProblemCode.BadValue, message });
  it('prints FILE:LINE: message, warnings marked, sorted by line with errors first', () => {
    const list = [p(9, 'warning', 'w9'), p(3, 'error', 'e3'), p(9, 'error', 'e9'), p(1, 'warning', 'w1')];
    assert.deepEqual(formatProblems(list), ['f.conf:1: warning: w1', 'f.conf:3: e3', 'f.conf:9: e9', 'f.conf:9: warning: w9']);
    assert.equal(hasErrors(list), true);
    assert.equal(hasErrors([p(1, 'warning', 'w')]), false);
  });
});
