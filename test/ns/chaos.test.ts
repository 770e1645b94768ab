/**
 * The chaos suite (namespaces): the proxy-mode demo cluster (a client, two
 * lvsd directors at priorities 150 and 100, advert_int 0.5, stand-in load
 * balancers, two real servers) under continuous client traffic through the
 * VIP (a request every 100 ms, 1 s deadline). Each fault is run on the
 * master d1, then the suite waits for the pair to heal and checks: exactly
 * one MASTER for the VRID and the VIP on it alone (d1, which preempts), no
 * run of failed client requests longer than the fault's protocol bound, and
 * the fault named in the log or events. The time to heal of every fault is
 * printed as a table at the end. Root only; run it on a busy machine too.
 */
import { strict as assert } from 'node:assert';
import { createInterface } from 'node:readline';
import * as path from 'node:path';
import type { NsProcess } from '../lib/netns';
import { requireTestbed, waitFor } from '../lib/netns';
import { LVSCTL, holders } from '../lib/director';
import type { ClientResult } from '../demo/client';
import { ADDR, DIRECTORS, DemoCluster, PORT, VRID } from '../demo/cluster';

const ADVERT_INT = 0.5;
/** Master_Down_Interval of d2 (priority 100): 3 x advert_int + (256 - 100) / 256 x advert_int. */
const MASTER_DOWN_MS = 3 * ADVERT_INT * 1000 + ((256 - 100) / 256) * ADVERT_INT * 1000;

interface Seen { sentAt: number; ok: boolean }

interface Status {
  instances: Array<{ name: string; state: string }>;
  processes?: Record<string, { pid: number | null; state: string; restarts: number; lastExit: string | null }>;
}

