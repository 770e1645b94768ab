/**
 * Reload by difference on a running director pair: an untouched instance
 * keeps its state (no transition on either director), an added one starts, a
 * removed one stops, and an invalid file changes nothing and says why.
 */
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { Topology, waitFor } from '../lib/netns';
import { LVSCTL, Scratch, holders, lvsdConfig, startLvsd, type InstanceSpec } from '../lib/director';

const D = ['d1', 'd2'] as const;

describe('reload applies only the difference (SIGHUP and lvsctl reload)', function () {
  this.timeout(60_000);
  let topo: Topology;
  let scratch: Scratch;
  const sock = (h: string): string => scratch.path(`${h}.sock`);
  const file = (h: string): string => scratch.path(`${h}.conf`);
  const vi = (name: string, vrid: number, vip: string, prio: number): InstanceSpec => ({ name, vrid, priority: prio, advertInt: 0.2, vips: [`${vip}/24`] });
  const write = (h: 'd1' | 'd2', specs: InstanceSpec[]): void => writeFileSync(file(h), lvsdConfig(`lvs-${h}`, sock(h), specs));
  const events = async (h: string): Promise<Array<{ instance: string; to: string; reason: string }>> =>
    (JSON.parse(await topo.run(h, [process.execPath, LVSCTL, '--socket', sock(h), '--json', 'events', '--subsystem', 'vrrp', '1000'])) as { events: Array<{ instance: string; to: string; reason: string }> }).events;

  before(async () => {
    topo = await Topology.create('reload');
    scratch = new Scratch();
    for (const [h, n] of [['d1', 11], ['d2', 12]] as const) await topo.addHost(h, [`192.0.2.${n}/24`]);
    write('d1', [vi('VI_1', 51, '192.0.2.100', 150)]);
    write('d2', [vi('VI_1', 51, '192.0.2.100', 100)]);
    await startLvsd(topo, 'd2', file('d2'), sock('d2'));
    await startLvsd(topo, 'd1', file('d1'), sock('d1'));
    await waitFor('d1 master', async () => (await holders(topo, D, '192.0.2.100')).join() === 'd1', { timeoutMs: 5000 });
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('adds an instance on SIGHUP without touching the one that did not change', async () => {
    const before1 = (await events('d1')).length;
    const before2 = (await events('d2')).length;
    write('d1', [vi('VI_1', 51, '192.0.2.100', 150), vi('VI_2', 52, '192.0.2.101', 150)]);
    for (const pid of await topo.pidsOf('d1')) process.kill(pid, 'SIGHUP');
    await waitFor('VI_2 up on d1', async () => (await holders(topo, D, '192.0.2.101')).join() === 'd1', { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 1000)); // several advert intervals for a gap to show
    const after1 = await events('d1');
    const after2 = await events('d2');
    assert.deepEqual(after1.slice(before1).filter((e) => e.instance === 'VI_1'), [], 'no transition of VI_1 on d1');
    assert.equal(after2.length, before2, 'the peer saw no change at all');
    assert.deepEqual(await holders(topo, D, '192.0.2.100'), ['d1']);
  });

  it('refuses an invalid file, changes nothing, and lvsctl reload says why', async () => {
    const before1 = (await events('d1')).length;
    writeFileSync(file('d1'), `${lvsdConfig('lvs-d1', sock('d1'), [vi('VI_1', 51, '192.0.2.100', 150)])}\n[vrrp_instance.VI_9]\nbogus_key = 1\n`);
    const r = await topo.exec('d1', [process.execPath, LVSCTL, '--socket', sock('d1'), 'reload']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`${file('d1').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: .*bogus_key`));
    assert.deepEqual(await holders(topo, D, '192.0.2.101'), ['d1'], 'VI_2 still there');
    assert.equal((await events('d1')).length, before1);
  });

  it('removes an instance that left the file, and its VIP with it', async () => {
    write('d1', [vi('VI_1', 51, '192.0.2.100', 150)]);
    const r = await topo.exec('d1', [process.execPath, LVSCTL, '--socket', sock('d1'), 'reload']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /VI_2/);
    await waitFor('VI_2 gone', async () => (await holders(topo, D, '192.0.2.101')).length === 0, { timeoutMs: 3000 });
    assert.deepEqual(await holders(topo, D, '192.0.2.100'), ['d1']);
  });
});
