/**
 * keepalived's `virtual_server` (in its three forms: `IP PORT`, `fwmark N`,
 * `group NAME`), its `real_server`s and their checkers → lvsd's
 * `[virtual_server.*]`, `[real_server.VS.rsN]` and `[check.*]`.
 *
 * Naming: keepalived's services have no names; lvsd's sections need labels
 * without dots, so a service is named from its address (`vs_192_0_2_100_80`,
 * `vs_fwmark_1`; a UDP or SCTP service gets `_udp` / `_sctp`, any other clash `_2`), its
 * real servers `rs1`, `rs2`... in file order. A checker becomes one
 * `[check.*]` per url block (lvsd checks one URL, and a real server is up
 * only when all its checks pass, which is keepalived's rule for several
 * urls). When every real server of a service has the same single checker,
 * that check is written once as the service's default (`[check.VS_http]`),
 * as an lvsd operator would; else each real server names its own
 * (`[check.VS_rs1_http]`).
 *
 * lvsd has no virtual_server_group section: a `virtual_server group NAME`
 * becomes one virtual server per group member (ranges expanded), and a note
 * says so.
 */
import { parseIp } from '../address';
import { commandLine, label, origin, SectionBuilder, words, type Ctx } from './context';
import type { Origin } from './ini-doc';
import type { KNode } from './parser';

/** One service address of a virtual_server_group. */
export interface GroupMember {
  readonly ip?: string;
  readonly port?: string;
  readonly fwmark?: string;
  readonly node: KNode;
}

/** Most members a range may expand into (a /24 worth). */
const MAX_RANGE = 256;

/** Reads `virtual_server_group NAME { IP[-LAST] PORT | fwmark N ... }`. */
export function readVsGroup(n: KNode, ctx: Ctx): GroupMember[] {
  const out: GroupMember[] = [];
  if (!ctx.needBlock(n)) return out;
  for (const m of n.children) {
    if (m.keyword === 'fwmark') {
      if (ctx.need(m, 1, 'a mark')) out.push({ fwmark: words(m)[0]!, node: m });
      if (m.args.length > 1) ctx.skip(m, `fwmark ${words(m).slice(1).join(' ')}`, 'lvsd takes the address family from ip_family');
      continue;
    }
    const port = words(m)[0];
    const ips = expandRange(m.keyword);
    if (!ips) {
      ctx.skip(m, m.keyword, `lvsd cannot expand this group member (an address, an address range A-B on the last part, or fwmark N; at most ${MAX_RANGE})`);
      continue;
    }
    for (const ip of ips) out.push({ ip, ...(port !== undefined ? { port } : {}), node: m });
  }
  return out;
}

/** `192.0.2.3-10` → its addresses; `2001:db8::2-9` likewise on the last group (hex); a plain address → itself. */
export function expandRange(text: string): string[] | undefined {
  const dash = text.lastIndexOf('-');
  if (dash < 0) return parseIp(text).ok ? [text] : undefined;
  const first = text.slice(0, dash);
  const p = parseIp(first);
  if (!p.ok) return undefined;
  const v6 = p.value.family === 6;
  const sep = v6 ? ':' : '.';
  const cut = first.lastIndexOf(sep);
  const lo = parseInt(first.slice(cut + 1), v6 ? 16 : 10);
  const hi = parseInt(text.slice(dash + 1), v6 ? 16 : 10);
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo || hi > (v6 ? 0xffff : 255) || hi - lo >= MAX_RANGE) return undefined;
  const out: string[] = [];
  for (let i = lo; i <= hi; i++) out.push(first.slice(0, cut + 1) + (v6 ? i.toString(16) : String(i)));
  return out;
}

/** An address and optional port as lvsd writes an endpoint. */
function endpoint(ip: string, port: string | undefined): string {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return port === undefined ? ip : `${host}:${port}`;
}

/**
 * A real or sorry server's endpoint. Port 0 is keepalived's way of writing
 * "no port" (`real_server 192.0.2.21 0` under a fwmark service), so it is
 * left out like a missing one: lvsd then uses the service's port, or none
 * for a fwmark service, as keepalived does.
 */
function serverEndpoint(ip: string, port: string | undefined): string {
  return endpoint(ip, port !== undefined && /^0+$/.test(port) ? undefined : port);
}

