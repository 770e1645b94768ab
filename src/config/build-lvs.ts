/**
 * `[check.*]`, `[virtual_server.*]` and `[real_server.VS.NAME]` sections →
 * typed objects, with keepalived's defaults (connect_timeout 5 s, delay_loop
 * 60 s, retry 1 — MISC_CHECK 0 —, delay_before_retry 1 s — HTTP/SSL 3 s —,
 * quorum 1, weight 1).
 */
import { validate as cronValidate } from 'node-cron';
import { parseIp, parseIPv4Bytes, type Family, type Parsed } from './address';
import { camel, LABEL_RE } from './build-vrrp';
import { ProblemCode } from './errors';
import { parseIntText, type SectionReader } from './reader';
import {
  Announces,
  CheckTypes,
  LbAlgos,
  LbKinds,
  Protocols,
  type Check,
  type CheckType,
  type ConnectOptions,
  type GlobalConfig,
  type RealServer,
  type StatusRange,
  type VirtualServer,
} from './types';
import type { UserDb } from './users';

/** Keys each check type takes (besides the common ones), for "applies to" messages. */
const TYPE_KEYS: Readonly<Record<CheckType, readonly string[]>> = {
  TCP_CHECK: ['connect_ip', 'connect_port', 'bindto', 'bind_port', 'connect_timeout'],
  HTTP_GET: ['connect_ip', 'connect_port', 'bindto', 'bind_port', 'connect_timeout', 'url_path', 'status_code', 'digest', 'regex', 'virtualhost', 'http_protocol'],
  SSL_GET: [
    'connect_ip', 'connect_port', 'bindto', 'bind_port', 'connect_timeout', 'url_path', 'status_code', 'digest', 'regex', 'virtualhost', 'http_protocol',
    'ca_file', 'verify_cert', 'enable_sni', 'sni_name',
  ],
  MISC_CHECK: ['misc_path', 'misc_timeout', 'misc_dynamic', 'user'],
};

/** Parses `200`, `200-299`, `200,301-302 404` into ranges of 100–599. */
export function parseStatusCodes(t: string): Parsed<StatusRange[]> {
  const out: StatusRange[] = [];
  for (const part of t.split(/[\s,]+/).filter(Boolean)) {
    const m = /^([0-9]{3})(?:-([0-9]{3}))?$/.exec(part);
    const min = m ? Number(m[1]) : NaN;
    const max = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || min < 100 || max > 599 || min > max) {
      return { ok: false, error: `"${part}" is not a status code or range within 100–599 (e.g. 200, 200-299, "200,301-302")` };
    }
    out.push({ min, max });
  }
  if (out.length === 0) return { ok: false, error: 'needs at least one status code' };
  return { ok: true, value: out };
}

