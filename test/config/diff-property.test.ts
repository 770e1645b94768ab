/**
 * diffConfig compares objects by walking them (sameValue) instead of by their
 * canonical() text. These cases hold it to the text comparison it replaced:
 * on seeded random values, and on seeded random edits of a configuration
 * (weights, addresses, real servers and services added and removed, checks,
 * VRRP instances, global keys, comment lines that move every line), it finds
 * exactly the change lists the text comparison found.
 */
import { strict as assert } from 'node:assert';
import { canonical, diffConfig, sameValue, type ConfigDiff, type NamedDiff } from '../../src/config/diff';
import type { LvsdConfig, VirtualServer } from '../../src/config/types';
import { baseLines, cfg, edit, rng } from './random-config';

/** The diff as it was computed before: by each object's canonical() text. */
function textDiff(old: LvsdConfig, next: LvsdConfig): ConfigDiff {
  const maps = <T>(a: ReadonlyMap<string, T>, b: ReadonlyMap<string, T>, skip?: ReadonlySet<string>): NamedDiff => ({
    added: [...b.keys()].filter((k) => !a.has(k)),
    removed: [...a.keys()].filter((k) => !b.has(k)),
    changed: [...b.keys()].filter((k) => a.has(k) && canonical(a.get(k), skip) !== canonical(b.get(k), skip)),
  });
  const rss = (vss: ReadonlyMap<string, VirtualServer>): Map<string, unknown> => {
    const m = new Map<string, unknown>();
    for (const vs of vss.values()) for (const rs of vs.realServers.values()) m.set(`${vs.name}/${rs.name}`, rs);
    return m;
  };
  const d = {
    global: canonical(old.global) !== canonical(next.global),
    vrrpScripts: maps(old.vrrpScripts, next.vrrpScripts),
    vrrpInstances: maps(old.vrrpInstances, next.vrrpInstances),
    vrrpSyncGroups: maps(old.vrrpSyncGroups, next.vrrpSyncGroups),
    checks: maps(old.checks, next.checks),
    virtualServers: maps(old.virtualServers, next.virtualServers, new Set(['realServers'])),
    realServers: maps(rss(old.virtualServers), rss(next.virtualServers)),
    notifiers: maps(old.notifiers, next.notifiers),
    bgp: canonical(old.bgp ?? null) !== canonical(next.bgp ?? null),
  };
  const empty = !d.global && !d.bgp && [d.vrrpScripts, d.vrrpInstances, d.vrrpSyncGroups, d.checks, d.virtualServers, d.realServers, d.notifiers].every((n) => n.added.length + n.removed.length + n.changed.length === 0);
  return { ...d, empty };
}

/** A random value of the kinds a configuration holds, with near-duplicates likely. */
function randomValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 2 ? 6 : 11));
  switch (pick) {
    case 0: return Math.floor(r() * 3);
    case 1: return ['a', 'b', '"q"', ''][Math.floor(r() * 4)];
    case 2: return r() < 0.5;
    case 3: return [null, undefined, NaN, -0, 0][Math.floor(r() * 5)];
    case 4: return new Uint8Array(Array.from({ length: Math.floor(r() * 3) }, () => Math.floor(r() * 2)));
    case 5: return Math.floor(r() * 2) + 0.5;
    case 6: case 7: {
      const o: Record<string, unknown> = {};
      for (const k of ['x', 'y', 'line', 'checkLine', 'realServers'].filter(() => r() < 0.5)) o[k] = randomValue(r, depth + 1);
      return o;
    }
    case 8: return Array.from({ length: Math.floor(r() * 3) }, () => randomValue(r, depth + 1));
    case 9: return new Map(['k', 'l'].filter(() => r() < 0.6).map((k) => [k, randomValue(r, depth + 1)]));
    default: return { x: randomValue(r, depth + 1) };
  }
}

/** A copy of `v` with some parts changed at random (or none), keys possibly reordered. */
function mutate(v: unknown, r: () => number): unknown {
  if (r() < 0.15) return randomValue(r);
  if (v instanceof Uint8Array) return r() < 0.5 ? Uint8Array.from(v) : Uint8Array.from([...v, 1]);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, mutate(x, r)]));
  if (Array.isArray(v)) return v.map((x) => mutate(x, r));
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (r() < 0.5) keys.reverse();
    return Object.fromEntries(keys.map((k) => [k, mutate((v as Record<string, unknown>)[k], r)]));
  }
  return v;
}

describe('config: diffConfig walks objects and finds what their canonical texts found', () => {
  it('sameValue agrees with comparing canonical() texts on 20,000 seeded random pairs', () => {
    for (let seed = 1; seed <= 20_000; seed++) {
      const r = rng(seed);
      const a = randomValue(r);
      const b = r() < 0.7 ? mutate(a, r) : randomValue(r);
      const skip = r() < 0.3 ? new Set(['realServers']) : undefined;
      assert.equal(sameValue(a, b, skip), canonical(a, skip) === canonical(b, skip), `seed ${seed}: ${canonical(a)} vs ${canonical(b)}`);
    }
  });

  it('gives the same change lists as the text comparison on 150 seeded random edit sequences', () => {
    let nonEmpty = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const r = rng(seed);
      let lines = baseLines(r, 3 + Math.floor(r() * 5));
      const old = cfg(lines);
      for (let n = 1 + Math.floor(r() * 4); n > 0; n--) lines = edit(lines, r);
      const next = cfg(lines);
      const want = textDiff(old, next);
      assert.deepEqual(diffConfig(old, next), want, `seed ${seed}`);
      if (!want.empty) nonEmpty++;
      // The same objects on both sides (a reload of what runs) and the reverse direction.
      assert.deepEqual(diffConfig(next, next), textDiff(next, next), `seed ${seed} (itself)`);
      assert.deepEqual(diffConfig(next, old), textDiff(next, old), `seed ${seed} (reversed)`);
    }
    // The edits must mostly change something, or the comparison above proves little.
    assert.ok(nonEmpty > 100, `only ${nonEmpty} of 150 edit sequences changed anything`);
  });
});
