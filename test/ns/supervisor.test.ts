/**
 * lvsd's process model in namespaces: the parent forks a VRRP process and a
 * director process. A kill -9 of the master's VRRP process is restarted and
 * resumes as master without the VIP ever leaving (polled every 20 ms) and
 * without the peer ever becoming master; a killed director process is
 * restarted at once, then with backoff (1 s); SIGTERM stops everything and
 * removes the pid file. Root only; fails without.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { exec, Topology, waitFor, type NsProcess } from '../lib/netns';
import { LVSCTL, LVSD, Scratch, holders, lvsdConfig, startLvsd } from '../lib/director';

const D = ['d1', 'd2'] as const;
const VIP = '192.0.2.100';

/**
 * The children of the lvsd whose control socket is `sock`, by role, as its
 * parent reports them (`lvsctl --json status`); empty while the VRRP child
 * cannot answer. Each pid is checked to be a child of `parent` with `ps`.
 */
/** Every child process of `parent` (the standby VRRP process included). */
async function allChildren(parent: number): Promise<number[]> {
  const ps = await exec(['ps', '--ppid', String(parent), '-o', 'pid=']);
  return ps.stdout.split('\n').map((l) => Number(l.trim())).filter(Boolean);
}

async function children(topo: Topology, host: string, sock: string, parent: number): Promise<{ vrrp?: number; director?: number; standby?: number }> {
  const r = await topo.exec(host, [process.execPath, LVSCTL, '--socket', sock, '--json', 'status']);
  if (r.code !== 0) return {};
  const st = JSON.parse(r.stdout) as { processes?: Record<string, { pid: number | null }> };
  const kids = new Set(await allChildren(parent));
  const out: { vrrp?: number; director?: number; standby?: number } = {};
  for (const role of ['vrrp', 'director'] as const) {
    const pid = st.processes?.[role]?.pid;
    if (pid && kids.has(pid)) out[role] = pid;
  }
  return out;
}