type Entry = { key: string; value: string; at: Origin };

interface CheckSpec {
  readonly type: 'TCP_CHECK' | 'HTTP_GET' | 'SSL_GET' | 'MISC_CHECK';
  readonly entries: Entry[];
  readonly at: Origin;
  /**
   * A keepalived checker lvsd runs as a MISC_CHECK script (DNS_CHECK,
   * SMTP_CHECK, PING_CHECK): its name, and its command line given the
   * resolved connect_timeout in whole seconds (keepalived's default 5).
   */
  readonly script?: { readonly kind: string; readonly command: (timeoutS: number) => string };
}

interface RsSpec {
  readonly node: KNode;
  readonly address: string;
  readonly entries: Entry[];
  readonly checks: CheckSpec[];
}

/** Checker settings a virtual_server or real_server may give for its checkers (keepalived 2). */
const CHECK_DEFAULT_KEYS = ['delay_loop', 'connect_timeout', 'retry', 'delay_before_retry', 'warmup', 'virtualhost'] as const;
const KIND: Readonly<Record<CheckSpec['type'], string>> = { TCP_CHECK: 'tcp', HTTP_GET: 'http', SSL_GET: 'ssl', MISC_CHECK: 'misc' };
/** Checkers lvsd cannot run: a real server that has one is left out (imported without it, it would be "always up"). */
const UNSUPPORTED_CHECKERS: Readonly<Record<string, string>> = {
  UDP_CHECK: 'lvsd has no UDP checker',
  BFD_CHECK: 'lvsd has no BFD',
  FILE_CHECK: 'lvsd has no file checker',
};
/** Where the .deb installs the check scripts (checks/ in the source). */
export const CHECKS_DIR = '/usr/lib/lvsd/checks';
/** keepalived's connect_timeout default, in seconds. */
const DEFAULT_CONNECT_TIMEOUT_S = 5;

/** Whether a checker-default key applies to a check type. */
function applies(key: string, type: CheckSpec['type']): boolean {
  if (key === 'virtualhost') return type === 'HTTP_GET' || type === 'SSL_GET';
  if (key === 'connect_timeout') return type !== 'MISC_CHECK';
  return true;
}

/** Shared naming state: section names already used. */
export class Names {
  private readonly used = new Set<string>();

  /** `base`, or `base_2`, `base_3`... when taken. */
  unique(base: string): string {
    let n = base;
    for (let i = 2; this.used.has(n); i++) n = `${base}_${i}`;
    this.used.add(n);
    return n;
  }
}

/**
 * Translates one `virtual_server` statement into its sections (checks, the
 * virtual server, its real servers; for a group, one set per member).
 */
