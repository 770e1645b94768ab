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
import { parseConfig } from '../../src/config/load';
import type { LvsdConfig, VirtualServer } from '../../src/config/types';
import { F } from './helpers';

/** A small seeded generator (mulberry32), so a failure names its seed and repeats. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

function baseLines(r: () => number, services: number): string[] {
  const out = ['[global]', 'router_id = lvs-a', '[check.web]', 'type = TCP_CHECK', 'connect_timeout = 3', '[check.api]', 'type = HTTP_GET', 'url_path = /health'];
  out.push('[vrrp_instance.VI_1]', 'interface = eth0', 'virtual_router_id = 51', 'priority = 100', 'virtual_ipaddress[] = 192.0.2.100/24');
  for (let v = 0; v < services; v++) {
    out.push(`[virtual_server.vs${v}]`, `address = 192.0.2.${100 + (v % 50)}:${1000 + v}`, `lb_algo = ${r() < 0.5 ? 'wlc' : 'rr'}`, `check = ${r() < 0.5 ? 'web' : 'api'}`);
    for (let s = 0; s < 4; s++) out.push(`[real_server.vs${v}.rs${s}]`, `address = 198.51.100.${s + 1}:${1000 + v}`, `weight = ${1 + Math.floor(r() * 3)}`);
  }
  return out;
}

/** One random edit of the configuration's lines, as an operator would make it. */
function edit(lines: string[], r: () => number): string[] {
  const at = (re: RegExp): number[] => lines.flatMap((l, i) => (re.test(l) ? [i] : []));
  const any = <T>(xs: T[]): T | undefined => xs[Math.floor(r() * xs.length)];
  const out = [...lines];
  switch (Math.floor(r() * 9)) {
    case 0: { const i = any(at(/^weight = /)); if (i !== undefined) out[i] = `weight = ${Math.floor(r() * 5)}`; break; }
    case 1: { const i = any(at(/^\[real_server\./)); if (i !== undefined) out.splice(i, 3); break; }
    case 2: { const i = any(at(/^\[virtual_server\./)); if (i !== undefined) { const name = out[i]!.slice(16, -1); out.push(`[real_server.${name}.extra${Math.floor(r() * 1e6)}]`, `address = 198.51.100.${50 + Math.floor(r() * 50)}:${out[i + 1]!.split(':')[1]}`); } break; }
    case 3: { const i = any(at(/^lb_algo = /)); if (i !== undefined) out[i] = `lb_algo = ${any(['rr', 'wlc', 'lc', 'sh'])}`; break; }
    case 4: {
      // A service and every section under it (its real servers, those added later at the end too).
      const i = any(at(/^\[virtual_server\./));
      if (i === undefined) break;
      const name = out[i]!.slice(16, -1);
      const mine = (l: string): boolean => l === `[virtual_server.${name}]` || l.startsWith(`[real_server.${name}.`);
      let keep = true;
      return out.filter((l) => {
        if (l.startsWith('[')) keep = !mine(l);
        return keep;
      });
    }
    case 5: out.splice(Math.floor(r() * out.length), 0, '; a comment that moves the lines below it'); break;
    case 6: { const i = out.findIndex((l) => l.startsWith('connect_timeout = ')); out[i] = out[i] === 'connect_timeout = 3' ? 'connect_timeout = 4' : 'connect_timeout = 3'; break; }
    case 7: { const i = out.indexOf('priority = 100'); if (i >= 0) out[i] = 'priority = 101'; else out.push('[vrrp_instance.VI_2]', 'interface = eth1', 'virtual_router_id = 52'); break; }
    default: { const i = out.indexOf('router_id = lvs-a'); if (i >= 0) out[i] = 'router_id = lvs-b'; else if (!out.includes('lvs_flush = true')) out.splice(1, 0, 'lvs_flush = true'); }
  }
  return out;
}

function cfg(lines: readonly string[]): LvsdConfig {
  const res = parseConfig(lines.join('\n'), F, { host: null });
  assert.ok(res.config, JSON.stringify(res.problems.filter((p) => p.severity === 'error')));
  return res.config;
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
