import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { isDropReason } from '../../src/vrrp/errors';
import { decodeIpv4Header } from '../../src/vrrp/ipv4';
import { finishChecksum, pseudoHeaderSum, sumWords } from '../../src/vrrp/checksum';
import { decodeVrrp, encodeVrrp, vrrpLength, type VrrpCodecContext } from '../../src/vrrp/packet';
import { FIXTURES, readPcap } from './pcap';
import { mulberry32 } from '../lib/prng';

const prng = mulberry32;

/** Makes a mutated packet's checksum right again, so the fuzz reaches past the checksum. */
function fixChecksum(b: Uint8Array, ctx: VrrpCodecContext, pseudo: boolean): void {
  const v = b.length >= 8 ? b[0]! >> 4 : 0;
  if (v !== 2 && v !== 3) return;
  const len = vrrpLength(v, ctx.family, b[3]!);
  if (len > b.length) return;
  b[6] = b[7] = 0;
  const usePseudo = ctx.family === 6 || (v === 3 && pseudo);
  const c = finishChecksum(sumWords(b.subarray(0, len), usePseudo ? pseudoHeaderSum(ctx.src, ctx.dst, 112, len) : 0));
  b[6] = c >> 8;
  b[7] = c & 0xff;
}

describe('vrrp codec: fuzz (seeded)', function () {
  this.timeout(20000);
  const seeds: Uint8Array[] = ['v2-pass-ipv4', 'v3-ipv4', 'v3-ipv6']
    .flatMap((n) => readPcap(path.join(FIXTURES, `${n}.pcap`)))
    .map((f) => f.data.subarray(14));
  const v4: VrrpCodecContext = { family: 4, src: Uint8Array.of(192, 0, 2, 1), dst: Uint8Array.of(224, 0, 0, 18) };
  const v6: VrrpCodecContext = {
    family: 6,
    src: Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0xff, 0xfe, 0, 0, 1]),
    dst: Uint8Array.from([0xff, 2, ...new Array<number>(13).fill(0), 0x12]),
  };

  it('200k mutated and random inputs: never throws, always a valid union, ok results re-encode', () => {
    const rnd = prng(0x5eed1234);
    const counts = { ok: 0, bad: 0 };
    const t0 = Date.now();
    for (let i = 0; i < 200_000; i++) {
      let buf: Uint8Array;
      const mode = i % 4;
      if (mode === 3) {
        buf = new Uint8Array(Math.floor(rnd() * 80));
        for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rnd() * 256);
      } else {
        const s = seeds[Math.floor(rnd() * seeds.length)]!;
        const isV6 = s[0]! >> 4 === 6;
        buf = Uint8Array.from(isV6 ? s.subarray(40) : s);
        const flips = 1 + Math.floor(rnd() * 4);
        for (let f = 0; f < flips && buf.length; f++) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
        if (rnd() < 0.2) buf = buf.subarray(0, Math.floor(rnd() * (buf.length + 1)));
      }
      const ctx = mode === 1 ? v6 : v4;
      if (mode !== 3 && rnd() < 0.5) fixChecksum(buf, ctx, rnd() < 0.5);
      let r;
      try {
        r = decodeVrrp(buf, ctx);
        decodeIpv4Header(buf);
      } catch (e) {
        assert.fail(`iteration ${i} threw ${String(e)} on ${Buffer.from(buf).toString('hex')}`);
      }
      if (r.ok) {
        counts.ok++;
        assert.ok(r.length <= buf.length);
        // A packet that decodes must encode back to its bytes (v3 reserved bits aside).
        const again = encodeVrrp(r.packet, { ...ctx, checksumForm: r.checksumForm });
        const orig = Uint8Array.from(buf.subarray(0, r.length));
        if (r.packet.version === 3) orig[4]! &= 0x0f;
        if (orig[4] === buf[4]) assert.equal(Buffer.from(again).toString('hex'), Buffer.from(orig).toString('hex'));
      } else {
        counts.bad++;
        assert.ok(isDropReason(r.reason), `unknown reason ${String(r.reason)}`);
        assert.deepEqual(Object.keys(r).sort(), ['ok', 'reason']);
      }
    }
    assert.ok(Date.now() - t0 < 10_000, 'fuzz ran under 10 s');
    // Mutations must reach both outcomes, or the fuzz proves nothing.
    assert.ok(counts.ok > 100 && counts.bad > 100_000, JSON.stringify(counts));
  });
});