/** Builds `[check.NAME]`. `g` gives MISC_CHECK's default user (script_user); `users` resolves `user`. */
export function buildCheck(r: SectionReader, name: string, g: GlobalConfig, users: UserDb): Check | undefined {
  const typeAt = r.oneOf('type', CheckTypes);
  if (!r.has('type')) r.error(r.section.line, `${r.where} needs "type" (${CheckTypes.join(' | ')})`, ProblemCode.MissingKey);
  const type = typeAt?.value;
  const isMisc = type === 'MISC_CHECK';
  const isHttp = type === 'HTTP_GET' || type === 'SSL_GET';
  const delayLoopMs = r.seconds('delay_loop', { min: 0.001, max: 86400 })?.value ?? 60_000;
  const base = {
    name,
    line: r.section.line,
    delayLoopMs,
    retry: r.int('retry', 0, 1000)?.value ?? (isMisc ? 0 : 1),
    delayBeforeRetryMs: r.seconds('delay_before_retry', { min: 0, max: 86400 })?.value ?? (isHttp ? 3000 : 1000),
    warmupMs: r.seconds('warmup', { min: 0, max: 86400 })?.value ?? 0,
    rise: r.int('rise', 1, 1000)?.value ?? 1,
    fall: r.int('fall', 1, 1000)?.value ?? 1,
  };
  if (!type) {
    r.finish((k) => (Object.values(TYPE_KEYS).some((ks) => ks.includes(k)) ? 'cannot be judged before "type" is valid' : undefined));
    return undefined;
  }
  const connect = (): ConnectOptions => {
    const ip = r.ip('connect_ip');
    const port = r.int('connect_port', 1, 65535);
    const bindto = r.ip('bindto');
    const bindPort = r.int('bind_port', 1, 65535);
    if (ip && bindto && ip.value.family !== bindto.value.family) r.error(bindto.line, 'bindto and connect_ip are of different address families', ProblemCode.Conflict);
    return {
      ...(ip ? { connectIp: ip.value } : {}),
      ...(port ? { connectPort: port.value } : {}),
      ...(bindto ? { bindto: bindto.value } : {}),
      ...(bindPort ? { bindPort: bindPort.value } : {}),
      connectTimeoutMs: r.seconds('connect_timeout', { min: 0.001, max: 3600 })?.value ?? 5000,
    };
  };
  let check: Check;
  if (type === 'TCP_CHECK') {
    check = { type, ...base, ...connect() };
  } else if (type === 'HTTP_GET' || type === 'SSL_GET') {
    const urlPath = r.parsed('url_path', (t) => (t.startsWith('/') ? { ok: true, value: t } : { ok: false, error: `"${t}" must start with "/"` }));
    const digest = r.parsed('digest', (t) =>
      /^[0-9a-fA-F]{32}$/.test(t) ? { ok: true, value: t.toLowerCase() } : { ok: false, error: `"${t}" is not an MD5 digest (32 hex digits)` },
    );
    const regex = r.parsed('regex', (t) => {
      try {
        new RegExp(t);
        return { ok: true, value: t };
      } catch (e) {
        return { ok: false, error: `not a valid regular expression: ${(e as Error).message}` };
      }
    });
    const virtualhost = r.string('virtualhost');
    const http = {
      urlPath: urlPath?.value ?? '/',
      statusCode: r.parsed('status_code', parseStatusCodes)?.value ?? [{ min: 200, max: 299 }],
      ...(digest ? { digest: digest.value } : {}),
      ...(regex ? { regex: regex.value } : {}),
      ...(virtualhost ? { virtualhost: virtualhost.value } : {}),
      httpProtocol: r.oneOf('http_protocol', ['1.0', '1.1'] as const)?.value ?? '1.0',
    };
    let ssl = { verifyCert: false, enableSni: true } as { verifyCert: boolean; enableSni: boolean; caFile?: string; sniName?: string };
    if (type === 'SSL_GET') {
      const caFile = r.string('ca_file');
      const sniName = r.string('sni_name');
      ssl = {
        ...(caFile ? { caFile: caFile.value } : {}),
        verifyCert: r.bool('verify_cert')?.value ?? caFile !== undefined,
        enableSni: r.bool('enable_sni')?.value ?? true,
        ...(sniName ? { sniName: sniName.value } : virtualhost ? { sniName: virtualhost.value } : {}),
      };
    }
    check = { type, ...base, ...connect(), ...http, ...ssl };
  } else {
    const miscPath = r.script('misc_path');
    if (!r.has('misc_path')) r.error(r.section.line, `${r.where} needs "misc_path" (the program to run and its arguments)`, ProblemCode.MissingKey);
    const user = r.runAs('user', users) ?? g.scriptUser;
    check = {
      type,
      ...base,
      miscPath: miscPath ?? { argv: [], line: r.section.line },
      miscTimeoutMs: r.seconds('misc_timeout', { min: 0.001, max: 86400 })?.value ?? delayLoopMs,
      miscDynamic: r.bool('misc_dynamic')?.value ?? false,
      ...(user ? { user } : {}),
    };
  }
  r.finish((k) => {
    const types = CheckTypes.filter((t) => TYPE_KEYS[t].includes(k));
    return types.length > 0 ? `applies to ${types.join(', ')}, not ${type}` : undefined;
  });
  return check;
}

