import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../src/config';
import { setEventSink, type NewEvent } from '../../src/events';
import { BirdError, BirdErrorCode, type BirdTransport } from '../../src/bgp/bird';
import { decodeReplies, type BirdReply } from '../../src/bgp/reply';
import { FakeVipRoutes } from '../../src/bgp/routes';
import { BgpService } from '../../src/bgp/service';
import { FakeSysctls } from '../../src/kernel/sysctl';
import { FakeClock } from '../../src/lib/clock';
import { nullLogger } from '../../src/log';

const FIX = path.resolve(__dirname, '../../../test/bgp/fixtures');
const reply = (f: string): BirdReply => decodeReplies(fs.readFileSync(path.join(FIX, f), 'utf8'))[0]!;

/** BIRD as the captured replies show it; `down` makes it unreachable. */
class FakeBird implements BirdTransport {
  down = false;
  peer: 'up' | 'down' = 'up';
  commands: string[] = [];
  greeting = 'BIRD 2.0.12 ready.';
  async command(cmd: string): Promise<BirdReply> {
    this.commands.push(cmd);
    if (this.down) throw new BirdError(BirdErrorCode.UNREACHABLE, 'cannot talk to BIRD at /run/bird/bird.ctl: ECONNREFUSED');
    if (cmd === 'show protocols all') return reply(this.peer === 'up' ? 'show-protocols-all.up.txt' : 'show-protocols-all-router1.down.txt');
    if (cmd === 'show bfd sessions') return reply(this.peer === 'up' ? 'show-bfd-sessions.up.txt' : 'show-bfd-sessions.down.txt');
    throw new Error(`unexpected ${cmd}`);
  }
  close(): void {}
}

const CONF = (extra: string[] = []) =>
  [
    '[bgp]',
    ...extra,
    '[virtual_server.web]', 'address = 192.0.2.10:80', 'lb_kind = DR', 'lb_algo = mh', 'announce = bgp',
    '[real_server.web.a]', 'address = 198.51.100.1',
    '[virtual_server.dns]', 'address = 192.0.2.11:53', 'protocol = UDP', 'lb_kind = DR', 'lb_algo = mh', 'announce = bgp',
    '[real_server.dns.a]', 'address = 198.51.100.1',
    '[virtual_server.plain]', 'address = 192.0.2.12:80', 'lb_kind = DR',
  ].join('\n');

const settle = () => new Promise((r) => setImmediate(r));

