import { strict as assert } from 'node:assert';
import { diffConfig, parseConfig } from '../../src/config';
import { ChildRole } from '../../src/main/ipc';
import { SerialRuns, concerns, configFor } from '../../src/main/reload';

const base = `
[global]
router_id = lvs-a
[vrrp_instance.VI_1]
interface = eth0
virtual_router_id = 51
priority = 150
virtual_ipaddress[] = 192.0.2.100/24
[virtual_server.web]
address = 192.0.2.100:80
lb_algo = rr
lb_kind = NAT
[real_server.web.rs1]
address = 198.51.100.1:80
`;

function load(text: string) {
  const r = parseConfig(text, 'lvsd.conf');
  assert.ok(r.config, JSON.stringify(r.problems));
  return r.config;
}

describe('reload in the parent: parts, concerns, one at a time', () => {
  it('gives the VRRP process no LVS sections and the director no VRRP sections', () => {
    const c = load(base);
    const v = configFor(ChildRole.VRRP, c);
    assert.equal(v.virtualServers.size, 0);
    assert.equal(v.checks.size, 0);
    assert.equal(v.vrrpInstances.size, 1);
    const d = configFor(ChildRole.DIRECTOR, c);
    assert.equal(d.vrrpInstances.size, 0);
    assert.equal(d.virtualServers.size, 1);
    assert.equal(d.global, c.global);
  });

  it('asks only the child whose part changed', () => {
    const a = load(base);
    const weight = diffConfig(a, load(`${base}weight = 3\n`));
    assert.equal(concerns(ChildRole.VRRP, weight), false, 'a weight is no business of VRRP');
    assert.equal(concerns(ChildRole.DIRECTOR, weight), true);
    const prio = diffConfig(a, load(base.replace('priority = 150', 'priority = 140')));
    assert.equal(concerns(ChildRole.VRRP, prio), true);
    assert.equal(concerns(ChildRole.DIRECTOR, prio), false);
    const glob = diffConfig(a, load(base.replace('router_id = lvs-a', 'router_id = lvs-b')));
    assert.equal(concerns(ChildRole.VRRP, glob) && concerns(ChildRole.DIRECTOR, glob), true);
  });

  it('runs one at a time and coalesces a burst into one more run', async () => {
    let active = 0;
    let most = 0;
    let runs = 0;
    const gates: Array<() => void> = [];
    const serial = new SerialRuns(async () => {
      active++;
      most = Math.max(most, active);
      const n = ++runs;
      await new Promise<void>((r) => gates.push(r));
      active--;
      return n;
    });
    const first = serial.request();
    const burst = Array.from({ length: 20 }, () => serial.request());
    assert.equal(runs, 1);
    gates.shift()!();
    assert.equal(await first, 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(runs, 2, 'the burst became one more run');
    gates.shift()!();
    assert.deepEqual(new Set(await Promise.all(burst)), new Set([2]), 'every request of the burst is answered by it');
    assert.equal(most, 1, 'never two at once');
    const after = serial.request();
    assert.equal(runs, 3);
    gates.shift()!();
    assert.equal(await after, 3);
  });

  it('answers the next run when the running one failed', async () => {
    let n = 0;
    const serial = new SerialRuns(async () => {
      n++;
      await new Promise((r) => setImmediate(r));
      if (n === 1) throw new Error('refused');
      return n;
    });
    const a = serial.request();
    const b = serial.request();
    await assert.rejects(a, /refused/);
    assert.equal(await b, 2);
  });
});
