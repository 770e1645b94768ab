/**
 * Golden op lists of the IPVS diff: the observed table is a real FakeIpvs
 * dump (built by applying ops), the expected lists are written out in full.
 */
import * as assert from 'node:assert/strict';
import { serviceKeyId } from '../../src/kernel/ipvs/addr';
import { FakeIpvs } from '../../src/kernel/ipvs/fake';
import type { IpvsOp } from '../../src/kernel/ipvs/types';
import { desiredState, type RsHealth } from '../../src/reconcile/desired';
import { diffIpvs, diffService, type ObservedService } from '../../src/reconcile/diff';
import { describeOp } from '../../src/reconcile/reconciler';
import { conf, observeAll, WEB } from './helpers';

function desired(lines: readonly string[], health: Record<string, RsHealth> = {}, quorum?: Record<string, boolean>) {
  return desiredState({
    config: conf(lines),
    health: new Map(Object.entries(health)),
    overrides: new Map(),
    ...(quorum ? { quorum: new Map(Object.entries(quorum)) } : {}),
  }).services;
}

/** A kernel table holding exactly what `lines` wants (plus `extra` ops), observed back. */
async function kernelOf(lines: readonly string[] | null, extra: IpvsOp[] = []): Promise<{ ipvs: FakeIpvs; observed: ObservedService[] }> {
  const ipvs = new FakeIpvs();
  const ops = lines ? diffIpvs(desired(lines), [], new Set()) : [];
  const res = await ipvs.apply([...ops, ...extra]);
  assert.ok(res.every((r) => r.ok), 'setting up the fake kernel');
  return { ipvs, observed: await observeAll(ipvs) };
}

const managedOf = (d: ReturnType<typeof desired>, more: string[] = []) => new Set([...d.map((s) => serviceKeyId(s.service.key)), ...more]);
const golden = (ops: IpvsOp[]) => ops.map(describeOp);

const FOREIGN: IpvsOp[] = [
  {
    op: 'addService',
    service: { key: { family: 4, protocol: 'TCP', address: '203.0.113.50', port: 25 }, scheduler: 'rr', flags: { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false }, timeoutS: 0, netmask: 32 },
  },
  { op: 'addDest', key: { family: 4, protocol: 'TCP', address: '203.0.113.50', port: 25 }, dest: { address: '203.0.113.51', port: 25, fwdMethod: 'DR', weight: 5, upperThreshold: 0, lowerThreshold: 0 } },
];