describe('supervisor: parent + VRRP and director child processes', function () {
  this.timeout(90_000);
  let topo: Topology;
  let scratch: Scratch;
  const procs: Record<string, NsProcess> = {};
  const sock = (h: string): string => scratch.path(`${h}.sock`);
  const events = async (h: string): Promise<Array<{ instance: string; to: string; reason: string }>> =>
    (JSON.parse(await topo.run(h, [process.execPath, LVSCTL, '--socket', sock(h), '--json', 'events', '--subsystem', 'vrrp', '1000'])) as { events: Array<{ instance: string; to: string; reason: string }> }).events;

  before(async () => {
    topo = await Topology.create('sup');
    scratch = new Scratch();
    for (const [h, n] of [['d1', 11], ['d2', 12], ['d3', 13]] as const) await topo.addHost(h, [`192.0.2.${n}/24`], { bridge: h === 'd3' ? 'br1' : 'br0' });
    for (const [h, prio] of [['d2', 100], ['d1', 150]] as const) {
      const conf = scratch.file(`${h}.conf`, lvsdConfig(`lvs-${h}`, sock(h), [{ name: 'VI_1', priority: prio, advertInt: 1, vips: [`${VIP}/24`] }], [`pid_file = ${scratch.path(`${h}.pid`)}`]));
      procs[h] = await startLvsd(topo, h, conf, sock(h));
    }
    await waitFor('d1 master alone', async () => (await holders(topo, D, VIP)).join() === 'd1', { timeoutMs: 10_000 });
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('writes one pid file (the parent) and runs the VRRP child under it', async () => {
    const pid = Number((await topo.run('d1', ['cat', scratch.path('d1.pid')])).trim());
    assert.equal(pid, procs.d1!.child.pid);
    const kids = await children(topo, 'd1', sock('d1'), pid);
    assert.ok(kids.vrrp, 'a VRRP child runs');
    assert.equal(kids.director, undefined, 'no director child without virtual servers');
  });

  it('kill -9 of the master\'s VRRP child: restarted, resumes as master, the VIP never leaves, the peer never takes over', async () => {
    const parent = procs.d1!.child.pid!;
    const before = (await children(topo, 'd1', sock('d1'), parent)).vrrp!;
    const d2Before = (await events('d2')).length;
    process.kill(before, 'SIGKILL');
    const t0 = performance.now();
    let restarted: number | undefined;
    let lost = 0;
    while (performance.now() - t0 < 6000) {
      const h = await holders(topo, D, VIP);
      if (h.join() !== 'd1') lost++;
      if (!restarted) {
        const now = (await children(topo, 'd1', sock('d1'), parent)).vrrp;
        if (now && now !== before) restarted = now;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(restarted, 'the VRRP child was restarted');
    assert.equal(lost, 0, 'the VIP was held by d1 alone at every poll');
    const st = JSON.parse(await topo.run('d1', [process.execPath, LVSCTL, '--socket', sock('d1'), '--json', 'status'])) as { instances: Array<{ state: string }> };
    assert.equal(st.instances[0]!.state, 'MASTER');
    const d2Events = (await events('d2')).slice(d2Before);
    assert.ok(!d2Events.some((e) => e.to === 'MASTER'), `the peer never became master: ${JSON.stringify(d2Events)}`);
  });

  it('a killed director child is restarted at once, then with backoff: 1 s', async () => {
    const conf = scratch.file('d3.conf', lvsdConfig('lvs-d3', sock('d3'), [{ name: 'VI_3', vrid: 53, priority: 100, advertInt: 1, vips: ['192.0.2.103/24'] }], [
      `pid_file = ${scratch.path('d3.pid')}`, `state_dir = ${scratch.path('state3')}`,
    ]) + ['[virtual_server.web]', 'address = 192.0.2.103:80', 'protocol = TCP', 'lb_algo = rr', 'lb_kind = NAT', '', '[real_server.web.rs1]', 'address = 198.51.100.1:80', ''].join('\n'));
    const p = topo.spawn('d3', [process.execPath, LVSD, '--config', conf, '--dry-run']);
    await waitFor('d3 answers show services', async () => {
      if (p.child.exitCode !== null) throw new Error(`lvsd exited: ${p.output().slice(-2000)}`);
      return (await topo.exec('d3', [process.execPath, LVSCTL, '--socket', sock('d3'), 'show', 'services'])).code === 0;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    const parent = p.child.pid!;
    const gaps: number[] = [];
    for (let i = 0; i < 2; i++) {
      const old = (await children(topo, 'd3', sock('d3'), parent)).director!;
      assert.ok(old, 'a director child runs');
      // Polled with ps (milliseconds), not lvsctl (a Node start each, a second under load).
      const known = new Set(await allChildren(parent));
      process.kill(old, 'SIGKILL');
      const t0 = performance.now();
      await waitFor('a new director child', async () => (await allChildren(parent)).some((pid) => !known.has(pid)), { timeoutMs: 10_000, intervalMs: 20 });
      gaps.push(performance.now() - t0);
      await waitFor('show services answers again', async () => (await topo.exec('d3', [process.execPath, LVSCTL, '--socket', sock('d3'), 'show', 'services'])).code === 0, { timeoutMs: 10_000, intervalMs: 100 });
    }
    assert.ok(gaps[0]! < 900, `first restart after ${gaps[0]!.toFixed(0)} ms (at once)`);
    assert.ok(gaps[1]! >= 950 && gaps[1]! < 1900, `second restart after ${gaps[1]!.toFixed(0)} ms (backoff 1 s)`);
    p.child.kill('SIGTERM');
    await p.exited;
  });

  it('SIGTERM to the parent stops everything: VIP removed, children gone, pid file removed', async () => {
    const parent = procs.d1!.child.pid!;
    const kids = await allChildren(parent);
    assert.ok(kids.length >= 2, `the VRRP child and its standby run: ${kids.join(' ')}`);
    procs.d1!.child.kill('SIGTERM');
    const exit = await procs.d1!.exited;
    assert.equal(exit.code, 0);
    assert.ok(!existsSync(scratch.path('d1.pid')), 'pid file removed');
    assert.ok(!(await holders(topo, ['d1'], VIP)).length, 'd1 removed its VIP');
    for (const pid of kids) assert.throws(() => process.kill(pid, 0), `child ${pid} gone`);
    await waitFor('d2 takes over', async () => (await holders(topo, D, VIP)).join() === 'd2', { timeoutMs: 5000 });
  });

  it('kill -9 of the parent: the VRRP child still stops cleanly (priority 0, VIP removed) instead of crashing', async () => {
    const parent = procs.d2!.child.pid!;
    const kids = await children(topo, 'd2', sock('d2'), parent);
    const all = await allChildren(parent);
    assert.ok(kids.vrrp, 'a VRRP child runs');
    process.kill(parent, 'SIGKILL');
    await waitFor('the orphaned VRRP child to remove the VIP and exit', async () => {
      if ((await holders(topo, ['d2'], VIP)).length) return false;
      try {
        process.kill(kids.vrrp!, 0);
        return false;
      } catch {
        return true;
      }
    }, { timeoutMs: 5000, intervalMs: 50 });
    await waitFor('every child of the dead parent (the standby too) to exit', async () => all.every((pid) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }), { timeoutMs: 5000, intervalMs: 50 });
    assert.doesNotMatch(procs.d2!.output(), /ERR_IPC_CHANNEL_CLOSED/);
  });
});
