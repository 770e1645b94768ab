/**
 * A netlink "kernel" for IpvsClient tests and the scrape benchmark: IPVS
 * generic netlink requests are decoded, applied to a FakeIpvs and answered as
 * ip_vs_ctl.c answers them (ACKs, errnos, GET_SERVICE and GET_DEST dumps with
 * counters), over as many sockets as the client opens. It records every
 * request message per socket and, like af_netlink.c's `netlink_dump_start`,
 * refuses a dump with EBUSY on a socket whose previous dump has not been read
 * to its end (a dump's answer is delivered in datagrams of
 * {@link IpvsNetlinkKernel.dumpChunk} messages, one per event-loop turn).
 * It also writes the table as `/proc/net/ip_vs` shows it.
 */
import { writeFileSync } from 'node:fs';
import { formatAddress } from '../../src/kernel/ipvs/addr';
import { IpvsClient } from '../../src/kernel/ipvs/client';
import { ERRNO_BY_NAME } from '../../src/kernel/ipvs/errno';
import { FakeIpvs } from '../../src/kernel/ipvs/fake';
import type { IpvsDest, IpvsDestStats, IpvsService, IpvsStats, ServiceKey } from '../../src/kernel/ipvs/types';
import { IPVS_CMD, IPVS_CMD_ATTR, IPVS_DEST_ATTR, IPVS_STATS_ATTR, IPVS_SVC_ATTR } from '../../src/kernel/ipvs/wire/constants';
import { decodeDest, decodeService } from '../../src/kernel/ipvs/wire/decode';
import { destNest, serviceNest } from '../../src/kernel/ipvs/wire/encode';
import { GenlSocket, decodeGenl, encodeGenl, type GenlFamily } from '../../src/kernel/netlink/genl';
import { NLM_F, NLMSG, attrMap, attrU32, concat, readU16, readU32, encodeMessage, parseMessages, type AttrInput, type NlMessage } from '../../src/kernel/netlink/message';
import { NetlinkSocket, type NetlinkTransport } from '../../src/kernel/netlink/socket';

/** The IPVS family as the fake controller resolves it. */
export const FAKE_IPVS_FAMILY: GenlFamily = { id: 0x20, name: 'IPVS', version: 1, hdrSize: 0, maxAttr: 3, mcastGroups: new Map() };

/** One request message the kernel received. */
export interface RecordedRequest {
  /** Which socket (0 = the first opened). */
  readonly socket: number;
  readonly cmd: number;
  readonly dump: boolean;
}

function u64(type: number, v: number): AttrInput {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return { type, value: b };
}

function statsNest(type: number, s: IpvsStats): AttrInput {
  const S = IPVS_STATS_ATTR;
  return {
    type,
    nested: [u64(S.CONNS, s.conns), u64(S.INPKTS, s.inpkts), u64(S.OUTPKTS, s.outpkts), u64(S.INBYTES, s.inbytes), u64(S.OUTBYTES, s.outbytes), u64(S.CPS, s.cps), u64(S.INPPS, s.inpps), u64(S.OUTPPS, s.outpps), u64(S.INBPS, s.inbps), u64(S.OUTBPS, s.outbps)],
  };
}

/** The service key of a GET_DEST dump's selector (IPVS_CMD_ATTR_SERVICE with the key attributes only). */
function selectorKey(body: Uint8Array): ServiceKey {
  const m = attrMap(attrMap(body).get(IPVS_CMD_ATTR.SERVICE)!);
  const family = readU16(m.get(IPVS_SVC_ATTR.AF)!) === 2 ? 4 : 6;
  const fw = m.get(IPVS_SVC_ATTR.FWMARK);
  if (fw && readU32(fw) !== 0) return { family, fwmark: readU32(fw) };
  const proto = readU16(m.get(IPVS_SVC_ATTR.PROTOCOL)!);
  const addr = m.get(IPVS_SVC_ATTR.ADDR)!.subarray(0, family === 4 ? 4 : 16);
  const port = (m.get(IPVS_SVC_ATTR.PORT)![0]! << 8) | m.get(IPVS_SVC_ATTR.PORT)![1]!;
  return { family, protocol: proto === 6 ? 'TCP' : proto === 17 ? 'UDP' : 'SCTP', address: formatAddress(addr), port };
}

