/**
 * IpvsClient over a scripted netlink transport whose "kernel" is a FakeIpvs: requests are
 * decoded with the wire decoders, applied to the fake, and answered with ACKs, errnos or
 * dump messages. Proves the batching bounds, the errno → IpvsError mapping and that the
 * codec round-trips every field.
 */
import * as assert from 'node:assert/strict';
import { IpvsClient } from '../../src/kernel/ipvs/client';
import { FakeIpvs } from '../../src/kernel/ipvs/fake';
import { ERRNO_BY_NAME } from '../../src/kernel/ipvs/errno';
import { IPVS_CMD } from '../../src/kernel/ipvs/wire/constants';
import { decodeDest, decodeService } from '../../src/kernel/ipvs/wire/decode';
import { serviceNest } from '../../src/kernel/ipvs/wire/encode';
import type { IpvsDest, IpvsOp, IpvsService, ServiceKey } from '../../src/kernel/ipvs/types';
import { GenlSocket, decodeGenl, encodeGenl, type GenlFamily } from '../../src/kernel/netlink/genl';
import { NLM_F, NLMSG, attrMap, concat, encodeMessage, parseMessages, type NlMessage } from '../../src/kernel/netlink/message';
import { NetlinkSocket, type NetlinkTransport } from '../../src/kernel/netlink/socket';

const FAMILY: GenlFamily = { id: 0x20, name: 'IPVS', version: 1, hdrSize: 0, maxAttr: 3, mcastGroups: new Map() };

/** A netlink "kernel" backed by FakeIpvs; records the datagrams' message counts. */
class FakeKernelTransport implements NetlinkTransport {
  readonly datagrams: number[] = [];
  maxUnanswered = 0;
  private deliver: ((d: Uint8Array, g: number) => void) | undefined;
  private unanswered = 0;
  constructor(readonly ipvs: FakeIpvs) {}

  start(onDatagram: (d: Uint8Array, g: number) => void): void {
    this.deliver = onDatagram;
  }
  joinGroup(): void {}
  close(): void {}

  send(data: Uint8Array): void {
    const msgs = parseMessages(data);
    this.datagrams.push(msgs.length);
    this.unanswered += msgs.length;
    this.maxUnanswered = Math.max(this.maxUnanswered, this.unanswered);
    // Answers arrive a little later, as from a busy kernel, so several datagrams can be unanswered.
    setTimeout(() => void this.answer(msgs), 2);
  }

  private async answer(msgs: NlMessage[]): Promise<void> {
    const out: Uint8Array[] = [];
    for (const m of msgs) {
      out.push(...(await this.handle(m)));
      this.unanswered--;
    }
    this.deliver?.(concat(out), 0);
  }

  private ack(req: NlMessage, errno: number): Uint8Array {
    const p = new Uint8Array(4 + 16);
    const v = new DataView(p.buffer);
    v.setInt32(0, -errno, true);
    p.set(encodeMessage({ ...req, payload: new Uint8Array(0) }).subarray(0, 16), 4);
    v.setUint32(4, 16, true);
    return encodeMessage({ type: NLMSG.ERROR, flags: NLM_F.CAPPED, seq: req.seq, pid: 0, payload: p });
  }

  private async handle(m: NlMessage): Promise<Uint8Array[]> {
    const { cmd, body } = decodeGenl(m.payload);
    const top = attrMap(body);
    const reply = (attrs: Parameters<typeof encodeGenl>[2]): Uint8Array => encodeMessage({ type: FAMILY.id, flags: NLM_F.MULTI, seq: m.seq, pid: 0, payload: encodeGenl(cmd, 1, attrs) });
    const done = encodeMessage({ type: NLMSG.DONE, flags: NLM_F.MULTI, seq: m.seq, pid: 0, payload: new Uint8Array(4) });
    try {
      const svc = top.has(1) ? decodeService(body) : undefined;
      const key = svc?.key as ServiceKey;
      const dst = top.has(2) ? decodeDest(body, key.family) : undefined;
      switch (cmd) {
        case IPVS_CMD.NEW_SERVICE:
          await this.ipvs.addService(svc!);
          break;
        case IPVS_CMD.SET_SERVICE:
          await this.ipvs.editService(svc!);
          break;
        case IPVS_CMD.DEL_SERVICE:
          await this.ipvs.delService(key);
          break;
        case IPVS_CMD.NEW_DEST:
          await this.ipvs.addDest(key, strip(dst!));
          break;
        case IPVS_CMD.SET_DEST:
          await this.ipvs.editDest(key, strip(dst!));
          break;
        case IPVS_CMD.DEL_DEST:
          await this.ipvs.delDest(key, dst!);
          break;
        case IPVS_CMD.GET_SERVICE:
          return [...(await this.ipvs.services()).map((s) => reply([serviceNest(s)])), done];
        default:
          return [this.ack(m, ERRNO_BY_NAME.EOPNOTSUPP!)];
      }
      return [this.ack(m, 0)];
    } catch (e) {
      return [this.ack(m, (e as { errno: number }).errno)];
    }
  }
}

function strip(d: IpvsDest & { stats?: unknown }): IpvsDest {
  const { stats, ...rest } = d;
  void stats;
  return rest;
}

