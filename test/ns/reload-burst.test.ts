/**
 * A burst of reloads on a running lvsd (advert_int 0.1): 10 SIGHUPs and 10
 * `lvsctl reload`s within one second, the file alternating between two valid
 * versions (priority 150 and 140) before each. Every request is answered,
 * lvsd ends in the last file's state, and the wire carries exactly one
 * advert stream for the VRID (no orphaned instance left advertising), as a
 * tcpdump on the segment sees it. Root only.
 */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { Topology, exec, requireTestbed, waitFor } from '../lib/netns';
import { request } from '../../src/control/client';
import { Scratch, holders, lvsdConfig, lvsdStatus, startLvsd, type InstanceSpec } from '../lib/director';

describe('a burst of 20 reloads (SIGHUP and lvsctl reload) within one second', function () {
  this.timeout(90_000);
  let topo: Topology;
  let scratch: Scratch;
  const sock = (): string => scratch.path('d1.sock');
  const file = (): string => scratch.path('d1.conf');
  const version = (prio: number): string => lvsdConfig('lvs-d1', sock(), [{ name: 'VI_1', vrid: 51, priority: prio, advertInt: 0.1, vips: ['192.0.2.100/24'] } as InstanceSpec]);

  before(async () => {
    requireTestbed(['ip', 'tcpdump']);
    topo = await Topology.create('burst');
    scratch = new Scratch();
    await topo.addHost('d1', ['192.0.2.11/24']);
    await topo.addHost('w', ['192.0.2.50/24']);
    writeFileSync(file(), version(150));
    await startLvsd(topo, 'd1', file(), sock());
    await waitFor('d1 master', async () => (await holders(topo, ['d1'], '192.0.2.100')).length === 1, { timeoutMs: 10_000 });
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('answers every request, ends on the last file, and leaves one advert stream on the wire', async () => {
    const parent = (await topo.pidsOf('d1'))[0]!;
    // The requests go to the control socket from here, as lvsctl sends them: a
    // Node start per lvsctl would stretch the burst over seconds on a busy machine.
    const answers: Array<Promise<unknown>> = [];
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      writeFileSync(file(), version(i % 2 ? 140 : 150));
      if (i % 2) answers.push(request(sock(), 'reload', {}, 30_000));
      else process.kill(parent, 'SIGHUP');
      await new Promise((r) => setTimeout(r, 30));
    }
    const took = performance.now() - t0;
    assert.ok(took < 2000, `the burst took about a second (${took.toFixed(0)} ms)`);
    const results = await Promise.allSettled(answers);
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), [], 'every reload request is answered with success');
    // The last file says 140: the state settles there.
    await waitFor('priority 140', async () => (await lvsdStatus(topo, 'd1', sock())).instances[0]!.effectivePriority === 140, { timeoutMs: 10_000, intervalMs: 100 });
    await new Promise((r) => setTimeout(r, 1000));
    const cap = await exec(['ip', 'netns', 'exec', topo.ns('w'), 'timeout', '2', 'tcpdump', '-n', '-l', '-vv', '-i', 'eth0', 'proto 112'], { timeoutMs: 10_000 });
    const adverts = cap.stdout.split('\n').filter((l) => /vrid 51/.test(l));
    const prios = new Set(adverts.map((l) => /prio (\d+)/.exec(l)?.[1]));
    assert.deepEqual([...prios], ['140'], `every advert carries the last file's priority: ${[...prios].join(',')}`);
    // One stream at advert_int 0.1 over the ~2 s capture: about 20, never the 40 of two streams.
    assert.ok(adverts.length >= 12 && adverts.length <= 26, `one advert stream: ${adverts.length} adverts in 2 s`);
    const st = await lvsdStatus(topo, 'd1', sock());
    assert.equal(st.instances.length, 1);
    assert.equal(st.instances[0]!.state, 'MASTER');
  });
});