describe('reconcile/diff', () => {
  it('fresh table: the service, then its dests', () => {
    const d = desired(WEB);
    const ops = diffIpvs(d, [], managedOf(d));
    assert.deepEqual(ops, [
      {
        op: 'addService',
        service: { key: { family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 }, scheduler: 'wlc', flags: { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false }, timeoutS: 0, netmask: 32 },
      },
      { op: 'addDest', key: { family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 }, dest: { address: '198.51.100.1', port: 80, fwdMethod: 'NAT', weight: 1, upperThreshold: 0, lowerThreshold: 0 } },
      { op: 'addDest', key: { family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 }, dest: { address: '198.51.100.2', port: 80, fwdMethod: 'NAT', weight: 2, upperThreshold: 0, lowerThreshold: 0 } },
    ]);
  });

  it('adopting an identical table gives no ops', async () => {
    const { observed } = await kernelOf(WEB);
    const d = desired(WEB);
    assert.deepEqual(diffIpvs(d, observed, managedOf(d)), []);
  });

  it('a weight change is one editDest', async () => {
    const { observed } = await kernelOf(WEB);
    const d = desired(WEB.map((l) => (l === 'weight = 2' ? 'weight = 5' : l)));
    assert.deepEqual(golden(diffIpvs(d, observed, managedOf(d))), ['edit dest 198.51.100.2:80 NAT weight 5 of TCP 192.0.2.100:80']);
  });

  it('RS down with inhibit_on_failure: editDest to weight 0; without: delDest', async () => {
    const inhibit = [...WEB, 'inhibit_on_failure = true'];
    const k1 = await kernelOf(inhibit);
    const d1 = desired(inhibit, { 'web/rs2': { up: false } });
    assert.deepEqual(golden(diffIpvs(d1, k1.observed, managedOf(d1))), ['edit dest 198.51.100.2:80 NAT weight 0 of TCP 192.0.2.100:80']);
    const k2 = await kernelOf(WEB);
    const d2 = desired(WEB, { 'web/rs2': { up: false } });
    assert.deepEqual(golden(diffIpvs(d2, k2.observed, managedOf(d2))), ['delete dest 198.51.100.2:80 from TCP 192.0.2.100:80']);
  });

  it('quorum lost: the sorry server comes in before the pool goes out; regained: the reverse', async () => {
    const lines = [...WEB.slice(0, 7), 'quorum = 2', 'sorry_server = 203.0.113.9:80', ...WEB.slice(7)];
    const k = await kernelOf(lines);
    const lost = desired(lines, { 'web/rs2': { up: false } }, { web: true });
    assert.deepEqual(golden(diffIpvs(lost, k.observed, managedOf(lost))), [
      'add dest 203.0.113.9:80 NAT weight 1 to TCP 192.0.2.100:80',
      'delete dest 198.51.100.1:80 from TCP 192.0.2.100:80',
      'delete dest 198.51.100.2:80 from TCP 192.0.2.100:80',
    ]);
    await k.ipvs.apply(diffIpvs(lost, k.observed, managedOf(lost)));
    const back = desired(lines, {}, { web: false });
    assert.deepEqual(golden(diffIpvs(back, await observeAll(k.ipvs), managedOf(back))), [
      'add dest 198.51.100.1:80 NAT weight 1 to TCP 192.0.2.100:80',
      'add dest 198.51.100.2:80 NAT weight 2 to TCP 192.0.2.100:80',
      'delete dest 203.0.113.9:80 from TCP 192.0.2.100:80',
    ]);
  });

  it('leaves a foreign service and its dests alone', async () => {
    const { observed } = await kernelOf(WEB, FOREIGN);
    assert.equal(observed.length, 2);
    const d = desired(WEB);
    assert.deepEqual(diffIpvs(d, observed, managedOf(d)), []);
    // Even with an empty desired table, an unmanaged service is not deleted.
    assert.deepEqual(diffIpvs([], observed, managedOf(d)).filter((o) => 'key' in o && (o.key as { address?: string }).address === '203.0.113.50'), []);
  });

  it('a removed virtual server (still managed) is deleted dests first, then the service', async () => {
    const two = [...WEB, '[virtual_server.dns]', 'address = 192.0.2.100:53', 'protocol = UDP', 'lb_algo = rr', '[real_server.dns.a]', 'address = 198.51.100.5:53'];
    const k = await kernelOf(two);
    const d = desired(WEB);
    const dnsId = serviceKeyId({ family: 4, protocol: 'UDP', address: '192.0.2.100', port: 53 });
    assert.deepEqual(golden(diffIpvs(d, k.observed, managedOf(d, [dnsId]))), [
      'delete dest 198.51.100.5:53 from UDP 192.0.2.100:53',
      'delete service UDP 192.0.2.100:53',
    ]);
    assert.deepEqual(diffIpvs(d, k.observed, managedOf(d)), [], 'not managed: left alone');
  });

  it('repairs hand-made drift inside a managed service: extra dest out, changed weight back, missing dest in', async () => {
    const key = { family: 4 as const, protocol: 'TCP' as const, address: '192.0.2.100', port: 80 };
    const k = await kernelOf(WEB, [
      { op: 'addDest', key, dest: { address: '198.51.100.77', port: 80, fwdMethod: 'NAT', weight: 1, upperThreshold: 0, lowerThreshold: 0 } },
      { op: 'editDest', key, dest: { address: '198.51.100.1', port: 80, fwdMethod: 'NAT', weight: 9, upperThreshold: 0, lowerThreshold: 0 } },
      { op: 'delDest', key, dest: { address: '198.51.100.2', port: 80 } },
    ]);
    const d = desired(WEB);
    assert.deepEqual(golden(diffIpvs(d, k.observed, managedOf(d))), [
      'edit dest 198.51.100.1:80 NAT weight 1 of TCP 192.0.2.100:80',
      'add dest 198.51.100.2:80 NAT weight 2 to TCP 192.0.2.100:80',
      'delete dest 198.51.100.77:80 from TCP 192.0.2.100:80',
    ]);
  });

  it('scheduler, persistence and forwarding-method changes are edits in place', async () => {
    const k = await kernelOf(WEB);
    const lines = WEB.map((l) => (l === 'lb_algo = wlc' ? 'lb_algo = rr' : l === 'lb_kind = NAT' ? 'lb_kind = DR' : l)).concat();
    lines.splice(7, 0, 'persistence_timeout = 600');
    const d = desired(lines);
    assert.deepEqual(golden(diffIpvs(d, k.observed, managedOf(d))), [
      'edit service TCP 192.0.2.100:80 rr persistent 600s /32',
      'edit dest 198.51.100.1:80 DR weight 1 of TCP 192.0.2.100:80',
      'edit dest 198.51.100.2:80 DR weight 2 of TCP 192.0.2.100:80',
    ]);
  });

  it('DR: a real server written with another port is added on the service port', () => {
    const lines = ['[virtual_server.dr]', 'address = 192.0.2.100:443', 'lb_kind = DR', 'lb_algo = rr', '[real_server.dr.a]', 'address = 198.51.100.1:8443'];
    const d = desired(lines);
    assert.deepEqual(golden(diffIpvs(d, [], managedOf(d))), ['add service TCP 192.0.2.100:443 rr', 'add dest 198.51.100.1:443 DR weight 1 to TCP 192.0.2.100:443']);
  });

  it('IPv6 service: keys compare canonically; adoption of the same table gives no ops', async () => {
    const lines = ['[virtual_server.v6]', 'address = [2001:db8:0::100]:80', 'lb_algo = rr', '[real_server.v6.a]', 'address = [2001:DB8::11]:80', 'weight = 4'];
    const d = desired(lines);
    assert.deepEqual(golden(diffIpvs(d, [], managedOf(d))), ['add service TCP [2001:db8::100]:80 rr', 'add dest [2001:db8::11]:80 NAT weight 4 to TCP [2001:db8::100]:80']);
    const k = await kernelOf(lines);
    assert.deepEqual(diffIpvs(d, k.observed, managedOf(d)), []);
    const d2 = desired(lines, {}).map((s) => ({ ...s, dests: [] }));
    assert.deepEqual(golden(diffIpvs(d2, k.observed, managedOf(d2))), ['delete dest [2001:db8::11]:80 from TCP [2001:db8::100]:80']);
  });

  it('fwmark services are keyed by family and mark', async () => {
    const lines = ['[virtual_server.fw]', 'fwmark = 7', 'lb_kind = DR', 'lb_algo = rr', '[real_server.fw.a]', 'address = 198.51.100.1'];
    const d = desired(lines);
    assert.deepEqual(golden(diffIpvs(d, [], managedOf(d))), ['add service FWM 7 rr', 'add dest 198.51.100.1:0 DR weight 1 to FWM 7']);
    const k = await kernelOf(lines);
    assert.deepEqual(diffIpvs(d, k.observed, managedOf(d)), []);
  });
  it('matches dests whatever the kernel order, through a scan (few dests) or a map (many): only real differences give ops', () => {
    for (const n of [3, 40]) {
      const lines = ['[virtual_server.big]', 'address = 192.0.2.100:80', 'lb_algo = wlc'];
      for (let r = 0; r < n; r++) lines.push(`[real_server.big.r${r}]`, `address = 198.51.100.${r + 1}:80`);
      const d = desired(lines)[0]!;
      // The kernel's list: the first dest re-added last (as after a down and up), the second with another weight.
      const have = [...d.dests.slice(1), d.dests[0]!].map((x, i) => (i === 0 ? { ...x, weight: 9 } : { ...x }));
      const observed: ObservedService = { service: d.service, dests: have };
      assert.deepEqual(golden(diffService(d, observed)), ['edit dest 198.51.100.2:80 NAT weight 1 of TCP 192.0.2.100:80'], `${n} dests`);
      // One missing from the kernel, one foreign in it: an add and a delete.
      const drift: ObservedService = { service: d.service, dests: [...have.slice(1, -1), { ...d.dests[1]!, address: '198.51.100.250' }] };
      assert.deepEqual(golden(diffService(d, drift)).sort(), [`add dest 198.51.100.1:80 NAT weight 1 to TCP 192.0.2.100:80`, `add dest 198.51.100.2:80 NAT weight 1 to TCP 192.0.2.100:80`, `delete dest 198.51.100.250:80 from TCP 192.0.2.100:80`].sort(), `${n} dests`);
    }
  });

  it('IPv6: a dest the kernel spells differently is matched by its canonical key, not deleted and re-added', () => {
    const lines = ['[virtual_server.v6]', 'address = [2001:db8::100]:80', 'lb_algo = rr', '[real_server.v6.a]', 'address = [2001:db8::11]:80', '[real_server.v6.b]', 'address = [2001:db8::12]:80'];
    const d = desired(lines)[0]!;
    const observed: ObservedService = { service: d.service, dests: [{ ...d.dests[1]!, address: '2001:DB8:0::12' }, { ...d.dests[0]!, address: '2001:db8:0:0::11', weight: 3 }] };
    assert.deepEqual(golden(diffService(d, observed)), ['edit dest [2001:db8::11]:80 NAT weight 1 of TCP [2001:db8::100]:80']);
  });
});