const noFlags = { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false };
const WEB: ServiceKey = { family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 };
const svc = (key: ServiceKey, more: Partial<IpvsService> = {}): IpvsService => ({ key, scheduler: 'wlc', flags: noFlags, timeoutS: 0, netmask: key.family === 4 ? 32 : 128, ...more });
const dest = (address: string, port: number, more: Partial<IpvsDest> = {}): IpvsDest => ({ address, port, fwdMethod: 'NAT', weight: 1, upperThreshold: 0, lowerThreshold: 0, ...more });

function setup(opts: { maxInFlight?: number; batchSize?: number } = {}): { client: IpvsClient; fake: FakeIpvs; t: FakeKernelTransport } {
  const fake = new FakeIpvs();
  const t = new FakeKernelTransport(fake);
  const client = new IpvsClient(new GenlSocket(new NetlinkSocket(t)), FAMILY, opts);
  return { client, fake, t };
}

describe('IpvsClient over a FakeIpvs-backed netlink kernel', () => {
  it('round-trips every service and dest field through the codec', async () => {
    const { client, fake } = setup();
    const services = [
      svc(WEB, { scheduler: 'sh', flags: { ...noFlags, sched1: true, sched2: true, sched3: true, onePacket: true } }),
      svc({ family: 6, fwmark: 9 }, { flags: { ...noFlags, persistent: true }, timeoutS: 360, netmask: 48 }),
      svc({ family: 4, protocol: 'SCTP', address: '192.0.2.7', port: 9 }, { pe: 'sip', netmask: 0 }),
    ];
    const dests = [
      dest('198.51.100.1', 8080, { weight: 0x7fffffff, upperThreshold: 0xffffffff, lowerThreshold: 7 }),
      dest('198.51.100.2', 80, { fwdMethod: 'TUN', tunType: 'gue', tunPort: 6080, tunFlags: 3 }),
      dest('2001:db8::2', 80, { fwdMethod: 'TUN', family: 6 }),
    ];
    const rs = await client.apply([...services.map((s): IpvsOp => ({ op: 'addService', service: s })), ...dests.map((d): IpvsOp => ({ op: 'addDest', key: WEB, dest: d }))]);
    assert.deepEqual(rs, rs.map(() => ({ ok: true })));
    assert.deepEqual(await client.services(), services);
    assert.deepEqual(await fake.dests(WEB), dests);
  });

  it('maps kernel errnos to IpvsErrors per op and keeps going after a refusal', async () => {
    const { client } = setup();
    const rs = await client.apply([
      { op: 'addService', service: svc(WEB) },
      { op: 'addService', service: svc(WEB) },
      { op: 'delDest', key: WEB, dest: { address: '198.51.100.9', port: 80 } },
      { op: 'addDest', key: WEB, dest: dest('198.51.100.1', 80) },
      { op: 'addDest', key: WEB, dest: dest('not-an-address', 80) },
    ]);
    assert.deepEqual(
      rs.map((r) => (r.ok ? 'ok' : `${r.error.code} ${r.error.command} ${r.error.message}`)),
      [
        'ok',
        'EEXIST IPVS_CMD_NEW_SERVICE adding service TCP 192.0.2.100:80: EEXIST',
        'ENOENT IPVS_CMD_DEL_DEST deleting dest 198.51.100.9:80 from TCP 192.0.2.100:80: ENOENT',
        'ok',
        'EINVAL IPVS_CMD_NEW_DEST adding dest not-an-address:80 to TCP 192.0.2.100:80: EINVAL (invalid IPVS argument: "not-an-address" is not an IPv4 address)',
      ],
    );
    await assert.rejects(client.delService({ family: 4, fwmark: 3 }), { name: 'IpvsError', code: 'ESRCH', message: 'deleting service FWM 3: ESRCH' });
  });

  it('sends at most batchSize messages per datagram and keeps at most maxInFlight unanswered', async () => {
    const { client, fake, t } = setup({ maxInFlight: 40, batchSize: 16 });
    const ops: IpvsOp[] = [{ op: 'addService', service: svc(WEB) }];
    for (let i = 0; i < 500; i++) ops.push({ op: 'addDest', key: WEB, dest: dest(`198.51.100.${i % 250}`, 1000 + i) });
    const rs = await client.apply(ops);
    assert.equal(rs.filter((r) => r.ok).length, 501);
    assert.equal(fake.size.dests, 500);
    assert.ok(Math.max(...t.datagrams) <= 16, `datagram sizes ${t.datagrams.join(',')}`);
    assert.equal(t.datagrams.reduce((a, b) => a + b, 0), 501);
    assert.ok(t.maxUnanswered <= 40, `max unanswered ${t.maxUnanswered}`);
    assert.ok(t.maxUnanswered > 16, 'several datagrams were in flight at once');
  });

  it('rejects with IpvsClosedError after close', async () => {
    const { client } = setup();
    client.close();
    await assert.rejects(client.apply([{ op: 'delService', key: WEB }]), { name: 'IpvsClosedError' });
    await assert.rejects(client.services(), { name: 'IpvsClosedError' });
  });
});
