/**
 * `[bgp]` → {@link BgpConfig} with its defaults, and the rules that tie it to
 * the virtual servers that say `announce = bgp`.
 *
 * Why the rules: several directors announce one VIP at once and the routers
 * spread flows over them (ECMP). A flow may reach any director, and reach
 * another one later, so replies must not have to come back through the
 * director that scheduled it (NAT cannot do that: an error), and every
 * director must pick the same real server for a flow (a consistent-hash
 * scheduler, `mh` or `sh`: a warning without one).
 */
import type { Parsed } from './address';
import { ProblemCode, type ProblemSink } from './errors';
import { parseNumberOptions, type SectionReader } from './reader';
import type { BgpConfig, BgpSyncDaemon, LvsdConfig } from './types';

/** `[bgp]` defaults, in one place for the docs and the daemon. */
export const BGP_DEFAULTS = {
  birdSocket: '/run/bird/bird.ctl',
  routeTable: 100,
  vipInterface: 'lo',
  syncPort: 8848,
} as const;

/** Table ids the kernel reserves: unspec, default, main and local. */
const RESERVED_TABLES: Readonly<Record<number, string>> = { 0: 'unspec', 253: 'default', 254: 'main', 255: 'local' };

/** Parses `INTERFACE [id N] [port P]`. */
export function parseBgpSyncDaemon(text: string): Parsed<Omit<BgpSyncDaemon, 'line'>> {
  const parts = text.trim().split(/\s+/).filter(Boolean);
  if (parts.length < 1) return { ok: false, error: 'expected "INTERFACE [id N] [port P]"' };
  const opts = parseNumberOptions(parts.slice(1), { id: [0, 255], port: [1, 65535] }, (w) => `"${w}": lvsd takes "id N" and "port P" after INTERFACE (no VRRP instance: in active/active every director runs master and backup at once)`);
  if (!opts.ok) return opts;
  return { ok: true, value: { interface: parts[0]!, syncId: opts.value.id ?? 0, port: opts.value.port ?? BGP_DEFAULTS.syncPort } };
}

/** Builds `[bgp]`. */
export function buildBgp(r: SectionReader): BgpConfig {
  const sock = r.string('bird_socket');
  if (sock && !sock.value.startsWith('/')) r.error(sock.line, `bird_socket: "${sock.value}" must be an absolute path`);
  const table = r.parsed('route_table', (t): Parsed<number> => {
    if (!/^[0-9]+$/.test(t)) return { ok: false, error: `"${t}" is not a routing table number (1–4294967295, not 253, 254 or 255)` };
    const n = Number(t);
    if (n > 0xffffffff) return { ok: false, error: `${n} is out of range (1–4294967295)` };
    const reserved = RESERVED_TABLES[n];
    if (reserved) return { ok: false, error: `${n} is the kernel's "${reserved}" table: give lvsd a table of its own (e.g. 100) that BIRD's kernel protocol imports` };
    return { ok: true, value: n };
  });
  const iface = r.string('vip_interface');
  const sync = r.parsed('sync_daemon', parseBgpSyncDaemon);
  return {
    birdSocket: sock?.value.startsWith('/') ? sock.value : BGP_DEFAULTS.birdSocket,
    routeTable: table?.value ?? BGP_DEFAULTS.routeTable,
    vipInterface: iface?.value ?? BGP_DEFAULTS.vipInterface,
    bfd: r.bool('bfd')?.value ?? true,
    sysctls: r.bool('sysctls')?.value ?? true,
    ...(sync ? { syncDaemon: { ...sync.value, line: sync.line } } : {}),
    line: r.section.line,
  };
}

/** Rules between `[bgp]` and the virtual servers that announce over it. */
export function validateBgp(cfg: LvsdConfig, sink: ProblemSink): void {
  let announcing = 0;
  for (const vs of cfg.virtualServers.values()) {
    if (vs.announce !== 'bgp') continue;
    announcing++;
    const line = vs.announceLine ?? vs.line;
    if (!cfg.bgp) {
      sink.error(line, ProblemCode.MissingKey, `[virtual_server.${vs.name}]: announce = bgp needs a [bgp] section (bird_socket, route_table ...)`);
    }
    if (!vs.address) {
      sink.error(line, ProblemCode.Conflict, `[virtual_server.${vs.name}]: announce = bgp needs "address": a fwmark service has no VIP to announce`);
    }
    if (vs.lbKind === 'NAT') {
      sink.error(
        line,
        ProblemCode.Conflict,
        `[virtual_server.${vs.name}]: announce = bgp cannot work with lb_kind = NAT (the default when lb_kind is not given): several directors are active at once and a NAT reply must return through the director that holds the connection; use lb_kind = DR or TUN`,
      );
    }
    if (vs.lbAlgo !== 'mh' && vs.lbAlgo !== 'sh') {
      sink.warn(
        line,
        ProblemCode.Doubtful,
        `[virtual_server.${vs.name}]: announce = bgp with lb_algo = ${vs.lbAlgo}: directors will not agree on the real server of a flow, so a flow that moves to another director (ECMP change, drain, failure) breaks; use lb_algo = mh (with mh-port) or sh`,
      );
    }
  }
  const b = cfg.bgp;
  if (!b) return;
  if (announcing === 0) sink.warn(b.line, ProblemCode.Doubtful, '[bgp]: no virtual server says announce = bgp, so nothing is announced');
  if (b.syncDaemon && cfg.global.lvsSyncDaemon) {
    sink.error(
      b.syncDaemon.line,
      ProblemCode.Conflict,
      `[bgp] sync_daemon and [global] lvs_sync_daemon (line ${cfg.global.lvsSyncDaemon.line}) both drive the kernel's one pair of sync daemons: keep one`,
    );
  }
}