describe('bgp/service: the announcer carried out on routes, addresses, sysctls and BIRD', () => {
  let dir: string;
  let events: NewEvent[];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-bgp-'));
    events = [];
    setEventSink((e) => events.push(e));
  });
  afterEach(() => {
    setEventSink(undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function make(opts: { routes?: FakeVipRoutes; bird?: FakeBird; clock?: FakeClock; conf?: string; ipvs?: { startDaemon: (d: unknown) => Promise<void>; stopDaemon: (s: 'master' | 'backup') => Promise<void> } } = {}) {
    const config = parseConfig(opts.conf ?? CONF(), 't.conf').config!;
    const routes = opts.routes ?? new FakeVipRoutes();
    const bird = opts.bird ?? new FakeBird();
    const clock = opts.clock ?? new FakeClock(1000);
    const addrs: string[] = [];
    const sysctls = new FakeSysctls({ 'net.ipv4.vs.sloppy_tcp': '0', 'net.ipv4.vs.sloppy_sctp': '0', 'net.ipv4.vs.expire_nodest_conn': '0', 'net.ipv4.vs.expire_quiescent_template': '1' });
    const svc = new BgpService({
      config,
      routes,
      addresses: { add: async (i, c) => (addrs.push(`add ${c} ${i}`), 'added'), remove: async (i, c) => (addrs.push(`del ${c} ${i}`), 'removed') },
      sysctls,
      clock,
      logger: nullLogger,
      stateDir: dir,
      bird: () => bird,
      ...(opts.ipvs ? { ipvs: opts.ipvs as never } : {}),
    });
    return { svc, routes, bird, clock, addrs, sysctls, config };
  }

  it('announces on quorum (a route in table 100), keeps the VIPs on lo, sets the sysctls, reads BIRD', async () => {
    const { svc, routes, addrs, sysctls } = make();
    await svc.start();
    assert.deepEqual(addrs, ['add 192.0.2.10/32 lo', 'add 192.0.2.11/32 lo'], 'every announcing VIP, not the plain one');
    assert.deepEqual([...sysctls.values.values()], ['1', '1', '1', '1']);
    assert.deepEqual(routes.calls, [], 'no route before quorum is known');
    svc.quorum('web', true);
    svc.quorum('dns', false);
    await settle();
    assert.deepEqual([...routes.tables.get(100)!], ['192.0.2.10']);
    const st = svc.status();
    assert.deepEqual(st.vips.map((v) => [v.vip, v.state, v.route, v.cause]), [
      ['192.0.2.10', 'announced', true, 'quorum gained: web'],
      ['192.0.2.11', 'withdrawn', false, 'quorum lost: dns'],
    ]);
    assert.deepEqual(st.protocols, [{ name: 'router1', state: 'up', bgpState: 'Established', since: '18:07:46.958', neighbor: '203.0.113.1', lastError: '', exportedRoutes: 1, bfd: 'Up' }]);
    assert.equal(st.bird.up, true);
    assert.ok(st.sysctls.every((s) => s.ok));
    assert.ok(events.some((e) => e.subsystem === 'bgp' && e.subject === '192.0.2.10' && e.message === 'announced: quorum gained: web'));
    svc.quorum('web', false);
    await settle();
    assert.deepEqual([...routes.tables.get(100)!], []);
    assert.ok(events.some((e) => e.subject === '192.0.2.10' && e.severity === 'warn' && e.message === 'withdrawn: quorum lost: web'));
    await svc.stop();
  });

  it('keeps the drain in state_dir: a new director process starts drained and withdraws what it finds', async () => {
    const routes = new FakeVipRoutes();
    const a = make({ routes });
    await a.svc.start();
    a.svc.quorum('web', true);
    a.svc.quorum('dns', true);
    await settle();
    assert.equal(routes.tables.get(100)!.size, 2);
    const st = await a.svc.drain(true);
    assert.equal(st.drained, true);
    assert.equal(routes.tables.get(100)!.size, 0);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'bgp.json'), 'utf8')), { drained: true });
    // The process dies (no stop); its successor finds the drain and a route someone put back.
    routes.tables.get(100)!.add('192.0.2.10');
    const b = make({ routes });
    await b.svc.start();
    await settle();
    assert.equal(b.svc.status().drained, true);
    assert.equal(routes.tables.get(100)!.size, 0, 'drained: the route found at start is withdrawn');
    b.svc.quorum('web', true);
    await settle();
    assert.equal(routes.tables.get(100)!.size, 0);
    await b.svc.drain(false);
    assert.deepEqual([...routes.tables.get(100)!], ['192.0.2.10']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'bgp.json'), 'utf8')), { drained: false });
    await b.svc.stop();
    assert.equal(routes.tables.get(100)!.size, 0, 'stop withdraws');
  });

  it('a restarted director process keeps the routes it finds while quorum is unknown (no flap)', async () => {
    const routes = new FakeVipRoutes();
    routes.tables.set(100, new Set(['192.0.2.10', '192.0.2.99']));
    const { svc } = make({ routes });
    await svc.start();
    await settle();
    assert.deepEqual([...routes.tables.get(100)!], ['192.0.2.10'], 'the stray goes, the VIP stays');
    assert.deepEqual(routes.calls, ['del 192.0.2.99 table 100']);
    svc.quorum('web', true);
    await settle();
    assert.deepEqual(routes.calls, ['del 192.0.2.99 table 100'], 'no re-add');
    await svc.stop();
  });

  it('retries a route the kernel refuses, with backoff, and reports it', async () => {
    const routes = new FakeVipRoutes();
    const clock = new FakeClock(1000);
    const { svc } = make({ routes, clock });
    await svc.start();
    routes.fail = Object.assign(new Error('RTM_NEWROUTE 192.0.2.10/32: ENODEV'), { code: 'ENODEV' });
    svc.quorum('web', true);
    await settle();
    assert.equal(svc.status().vips[0]!.routeError, 'RTM_NEWROUTE 192.0.2.10/32: ENODEV');
    assert.ok(events.some((e) => e.severity === 'error' && e.message.startsWith('cannot add its route in table 100')));
    await clock.advanceAsync(1000);
    assert.equal(routes.calls.filter((c) => c.startsWith('add')).length, 2, 'retried after 1 s');
    routes.fail = undefined;
    await clock.advanceAsync(2000);
    assert.deepEqual([...routes.tables.get(100)!], ['192.0.2.10']);
    assert.equal(svc.status().vips[0]!.routeError, null);
    await svc.stop();
  });

  it('reports BIRD down and the BGP peer lost, retries with backoff, and never touches the routes for it', async () => {
    const bird = new FakeBird();
    const clock = new FakeClock(1000);
    const { svc, routes } = make({ bird, clock });
    await svc.start();
    svc.quorum('web', true);
    await settle();
    bird.down = true;
    await clock.advanceAsync(2000);
    let st = svc.status();
    assert.equal(st.bird.up, false);
    assert.match(st.bird.error!, /ECONNREFUSED/);
    assert.ok(events.some((e) => e.subject === 'bird' && e.severity === 'error' && /BIRD cannot be read: .*ECONNREFUSED.*; retrying/.test(e.message)));
    const polls = () => bird.commands.filter((c) => c === 'show protocols all').length;
    const before = polls();
    await clock.advanceAsync(1000);
    assert.equal(polls(), before + 1, 'retry after 1 s');
    await clock.advanceAsync(1999);
    assert.equal(polls(), before + 1, 'then after 2 s');
    await clock.advanceAsync(1);
    assert.equal(polls(), before + 2);
    assert.deepEqual([...routes.tables.get(100)!], ['192.0.2.10'], 'the route stays for BIRD to find');
    bird.down = false;
    bird.peer = 'down';
    await clock.advanceAsync(4000);
    st = svc.status();
    assert.equal(st.bird.up, true);
    assert.deepEqual(st.protocols.map((p) => [p.name, p.bgpState, p.lastError, p.bfd]), [['router1', 'Active', 'Socket: Connection closed', 'Down']]);
    assert.deepEqual(st.bfdMissing, ['router1']);
    assert.ok(events.some((e) => e.subject === 'bird' && e.message.startsWith('BIRD answers again')));
    assert.ok(events.some((e) => e.subject === 'router1' && e.severity === 'error' && e.message === 'BGP session Active (Socket: Connection closed): routes are not exported to 203.0.113.1'));
    await svc.stop();
  });

  it('a reload moves the routes to a new table and drops the address of a VIP no longer announced', async () => {
    const routes = new FakeVipRoutes();
    const { svc, addrs } = make({ routes });
    await svc.start();
    svc.quorum('web', true);
    svc.quorum('dns', true);
    await settle();
    const next = parseConfig(CONF(['route_table = 200']).replace(/announce = bgp\n\[real_server.dns.a\]/, '[real_server.dns.a]'), 't.conf').config!;
    const changes = await svc.reload(next);
    assert.deepEqual(changes, ['bgp: routes move from table 100 dev lo to table 200 dev lo', 'bgp: 192.0.2.11 no longer announced']);
    assert.deepEqual([...routes.tables.get(100)!], []);
    assert.deepEqual([...routes.tables.get(200)!], ['192.0.2.10']);
    assert.ok(addrs.includes('del 192.0.2.11/32 lo'));
    await svc.stop();
  });

  it('sync_daemon runs the master and the backup sync daemon at once, retries a refusal, stops both', async () => {
    const calls: string[] = [];
    let refuse = true;
    const ipvs = {
      startDaemon: async (d: unknown) => {
        const x = d as { state: string; ifname: string; syncId: number };
        calls.push(`start ${x.state} ${x.ifname} ${x.syncId}`);
        if (refuse && x.state === 'backup') throw Object.assign(new Error('ENODEV'), { code: 'ENODEV' });
      },
      stopDaemon: async (s: string) => void calls.push(`stop ${s}`),
    };
    const clock = new FakeClock(1000);
    const { svc } = make({ ipvs, clock, conf: CONF(['sync_daemon = eth1 id 9']) });
    await svc.start();
    assert.deepEqual(calls, ['start master eth1 9', 'start backup eth1 9']);
    assert.deepEqual(svc.status().syncDaemon, { interface: 'eth1', syncId: 9, port: 8848, running: ['master'], lastError: 'ENODEV' });
    refuse = false;
    await clock.advanceAsync(1000);
    assert.deepEqual(calls.slice(2), ['start backup eth1 9']);
    assert.deepEqual(svc.status().syncDaemon!.running, ['master', 'backup']);
    await svc.stop();
    assert.deepEqual(calls.slice(3), ['stop master', 'stop backup']);
  });
});
