import { strict as assert } from 'node:assert';
import { parseConfig } from '../../src/config/load';
import { F, problems } from './helpers';

const VS = (extra: readonly string[] = []) => ['[virtual_server.web]', 'address = 192.0.2.10:80', 'lb_kind = DR', 'lb_algo = mh', 'mh-port = true', 'announce = bgp', ...extra];
const RS = ['[real_server.web.a]', 'address = 198.51.100.2', '[real_server.web.b]', 'address = 198.51.100.1'];

describe('config: [bgp] and announce = bgp (issue 13)', () => {
  it('applies the defaults of [bgp] and makes inhibit_on_failure the default of an announcing virtual server', () => {
    const r = parseConfig(['[bgp]', ...VS(), ...RS].join('\n'), F);
    assert.deepEqual(problems(['[bgp]', ...VS(), ...RS]), []);
    const c = r.config!;
    assert.deepEqual(c.bgp, { birdSocket: '/run/bird/bird.ctl', routeTable: 100, vipInterface: 'lo', bfd: true, sysctls: true, line: 1 });
    const vs = c.virtualServers.get('web')!;
    assert.equal(vs.announce, 'bgp');
    assert.equal(vs.inhibitOnFailure, true);
    assert.equal(vs.realServers.get('a')!.inhibitOnFailure, true);
    // Without announce the keepalived default stays.
    const plain = parseConfig(['[virtual_server.x]', 'address = 192.0.2.11:80', '[real_server.x.a]', 'address = 198.51.100.1:80'].join('\n'), F).config!;
    assert.equal(plain.virtualServers.get('x')!.inhibitOnFailure, false);
    assert.equal(plain.bgp, undefined);
  });

  it('turns the mh/sh fallback on by default for an announcing virtual server (a weight-0 server keeps its slots), and = false still wins', () => {
    const vs = (extra: readonly string[], algo = 'mh') =>
      parseConfig(['[bgp]', ...VS(extra).map((l) => (l === 'lb_algo = mh' ? `lb_algo = ${algo}` : l)), ...RS].join('\n'), F).config!.virtualServers.get('web')!;
    assert.deepEqual(vs([]).schedFlags, { shPort: false, shFallback: false, mhPort: true, mhFallback: true });
    assert.equal(vs(['mh-fallback = false']).schedFlags.mhFallback, false);
    assert.deepEqual(vs([], 'sh').schedFlags, { shPort: false, shFallback: true, mhPort: true, mhFallback: false }); // mh-port is kept (with a warning)
    // Without announce = bgp the kernel's default (off) stays.
    const plain = parseConfig(['[virtual_server.x]', 'address = 192.0.2.11:80', 'lb_algo = mh', '[real_server.x.a]', 'address = 198.51.100.1:80'].join('\n'), F).config!;
    assert.equal(plain.virtualServers.get('x')!.schedFlags.mhFallback, false);
  });

  it('reads every [bgp] key', () => {
    const c = parseConfig(
      ['[bgp]', 'bird_socket = /run/bird/other.ctl', 'route_table = 4242', 'vip_interface = dummy0', 'bfd = false', 'sysctls = no', 'sync_daemon = eth1 id 7 port 9000', ...VS(), ...RS].join('\n'),
      F,
    ).config!;
    assert.deepEqual(c.bgp, { birdSocket: '/run/bird/other.ctl', routeTable: 4242, vipInterface: 'dummy0', bfd: false, sysctls: false, syncDaemon: { interface: 'eth1', syncId: 7, port: 9000, line: 7 }, line: 1 });
  });

  it('refuses NAT, fwmark services and a missing [bgp]; warns without a consistent-hash scheduler', () => {
    assert.deepEqual(problems(['[virtual_server.web]', 'address = 192.0.2.10:80', 'lb_algo = mh', 'announce = bgp']), [
      't.conf:1: warning: [virtual_server.web] has no [real_server.web.*] and no sorry_server',
      't.conf:4: [virtual_server.web]: announce = bgp needs a [bgp] section (bird_socket, route_table ...)',
      't.conf:4: [virtual_server.web]: announce = bgp cannot work with lb_kind = NAT (the default when lb_kind is not given): several directors are active at once and a NAT reply must return through the director that holds the connection; use lb_kind = DR or TUN',
    ]);
    const p = problems(['[bgp]', '[virtual_server.web]', 'fwmark = 5', 'lb_kind = TUN', 'lb_algo = wlc', 'announce = bgp', ...['[real_server.web.a]', 'address = 198.51.100.1']]);
    assert.ok(p.includes('t.conf:6: [virtual_server.web]: announce = bgp needs "address": a fwmark service has no VIP to announce'), p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('t.conf:6: warning: [virtual_server.web]: announce = bgp with lb_algo = wlc: directors will not agree')), p.join('\n'));
  });

  it('refuses reserved tables, a relative socket, a bad sync_daemon and sync_daemon beside lvs_sync_daemon', () => {
    for (const [t, msg] of [
      ['254', 't.conf:2: route_table: 254 is the kernel\'s "main" table: give lvsd a table of its own (e.g. 100) that BIRD\'s kernel protocol imports'],
      ['0', 't.conf:2: route_table: 0 is the kernel\'s "unspec" table: give lvsd a table of its own (e.g. 100) that BIRD\'s kernel protocol imports'],
      ['x', 't.conf:2: route_table: "x" is not a routing table number (1–4294967295, not 253, 254 or 255)'],
    ] as const) {
      assert.deepEqual(problems(['[bgp]', `route_table = ${t}`, ...VS(), ...RS]), [msg]);
    }
    assert.deepEqual(problems(['[bgp]', 'bird_socket = bird.ctl', ...VS(), ...RS]), ['t.conf:2: bird_socket: "bird.ctl" must be an absolute path']);
    assert.deepEqual(problems(['[bgp]', 'sync_daemon = eth1 VI_1', ...VS(), ...RS]), [
      't.conf:2: sync_daemon: "VI_1": lvsd takes "id N" and "port P" after INTERFACE (no VRRP instance: in active/active every director runs master and backup at once)',
    ]);
    const both = problems([
      '[global]', 'lvs_sync_daemon = eth1 VI_1',
      '[vrrp_instance.VI_1]', 'interface = eth0', 'virtual_router_id = 1',
      '[bgp]', 'sync_daemon = eth1', ...VS(), ...RS,
    ]);
    assert.deepEqual(both, ["t.conf:7: [bgp] sync_daemon and [global] lvs_sync_daemon (line 2) both drive the kernel's one pair of sync daemons: keep one"]);
  });

  it('warns about a [bgp] section nobody announces through', () => {
    assert.deepEqual(problems(['[bgp]']), ['t.conf:1: warning: [bgp]: no virtual server says announce = bgp, so nothing is announced']);
  });
});