export function translateVirtualServer(n: KNode, groups: ReadonlyMap<string, GroupMember[]>, names: Names, ctx: Ctx): SectionBuilder[] {
  if (!ctx.need(n, 1, 'IP PORT, fwmark N or group NAME') || !ctx.needBlock(n)) return [];
  const w = words(n);
  let services: { ip?: string; port?: string; fwmark?: string; at: Origin }[];
  if (w[0] === 'fwmark') {
    if (!ctx.need(n, 2, 'a mark after fwmark')) return [];
    services = [{ fwmark: w[1]!, at: origin(n) }];
  } else if (w[0] === 'group') {
    if (!ctx.need(n, 2, 'a group name')) return [];
    const members = groups.get(w[1]!);
    if (!members) {
      ctx.skip(n, 'virtual_server group', `no virtual_server_group ${w[1]} is defined`);
      return [];
    }
    services = members.map((m) => ({ ...(m.ip ? { ip: m.ip } : {}), ...(m.port ? { port: m.port } : {}), ...(m.fwmark ? { fwmark: m.fwmark } : {}), at: origin(m.node) }));
    ctx.note(n, `virtual_server group ${w[1]}: lvsd has no virtual_server_group section, so it becomes ${services.length} virtual server(s), one per member`);
  } else {
    if (!ctx.need(n, 2, 'a port after the address')) return [];
    services = [{ ip: w[0]!, port: w[1]!, at: origin(n) }];
  }

  const vsEntries: Entry[] = [];
  const defaults: Entry[] = [];
  const realServers: RsSpec[] = [];
  let protocol = 'TCP';
  for (const c of n.children) {
    const k = c.keyword;
    const v = words(c);
    const at = origin(c);
    const one = (key: string, value = v[0]) => {
      if (value === undefined) ctx.skip(c, k, 'needs a value');
      else vsEntries.push({ key, value, at });
      if (k !== 'sorry_server' && k !== 'quorum_up' && k !== 'quorum_down') ctx.extra(c);
    };
    if (k === 'lb_algo' || k === 'lvs_sched') one('lb_algo', v[0]?.toLowerCase());
    else if (k === 'lb_kind' || k === 'lvs_method') one('lb_kind', v[0]?.toUpperCase());
    else if (k === 'protocol') {
      protocol = (v[0] ?? 'TCP').toUpperCase();
      one('protocol', v[0]?.toUpperCase());
    } else if (k === 'persistence_timeout') one(k, v[0] ?? '360'); // keepalived: a bare persistence_timeout is 6 minutes
    else if (['persistence_granularity', 'quorum', 'hysteresis', 'ip_family'].includes(k)) one(k);
    else if (['ops', 'alpha', 'sorry_server_inhibit', 'inhibit_on_failure', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback'].includes(k)) one(k, v[0] ?? 'true');
    else if (k === 'quorum_up' || k === 'quorum_down') one(k, c.args.length ? commandLine(c.args) : undefined);
    else if (k === 'sorry_server') {
      if (ctx.need(c, 1, 'an address')) one(k, serverEndpoint(v[0]!, v[1]));
      ctx.extra(c, 2);
    } else if ((CHECK_DEFAULT_KEYS as readonly string[]).includes(k) || k === 'nb_get_retry') {
      if (ctx.need(c, 1, 'a value')) defaults.push({ key: k === 'nb_get_retry' ? 'retry' : k, value: v[0]!, at });
      ctx.extra(c);
    } else if (k === 'real_server') {
      const rs = readRealServer(c, ctx);
      if (rs) realServers.push(rs);
    } else ctx.unknown(c, 'virtual_server');
  }

  const out: SectionBuilder[] = [];
  for (const s of services) {
    const base = s.fwmark !== undefined ? `vs_fwmark_${label(s.fwmark)}` : `vs_${label(s.ip!).replace(/-/g, '_')}_${label(s.port!)}`;
    const vsName = names.unique(protocol !== 'TCP' ? `${base}_${protocol.toLowerCase()}` : base);
    const vs = new SectionBuilder(`virtual_server.${vsName}`, s.at);
    if (s.fwmark !== undefined) vs.set('fwmark', s.fwmark, s.at);
    else vs.set('address', endpoint(s.ip!, s.port), s.at);
    for (const e of vsEntries) vs.set(e.key, e.value, e.at);
    out.push(...emitChecks(vsName, vs, realServers, defaults, names));
  }
  return out;
}

/** Writes the checks, the virtual server and its real servers for one service. */
function emitChecks(vsName: string, vs: SectionBuilder, realServers: readonly RsSpec[], vsDefaults: readonly Entry[], names: Names): SectionBuilder[] {
  const withDefaults = (c: CheckSpec, rs: RsSpec): Entry[] => {
    const out = [...c.entries];
    const chain = [...rs.entries.filter((e) => e.key.startsWith('default:')).map((e) => ({ ...e, key: e.key.slice(8) })), ...vsDefaults];
    for (const d of chain) {
      if (applies(d.key, c.type) && !out.some((e) => e.key === d.key)) out.push(d);
    }
    if (c.script) {
      // The script's own timeout: the checker's connect_timeout, else the real or virtual server's, else keepalived's 5 s.
      const ct = c.entries.find((e) => e.key === 'connect_timeout') ?? chain.find((e) => e.key === 'connect_timeout');
      const given = ct ? Number(ct.value) : DEFAULT_CONNECT_TIMEOUT_S;
      const timeoutS = Number.isFinite(given) && given > 0 ? Math.ceil(given) : DEFAULT_CONNECT_TIMEOUT_S;
      const kept = out.filter((e) => e.key !== 'connect_timeout');
      // keepalived's DNS_CHECK waits delay_loop (default 60 s) before a retry, where MISC_CHECK waits 1 s.
      if (c.script.kind === 'dns' && !kept.some((e) => e.key === 'delay_before_retry')) {
        kept.push({ key: 'delay_before_retry', value: kept.find((e) => e.key === 'delay_loop')?.value ?? '60', at: c.at });
      }
      // misc_timeout leaves the script time to give its own verdict after its timeout.
      return [{ key: 'misc_path', value: c.script.command(timeoutS), at: ct?.at ?? c.at }, { key: 'misc_timeout', value: String(timeoutS + 2), at: ct?.at ?? c.at }, ...kept];
    }
    return out;
  };
  const resolved = realServers.map((rs) => rs.checks.map((c) => ({ spec: c, entries: withDefaults(c, rs) })));
  const keyOf = (c: { spec: CheckSpec; entries: Entry[] }) => `${c.spec.type}\n${c.entries.map((e) => `${e.key}=${e.value}`).sort().join('\n')}`;
  const shared =
    resolved.length > 0 && resolved.every((cs) => cs.length === 1) && new Set(resolved.map((cs) => keyOf(cs[0]!))).size === 1 ? resolved[0]![0]! : undefined;
  const checkSection = (name: string, c: { spec: CheckSpec; entries: Entry[] }) => {
    const s = new SectionBuilder(`check.${name}`, c.spec.at);
    s.set('type', c.spec.type, c.spec.at);
    for (const e of c.entries) s.set(e.key, e.value, e.at);
    return s;
  };
  const out: SectionBuilder[] = [];
  if (shared) {
    const name = names.unique(`${vsName}_${shared.spec.script?.kind ?? KIND[shared.spec.type]}`);
    out.push(checkSection(name, shared));
    vs.set('check', name, shared.spec.at);
  }
  out.push(vs);
  realServers.forEach((rs, i) => {
    const rsName = `rs${i + 1}`;
    const sec = new SectionBuilder(`real_server.${vsName}.${rsName}`, origin(rs.node));
    sec.set('address', rs.address, rs.node);
    for (const e of rs.entries) if (!e.key.startsWith('default:')) sec.set(e.key, e.value, e.at);
    if (!shared) {
      for (const c of resolved[i]!) {
        const name = names.unique(`${vsName}_${rsName}_${c.spec.script?.kind ?? KIND[c.spec.type]}`);
        out.push(checkSection(name, c));
        sec.set('check', name, c.spec.at, resolved[i]!.length > 1);
      }
    }
    out.push(sec);
  });
  return out;
}

/** Reads `real_server IP [PORT] { ... }`: its keys, checker defaults (as `default:KEY`) and checkers. */
function readRealServer(n: KNode, ctx: Ctx): RsSpec | undefined {
  if (!ctx.need(n, 1, 'an address') || !ctx.needBlock(n)) return undefined;
  const w = words(n);
  const rs: RsSpec = { node: n, address: serverEndpoint(w[0]!, w[1]), entries: [], checks: [] };
  const target = { ip: w[0]!, port: w[1] !== undefined && !/^0+$/.test(w[1]) ? w[1] : undefined };
  const refused = n.children.filter((c) => c.keyword in UNSUPPORTED_CHECKERS);
  if (refused.length > 0) {
    // Imported without its checker the real server would be "always up": it is left out, loudly.
    for (const c of refused) ctx.skip(c, c.keyword, `${UNSUPPORTED_CHECKERS[c.keyword]}; a MISC_CHECK script can do it`);
    ctx.skip(n, `real_server ${w.join(' ')}`, `left out: its ${refused.map((c) => c.keyword).join(', ')} cannot be imported, and without it the real server would always count as up`);
    return undefined;
  }
  for (const c of n.children) {
    const k = c.keyword;
    const v = words(c);
    const at = origin(c);
    if (k === 'weight' || k === 'uthreshold' || k === 'lthreshold') {
      if (ctx.need(c, 1, 'a value')) rs.entries.push({ key: k, value: v[0]!, at });
      ctx.extra(c);
    } else if (k === 'inhibit_on_failure') rs.entries.push({ key: k, value: v[0] ?? 'true', at });
    else if (k === 'notify_up' || k === 'notify_down') {
      if (ctx.need(c, 1, 'a command')) rs.entries.push({ key: k, value: commandLine(c.args), at });
    } else if ((CHECK_DEFAULT_KEYS as readonly string[]).includes(k) || k === 'nb_get_retry') {
      if (ctx.need(c, 1, 'a value')) rs.entries.push({ key: `default:${k === 'nb_get_retry' ? 'retry' : k}`, value: v[0]!, at });
      ctx.extra(c);
    } else if (k === 'TCP_CHECK' || k === 'MISC_CHECK' || k === 'HTTP_GET' || k === 'SSL_GET') {
      if (ctx.needBlock(c)) rs.checks.push(...readChecker(c, k, ctx));
    } else if (k === 'DNS_CHECK' || k === 'SMTP_CHECK' || k === 'PING_CHECK') {
      // keepalived parses PING_CHECK { } and PING_CHECK alike; a block is optional for a checker without options.
      rs.checks.push(...readScriptChecker(c, k, target, ctx));
    } else ctx.unknown(c, 'real_server');
  }
  return rs;
}

/** Reads a keepalived checker lvsd runs as a script; notes the translation. */
function readScriptChecker(n: KNode, type: 'DNS_CHECK' | 'SMTP_CHECK' | 'PING_CHECK', rs: { ip: string; port: string | undefined }, ctx: Ctx): CheckSpec[] {
  const common: Entry[] = [];
  const conn: { connect_ip?: string; connect_port?: string } = {};
  let dnsType = 'SOA';
  let dnsName = '.';
  const hosts: KNode[] = [];
  for (const c of n.children ?? []) {
    const k = c.keyword;
    const v = words(c);
    const at = origin(c);
    const one = (key: string) => {
      if (ctx.need(c, 1, 'a value')) common.push({ key, value: v[0]!, at });
      ctx.extra(c);
    };
    if (COMMON_KEYS.includes(k) || k === 'connect_timeout') one(k);
    else if (k === 'nb_get_retry') one('retry');
    else if (k === 'connect_ip' || k === 'connect_port') {
      if (ctx.need(c, 1, 'a value')) conn[k] = v[0]!;
      ctx.extra(c);
    } else if (type === 'DNS_CHECK' && k === 'type') {
      if (ctx.need(c, 1, 'a query type')) dnsType = v[0]!.toUpperCase();
    } else if (type === 'DNS_CHECK' && k === 'name') {
      if (ctx.need(c, 1, 'a name')) dnsName = v[0]!;
    } else if (type === 'SMTP_CHECK' && k === 'host') {
      if (ctx.needBlock(c)) hosts.push(c);
    } else if (type === 'SMTP_CHECK' && k === 'helo_name') {
      ctx.skip(c, k, `${CHECKS_DIR}/check_smtp reads the 220 banner and says QUIT; it sends no HELO`);
    } else if (k === 'bindto' || k === 'bind_to' || k === 'bind_port' || k === 'bind_if') {
      ctx.skip(c, k, `lvsd runs ${type} as a script (${CHECKS_DIR}), which cannot choose its source`);
    } else ctx.unknown(c, type);
  }
  // keepalived's own defaults where MISC_CHECK's differ: DNS_CHECK retries 3 times.
  if (type === 'DNS_CHECK' && !common.some((e) => e.key === 'retry')) common.push({ key: 'retry', value: '3', at: origin(n) });
  const make = (c: { connect_ip?: string; connect_port?: string }, at: KNode): CheckSpec => {
    const host = c.connect_ip ?? rs.ip;
    const port = c.connect_port ?? rs.port;
    let script: NonNullable<CheckSpec['script']>;
    if (type === 'DNS_CHECK') {
      const server = port !== undefined && port !== '53' ? `${host}#${port}` : host;
      script = { kind: 'dns', command: (t) => `${CHECKS_DIR}/check_dns ${server} ${dnsName} ${dnsType} ${t}` };
    } else if (type === 'SMTP_CHECK') {
      script = { kind: 'smtp', command: (t) => `${CHECKS_DIR}/check_smtp ${host} ${port ?? '25'} ${t}` };
    } else {
      script = { kind: 'ping', command: (t) => `${CHECKS_DIR}/check_ping ${host} ${t}` };
    }
    ctx.note(at, `${type} runs as a MISC_CHECK: ${script.command(0).replace(/ 0$/, ' TIMEOUT')} (TIMEOUT: its connect_timeout, default 5 s)`);
    return { type: 'MISC_CHECK', entries: [...common], at: origin(at), script };
  };
  if (hosts.length === 0) return [make(conn, n)];
  // keepalived 2 checks every host { } block as its own checker; the real server is up when all pass, as in lvsd.
  return hosts.map((h) => {
    const c = { ...conn };
    for (const x of h.children!) {
      if (x.keyword === 'connect_ip' || x.keyword === 'connect_port') {
        if (ctx.need(x, 1, 'a value')) c[x.keyword] = words(x)[0]!;
      } else if (x.keyword === 'bindto' || x.keyword === 'bind_port' || x.keyword === 'bind_if') {
        ctx.skip(x, x.keyword, `lvsd runs ${type} as a script (${CHECKS_DIR}), which cannot choose its source`);
      } else ctx.unknown(x, `${type} host`);
    }
    return make(c, h);
  });
}

/** Checker keys lvsd takes with their one value, by type. */
const CONNECT_KEYS = ['connect_ip', 'connect_port', 'bindto', 'bind_port', 'connect_timeout'];
const COMMON_KEYS = ['delay_loop', 'retry', 'delay_before_retry', 'warmup'];

/** A checker block → one check, or one per url block for HTTP_GET/SSL_GET. */
function readChecker(n: KNode & { children: KNode[] }, type: CheckSpec['type'], ctx: Ctx): CheckSpec[] {
  const common: Entry[] = [];
  const urls: KNode[] = [];
  const http = type === 'HTTP_GET' || type === 'SSL_GET';
  for (const c of n.children) {
    const k = c.keyword;
    const v = words(c);
    const at = origin(c);
    const one = (key: string) => {
      if (ctx.need(c, 1, 'a value')) common.push({ key, value: v[0]!, at });
      ctx.extra(c);
    };
    if (COMMON_KEYS.includes(k) || (type !== 'MISC_CHECK' && CONNECT_KEYS.includes(k))) one(k);
    else if (k === 'nb_get_retry') one('retry');
    else if (k === 'bind_to' && type !== 'MISC_CHECK') one('bindto');
    else if (http && (k === 'virtualhost' || k === 'http_protocol')) one(k);
    else if (type === 'SSL_GET' && k === 'enable_sni') common.push({ key: k, value: v[0] ?? 'true', at });
    else if (http && k === 'url') {
      if (ctx.needBlock(c)) urls.push(c);
    } else if (type === 'MISC_CHECK' && k === 'misc_path') {
      if (ctx.need(c, 1, 'a command')) common.push({ key: k, value: commandLine(c.args), at });
    } else if (type === 'MISC_CHECK' && k === 'misc_timeout') one(k);
    else if (type === 'MISC_CHECK' && k === 'misc_dynamic') common.push({ key: k, value: v[0] ?? 'true', at });
    else if (type === 'MISC_CHECK' && k === 'user') {
      if (ctx.need(c, 1, 'a user')) common.push({ key: k, value: v.slice(0, 2).join(' '), at });
    } else ctx.unknown(c, type);
  }
  if (!http) return [{ type, entries: common, at: origin(n) }];
  if (urls.length === 0) return [{ type, entries: common, at: origin(n) }];
  return urls.map((u) => {
    const entries = [...common];
    for (const c of u.children!) {
      const k = c.keyword;
      const at = origin(c);
      if (!['path', 'digest', 'status_code', 'virtualhost', 'regex'].includes(k)) {
        ctx.unknown(c, 'url');
        continue;
      }
      if (!ctx.need(c, 1, 'a value')) continue;
      // status_code takes a list; the others one value (a second keyword on the line is not read by keepalived either).
      if (k !== 'status_code') ctx.extra(c);
      if (k === 'path') entries.push({ key: 'url_path', value: c.args[0]!.text, at });
      else if (k === 'digest') entries.push({ key: 'digest', value: c.args[0]!.text, at });
      else if (k === 'status_code') entries.push({ key: 'status_code', value: words(c).join(' '), at });
      else if (k === 'virtualhost' || k === 'regex') {
        const i = entries.findIndex((e) => e.key === k);
        if (i >= 0) entries.splice(i, 1);
        entries.push({ key: k, value: c.args[0]!.text, at });
      }
    }
    return { type, entries, at: origin(u) };
  });
}