describe('chaos: faults on the master under client traffic (namespaces, proxy cluster)', function () {
  this.timeout(600_000);
  const cluster = new DemoCluster(ADVERT_INT);
  let client: NsProcess | undefined;
  const seen: Seen[] = [];
  const healTimes: Array<{ fault: string; healMs: number; longestOutageMs: number; failed: number }> = [];

  const events = async (d: 'd1' | 'd2'): Promise<Array<{ subsystem: string; message: string }>> =>
    (JSON.parse(await cluster.topo.run(d, [process.execPath, LVSCTL, '--socket', cluster.socket(d), '--json', 'events', '1000'])) as { events: Array<{ subsystem: string; message: string }> }).events;
  const status = async (d: 'd1' | 'd2'): Promise<Status | undefined> => {
    const r = await cluster.topo.exec(d, [process.execPath, LVSCTL, '--socket', cluster.socket(d), '--json', 'status']);
    return r.code === 0 ? (JSON.parse(r.stdout) as Status) : undefined;
  };
  const vrrpPid = async (d: 'd1' | 'd2'): Promise<number> => {
    let pid: number | null | undefined;
    await waitFor(`${d}'s VRRP process`, async () => (pid = (await status(d))?.processes?.vrrp?.pid) != null, { timeoutMs: 60_000, intervalMs: 100 });
    return pid!;
  };
  /** d1 master alone with the VIP, d2 backup, the client answered again. */
  const settled = async (): Promise<boolean> => {
    if ((await holders(cluster.topo, DIRECTORS, ADDR.vip)).join() !== 'd1') return false;
    const [s1, s2] = await Promise.all([status('d1'), status('d2')]);
    const masters = [s1, s2].filter((s) => s?.instances[0]?.state === 'MASTER').length;
    return masters === 1 && s1?.instances[0]?.state === 'MASTER' && s2?.instances[0]?.state === 'BACKUP';
  };

  /**
   * Restarts d1's lvsd (a clean stop, d2 covers, d1 preempts back), so the
   * next fault starts without the restart backoff a previous one left.
   */
  async function freshD1(): Promise<void> {
    await cluster.stopLvsd('d1');
    await cluster.startLvsd('d1');
    await waitFor('d1 master again', settled, { timeoutMs: 30_000, intervalMs: 100 });
  }

  /**
   * Runs `act` (which returns when the fault has been applied), then waits for
   * the pair to settle and for the client to be answered again; checks the
   * longest run of failed requests against `boundMs` and records the figures.
   */
  async function fault(name: string, boundMs: number, act: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    await act();
    await waitFor(`${name}: the pair to heal`, settled, { timeoutMs: 90_000, intervalMs: 100 });
    const healMs = performance.now() - t0;
    // A second more of traffic, so the last requests sent before the heal are in.
    await new Promise((r) => setTimeout(r, 1500));
    const during = seen.filter((s) => s.sentAt >= t0 - 100 && s.sentAt <= t0 + healMs);
    assert.ok(during.length > 0, 'the client kept sending');
    let longest = 0;
    let runStart: number | undefined;
    for (const s of during) {
      if (!s.ok) runStart ??= s.sentAt;
      else if (runStart !== undefined) {
        longest = Math.max(longest, s.sentAt - runStart);
        runStart = undefined;
      }
    }
    if (runStart !== undefined) longest = Math.max(longest, t0 + healMs - runStart);
    const failed = during.filter((s) => !s.ok).length;
    healTimes.push({ fault: name, healMs, longestOutageMs: longest, failed });
    assert.ok(longest <= boundMs, `${name}: the client went ${longest.toFixed(0)} ms without an answer (bound ${boundMs.toFixed(0)} ms; ${failed} failed)`);
  }

  before(async () => {
    requireTestbed(['ip']);
    await cluster.build();
    await cluster.startRealServers();
    for (const d of DIRECTORS) await cluster.startStandin(d);
    await cluster.startLvsd('d1');
    await cluster.startLvsd('d2');
    await waitFor('d1 master', settled, { timeoutMs: 20_000, intervalMs: 100 });
    client = cluster.topo.spawn('client', [process.execPath, path.join(__dirname, '..', 'demo', 'client.js'), `http://${ADDR.vip}:${PORT}/`, '100']);
    createInterface({ input: client.child.stdout! }).on('line', (line) => {
      try {
        const r = JSON.parse(line) as ClientResult;
        seen.push({ sentAt: performance.now() - r.ms, ok: r.status === 200 });
      } catch {
        /* not a result line */
      }
    });
    await waitFor('the client answered', () => seen.some((s) => s.ok), { timeoutMs: 10_000 });
  });
  after(async () => {
    client?.child.kill('SIGTERM');
    // What an operator sees afterwards, in the test's output: d1's status and its last events.
    for (const argv of [['status'], ['events', '30']]) {
      const r = await cluster.topo.exec('d1', [process.execPath, LVSCTL, '--socket', cluster.socket('d1'), ...argv]).catch(() => undefined);
      if (r?.code === 0) console.log(`\n      $ lvsctl ${argv.join(' ')}\n${r.stdout.replace(/^/gm, '      ')}`);
    }
    await cluster.destroy();
    if (healTimes.length) {
      console.log('\n      fault                                          heal     longest outage  failed requests');
      for (const h of healTimes) console.log(`      ${h.fault.padEnd(46)} ${(h.healMs / 1000).toFixed(2).padStart(6)} s ${(h.longestOutageMs / 1000).toFixed(2).padStart(8)} s ${String(h.failed).padStart(8)}`);
    }
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(cluster.topo.diagnostics());
  });

  it('kill -9 of the master\'s VRRP process once: resumed as master, no request lost', async () => {
    await fault('kill -9 VRRP process once', 0, async () => {
      process.kill(await vrrpPid('d1'), 'SIGKILL');
      await waitFor('a new VRRP process', async () => (await status('d1'))?.processes?.vrrp?.restarts === 1, { timeoutMs: 20_000, intervalMs: 50 });
    });
  });

  it('kill -9 of the master\'s VRRP process, 5 times, 3 s apart: a crash loop by keepalived\'s rule (runs under 60 s), failovers within Master_Down', async () => {
    await fault('kill -9 VRRP process x5, spaced 3 s', MASTER_DOWN_MS + 1500, async () => {
      for (let i = 0; i < 5; i++) {
        const pid = await vrrpPid('d1');
        process.kill(pid, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 3000));
      }
    });
    const st = (await status('d1'))!;
    assert.equal(st.processes?.vrrp?.restarts, 6);
  });

  it('kill -9 of the master\'s VRRP process, 5 times back to back: the crash loop hands the VIP to d2, then d1 takes it back', async () => {
    await freshD1();
    await fault('kill -9 VRRP process x5, back to back', MASTER_DOWN_MS + 1500, async () => {
      for (let i = 0; i < 5; i++) {
        const pid = await vrrpPid('d1');
        process.kill(pid, 'SIGKILL');
        await waitFor('the restart', async () => (await status('d1'))?.processes?.vrrp?.pid !== pid, { timeoutMs: 30_000, intervalMs: 50 }).catch(() => undefined);
      }
    });
  });

  it('SIGSTOP of the master\'s VRRP process for 10 s: killed as stuck, d2 covers, d1 takes back', async () => {
    await freshD1();
    await fault('SIGSTOP VRRP process 10 s', MASTER_DOWN_MS + 1500, async () => {
      const pid = await vrrpPid('d1');
      process.kill(pid, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 10_000));
      try {
        process.kill(pid, 'SIGCONT');
        assert.fail('the stopped VRRP process was still there after 10 s');
      } catch (e) {
        assert.equal((e as NodeJS.ErrnoException).code, 'ESRCH', 'the stopped process had been killed');
      }
    });
  });

  it('SIGSTOP of the parent for 10 s: the children go on, nothing moves', async () => {
    await fault('SIGSTOP lvsd parent 10 s', 0, async () => {
      const parent = (await status('d1')) && (await cluster.topo.pidsOf('d1'));
      const lvsdParent = parent!.find((pid) => /bin\/lvsd/.test(require('node:fs').readFileSync(`/proc/${pid}/cmdline`, 'utf8')))!;
      process.kill(lvsdParent, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 10_000));
      process.kill(lvsdParent, 'SIGCONT');
    });
  });

  it('ip addr del of the VIP on the master: put back and announced at once', async () => {
    await fault('ip addr del VIP on the master', 1500, async () => {
      await cluster.topo.run('d1', ['ip', 'addr', 'del', `${ADDR.vip}/24`, 'dev', 'eth0']);
    });
    assert.ok((await events('d1')).some((e) => /removed from eth0 by someone else while MASTER/.test(e.message)), 'the event names the fault');
  });

  it('ip addr add of the VIP on the backup: reported, nothing moves', async () => {
    await fault('ip addr add VIP on the backup', 0, async () => {
      await cluster.topo.run('d2', ['ip', 'addr', 'add', `${ADDR.vip}/24`, 'dev', 'eth0']);
      await waitFor('d2 reports the foreign VIP', async () => (await events('d2')).some((e) => /added by someone else/.test(e.message)), { timeoutMs: 5000, intervalMs: 100 });
      // The operator's part: take the stray address away again.
      await cluster.topo.run('d2', ['ip', 'addr', 'del', `${ADDR.vip}/24`, 'dev', 'eth0']);
    });
  });

  it('the master\'s link down for 2 s, then up: d2 covers, d1 takes back', async () => {
    await fault('link down 2 s on the master, then up', MASTER_DOWN_MS + 1500, async () => {
      await cluster.topo.run('d1', ['ip', 'link', 'set', 'eth0', 'down']);
      await new Promise((r) => setTimeout(r, 2000));
      await cluster.topo.run('d1', ['ip', 'link', 'set', 'eth0', 'up']);
    });
  });

  it('the master\'s veth deleted and re-created (same MAC and address): fresh sockets, one master again', async () => {
    await fault('veth deleted and re-created on the master', MASTER_DOWN_MS + 1500, async () => {
      await cluster.topo.run('d1', ['ip', 'link', 'del', 'eth0']);
      await new Promise((r) => setTimeout(r, 1000));
      const outer = `vc${cluster.topo.id}`.slice(0, 15);
      await cluster.topo.run('sw', ['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', cluster.topo.ns('d1')]);
      await cluster.topo.run('sw', ['ip', 'link', 'set', outer, 'master', 'br0', 'up']);
      await cluster.topo.run('d1', ['ip', 'link', 'set', 'eth0', 'address', cluster.macs.d1!]);
      await cluster.topo.run('d1', ['ip', 'addr', 'add', `${ADDR.d1}/24`, 'dev', 'eth0']);
      await cluster.topo.run('d1', ['ip', 'link', 'set', 'eth0', 'up']);
    });
    assert.ok((await events('d1')).some((e) => /VRRP socket open on eth0 .* again/.test(e.message)), 'the event names the re-attach');
  });

  it('hostile adverts from the client\'s segment: interval 0, then a flood with a higher priority and a bad password: nothing moves', async () => {
    const tool = path.join(__dirname, 'tools', 'send-vrrp.js');
    await fault('hostile adverts (interval 0; bad-auth flood)', 0, async () => {
      await cluster.topo.run('client', [process.execPath, tool, 'interval0', '192.0.2.66', String(VRID), ADDR.vip, '50', '20']);
      await cluster.topo.run('client', [process.execPath, tool, 'badauth', '192.0.2.66', String(VRID), ADDR.vip, '1000', '2']);
    });
  });
});

