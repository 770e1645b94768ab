/**
 * Issue 13 on the host: lvsd's BGP module (src/bgp, driven by
 * test/bgp/harness.ts because the host kernel has no IPVS for the whole
 * director) in a director namespace beside a real BIRD 2 that imports
 * lvsd's table 100 and speaks BGP with BFD to a router namespace's BIRD.
 * Proves from the router's kernel table that an announce adds the route and
 * a quorum loss, a drain and a stop remove it; that status reads BIRD's BGP
 * and BFD states; and that a BIRD killed is reported, leaves the route in
 * table 100, and is read again (and re-exports the route) once restarted.
 * The whole daemon with IPVS is proved in the VM (bgp-vm).
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { Topology, requireTestbed, waitFor, type NsProcess } from '../lib/netns';
import { Scratch } from '../lib/director';

const HARNESS = path.resolve(__dirname, '../bgp/harness.js');
// BFD relaxed against this machine's load (100 ms x 3 flaps here under six agents); still far under the hold time.
const BFD = 'interface "eth0" { min rx interval 200 ms; min tx interval 200 ms; multiplier 5; };';
const TIMERS = 'connect delay time 1; connect retry time 2; error wait time 1, 4;';

const routerConf = (log: string) => `router id 203.0.113.1;
log "${log}" all;
protocol device {}
protocol bfd { ${BFD} }
protocol kernel { ipv4 { export all; }; merge paths on; }
protocol bgp d1 {
  local 203.0.113.1 as 65000;
  neighbor 203.0.113.2 as 65001;
  bfd on; ${TIMERS}
  ipv4 { import all; export none; };
}
`;

const directorConf = (log: string) => `router id 203.0.113.2;
log "${log}" all;
protocol device {}
protocol bfd { ${BFD} }
protocol kernel lvsd_vips {
  kernel table 100;
  learn;
  ipv4 { import all; export none; };
}
protocol bgp router1 {
  local 203.0.113.2 as 65001;
  neighbor 203.0.113.1 as 65000;
  bfd on; ${TIMERS}
  ipv4 { import none; export where proto = "lvsd_vips"; next hop self; };
}
`;

interface Answer {
  ok?: boolean;
  error?: string;
  ready?: boolean;
  status?: {
    drained: boolean;
    vips: { vip: string; state: string; route: boolean; cause: string }[];
    bird: { up: boolean; error: string | null };
    protocols: { name: string; bgpState: string; bfd: string | null; exportedRoutes: number | null; neighbor: string | null }[];
  };
  event?: { subsystem: string; severity: string; subject: string; message: string };
}

describe('bgp on the host: lvsd\'s routes in table 100, BIRD exporting them to a router (issue 13)', function () {
  this.timeout(120_000);
  let topo: Topology;
  let scratch: Scratch;
  let harness: NsProcess;
  let lines: Answer[] = [];
  let answered = 0;

  const startBird = (ns: 'router' | 'd1') =>
    topo.spawn(ns, ['bird', '-f', '-c', scratch.path(`${ns}.conf`), '-s', scratch.path(`${ns}.ctl`), '-P', scratch.path(`${ns}.pid`)]);

  const ask = async (cmd: Record<string, unknown>): Promise<Answer> => {
    const want = answered + 1;
    harness.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    const a = await waitFor(`the harness to answer ${JSON.stringify(cmd)}`, () => lines.filter((l) => 'ok' in l)[want - 1], { timeoutMs: 10_000 });
    answered = want;
    if (!a.ok) throw new Error(`harness: ${a.error}`);
    return a;
  };
  const status = async () => (await ask({ cmd: 'status' })).status!;
  const routerRoute = async () => (await topo.run('router', ['ip', 'route', 'show', '192.0.2.10/32'])).trim();
  const timed = async (what: string, probe: () => Promise<boolean>): Promise<number> => {
    const t0 = performance.now();
    await waitFor(what, async () => (await probe()) || undefined, { timeoutMs: 20_000, intervalMs: 20 });
    return performance.now() - t0;
  };

  before(async () => {
    requireTestbed(['ip', 'bird', 'birdc']);
    topo = await Topology.create('bgp');
    scratch = new Scratch();
    await topo.addHost('router', ['203.0.113.1/24']);
    await topo.addHost('d1', ['203.0.113.2/24']);
    scratch.file('router.conf', routerConf(scratch.path('router.log')));
    scratch.file('d1.conf', directorConf(scratch.path('d1.log')));
    startBird('router');
    startBird('d1');
    scratch.file(
      'lvsd.conf',
      [
        '[bgp]',
        `bird_socket = ${scratch.path('d1.ctl')}`,
        'route_table = 100',
        '[virtual_server.web]', 'address = 192.0.2.10:80', 'lb_kind = DR', 'lb_algo = mh', 'mh-port = true', 'announce = bgp',
        '[real_server.web.a]', 'address = 198.51.100.1',
      ].join('\n'),
    );
    await startHarness();
  });

  async function startHarness(): Promise<void> {
    lines = [];
    answered = 0;
    harness = topo.spawn('d1', [process.execPath, HARNESS, scratch.path('lvsd.conf'), scratch.path('state')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    const mine = lines;
    harness.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        mine.push(JSON.parse(buf.slice(0, nl)) as Answer);
        buf = buf.slice(nl + 1);
      }
    });
    await waitFor('the harness to start', () => lines.some((l) => l.ready), { timeoutMs: 20_000 });
  }
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${topo?.diagnostics() ?? ''}\nharness lines:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });

  it('reads BIRD: the BGP session Established with its BFD session Up, the VIP on lo, nothing announced before quorum', async () => {
    const st = await waitFor(
      'BIRD to report router1 Established with BFD Up',
      async () => {
        const s = await status();
        return s.protocols.some((p) => p.name === 'router1' && p.bgpState === 'Established' && p.bfd === 'Up') ? s : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(st.bird.up, true);
    assert.deepEqual(st.protocols.map((p) => [p.name, p.neighbor]), [['router1', '203.0.113.1']]);
    assert.equal(st.vips[0]!.state, 'pending');
    assert.match(await topo.run('d1', ['ip', '-4', 'addr', 'show', 'dev', 'lo']), /inet 192\.0\.2\.10\/32/);
    assert.equal(await routerRoute(), '');
  });

  it('quorum gained: the route appears in table 100 and on the router; lost: it leaves the router', async () => {
    const tAdd = await (async () => {
      await ask({ cmd: 'quorum', vs: 'web', up: true });
      return timed('the router to learn 192.0.2.10', async () => (await routerRoute()).includes('via 203.0.113.2'));
    })();
    assert.match(await topo.run('d1', ['ip', 'route', 'show', 'table', '100']), /^192\.0\.2\.10 dev lo proto 250 scope link/m);
    const st = await status();
    assert.deepEqual(st.vips.map((v) => [v.vip, v.state, v.route, v.cause]), [['192.0.2.10', 'announced', true, 'quorum gained: web']]);
    await waitFor('BIRD to count the exported route', async () => ((await status()).protocols[0]!.exportedRoutes === 1) || undefined, { timeoutMs: 10_000 });
    await ask({ cmd: 'quorum', vs: 'web', up: false });
    const tDel = await timed('the router to drop 192.0.2.10', async () => (await routerRoute()) === '');
    assert.equal((await topo.run('d1', ['ip', 'route', 'show', 'table', '100'])).trim(), '');
    process.stdout.write(`      announce reached the router in ${tAdd.toFixed(0)} ms, withdraw in ${tDel.toFixed(0)} ms\n`);
  });

  it('drain withdraws and undrain announces again', async () => {
    await ask({ cmd: 'quorum', vs: 'web', up: true });
    await timed('the route back', async () => (await routerRoute()).includes('via 203.0.113.2'));
    const d = await ask({ cmd: 'drain', drained: true });
    assert.equal(d.status!.drained, true);
    assert.equal(d.status!.vips[0]!.cause, 'director drained (lvsctl drain)');
    await timed('the router to drop the drained VIP', async () => (await routerRoute()) === '');
    await ask({ cmd: 'drain', drained: false });
    await timed('the route back after undrain', async () => (await routerRoute()).includes('via 203.0.113.2'));
  });

  it('BIRD killed: reported and retried, the route stays in table 100; BIRD restarted: read again and the router learns the route with no resync', async () => {
    const pid = Number((await topo.run('d1', ['cat', scratch.path('d1.pid')])).trim());
    process.kill(pid, 'SIGKILL');
    const down = await waitFor('status to say BIRD is down', async () => {
      const s = await status();
      return s.bird.up ? undefined : s;
    }, { timeoutMs: 15_000 });
    assert.match(down.bird.error!, /ECONNREFUSED|ENOENT|closed/);
    assert.ok(lines.some((l) => l.event?.subsystem === 'bgp' && l.event.subject === 'bird' && l.event.severity === 'error' && l.event.message.startsWith('BIRD cannot be read')), 'an error event');
    assert.match(await topo.run('d1', ['ip', 'route', 'show', 'table', '100']), /^192\.0\.2\.10 dev lo proto 250/m);
    await timed('the router to lose the route with the dead BIRD', async () => (await routerRoute()) === '');
    startBird('d1');
    await waitFor('status to read BIRD again, Established', async () => {
      const s = await status();
      return s.bird.up && s.protocols[0]?.bgpState === 'Established' ? s : undefined;
    }, { timeoutMs: 40_000 });
    assert.ok(lines.some((l) => l.event?.subject === 'bird' && l.event.message.startsWith('BIRD answers again')));
    await timed('the router to learn the route from the restarted BIRD', async () => (await routerRoute()).includes('via 203.0.113.2'));
  });

  it('a restarted director process reads the route back from table 100 (RTM_GETROUTE) and keeps it: no flap at the router', async () => {
    harness.child.kill('SIGKILL');
    await harness.exited;
    let gone = false;
    const watch = setInterval(() => void routerRoute().then((r) => (gone ||= r === '')), 20);
    try {
      await startHarness();
      const st = await status();
      assert.deepEqual(st.vips.map((v) => [v.vip, v.state, v.route, v.cause]), [['192.0.2.10', 'announced', true, 'found announced at start']]);
      await ask({ cmd: 'quorum', vs: 'web', up: true });
      await new Promise((r) => setTimeout(r, 500));
      assert.match(await routerRoute(), /via 203\.0\.113\.2/);
    } finally {
      clearInterval(watch);
    }
    assert.equal(gone, false, 'the router never lost the route');
  });

  it('stop withdraws first: the router drops the route', async () => {
    await ask({ cmd: 'stop' });
    await timed('the router to drop the route at stop', async () => (await routerRoute()) === '');
    assert.equal((await topo.run('d1', ['ip', 'route', 'show', 'table', '100'])).trim(), '');
    // The VIP stays on lo: flows still arriving are served.
    assert.match(await topo.run('d1', ['ip', '-4', 'addr', 'show', 'dev', 'lo']), /inet 192\.0\.2\.10\/32/);
    assert.deepEqual(await harness.exited, { code: 0, signal: null });
  });
});
