/**
 * The read side of status and metrics (issue 14): /proc/net/ip_vs parsed as
 * ip_vs_ctl.c writes it, and dumps that never collide: the reader's own
 * socket, and dumps on one socket queued instead of refused with EBUSY.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseProcIpvs } from '../../src/kernel/ipvs/proc';
import type { IpvsDest, IpvsService, ServiceKey } from '../../src/kernel/ipvs/types';
import { IPVS_CMD } from '../../src/kernel/ipvs/wire/constants';
import { IpvsNetlinkKernel } from './ipvs-netlink-kernel';

// As Linux 6.1 prints it (ip_vs_info_seq_show): hex host-order IPv4, %pI6, hex ports, padded columns.
const PROC = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  C0000264:0050 wlc 
  -> C6336401:1F90      Masq    3      12         40        
  -> C6336402:1F90      Route   0      0          7         
UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 rr persistent 300 00000080
  -> [2001:0db8:0000:0000:0000:0000:0000:000a]:0035      Route   1      0          0         
FWM  00000007 sh ops 
  -> C6336403:0000      Tunnel  2      5          6         
FWM  00000007 rr 
  -> [2001:0db8:0000:0000:0000:0000:0000:000b]:0000      Masq    4      0          1         
IP_50  C0000265:0000 rr 
  -> C6336404:0000      Masq    1      0          0         
SCTP  C0000266:0B59 rr persistent 60 FFFFFF00
`;

const noFlags = { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false };
const svc = (key: ServiceKey): IpvsService => ({ key, scheduler: 'wlc', flags: noFlags, timeoutS: 0, netmask: key.family === 4 ? 32 : 128 });
const dest = (address: string, port: number): IpvsDest => ({ address, port, fwdMethod: 'NAT', weight: 1, upperThreshold: 0, lowerThreshold: 0 });

describe('/proc/net/ip_vs', () => {
  it('reads every service and dest with forwarding method, weight and connection counts', () => {
    const t = parseProcIpvs(PROC);
    const web = t.find({ family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 });
    assert.deepEqual(web?.dests, [
      { address: '198.51.100.1', port: 8080, family: 4, fwdMethod: 'NAT', weight: 3, activeConns: 12, inactConns: 40 },
      { address: '198.51.100.2', port: 8080, family: 4, fwdMethod: 'DR', weight: 0, activeConns: 0, inactConns: 7 },
    ]);
    assert.equal(web?.scheduler, 'wlc');
    const dns = t.find({ family: 6, protocol: 'UDP', address: '2001:db8::1', port: 53 });
    assert.deepEqual(dns?.dests, [{ address: '2001:db8::a', port: 53, family: 6, fwdMethod: 'DR', weight: 1, activeConns: 0, inactConns: 0 }]);
    assert.deepEqual(t.find({ family: 4, protocol: 'SCTP', address: '192.0.2.102', port: 2905 })?.dests, []);
  });

  it('tells the IPv4 and IPv6 services of one firewall mark apart by their dests, and skips what it cannot read', () => {
    const t = parseProcIpvs(PROC);
    assert.equal(t.find({ family: 4, fwmark: 7 })?.dests[0]?.fwdMethod, 'TUN');
    assert.equal(t.find({ family: 6, fwmark: 7 })?.dests[0]?.address, '2001:db8::b');
    assert.equal(t.find({ family: 4, fwmark: 8 }), undefined);
    // The IP_50 service's dest is not taken for the FWM service above it.
    assert.equal(t.find({ family: 6, fwmark: 7 })?.dests.length, 1);
    assert.equal(t.services.length, 5);
    assert.deepEqual(parseProcIpvs('').services, []);
    assert.deepEqual(parseProcIpvs('garbage\n  -> 1:2 Masq 1 2 3\nTCP  nothex:0050 rr\n  -> C6336401:1F90 Masq 1 0 0\n').services, []);
  });
});

describe('IpvsClient reads (issue 14: no EBUSY)', () => {
  const WEB: ServiceKey = { family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 };
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lvsd-reader-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function table(kernel: IpvsNetlinkKernel, services: number): Promise<void> {
    for (let s = 0; s < services; s++) {
      const key = { ...WEB, port: 1000 + s };
      await kernel.table.addService(svc(key));
      for (let d = 1; d <= 10; d++) await kernel.table.addDest(key, dest(`198.51.100.${d}`, 80));
    }
  }

  it('a dump asked for while another runs on the same socket waits for it instead of failing with EBUSY', async () => {
    const kernel = new IpvsNetlinkKernel();
    kernel.dumpChunk = 2;
    await table(kernel, 20);
    const c = kernel.client({ sharedReader: true });
    // The reconciler's whole-table read and status reads, all at once on one socket.
    const keys = Array.from({ length: 20 }, (_, s) => ({ ...WEB, port: 1000 + s }));
    const results = await Promise.allSettled([c.services(), ...keys.map((k) => c.dests(k)), c.reader().services(), ...keys.map((k) => c.reader().dests(k))]);
    assert.deepEqual(
      results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
      [],
    );
    assert.equal(kernel.requests.length, 42);
    assert.ok(kernel.requests.every((q) => q.socket === 0));
    c.close();
  });

  it('the reader has a socket of its own: its dumps go out while the writer\'s socket dumps', async () => {
    const kernel = new IpvsNetlinkKernel();
    kernel.dumpChunk = 1;
    await table(kernel, 5);
    const c = kernel.client({ procPath: path.join(dir, 'ip_vs') });
    await kernel.writeProc(path.join(dir, 'ip_vs'));
    let writerDone = false;
    const writerDump = c.dests({ ...WEB, port: 1000 }).then(() => (writerDone = true));
    let writerDoneFirst: boolean | undefined;
    const services = await c.reader().services().then((s) => ((writerDoneFirst = writerDone), s));
    assert.equal(writerDoneFirst, false, 'the reader did not wait for the writer socket\'s dump');
    const conns = await c.reader().connections!();
    await writerDump;
    assert.equal(services.length, 5);
    assert.deepEqual(
      kernel.requests.map((q) => [q.socket, q.cmd]),
      [
        [0, IPVS_CMD.GET_DEST],
        [1, IPVS_CMD.GET_SERVICE],
      ],
    );
    assert.equal(conns?.find({ ...WEB, port: 1004 })?.dests.length, 10);
    c.close();
    await assert.rejects(c.reader().services(), { name: 'IpvsClosedError' });
  });

  it('connections() is null when /proc/net/ip_vs cannot be read', async () => {
    const c = new IpvsNetlinkKernel().client({ procPath: path.join(dir, 'missing') });
    assert.equal(await c.reader().connections!(), null);
    c.close();
  });
});