/** Parses a persistence netmask: `255.255.255.0`, `/24` or `24` → prefix length. */
function parseGranularity(family: Family): (t: string) => Parsed<number> {
  return (t) => {
    const max = family === 4 ? 32 : 128;
    const n = t.replace(/^\//, '');
    if (/^[0-9]{1,3}$/.test(n)) return parseIntText(n, 1, max);
    const b = family === 4 ? parseIPv4Bytes(t) : undefined;
    if (b) {
      const v = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      const len = 32 - Math.log2((~v >>> 0) + 1);
      if (Number.isInteger(len) && len >= 1) return { ok: true, value: len };
    }
    return { ok: false, error: `"${t}" is not a netmask (e.g. 255.255.255.0 or 24${family === 6 ? '; IPv6 takes a prefix length' : ''})` };
  };
}

/** Builds `[virtual_server.NAME]` (its realServers map is filled later). */
export function buildVirtualServer(r: SectionReader, name: string): VirtualServer & { realServers: Map<string, RealServer> } {
  const line = r.section.line;
  const address = r.endpoint('address');
  const fwmark = r.int('fwmark', 1, 0xffffffff);
  if (r.has('address') && r.has('fwmark')) {
    r.error(r.lineOf('fwmark'), `${r.where} takes either "address" or "fwmark", not both`, ProblemCode.Conflict);
  } else if (!r.has('address') && !r.has('fwmark')) {
    r.error(line, `${r.where} needs "address" (IP:PORT, [IPv6]:PORT) or "fwmark"`, ProblemCode.MissingKey);
  }
  const ipFamily = r.oneOf('ip_family', ['inet', 'inet6'] as const);
  if (ipFamily && !fwmark) r.warn(ipFamily.line, 'ip_family only matters with fwmark; the address gives the family');
  const family: Family = address?.value.family ?? (ipFamily?.value === 'inet6' ? 6 : 4);
  const protocol = r.oneOf('protocol', Protocols)?.value ?? 'TCP';
  const lbAlgo = r.oneOf('lb_algo', LbAlgos);
  const lbKind = r.oneOf('lb_kind', LbKinds)?.value ?? 'NAT';
  const persistence = r.seconds('persistence_timeout', { min: 0, max: 31 * 86400, whole: true });
  const granularity = r.parsed('persistence_granularity', parseGranularity(family));
  if (granularity && !persistence?.value) r.warn(granularity.line, 'persistence_granularity has no effect without persistence_timeout');
  const quorum = r.int('quorum', 1, 0xffffffff)?.value ?? 1;
  const hysteresis = r.int('hysteresis', 0, 0xffffffff);
  if (hysteresis && hysteresis.value >= quorum) r.error(hysteresis.line, `hysteresis ${hysteresis.value} must be below quorum ${quorum}`, ProblemCode.Conflict);
  const sorry = r.endpoint('sorry_server', true);
  let sorryServer = sorry?.value;
  if (sorry && sorryServer) {
    if (sorryServer.family !== family && lbKind !== 'TUN') {
      r.error(sorry.line, `sorry_server ${sorryServer.address} is IPv${sorryServer.family} but ${r.where} is IPv${family}`, ProblemCode.Conflict);
    }
    if (sorryServer.port === 0 && address) sorryServer = { ...sorryServer, port: address.value.port };
  }
  const check = r.parsed('check', (t) => (LABEL_RE.test(t) ? { ok: true, value: t } : { ok: false, error: `"${t}" is not a check name` }));
  const ops = r.bool('ops');
  if (ops?.value && protocol !== 'UDP') r.error(ops.line, 'ops (one-packet scheduling) applies to protocol = UDP only', ProblemCode.Conflict);
  const algo = lbAlgo?.value ?? 'wlc';
  const announce = r.oneOf('announce', Announces);
  // announce = bgp keeps a down real server at weight 0 (inhibit_on_failure, below), where it keeps its
  // slots in the sh/mh lookup table: without the fallback flag, new flows hashed to it are dropped
  // (the kernel finds no destination). So the fallback defaults to on there; `= false` still wins.
  const flag = (k: string, forAlgo: string, dflt = false) => {
    const v = r.bool(k);
    if (v?.value && algo !== forAlgo) r.warn(v.line, `${k} only affects lb_algo = ${forAlgo}`);
    return v?.value ?? dflt;
  };
  const fallbackDefault = (forAlgo: string) => announce?.value === 'bgp' && algo === forAlgo;
  const schedFlags = { shPort: flag('sh-port', 'sh'), shFallback: flag('sh-fallback', 'sh', fallbackDefault('sh')), mhPort: flag('mh-port', 'mh'), mhFallback: flag('mh-fallback', 'mh', fallbackDefault('mh')) };
  const vs = {
    name,
    line,
    ...(address ? { address: address.value } : {}),
    ...(fwmark && !address ? { fwmark: fwmark.value } : {}),
    family,
    protocol,
    lbAlgo: algo,
    lbKind,
    persistenceTimeoutMs: persistence?.value ?? 0,
    ...(granularity ? { persistenceGranularity: granularity.value } : {}),
    quorum,
    ...scripts(r, ['quorum_up', 'quorum_down']),
    hysteresis: hysteresis?.value ?? 0,
    ...(sorryServer ? { sorryServer } : {}),
    sorryServerInhibit: r.bool('sorry_server_inhibit')?.value ?? false,
    ...(check ? { check: check.value } : {}),
    checkLine: check?.line ?? line,
    ops: ops?.value ?? false,
    schedFlags,
    // announce = bgp: a down real server stays at weight 0, so the mh table of every director keeps its other slots.
    inhibitOnFailure: r.bool('inhibit_on_failure')?.value ?? announce?.value === 'bgp',
    alpha: r.bool('alpha')?.value ?? false,
    ...(announce ? { announce: announce.value, announceLine: announce.line } : {}),
    realServers: new Map<string, RealServer>(),
  };
  return vs;
}

/** Reads optional script keys into `{ camelKey: Script }`. */
function scripts(r: SectionReader, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const s = r.script(k);
    if (s) out[camel(k)] = s;
  }
  return out;
}

