/**
 * Issue 13, the daemon's wiring on the host: a whole lvsd (parent, VRRP and
 * director processes) with `[bgp]`, in --dry-run (the host kernel has no
 * IPVS, so the table and the VIP routes are lvsd's in-memory fakes), beside
 * a real BIRD whose control socket it reads. Proves what the VM cannot
 * isolate as cheaply: lvsctl status through the parent, lvsctl drain (no
 * arguments) / undrain with their events, the drain surviving a killed
 * director process, and SIGTERM withdrawing before anything stops.
 */
import { strict as assert } from 'node:assert';
import { Topology, requireTestbed, waitFor, type NsProcess } from '../lib/netns';
import { LVSCTL, LVSD, Scratch } from '../lib/director';

interface BgpJson {
  drained: boolean;
  vips: { vip: string; state: string; cause: string }[];
  bird: { up: boolean };
  protocols: { name: string; bgpState: string }[];
}

describe('bgp in the whole daemon: status, drain, restart and stop through the parent (issue 13)', function () {
  this.timeout(90_000);
  let topo: Topology;
  let scratch: Scratch;
  let lvsd: NsProcess;
  const ctl = (...args: string[]) => topo.run('d1', [process.execPath, LVSCTL, '--socket', scratch.path('lvsd.sock'), ...args]);
  const bgp = async (): Promise<BgpJson> => (JSON.parse(await ctl('--json', 'status')) as { bgp: BgpJson }).bgp;

  before(async () => {
    requireTestbed(['ip', 'bird']);
    topo = await Topology.create('bgpd');
    scratch = new Scratch();
    await topo.addHost('d1', ['203.0.113.2/24']);
    scratch.file('bird.conf', `router id 203.0.113.2;
protocol device {}
protocol kernel lvsd_vips { kernel table 100; learn; ipv4 { import all; export none; }; }
protocol bgp router1 { local 203.0.113.2 as 65001; neighbor 203.0.113.1 as 65000; ipv4 { import none; export where proto = "lvsd_vips"; next hop self; }; }
`);
    topo.spawn('d1', ['bird', '-f', '-c', scratch.path('bird.conf'), '-s', scratch.path('bird.ctl'), '-P', scratch.path('bird.pid')]);
    scratch.file(
      'lvsd.conf',
      [
        '[global]', `state_dir = ${scratch.path('state')}`, `control_socket = ${scratch.path('lvsd.sock')}`, `pid_file = ${scratch.path('lvsd.pid')}`,
        '[bgp]', `bird_socket = ${scratch.path('bird.ctl')}`, 'bfd = false',
        '[virtual_server.web]', 'address = 192.0.2.30:80', 'lb_kind = DR', 'lb_algo = mh', 'announce = bgp',
        '[real_server.web.a]', 'address = 198.51.100.1',
      ].join('\n'),
    );
    lvsd = topo.spawn('d1', [process.execPath, LVSD, '--config', scratch.path('lvsd.conf'), '--dry-run']);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(topo?.diagnostics() ?? '');
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });

  it('lvsctl status shows the VIP announced (a real server with no check is up) and BIRD\'s BGP protocol', async () => {
    const b = await waitFor('the VIP announced', async () => {
      const s = await bgp().catch(() => undefined);
      return s?.vips[0]?.state === 'announced' && s.bird.up ? s : undefined;
    }, { timeoutMs: 30_000 });
    assert.deepEqual(b.vips.map((v) => [v.vip, v.cause]), [['192.0.2.30', 'quorum gained: web']]);
    assert.deepEqual(b.protocols.map((p) => p.name), ['router1']);
    assert.notEqual(b.protocols[0]!.bgpState, 'Established', 'no router here');
    const text = await ctl('status');
    assert.match(text, /^192\.0\.2\.30 +announced +in table/m);
    assert.match(text, /^router1 +start/m);
  });

  it('drain (no arguments) withdraws and records events; it survives a killed director process; undrain announces again', async () => {
    assert.match(await ctl('drain'), /director DRAINED/);
    assert.deepEqual((await bgp()).vips[0]!.cause, 'director drained (lvsctl drain)');
    const events = await ctl('events', '--subsystem', 'bgp,operator');
    assert.match(events, /withdrawn: director drained \(lvsctl drain\)/);
    assert.match(events, /director drained: every BGP-announced VIP withdrawn/);
    const pids = JSON.parse(await ctl('--json', 'status')) as { processes: { director: { pid: number } } };
    process.kill(pids.processes.director.pid, 'SIGKILL');
    const after = await waitFor('a new director process answering', async () => {
      const s = JSON.parse(await ctl('--json', 'status').catch(() => '{}')) as { processes?: { director: { pid: number; state: string } }; bgp?: BgpJson };
      return s.processes?.director.pid !== pids.processes.director.pid && s.processes?.director.state === 'running' && s.bgp?.vips ? s : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(after.bgp!.drained, true, 'still drained after the restart');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await bgp()).vips[0]!.state, 'withdrawn', 'not announced by the restarted process');
    assert.match(await ctl('undrain'), /^192\.0\.2\.30 +announced/m);
  });

  it('SIGTERM withdraws before VRRP and the director stop', async () => {
    lvsd.child.kill('SIGTERM');
    const exit = await lvsd.exited;
    assert.equal(exit.code, 0, lvsd.output());
    const log = lvsd.output();
    const withdraw = log.indexOf('withdrawn: lvsd stopping');
    assert.ok(withdraw > 0, log);
    assert.ok(withdraw < log.indexOf('lvsd stopping process=vrrp'), 'the routes go before VRRP stops');
    assert.ok(withdraw < log.indexOf('lvsd stopping process=director'));
  });
});