function strip(d: IpvsDest & { stats?: unknown }): IpvsDest {
  const { stats, ...rest } = d;
  void stats;
  return rest;
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

function procAddr(address: string, port: number): string {
  if (!address.includes(':')) {
    const n = address.split('.').reduce((a, x) => a * 256 + Number(x), 0);
    return `${n.toString(16).toUpperCase().padStart(8, '0')}:${hex4(port)}`;
  }
  // %pI6: eight groups of four lower-case hex digits.
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return `[${groups.map((g) => g.padStart(4, '0')).join(':')}]:${hex4(port)}`;
}

/** The fake kernel; see the file's doc. */
export class IpvsNetlinkKernel {
  readonly requests: RecordedRequest[] = [];
  /** Messages per datagram of a dump's answer. */
  dumpChunk = 16;
  /** Added to every counter: moves the figures between reads. */
  tick = 1;
  /** Time spent building dump answers (ms): the kernel's work, not the client's. */
  answerMs = 0;
  private sockets = 0;

  constructor(readonly table: FakeIpvs = new FakeIpvs({ record: false })) {}

  /** Traffic figures of a service or dest (a function of the tick, the service's port and the dest's). */
  stats(key: ServiceKey, dest?: { port: number }): IpvsDestStats {
    const base = this.tick * 1000 + ('port' in key ? key.port : key.fwmark) + (dest ? dest.port * 7 : 0);
    return { conns: base, inpkts: base * 3, outpkts: base * 2, inbytes: base * 300, outbytes: base * 200, cps: 1, inpps: 2, outpps: 3, inbps: 4, outbps: 5, activeConns: dest ? 2 : 0, inactConns: dest ? 1 : 0, persistConns: 0 };
  }

  /** Request messages received, optionally on one socket only. */
  count(socket?: number): number {
    return socket === undefined ? this.requests.length : this.requests.filter((r) => r.socket === socket).length;
  }

  /** A new socket of this kernel. */
  transport(): NetlinkTransport {
    const kernel = this;
    const socket = this.sockets++;
    let deliver: ((d: Uint8Array, g: number) => void) | undefined;
    let dumping = false;
    return {
      start(onDatagram) {
        deliver = onDatagram;
      },
      joinGroup() {},
      close() {},
      send(data) {
        const msgs = parseMessages(data);
        for (const m of msgs) kernel.requests.push({ socket, cmd: decodeGenl(m.payload).cmd, dump: (m.flags & NLM_F.DUMP) === NLM_F.DUMP });
        setImmediate(() => void answer(msgs));
      },
    };
    async function answer(msgs: NlMessage[]): Promise<void> {
      const acks: Uint8Array[] = [];
      for (const m of msgs) {
        if ((m.flags & NLM_F.DUMP) !== NLM_F.DUMP) {
          acks.push(await kernel.handle(m));
          continue;
        }
        if (dumping) {
          acks.push(kernel.ack(m, ERRNO_BY_NAME.EBUSY!));
          continue;
        }
        dumping = true;
        const t0 = performance.now();
        const parts = await kernel.dump(m);
        kernel.answerMs += performance.now() - t0;
        if (acks.length) deliver?.(concat(acks.splice(0)), 0);
        for (let i = 0; i < parts.length; i += kernel.dumpChunk) {
          deliver?.(concat(parts.slice(i, i + kernel.dumpChunk)), 0);
          await new Promise((r) => setImmediate(r));
        }
        dumping = false;
      }
      if (acks.length) deliver?.(concat(acks), 0);
    }
  }

  /** An IpvsClient on this kernel whose reader opens a socket of its own. */
  client(opts: { procPath?: string; sharedReader?: boolean } = {}): IpvsClient {
    return new IpvsClient(new GenlSocket(new NetlinkSocket(this.transport())), FAKE_IPVS_FAMILY, {
      ...(opts.procPath ? { procPath: opts.procPath } : {}),
      ...(opts.sharedReader ? {} : { openReader: () => new GenlSocket(new NetlinkSocket(this.transport())) }),
    });
  }

  /** Writes the table as `/proc/net/ip_vs` shows it (active 2, inactive 1 per dest) to `file`. */
  async writeProc(file: string): Promise<void> {
    const out = ['IP Virtual Server version 1.2.1 (size=4096)', 'Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn'];
    const fwd = { NAT: 'Masq', DR: 'Route', TUN: 'Tunnel', LOCAL: 'Local' } as const;
    for (const s of await this.table.services()) {
      const k = s.key;
      out.push('fwmark' in k ? `FWM  ${k.fwmark.toString(16).toUpperCase().padStart(8, '0')} ${s.scheduler} ` : `${k.protocol}  ${procAddr(k.address, k.port)} ${s.scheduler} `);
      for (const d of await this.table.dests(k)) out.push(`  -> ${procAddr(d.address, d.port)}      ${fwd[d.fwdMethod].padEnd(7)} ${String(d.weight).padEnd(6)} ${'2'.padEnd(10)} ${'1'.padEnd(10)}`);
    }
    writeFileSync(file, `${out.join('\n')}\n`);
  }

  ack(req: NlMessage, errno: number): Uint8Array {
    const p = new Uint8Array(4 + 16);
    const v = new DataView(p.buffer);
    v.setInt32(0, -errno, true);
    p.set(encodeMessage({ ...req, payload: new Uint8Array(0) }).subarray(0, 16), 4);
    v.setUint32(4, 16, true);
    return encodeMessage({ type: NLMSG.ERROR, flags: NLM_F.CAPPED, seq: req.seq, pid: 0, payload: p });
  }

  private async dump(m: NlMessage): Promise<Uint8Array[]> {
    const { cmd, body } = decodeGenl(m.payload);
    const reply = (attrs: AttrInput[]): Uint8Array => encodeMessage({ type: FAKE_IPVS_FAMILY.id, flags: NLM_F.MULTI, seq: m.seq, pid: 0, payload: encodeGenl(cmd, 1, attrs) });
    const done = encodeMessage({ type: NLMSG.DONE, flags: NLM_F.MULTI, seq: m.seq, pid: 0, payload: new Uint8Array(4) });
    if (cmd === IPVS_CMD.GET_SERVICE) {
      const out: Uint8Array[] = [];
      for (const s of await this.table.services()) {
        const nest = serviceNest(s) as { type: number; nested: AttrInput[] };
        out.push(reply([{ type: nest.type, nested: [...nest.nested, statsNest(IPVS_SVC_ATTR.STATS64, this.stats(s.key))] }]));
      }
      return [...out, done];
    }
    if (cmd === IPVS_CMD.GET_DEST) {
      // ip_vs_genl_dump_dests: an unknown service ends the dump with nothing in it.
      const key = selectorKey(body);
      const out: Uint8Array[] = [];
      const known = (await this.table.services()).some((s: IpvsService) => JSON.stringify(s.key) === JSON.stringify(key));
      for (const d of known ? await this.table.dests(key) : []) {
        const st = this.stats(key, d);
        const nest = destNest(key.family, d) as { type: number; nested: AttrInput[] };
        const extra = [attrU32(IPVS_DEST_ATTR.ACTIVE_CONNS, st.activeConns), attrU32(IPVS_DEST_ATTR.INACT_CONNS, st.inactConns), attrU32(IPVS_DEST_ATTR.PERSIST_CONNS, st.persistConns), statsNest(IPVS_DEST_ATTR.STATS64, st)];
        out.push(reply([{ type: nest.type, nested: [...nest.nested, ...extra] }]));
      }
      return [...out, done];
    }
    return [this.ack(m, ERRNO_BY_NAME.EOPNOTSUPP!)];
  }

  private async handle(m: NlMessage): Promise<Uint8Array> {
    const { cmd, body } = decodeGenl(m.payload);
    const top = attrMap(body);
    try {
      const svc = top.has(1) ? decodeService(body) : undefined;
      const key = svc?.key as ServiceKey;
      const dst = top.has(2) ? decodeDest(body, key.family) : undefined;
      switch (cmd) {
        case IPVS_CMD.NEW_SERVICE:
          await this.table.addService(svc!);
          break;
        case IPVS_CMD.SET_SERVICE:
          await this.table.editService(svc!);
          break;
        case IPVS_CMD.DEL_SERVICE:
          await this.table.delService(key);
          break;
        case IPVS_CMD.NEW_DEST:
          await this.table.addDest(key, strip(dst!));
          break;
        case IPVS_CMD.SET_DEST:
          await this.table.editDest(key, strip(dst!));
          break;
        case IPVS_CMD.DEL_DEST:
          await this.table.delDest(key, dst!);
          break;
        default:
          return this.ack(m, ERRNO_BY_NAME.EOPNOTSUPP!);
      }
      return this.ack(m, 0);
    } catch (e) {
      return this.ack(m, (e as { errno: number }).errno);
    }
  }
}