/** Builds `[real_server.VS.NAME]` under its (already built) virtual server. */
export function buildRealServer(r: SectionReader, vsName: string, name: string, vs: VirtualServer): RealServer | undefined {
  const line = r.section.line;
  const addr = r.endpoint('address', true);
  if (!r.has('address')) r.error(line, `${r.where} needs "address" (IP:PORT, or IP for a fwmark service)`, ProblemCode.MissingKey);
  let address = addr?.value;
  if (addr && address) {
    if (address.family !== vs.family && vs.lbKind !== 'TUN') {
      // IPVS forwards across families only by tunnelling.
      r.error(addr.line, `address ${address.address} is IPv${address.family} but [virtual_server.${vsName}] is IPv${vs.family} (only lb_kind = TUN may mix)`, ProblemCode.Conflict);
    }
    if (address.port === 0) {
      if (vs.address) address = { ...address, port: vs.address.port };
    } else if (vs.address && (vs.lbKind === 'DR' || vs.lbKind === 'TUN') && address.port !== vs.address.port) {
      r.warn(addr.line, `lb_kind = ${vs.lbKind} cannot change the port: the service's port ${vs.address.port} is used, not ${address.port}`);
    }
  }
  const checkList = r.list('check');
  const checks: string[] = [];
  for (const c of checkList) {
    const n = c.value.trim();
    if (!LABEL_RE.test(n)) r.error(c.line, `check: "${n}" is not a check name`);
    else checks.push(n);
  }
  const cron = r.parsed('maintenance', (t) => (cronValidate(t) ? { ok: true, value: t } : { ok: false, error: `"${t}" is not a cron expression (e.g. "0 3 * * sun")` }));
  const duration = r.seconds('maintenance_duration', { min: 1, max: 7 * 86400 });
  if (cron && !duration) r.error(cron.line, 'maintenance needs maintenance_duration (seconds)', ProblemCode.MissingKey);
  if (duration && !r.has('maintenance')) r.warn(duration.line, 'maintenance_duration has no effect without maintenance');
  const uthreshold = r.int('uthreshold', 0, 65535)?.value ?? 0;
  const lthreshold = r.int('lthreshold', 0, 65535);
  if (lthreshold && uthreshold > 0 && lthreshold.value > uthreshold) r.error(lthreshold.line, `lthreshold ${lthreshold.value} is above uthreshold ${uthreshold}`, ProblemCode.Conflict);
  const rs = {
    name,
    virtualServer: vsName,
    line,
    address: address ?? { ...parseIpOrZero(vs.family), port: 0 },
    weight: r.int('weight', 0, 65535)?.value ?? 1,
    inhibitOnFailure: r.bool('inhibit_on_failure')?.value ?? vs.inhibitOnFailure,
    checks: checkList.length > 0 ? checks : vs.check ? [vs.check] : [],
    checksLine: checkList[0]?.line ?? vs.checkLine,
    uthreshold,
    lthreshold: lthreshold?.value ?? 0,
    ...(cron && duration ? { maintenance: { cron: cron.value, durationMs: duration.value, line: cron.line } } : {}),
    ...scripts(r, ['notify_up', 'notify_down']),
  } as RealServer;
  return rs;
}

function parseIpOrZero(f: Family) {
  const p = parseIp(f === 4 ? '0.0.0.0' : '::');
  if (!p.ok) throw new Error('unreachable');
  return p.value;
}
