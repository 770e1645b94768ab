/**
 * Supervision that never gives up, on real lvsd directors in namespaces
 * (advert_int 1, d1 150 and d2 100, preempt): a VRRP child killed while the
 * file on disk is half-edited restarts on the last accepted configuration and
 * keeps mastership; a reload that the director part refuses (IPVS cannot be
 * reached on this kernel) leaves VRRP on the old configuration too; a VRRP
 * child stopped with SIGSTOP is killed and replaced; a crash loop gives the
 * VIP away at once instead of leaving it on a node whose VRRP is dead, and
 * heals to one master. Each fault's time to heal is printed. Root only.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { Topology, requireTestbed, waitFor, type NsProcess } from '../lib/netns';
import { LVSCTL, Scratch, holders, lvsdConfig, startLvsd, type InstanceSpec } from '../lib/director';

const D = ['d1', 'd2'] as const;
const VIP = '192.0.2.100';

interface Status {
  instances: Array<{ name: string; state: string; basePriority: number; effectivePriority: number }>;
  processes?: Record<string, { pid: number | null; state: string; restarts: number; lastExit: string | null }>;
}

describe('supervision heals the VRRP and director processes (namespaces)', function () {
  this.timeout(120_000);
  let topo: Topology;
  let scratch: Scratch;
  const procs: Record<string, NsProcess> = {};
  const sock = (h: string): string => scratch.path(`${h}.sock`);
  const file = (h: string): string => scratch.path(`${h}.conf`);
  const spec = (prio: number): InstanceSpec => ({ name: 'VI_1', vrid: 51, priority: prio, advertInt: 1, vips: [`${VIP}/24`] });
  const conf = (h: 'd1' | 'd2', prio: number, extra = ''): string => lvsdConfig(`lvs-${h}`, sock(h), [spec(prio)], [`pid_file = ${scratch.path(`${h}.pid`)}`, `state_dir = ${scratch.path(`state-${h}`)}`]) + extra;
  const status = async (h: string): Promise<Status | undefined> => {
    const r = await topo.exec(h, [process.execPath, LVSCTL, '--socket', sock(h), '--json', 'status']);
    return r.code === 0 ? (JSON.parse(r.stdout) as Status) : undefined;
  };
  const vrrpPid = async (h: string): Promise<number> => {
    let pid: number | null | undefined;
    await waitFor(`${h}'s VRRP process`, async () => (pid = (await status(h))?.processes?.vrrp?.pid) != null, { timeoutMs: 15_000, intervalMs: 100 });
    return pid!;
  };
  /** Waits until d1 alone holds the VIP and says MASTER, d2 BACKUP; returns the ms since `t0`. */
  const healed = async (t0: number, timeoutMs = 30_000): Promise<number> => {
    await waitFor('d1 master alone, d2 backup', async () => {
      if ((await holders(topo, D, VIP)).join() !== 'd1') return false;
      const [s1, s2] = await Promise.all([status('d1'), status('d2')]);
      return s1?.instances[0]?.state === 'MASTER' && s2?.instances[0]?.state === 'BACKUP';
    }, { timeoutMs, intervalMs: 50 });
    return performance.now() - t0;
  };

  before(async () => {
    requireTestbed(['ip']);
    topo = await Topology.create('heal');
    scratch = new Scratch();
    for (const [h, n] of [['d1', 11], ['d2', 12]] as const) await topo.addHost(h, [`192.0.2.${n}/24`]);
    writeFileSync(file('d2'), conf('d2', 100));
    writeFileSync(file('d1'), conf('d1', 150));
    procs.d2 = await startLvsd(topo, 'd2', file('d2'), sock('d2'));
    procs.d1 = await startLvsd(topo, 'd1', file('d1'), sock('d1'));
    await healed(performance.now());
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('restarts a killed VRRP child on the last accepted configuration while the file on disk is half-edited, keeping mastership', async () => {
    const good = readFileSync(file('d1'), 'utf8');
    writeFileSync(file('d1'), `${good}\n[vrrp_instance.VI_2\ninterface =\n`);
    const old = await vrrpPid('d1');
    process.kill(old, 'SIGKILL');
    const t0 = performance.now();
    let lost = 0;
    while (performance.now() - t0 < 4000) {
      if ((await holders(topo, D, VIP)).join() !== 'd1') lost++;
      await new Promise((r) => setTimeout(r, 20));
    }
    const st = await status('d1');
    assert.ok(st, 'd1 answers');
    assert.notEqual(st.processes?.vrrp?.pid, old, 'a new VRRP process');
    assert.equal(st.instances[0]!.state, 'MASTER');
    assert.equal(lost, 0, 'd1 alone held the VIP at every poll');
    writeFileSync(file('d1'), good);
  });

  it('keeps VRRP on the old configuration when the director part refuses the reload', async () => {
    // No --dry-run here and no IPVS in this kernel: a new director cannot start.
    writeFileSync(file('d1'), conf('d1', 140, ['', '[virtual_server.web]', `address = ${VIP}:80`, 'lb_algo = rr', 'lb_kind = NAT', '[real_server.web.rs1]', 'address = 198.51.100.1:80', ''].join('\n')));
    const r = await topo.exec('d1', [process.execPath, LVSCTL, '--socket', sock('d1'), 'reload']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /director process refused the reload; nothing was changed/);
    assert.match(r.stderr, /IPVS cannot be reached/);
    const st = (await status('d1'))!;
    assert.equal(st.instances[0]!.basePriority, 150, 'VRRP kept priority 150');
    assert.equal(st.processes?.director, undefined, 'no director process was left behind');
    writeFileSync(file('d1'), conf('d1', 150));
  });

  it('kills a VRRP child stopped with SIGSTOP, replaces it, and the pair heals to one master', async () => {
    const old = await vrrpPid('d1');
    process.kill(old, 'SIGSTOP');
    const t0 = performance.now();
    await waitFor('the stopped VRRP process killed', async () => {
      try {
        process.kill(old, 0);
        return false;
      } catch {
        return true;
      }
    }, { timeoutMs: 8000, intervalMs: 50 });
    const killedAfter = performance.now() - t0;
    const took = await healed(t0);
    console.log(`      SIGSTOP of the master's VRRP process: killed after ${killedAfter.toFixed(0)} ms, one master again after ${took.toFixed(0)} ms`);
    assert.equal((await status('d1'))!.processes?.vrrp?.lastExit, 'SIGKILL');
  });

  it('a crash loop gives the VIP away at once, then heals to one master', async () => {
    // A fresh lvsd on d1: the deaths of the tests before would otherwise count into this loop's backoff.
    procs.d1!.child.kill('SIGTERM');
    await procs.d1!.exited;
    procs.d1 = await startLvsd(topo, 'd1', file('d1'), sock('d1'));
    await healed(performance.now());
    const start = performance.now();
    let t0 = start;
    let sawLoop = false;
    let heldWhileDown = 0;
    let downChecks = 0;
    for (let i = 0; i < 5; i++) {
      const pid = await vrrpPid('d1');
      process.kill(pid, 'SIGKILL');
      t0 = performance.now();
      await waitFor('the kill seen', async () => {
        const st = await status('d1');
        const p = st?.processes?.vrrp;
        return !st || p?.pid !== pid;
      }, { timeoutMs: 10_000, intervalMs: 20 }).catch(() => undefined);
      if (i >= 2) {
        // In the backoff: no VRRP process, so no VIP on d1.
        const r = await topo.exec('d1', [process.execPath, LVSCTL, '--socket', sock('d1'), '--json', 'status']);
        if (r.code !== 0 && /crash loop/.test(r.stderr)) {
          sawLoop = true;
          downChecks++;
          if ((await holders(topo, ['d1'], VIP)).length) heldWhileDown++;
        }
      }
    }
    assert.ok(sawLoop, 'the crash loop was reported');
    assert.ok(downChecks > 0);
    assert.equal(heldWhileDown, 0, 'd1 never held the VIP while its VRRP process was down in the backoff');
    const took = await healed(t0, 60_000);
    console.log(`      5 kills of the VRRP process back to back (over ${((t0 - start) / 1000).toFixed(1)} s): one master again ${took.toFixed(0)} ms after the last kill (its backoff: 8 s)`);
    const st = (await status('d1'))!;
    assert.equal(st.processes?.vrrp?.state, 'running');
  });
});
