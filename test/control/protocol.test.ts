import * as assert from 'node:assert/strict';
import { LineSplitter, ProtocolError, encodeRequest, encodeResponse, parseRequest, parseResponse } from '../../src/control/protocol';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProtocolError);
    return e.code;
  }
  assert.fail('did not throw');
}

describe('control/protocol', () => {
  it('round-trips requests and responses as single lines', () => {
    const line = encodeRequest({ id: 7, cmd: 'events', args: { limit: 3 } });
    assert.equal(line, '{"id":7,"cmd":"events","args":{"limit":3}}\n');
    assert.deepEqual(parseRequest(line.trimEnd()), { id: 7, cmd: 'events', args: { limit: 3 } });
    const ok = encodeResponse({ id: 7, ok: true, result: { a: 'x\ny' } });
    assert.equal(ok.indexOf('\n'), ok.length - 1, 'newlines inside values are escaped');
    assert.deepEqual(parseResponse(ok.trimEnd()), { id: 7, ok: true, result: { a: 'x\ny' } });
    assert.deepEqual(parseResponse('{"id":null,"ok":false,"error":{"code":"BAD_JSON","message":"m"}}'), {
      id: null,
      ok: false,
      error: { code: 'BAD_JSON', message: 'm' },
    });
  });

  it('defaults args to {} and rejects malformed requests with stable codes', () => {
    assert.deepEqual(parseRequest('{"id":1,"cmd":"status"}'), { id: 1, cmd: 'status', args: {} });
    assert.equal(codeOf(() => parseRequest('status')), 'BAD_JSON');
    assert.equal(codeOf(() => parseRequest('[1]')), 'BAD_REQUEST');
    assert.equal(codeOf(() => parseRequest('{"cmd":"status"}')), 'BAD_REQUEST');
    assert.equal(codeOf(() => parseRequest('{"id":1.5,"cmd":"status"}')), 'BAD_REQUEST');
    assert.equal(codeOf(() => parseRequest('{"id":1,"cmd":""}')), 'BAD_REQUEST');
    assert.equal(codeOf(() => parseRequest('{"id":1,"cmd":"x","args":[1]}')), 'BAD_REQUEST');
    try {
      parseRequest('{"id":9,"cmd":3}');
    } catch (e) {
      assert.equal((e as ProtocolError).id, 9, 'the id is kept when it could be read');
    }
  });

  it('rejects malformed responses', () => {
    assert.equal(codeOf(() => parseResponse('<html>')), 'BAD_JSON');
    assert.equal(codeOf(() => parseResponse('{"id":1}')), 'BAD_REQUEST');
    assert.equal(codeOf(() => parseResponse('{"id":1,"ok":true}')), 'BAD_REQUEST');
    assert.equal(codeOf(() => parseResponse('{"id":1,"ok":false,"error":"x"}')), 'BAD_REQUEST');
    assert.equal(codeOf(() => parseResponse('{"ok":true,"result":1}')), 'BAD_REQUEST');
  });

  describe('LineSplitter', () => {
    it('joins lines split across chunks and splits several per chunk', () => {
      const s = new LineSplitter(100);
      assert.deepEqual(s.push(Buffer.from('{"a"')), []);
      assert.equal(s.buffered, 4);
      assert.deepEqual(s.push(Buffer.from(':1}\nb\r\nc')), [{ line: '{"a":1}' }, { line: 'b' }]);
      assert.deepEqual(s.push(Buffer.from('\n')), [{ line: 'c' }]);
    });

    it('does not split a multi-byte character across chunks', () => {
      const s = new LineSplitter(100);
      const bytes = Buffer.from('é\n');
      assert.deepEqual([...s.push(bytes.subarray(0, 1)), ...s.push(bytes.subarray(1))], [{ line: 'é' }]);
    });

    it('reports an overlong line once, as soon as it passes the limit, then resynchronises', () => {
      const s = new LineSplitter(10);
      assert.deepEqual(s.push(Buffer.from('0123456789AB')), [{ tooLong: 12 }]);
      assert.deepEqual(s.push(Buffer.from('more bytes of the same line')), []);
      assert.equal(s.buffered, 0, 'memory stays bounded');
      assert.deepEqual(s.push(Buffer.from('tail\nok\n')), [{ line: 'ok' }]);
      assert.deepEqual(s.push(Buffer.from('0123456789\n')), [{ line: '0123456789' }], 'exactly the limit is accepted');
    });
  });
});
