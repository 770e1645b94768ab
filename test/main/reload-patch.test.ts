/**
 * Reload patches (src/main/reload.ts configPatch / applyConfigPatch): on
 * seeded random edits of a configuration, the child's patched part equals the
 * part the parent parsed (values, lines and map order), keeps its own objects
 * where nothing changed (so its diff finds them identical at once), and a
 * patch against another configuration than the child holds is refused.
 */
import { strict as assert } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';
import { diffConfig } from '../../src/config/diff';
import type { LvsdConfig } from '../../src/config/types';
import { ChildRole } from '../../src/main/ipc';
import { PatchBaseError, applyConfigPatch, configFor, configPatch } from '../../src/main/reload';
import { baseLines, cfg, edit, rng } from '../config/random-config';

/** Maps as [key, value] lists, so deepEqual also compares their order. */
function ordered(c: LvsdConfig): unknown {
  const walk = (v: unknown): unknown =>
    v instanceof Map ? [...v].map(([k, x]) => [k, walk(x)]) : Array.isArray(v) ? v.map(walk) : v instanceof Uint8Array ? [...v] : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)])) : v;
  return walk(c);
}

describe('reload patches: the child gets what differs, not the whole part', () => {
  it('on 150 seeded random edit sequences, the patched part equals the parsed one, lines and order included, sharing unchanged objects', () => {
    let shared = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const r = rng(seed);
      let lines = baseLines(r, 3 + Math.floor(r() * 5));
      const old = cfg(lines);
      for (let n = 1 + Math.floor(r() * 4); n > 0; n--) lines = edit(lines, r);
      if (r() < 0.2) {
        // Services in another order: the map's order must follow.
        const i = lines.findIndex((l) => l.startsWith('[virtual_server.'));
        if (i >= 0) {
          const blocks: string[][] = [];
          for (const l of lines.slice(i)) if (l.startsWith('[')) blocks.push([l]); else blocks.at(-1)!.push(l);
          lines = [...lines.slice(0, i), ...blocks.reverse().flat()];
        }
      }
      const next = cfg(lines);
      for (const role of [ChildRole.VRRP, ChildRole.DIRECTOR]) {
        const a = configFor(role, old);
        const b = configFor(role, next);
        // Across the channel: the patch is cloned as the parent's message would be.
        const patch = structuredClone(configPatch(a, b, 7, 8));
        const got = applyConfigPatch(a, 7, patch);
        assert.deepEqual(ordered(got), ordered(b), `seed ${seed} ${role}`);
        assert.deepEqual(diffConfig(a, got), diffConfig(a, b), `seed ${seed} ${role}: the same changes`);
        for (const [k, vs] of got.virtualServers) {
          const before = a.virtualServers.get(k);
          if (before && isDeepStrictEqual(ordered({ x: before } as never), ordered({ x: b.virtualServers.get(k) } as never))) {
            assert.equal(vs, before, `seed ${seed}: unchanged virtual server ${k} is the child's own object`);
            shared++;
          }
        }
      }
    }
    assert.ok(shared > 100, `only ${shared} unchanged services shared`);
  });

  it('sends one virtual server for one weight changed among many', () => {
    const lines = baseLines(rng(1), 50);
    const old = cfg(lines);
    const i = lines.lastIndexOf(lines.find((l) => l.startsWith('weight = '))!);
    const next = cfg(lines.map((l, j) => (j === i ? 'weight = 9' : l)));
    const p = configPatch(configFor(ChildRole.DIRECTOR, old), configFor(ChildRole.DIRECTOR, next), 1, 2);
    assert.deepEqual(Object.keys(p.maps), ['virtualServers']);
    assert.equal(p.maps.virtualServers!.set.length, 1);
    assert.deepEqual(p.maps.virtualServers!.removed, []);
    assert.equal(p.maps.virtualServers!.order, undefined);
    assert.equal(p.global, undefined);
  });

  it('refuses a patch made against another configuration than the one held', () => {
    const a = cfg(baseLines(rng(2), 3));
    assert.throws(() => applyConfigPatch(a, 3, configPatch(a, a, 4, 5)), (e: unknown) => e instanceof PatchBaseError && e.code === 'RELOAD_PATCH_BASE');
  });
});
