/**
 * `[global]` and `[notify.NAME]` sections → typed objects with defaults.
 */
import * as cron from 'node-cron';
import { parseEndpoint, parseIp, type IpAddress, type Parsed } from './address';
import { ProblemCode } from './errors';
import { parseIntText, parseNumberOptions, type SectionReader } from './reader';
import { LogLevels, type GlobalConfig, type LvsSyncDaemon, type Notifier } from './types';
import type { UserDb } from './users';

/** Defaults that are paths, in one place for the docs and the daemon. */
export const GLOBAL_DEFAULTS = {
  controlSocket: '/run/lvsd/lvsd.sock',
  stateDir: '/var/lib/lvsd',
  pidFile: '/run/lvsd/lvsd.pid',
  /** The sync daemon's default UDP port (the kernel's IP_VS_SYNC_PORT). */
  lvsSyncPort: 8848,
} as const;

/** VRRP's multicast groups (RFC 5798 §5.1.1.2, §5.1.2.2): keepalived's defaults for vrrp_mcast_group4 / vrrp_mcast_group6. */
export const VRRP_MCAST_GROUPS = { 4: '224.0.0.18', 6: 'ff02::12' } as const;

/** Parses a multicast group of `family` (IPv4 224.0.0.0/4, IPv6 ff00::/8). */
export function parseMcastGroup(text: string, family: 4 | 6): Parsed<IpAddress> {
  const p = parseIp(text.trim());
  if (!p.ok) return p;
  if (p.value.family !== family) return { ok: false, error: `${p.value.address} is not an IPv${family} address` };
  const multicast = family === 4 ? (p.value.bytes[0]! & 0xf0) === 0xe0 : p.value.bytes[0] === 0xff;
  if (!multicast) return { ok: false, error: `${p.value.address} is not a multicast address (${family === 4 ? '224.0.0.0/4' : 'ff00::/8'})` };
  return p;
}

/** The default group of a family, parsed. */
function defaultGroup(family: 4 | 6): IpAddress {
  const p = parseMcastGroup(VRRP_MCAST_GROUPS[family], family);
  if (!p.ok) throw new Error('unreachable');
  return p.value;
}

/** Parses `INTERFACE INSTANCE [id N] [port P]` (keepalived's lvs_sync_daemon argument list). */
export function parseLvsSyncDaemon(text: string): Parsed<Omit<LvsSyncDaemon, 'line'>> {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 2) return { ok: false, error: `expected "INTERFACE INSTANCE [id N] [port P]", found "${text}"` };
  const opts = parseNumberOptions(parts.slice(2), { id: [0, 255], port: [1, 65535] }, (w) => `"${w}": lvsd takes "id N" and "port P" after INTERFACE INSTANCE`);
  if (!opts.ok) return opts;
  return { ok: true, value: { interface: parts[0]!, instance: parts[1]!, syncId: opts.value.id ?? 0, port: opts.value.port ?? GLOBAL_DEFAULTS.lvsSyncPort } };
}

/** Parses `HOST:PORT`, `[V6]:PORT` or `:PORT` (all addresses). */
function parseListen(text: string): Parsed<{ host: string; port: number }> {
  if (/^:[0-9]+$/.test(text)) {
    const p = parseIntText(text.slice(1), 1, 65535);
    return p.ok ? { ok: true, value: { host: '', port: p.value } } : p;
  }
  const e = parseEndpoint(text);
  if (e.ok) return { ok: true, value: { host: e.value.address, port: e.value.port } };
  const m = /^([A-Za-z0-9.-]+):([0-9]+)$/.exec(text);
  if (m) {
    const p = parseIntText(m[2]!, 1, 65535);
    return p.ok ? { ok: true, value: { host: m[1]!, port: p.value } } : p;
  }
  return { ok: false, error: `expected HOST:PORT, [IPv6]:PORT or :PORT, found "${text}"` };
}

