import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BirdProtocolError, BirdReplyDecoder, decodeReplies, isErrorReply, parseBfdSessions, parseBgpProtocols, parseProtocols, parseStatus } from '../../src/bgp/reply';

const FIX = path.resolve(__dirname, '../../../test/bgp/fixtures');
const raw = (name: string): string => fs.readFileSync(path.join(FIX, name), 'utf8');
const one = (name: string) => {
  const r = decodeReplies(raw(name));
  assert.equal(r.length, 1, `${name} holds one reply`);
  return r[0]!;
};

describe('bgp/reply: BIRD 2.0.12 control-socket replies, as captured', () => {
  it('frames every captured reply the same whether it arrives whole or one byte at a time', () => {
    for (const f of fs.readdirSync(FIX).filter((n) => n.endsWith('.txt'))) {
      const text = raw(f);
      const whole = decodeReplies(text);
      const d = new BirdReplyDecoder();
      const bytes = Buffer.from(text, 'utf8');
      const pieces = [];
      for (let i = 0; i < bytes.length; i++) pieces.push(...d.push(bytes.subarray(i, i + 1)));
      assert.deepEqual(pieces, whole, f);
      assert.equal(whole.length, 1, f);
    }
  });

  it('reads the greeting, line codes, continuations and the final code', () => {
    assert.deepEqual(one('hello.txt'), { lines: [{ code: 1, text: 'BIRD 2.0.12 ready.' }], code: 1, text: 'BIRD 2.0.12 ready.' });
    const r = one('show-protocols.up.txt');
    assert.deepEqual(r.lines.map((l) => l.code), [2002, 1002, 1002, 1002, 1002, 0]);
    assert.equal(r.lines[2]!.text, 'bfd1       BFD        ---        up     18:07:42.374  ');
    assert.equal(r.code, 0);
    assert.equal(isErrorReply(r), false);
    const err = one('syntax-error.txt');
    assert.deepEqual(err, { lines: [{ code: 9001, text: 'syntax error, unexpected CF_SYM_UNDEFINED' }], code: 9001, text: 'syntax error, unexpected CF_SYM_UNDEFINED' });
    assert.equal(isErrorReply(err), true);
  });

  it('parses show protocols, up and with the peer gone', () => {
    assert.deepEqual(parseProtocols(one('show-protocols.up.txt')), [
      { name: 'device1', proto: 'Device', table: '---', state: 'up', since: '18:07:42.374', info: '' },
      { name: 'bfd1', proto: 'BFD', table: '---', state: 'up', since: '18:07:42.374', info: '' },
      { name: 'lvsd_vips', proto: 'Kernel', table: 'master4', state: 'up', since: '18:07:42.374', info: '' },
      { name: 'router1', proto: 'BGP', table: '---', state: 'up', since: '18:07:46.958', info: 'Established' },
    ]);
    const down = parseProtocols(one('show-protocols.down.txt'));
    assert.deepEqual(down[3], { name: 'router1', proto: 'BGP', table: '---', state: 'start', since: '18:08:04.438', info: 'Active        Socket: Connection closed' });
  });

  it('parses the BGP protocols of show protocols all: state, neighbour, last error, exported routes', () => {
    assert.deepEqual(parseBgpProtocols(one('show-protocols-all.up.txt')), [
      { name: 'router1', proto: 'BGP', table: '---', state: 'up', since: '18:07:46.958', info: 'Established', bgpState: 'Established', lastError: '', neighborAddress: '203.0.113.1', exportedRoutes: 1 },
    ]);
    assert.deepEqual(parseBgpProtocols(one('show-protocols-all-router1.down.txt')), [
      {
        name: 'router1', proto: 'BGP', table: '---', state: 'start', since: '18:08:04.438', info: 'Active        Socket: Connection closed',
        bgpState: 'Active', lastError: 'Socket: Connection closed', neighborAddress: '203.0.113.1',
      },
    ]);
  });

  it('parses show bfd sessions and show status', () => {
    assert.deepEqual(parseBfdSessions(one('show-bfd-sessions.up.txt')), [
      { protocol: 'bfd1', address: '203.0.113.1', interface: 'eth0', state: 'Up', since: '18:07:42.602', interval: 0.1, timeout: 0.3 },
    ]);
    assert.deepEqual(parseBfdSessions(one('show-bfd-sessions.down.txt')), [
      { protocol: 'bfd1', address: '203.0.113.1', interface: 'eth0', state: 'Down', since: '18:08:04.412', interval: 1, timeout: 0 },
    ]);
    assert.deepEqual(parseStatus(one('show-status.txt')), { version: 'BIRD 2.0.12', routerId: '203.0.113.2', message: 'Daemon is up and running' });
  });

  it('reads BIRD\'s long ISO time format (a space inside "since") and skips rows it cannot read', () => {
    const r = decodeReplies(
      '2002-Name       Proto      Table      State  Since         Info\n' +
        '1002-r2         BGP        ---        up     2026-12-03 18:07:46  Established   \n' +
        ' garbage\n' +
        '0000 \n',
    )[0]!;
    assert.deepEqual(parseProtocols(r), [{ name: 'r2', proto: 'BGP', table: '---', state: 'up', since: '2026-12-03 18:07:46', info: 'Established' }]);
  });

  it('refuses a stream that is not BIRD\'s protocol, and drops asynchronous lines', () => {
    assert.throws(() => decodeReplies('HTTP/1.1 400 Bad Request\n'), BirdProtocolError);
    assert.throws(() => decodeReplies(' continuation first\n'), BirdProtocolError);
    const d = new BirdReplyDecoder();
    assert.deepEqual(d.push('+hello from echo\n0000 \n'), [{ lines: [{ code: 0, text: '' }], code: 0, text: '' }]);
    assert.equal(d.asyncLines, 1);
  });
});
