/**
 * `/proc/net/ip_vs`: every service and every dest of the network namespace,
 * with each dest's forwarding method, weight and active/inactive connection
 * counts, in one read (`net/netfilter/ipvs/ip_vs_ctl.c`, `ip_vs_info_seq_show`).
 * Over netlink the same dest figures take one IPVS_CMD_GET_DEST dump per
 * service; the file has no traffic counters (those are netlink only).
 *
 * ```
 * IP Virtual Server version 1.2.1 (size=4096)
 * Prot LocalAddress:Port Scheduler Flags
 *   -> RemoteAddress:Port Forward Weight ActiveConn InActConn
 * TCP  C0000264:0050 wlc
 *   -> C6336401:1F90      Masq    3      0          0
 * UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 rr persistent 300 00000080
 *   -> [2001:0db8:0000:0000:0000:0000:0000:000a]:0035      Route   0      0          0
 * FWM  00000007 rr
 *   -> C6336402:0000      Tunnel  1      0          0
 * ```
 *
 * IPv4 addresses are the host-order value in hex, IPv6 ones `%pI6` (eight
 * groups of four hex digits), ports hex. A firewall-mark line does not say
 * its family: it is taken from its first dest (see {@link ProcIpvsTable.find}).
 */
import { canonicalAddress, serviceKeyId } from './addr';
import type { Family, FwdMethod, Protocol, ServiceKey } from './types';

/** One dest line. */
export interface ProcDest {
  readonly address: string;
  readonly port: number;
  readonly family: Family;
  readonly fwdMethod: FwdMethod;
  readonly weight: number;
  readonly activeConns: number;
  readonly inactConns: number;
}

/** One service line and its dest lines. */
export interface ProcService {
  /** For a firewall-mark service the family is its first dest's (4 when it has none). */
  readonly key: ServiceKey;
  /** Whether `key.family` was read (an address service) or guessed (a firewall mark). */
  readonly familyKnown: boolean;
  readonly scheduler: string;
  readonly dests: readonly ProcDest[];
}

/** `ip_vs_fwd_name` → lvsd's names. */
const FWD: Readonly<Record<string, FwdMethod>> = { Masq: 'NAT', Local: 'LOCAL', Tunnel: 'TUN', Route: 'DR' };
const PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);

const HEX = /^[0-9A-Fa-f]+$/;

/** The value of hex digits `text` (exactly `len` of them); NaN when it is not that. */
function hex(text: string, len: number): number {
  return text.length === len && HEX.test(text) ? parseInt(text, 16) : NaN;
}

/** `host:port` of the file: `C0000264:0050` or `[2001:0db8:…]:0035`; undefined when malformed. */
function endpoint(text: string): { address: string; port: number; family: Family } | undefined {
  const colon = text.lastIndexOf(':');
  const port = hex(text.slice(colon + 1), 4);
  if (colon < 0 || Number.isNaN(port)) return undefined;
  if (text.charCodeAt(0) !== 0x5b /* [ */) {
    const n = hex(text.slice(0, colon), 8);
    if (Number.isNaN(n)) return undefined;
    return { address: `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`, port, family: 4 };
  }
  if (text.charCodeAt(colon - 1) !== 0x5d /* ] */) return undefined;
  try {
    return { address: canonicalAddress(text.slice(1, colon - 1)), port, family: 6 };
  } catch {
    return undefined;
  }
}

/** The whitespace-separated words of `line` from `from` on (no regular expression: 11,000 lines per read). */
function words(line: string, from: number): string[] {
  const out: string[] = [];
  let i = from;
  const n = line.length;
  while (i < n) {
    while (i < n && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    const start = i;
    while (i < n && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
    if (i > start) out.push(line.slice(start, i));
  }
  return out;
}

/** A decimal integer, or NaN. */
function int(text: string | undefined): number {
  if (text === undefined || text.length === 0) return NaN;
  const v = Number(text);
  return Number.isInteger(v) ? v : NaN;
}

/** The parsed file, with a lookup by service key. */
export class ProcIpvsTable {
  private readonly byId = new Map<string, ProcService>();
  private readonly byMark = new Map<number, ProcService[]>();

  constructor(readonly services: readonly ProcService[]) {
    for (const s of services) {
      if ('fwmark' in s.key) {
        const list = this.byMark.get(s.key.fwmark) ?? [];
        list.push(s);
        this.byMark.set(s.key.fwmark, list);
      } else this.byId.set(serviceKeyId(s.key), s);
    }
  }

  /**
   * The service with `key`. A firewall mark used by one service only is
   * that service whatever its family; with an IPv4 and an IPv6 service on one
   * mark, the one whose dests have `key`'s family, or undefined when that
   * cannot be told.
   */
  find(key: ServiceKey): ProcService | undefined {
    if (!('fwmark' in key)) return this.byId.get(serviceKeyId(key));
    const list = this.byMark.get(key.fwmark) ?? [];
    if (list.length === 1) return list[0];
    const same = list.filter((s) => s.dests.length > 0 && s.key.family === key.family);
    return same.length === 1 ? same[0] : undefined;
  }
}

/**
 * Parses the text of `/proc/net/ip_vs`. Lines it does not understand (a
 * protocol other than TCP/UDP/SCTP, a malformed address) are skipped, with
 * the dest lines under them: the caller then keeps what it knew.
 */
export function parseProcIpvs(text: string): ProcIpvsTable {
  const services: ProcService[] = [];
  let current: { key: ServiceKey; familyKnown: boolean; scheduler: string; dests: ProcDest[] } | null = null;
  const close = (): void => {
    if (!current) return;
    if ('fwmark' in current.key && current.dests.length > 0) current.key = { fwmark: current.key.fwmark, family: current.dests[0]!.family };
    services.push(current);
    current = null;
  };
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end);
    pos = end + 1;
    if (line.startsWith('  -> ')) {
      if (!current) continue;
      const f = words(line, 5);
      if (f.length < 5) continue;
      const ep = endpoint(f[0]!);
      const fwdMethod = FWD[f[1]!];
      const weight = int(f[2]);
      const active = int(f[3]);
      const inact = int(f[4]);
      if (!ep || !fwdMethod || Number.isNaN(weight) || Number.isNaN(active) || Number.isNaN(inact)) continue;
      current.dests.push({ address: ep.address, port: ep.port, family: ep.family, fwdMethod, weight, activeConns: active, inactConns: inact });
      continue;
    }
    const f = words(line, 0);
    if (f.length < 3) continue;
    if (f[0] === 'FWM') {
      close();
      const mark = hex(f[1]!, 8);
      if (Number.isNaN(mark)) continue;
      current = { key: { family: 4, fwmark: mark }, familyKnown: false, scheduler: f[2]!, dests: [] };
    } else if (PROTOCOLS.has(f[0]!)) {
      close();
      const ep = endpoint(f[1]!);
      if (!ep) continue;
      current = { key: { family: ep.family, protocol: f[0] as Protocol, address: ep.address, port: ep.port }, familyKnown: true, scheduler: f[2]!, dests: [] };
    } else if (f[0] !== 'Prot' && !line.startsWith('IP Virtual Server')) {
      // Another protocol's service: its dest lines are not ours to read.
      close();
    }
  }
  close();
  return new ProcIpvsTable(services);
}
