/**
 * Shared helpers for the reconciler and director tests: configurations from
 * INI text, and reading a FakeIpvs back as an observed table.
 */
import { formatProblems } from '../../src/config/errors';
import { parseConfig } from '../../src/config/load';
import type { LvsdConfig } from '../../src/config/types';
import type { FakeIpvs } from '../../src/kernel/ipvs/fake';
import type { ObservedService } from '../../src/reconcile/diff';

/** Parses INI lines into a config; throws with the formatted problems when it has errors. */
export function conf(lines: readonly string[]): LvsdConfig {
  const r = parseConfig(lines.join('\n'), 't.conf', { host: null });
  if (!r.config) throw new Error(`test config invalid:\n${formatProblems(r.problems).join('\n')}`);
  return r.config;
}

/** Every service of `ipvs` with its dests, in dump order. */
export async function observeAll(ipvs: FakeIpvs): Promise<ObservedService[]> {
  const out: ObservedService[] = [];
  for (const service of await ipvs.services()) out.push({ service, dests: await ipvs.dests(service.key) });
  return out;
}

/** The table as sorted lines: `TCP 192.0.2.100:80 wlc` and `  -> 198.51.100.1:80 NAT w=1`, for readable assertions. */
export async function tableLines(ipvs: FakeIpvs): Promise<string[]> {
  const out: string[] = [];
  const svcs = await observeAll(ipvs);
  const fmt = (k: ObservedService['service']['key']): string =>
    'fwmark' in k ? `FWM ${k.fwmark}${k.family === 6 ? ' IPv6' : ''}` : `${k.protocol} ${k.family === 6 ? `[${k.address}]` : k.address}:${k.port}`;
  for (const s of svcs.sort((a, b) => (fmt(a.service.key) < fmt(b.service.key) ? -1 : 1))) {
    out.push(`${fmt(s.service.key)} ${s.service.scheduler}`);
    const dl = s.dests.map((d) => `  -> ${d.address.includes(':') ? `[${d.address}]` : d.address}:${d.port} ${d.fwdMethod} w=${d.weight}`).sort();
    out.push(...dl);
  }
  return out;
}

/** The common virtual server used by many tests: web on 192.0.2.100:80, NAT, two real servers with a TCP check. */
export const WEB: readonly string[] = [
  '[check.tcp]',
  'type = TCP_CHECK',
  '[virtual_server.web]',
  'address = 192.0.2.100:80',
  'lb_algo = wlc',
  'lb_kind = NAT',
  'check = tcp',
  '[real_server.web.rs1]',
  'address = 198.51.100.1:80',
  'weight = 1',
  '[real_server.web.rs2]',
  'address = 198.51.100.2:80',
  'weight = 2',
];