/** Builds `[global]`; `r` undefined (no section) gives all defaults. `users` resolves script_user. */
export function buildGlobal(r: SectionReader | undefined, users: UserDb): GlobalConfig {
  if (!r) {
    return {
      controlSocket: GLOBAL_DEFAULTS.controlSocket,
      logLevel: 'info',
      enableScriptSecurity: false,
      lvsFlush: false,
      lvsFlushOnstop: 'none',
      stateDir: GLOBAL_DEFAULTS.stateDir,
      pidFile: GLOBAL_DEFAULTS.pidFile,
      vrrpVersion: 2,
      vrrpGarpIntervalMs: 0,
      vrrpGnaIntervalMs: 0,
      vrrpMcastGroup4: defaultGroup(4),
      vrrpMcastGroup6: defaultGroup(6),
      line: 0,
    };
  }
  const routerId = r.string('router_id');
  const notify = r.script('notify');
  const notifyFifo = r.string('notify_fifo');
  const scriptUser = r.runAs('script_user', users);
  const sync = r.parsed('lvs_sync_daemon', parseLvsSyncDaemon);
  const metrics = r.parsed('metrics_listen', parseListen);
  const flushOnstop = r.raw('lvs_flush_onstop');
  let lvsFlushOnstop: GlobalConfig['lvsFlushOnstop'] = 'none';
  if (flushOnstop) {
    const t = flushOnstop.value.trim().toLowerCase();
    // keepalived: a bare lvs_flush_onstop means ALL.
    if (t === 'all' || t === 'true' || t === 'yes') lvsFlushOnstop = 'all';
    else if (t === 'vs') lvsFlushOnstop = 'vs';
    else if (t === 'false' || t === 'no' || t === 'none') lvsFlushOnstop = 'none';
    else r.error(flushOnstop.line, `lvs_flush_onstop: "${flushOnstop.value}" is not one of ALL | VS | false`);
  } else if (r.has('lvs_flush_onstop')) {
    lvsFlushOnstop = 'all';
  }
  const version = r.int('vrrp_version', 2, 3)?.value as 2 | 3 | undefined;
  const path = (k: string, d: string) => {
    const v = r.string(k);
    if (v && !v.value.startsWith('/')) {
      r.error(v.line, `${k}: "${v.value}" must be an absolute path`);
      return d;
    }
    return v?.value ?? d;
  };
  // How often the IPVS table is re-read and drift repaired: seconds, or a cron expression.
  const audit = r.parsed('audit_interval', (t) => {
    if (/^[0-9]+$/.test(t)) {
      const n = Number(t);
      return n >= 1 && n <= 86400 ? { ok: true, value: t } : { ok: false, error: `"${t}" must be 1 to 86400 seconds, or a cron expression` };
    }
    return cron.validate(t) ? { ok: true, value: t } : { ok: false, error: `"${t}" is neither a number of seconds nor a valid cron expression` };
  });
  return {
    ...(routerId ? { routerId: routerId.value } : {}),
    controlSocket: path('control_socket', GLOBAL_DEFAULTS.controlSocket),
    logLevel: r.oneOf('log_level', LogLevels)?.value ?? 'info',
    ...(notify ? { notify } : {}),
    ...(notifyFifo ? { notifyFifo: notifyFifo.value } : {}),
    enableScriptSecurity: r.bool('enable_script_security')?.value ?? false,
    ...(scriptUser ? { scriptUser } : {}),
    ...(sync ? { lvsSyncDaemon: { ...sync.value, line: sync.line } } : {}),
    lvsFlush: r.bool('lvs_flush')?.value ?? false,
    lvsFlushOnstop,
    ...(metrics ? { metricsListen: { ...metrics.value, line: metrics.line } } : {}),
    stateDir: path('state_dir', GLOBAL_DEFAULTS.stateDir),
    ...(audit ? { auditInterval: audit.value } : {}),
    pidFile: path('pid_file', GLOBAL_DEFAULTS.pidFile),
    vrrpVersion: version ?? 2,
    vrrpGarpIntervalMs: r.seconds('vrrp_garp_interval', { min: 0, max: 1 })?.value ?? 0,
    vrrpGnaIntervalMs: r.seconds('vrrp_gna_interval', { min: 0, max: 1 })?.value ?? 0,
    vrrpMcastGroup4: r.parsed('vrrp_mcast_group4', (t) => parseMcastGroup(t, 4))?.value ?? defaultGroup(4),
    vrrpMcastGroup6: r.parsed('vrrp_mcast_group6', (t) => parseMcastGroup(t, 6))?.value ?? defaultGroup(6),
    line: r.section.line,
  };
}

/** Builds `[notify.NAME]` (a webhook; for future use). */
export function buildNotifier(r: SectionReader, name: string): Notifier {
  const url = r.parsed('url', (t) =>
    /^https?:\/\/[^\s/]+/.test(t) ? { ok: true, value: t } : { ok: false, error: `"${t}" is not an http:// or https:// URL` },
  );
  if (!r.has('url')) r.error(r.section.line, `${r.where} needs "url" (the webhook to POST to)`, ProblemCode.MissingKey);
  return {
    name,
    line: r.section.line,
    url: url?.value ?? '',
    timeoutMs: r.seconds('timeout', { min: 0.001, max: 600 })?.value ?? 5000,
    retries: r.int('retries', 0, 100)?.value ?? 3,
  };
}
