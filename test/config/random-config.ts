/**
 * Seeded random configurations and operator-like edits of them, for the
 * property tests of the diff (test/config) and of reload patches (test/main).
 */
import { strict as assert } from 'node:assert';
import { parseConfig } from '../../src/config/load';
import type { LvsdConfig } from '../../src/config/types';
import { F } from './helpers';
import { mulberry32 } from '../lib/prng';

export const rng = mulberry32;

export function baseLines(r: () => number, services: number): string[] {
  const out = ['[global]', 'router_id = lvs-a', '[check.web]', 'type = TCP_CHECK', 'connect_timeout = 3', '[check.api]', 'type = HTTP_GET', 'url_path = /health'];
  out.push('[vrrp_instance.VI_1]', 'interface = eth0', 'virtual_router_id = 51', 'priority = 100', 'virtual_ipaddress[] = 192.0.2.100/24');
  for (let v = 0; v < services; v++) {
    out.push(`[virtual_server.vs${v}]`, `address = 192.0.2.${100 + (v % 50)}:${1000 + v}`, `lb_algo = ${r() < 0.5 ? 'wlc' : 'rr'}`, `check = ${r() < 0.5 ? 'web' : 'api'}`);
    for (let s = 0; s < 4; s++) out.push(`[real_server.vs${v}.rs${s}]`, `address = 198.51.100.${s + 1}:${1000 + v}`, `weight = ${1 + Math.floor(r() * 3)}`);
  }
  return out;
}

/** One random edit of the configuration's lines, as an operator would make it. */
export function edit(lines: string[], r: () => number): string[] {
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

export function cfg(lines: readonly string[]): LvsdConfig {
  const res = parseConfig(lines.join('\n'), F, { host: null });
  assert.ok(res.config, JSON.stringify(res.problems.filter((p) => p.severity === 'error')));
  return res.config;
}