/**
 * The director's faults on the host (no IPVS here: a second lvsd in d1 with
 * --dry-run, whose in-memory IPVS table `lvsctl show services` reads, and
 * real HTTP checks against the demo's real servers): a real server down,
 * then the checker killed, then the director process killed and stopped.
 * After each, the table equals the desired one: the down server stays out
 * and no notify_up-style "UP" event fires because a process restarted.
 */
describe('chaos: the director process and its checker (namespaces, in-memory IPVS)', function () {
  this.timeout(300_000);
  const cluster = new DemoCluster(ADVERT_INT);
  let sock = '';
  interface Rs { name: string; health: string; kernel: { weight: number } | null }
  const realServers = async (): Promise<Rs[]> => {
    const r = await cluster.topo.exec('d1', [process.execPath, LVSCTL, '--socket', sock, '--json', 'show', 'services']);
    if (r.code !== 0) return [];
    return (JSON.parse(r.stdout) as { virtualServers: Array<{ realServers: Rs[] }> }).virtualServers[0]!.realServers;
  };
  const pidsWith = async (needle: string): Promise<number[]> =>
    (await cluster.topo.pidsOf('d1')).filter((pid) => {
      try {
        return require('node:fs').readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    });
  const directorPid = async (): Promise<number> => {
    const r = await cluster.topo.run('d1', [process.execPath, LVSCTL, '--socket', sock, '--json', 'status']);
    return (JSON.parse(r) as { processes: { director: { pid: number } } }).processes.director.pid;
  };
  /** rs1 out of the table (down), rs2 in it with weight 1. */
  const rs1Out = async (): Promise<boolean> => {
    const rs = await realServers();
    const [a, b] = [rs.find((x) => x.name === 'rs1'), rs.find((x) => x.name === 'rs2')];
    return a?.health === 'down' && a.kernel === null && b?.health === 'up' && b.kernel?.weight === 1;
  };
  const upEventsOfRs1 = async (): Promise<number> => {
    const out = await cluster.topo.run('d1', [process.execPath, LVSCTL, '--socket', sock, '--json', 'events', '1000']);
    return (JSON.parse(out) as { events: Array<{ subsystem: string; subject: string; message: string }> }).events.filter((e) => e.subsystem === 'check' && e.subject === 'web/rs1' && / UP/.test(e.message)).length;
  };

  before(async () => {
    requireTestbed(['ip']);
    await cluster.build();
    await cluster.startRealServers();
    sock = cluster.scratch.path('dir.sock');
    const conf = cluster.scratch.file('dir.conf', [
      '[global]', 'router_id = dir', `control_socket = ${sock}`, `pid_file = ${cluster.scratch.path('dir.pid')}`, `state_dir = ${cluster.scratch.path('dir-state')}`,
      '[check.http]', 'type = HTTP_GET', 'url_path = /', 'delay_loop = 0.5', 'connect_timeout = 1', 'retry = 1',
      '[virtual_server.web]', `address = ${ADDR.vip}:${PORT}`, 'lb_algo = rr', 'lb_kind = NAT', 'check = http',
      '[real_server.web.rs1]', `address = ${ADDR.rs1}:${PORT}`,
      '[real_server.web.rs2]', `address = ${ADDR.rs2}:${PORT}`, '',
    ].join('\n'));
    const p = cluster.topo.spawn('d1', [process.execPath, path.join(__dirname, '..', '..', '..', 'bin', 'lvsd'), '--config', conf, '--dry-run']);
    await waitFor('the director answers', async () => {
      if (p.child.exitCode !== null) throw new Error(`lvsd exited: ${p.output().slice(-2000)}`);
      return (await realServers()).filter((x) => x.health === 'up').length === 2;
    }, { timeoutMs: 30_000, intervalMs: 200 });
  });
  after(async () => {
    await cluster.destroy();
  });

  it('a real server down, then the checker killed: it stays out of the table, no UP event', async () => {
    for (const pid of await cluster.topo.pidsOf('rs1')) process.kill(pid, 'SIGKILL');
    await waitFor('rs1 out of the table', rs1Out, { timeoutMs: 15_000, intervalMs: 100 });
    const ups = await upEventsOfRs1();
    const [checker] = await pidsWith('worker.js');
    assert.ok(checker, 'a checker process runs');
    process.kill(checker, 'SIGKILL');
    await waitFor('a new checker', async () => (await pidsWith('worker.js')).some((p) => p !== checker), { timeoutMs: 15_000, intervalMs: 100 });
    for (let i = 0; i < 20; i++) {
      assert.ok(await rs1Out(), 'rs1 stayed out of the table through the checker restart');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await upEventsOfRs1(), ups, 'no UP for rs1 because a process restarted');
  });

  it('the director process killed, then stopped for 10 s: restarted, the down server stays out, no UP event', async () => {
    const ups = await upEventsOfRs1();
    const first = await directorPid();
    process.kill(first, 'SIGKILL');
    await waitFor('a new director answering', async () => (await directorPid().catch(() => first)) !== first && (await realServers()).length === 2, { timeoutMs: 20_000, intervalMs: 200 });
    assert.ok(await rs1Out(), 'after the kill: rs1 out, rs2 in');
    const second = await directorPid();
    process.kill(second, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 10_000));
    let killed = false;
    try {
      process.kill(second, 'SIGCONT');
    } catch {
      killed = true;
    }
    assert.ok(killed, 'the stopped director process was killed as stuck');
    await waitFor('a third director answering', async () => (await directorPid().catch(() => second)) !== second && (await realServers()).length === 2, { timeoutMs: 20_000, intervalMs: 200 });
    await waitFor('rs1 out, rs2 in', rs1Out, { timeoutMs: 10_000, intervalMs: 200 });
    assert.equal(await upEventsOfRs1(), ups, 'no UP for rs1 because a process restarted');
    const st = await cluster.topo.run('d1', [process.execPath, LVSCTL, '--socket', sock, 'events', '--subsystem', 'process']);
    assert.match(st, /stuck: no heartbeat/, 'the event names the fault');
  });
});
