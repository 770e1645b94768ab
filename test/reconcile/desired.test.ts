import * as assert from 'node:assert/strict';
import { desiredServiceOf, desiredState, nextQuorum, type DesiredInput, type RsHealth } from '../../src/reconcile/desired';
import type { OverrideName } from '../../src/reconcile/desired';
import { conf, WEB } from './helpers';

const none = new Map<string, never>();

function run(lines: readonly string[], health: Record<string, RsHealth> = {}, overrides: Record<string, OverrideName> = {}, quorum?: Record<string, boolean>) {
  const input: DesiredInput = {
    config: conf(lines),
    health: new Map(Object.entries(health)),
    overrides: new Map(Object.entries(overrides)),
    ...(quorum ? { quorum: new Map(Object.entries(quorum)) } : {}),
  };
  return desiredState(input);
}

const weights = (s: ReturnType<typeof run>, i = 0) => s.services[i]!.dests.map((d) => `${d.address}:${d.port}=${d.weight}`);

describe('reconcile/desired', () => {
  it('maps a NAT virtual server to a service and its dests (configured weights, all up)', () => {
    const s = run(WEB);
    assert.equal(s.services.length, 1);
    const svc = s.services[0]!;
    assert.deepEqual(svc.service, {
      key: { family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 },
      scheduler: 'wlc',
      flags: { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false },
      timeoutS: 0,
      netmask: 32,
    });
    assert.deepEqual(svc.dests, [
      { address: '198.51.100.1', port: 80, fwdMethod: 'NAT', weight: 1, upperThreshold: 0, lowerThreshold: 0 },
      { address: '198.51.100.2', port: 80, fwdMethod: 'NAT', weight: 2, upperThreshold: 0, lowerThreshold: 0 },
    ]);
    assert.equal(svc.quorumUp, true);
    assert.equal(svc.weightSum, 3);
  });

  it('removes a down real server, or keeps it at weight 0 with inhibit_on_failure', () => {
    const down = { 'web/rs2': { up: false, reason: 'ECONNREFUSED' } };
    assert.deepEqual(weights(run(WEB, down)), ['198.51.100.1:80=1']);
    const inhibit = [...WEB, 'inhibit_on_failure = true'];
    const s = run(inhibit, down);
    assert.deepEqual(weights(s), ['198.51.100.1:80=1', '198.51.100.2:80=0']);
    assert.equal(s.services[0]!.realServers[1]!.disposition, 'down-inhibited');
    assert.equal(s.services[0]!.weightSum, 1, 'an inhibited server adds nothing to the quorum sum');
  });

  it('keeps a real server without checks up whatever the health map says', () => {
    const lines = WEB.filter((l) => l !== 'check = tcp');
    assert.deepEqual(weights(run(lines, { 'web/rs1': { up: false } })), ['198.51.100.1:80=1', '198.51.100.2:80=2']);
  });

  it('takes a misc_dynamic weight instead of the configured one while up', () => {
    assert.deepEqual(weights(run(WEB, { 'web/rs2': { up: true, weight: 7 } })), ['198.51.100.1:80=1', '198.51.100.2:80=7']);
  });

  it('drain keeps the dest at weight 0; disable removes it, whatever the health', () => {
    const s = run(WEB, {}, { 'web/rs1': 'drain', 'web/rs2': 'disable' });
    assert.deepEqual(weights(s), ['198.51.100.1:80=0']);
    assert.deepEqual(
      s.services[0]!.realServers.map((r) => r.disposition),
      ['drained', 'disabled'],
    );
  });

  it('starts alpha real servers down until their first report', () => {
    const s = run([...WEB.slice(0, 7), 'alpha = true', ...WEB.slice(7)]);
    assert.deepEqual(weights(s), []);
    assert.deepEqual(weights(run([...WEB.slice(0, 7), 'alpha = true', ...WEB.slice(7)], { 'web/rs1': { up: true } })), ['198.51.100.1:80=1']);
  });

  it('quorum lost: the sorry server (weight 1) replaces the live pool; inhibited servers stay at 0', () => {
    const lines = [...WEB.slice(0, 7), 'quorum = 3', 'sorry_server = 203.0.113.9:8080', ...WEB.slice(7), 'inhibit_on_failure = true'];
    const s = run(lines, { 'web/rs2': { up: false } }, {}, { web: true });
    assert.equal(s.services[0]!.quorumUp, false);
    assert.equal(s.quorum.get('web'), false);
    // rs1 (alive, no inhibit) out, rs2 (down, inhibit) at 0, sorry in with NAT and its own port.
    assert.deepEqual(weights(s), ['198.51.100.2:80=0', '203.0.113.9:8080=1']);
    assert.equal(s.services[0]!.sorry?.fwdMethod, 'NAT');
    // Quorum back: sorry out, pool back.
    const back = run(lines, {}, {}, { web: false });
    assert.deepEqual(weights(back), ['198.51.100.1:80=1', '198.51.100.2:80=2']);
  });

  it('quorum lost without a sorry server changes nothing in the table', () => {
    const lines = [...WEB.slice(0, 7), 'quorum = 3', ...WEB.slice(7)];
    const s = run(lines, { 'web/rs2': { up: false } }, {}, { web: true });
    assert.equal(s.services[0]!.quorumUp, false);
    assert.deepEqual(weights(s), ['198.51.100.1:80=1']);
  });

  it('sorry_server_inhibit keeps the unused sorry server at weight 0', () => {
    const lines = [...WEB.slice(0, 7), 'sorry_server = 203.0.113.9:80', 'sorry_server_inhibit = true', ...WEB.slice(7)];
    assert.deepEqual(weights(run(lines)), ['198.51.100.1:80=1', '198.51.100.2:80=2', '203.0.113.9:80=0']);
  });

  it('quorum hysteresis follows keepalived: lost below quorum−h (or at 0), regained at quorum+h', () => {
    assert.equal(nextQuorum(true, 2, 3, 1), true);
    assert.equal(nextQuorum(true, 1, 3, 1), false);
    assert.equal(nextQuorum(true, 0, 1, 0), false);
    assert.equal(nextQuorum(false, 3, 3, 1), false);
    assert.equal(nextQuorum(false, 4, 3, 1), true);
    assert.equal(nextQuorum(undefined, 3, 3, 1), true, 'at start the quorum alone decides');
    assert.equal(nextQuorum(undefined, 2, 3, 1), false);
    // Through desiredState: weights 1+2, quorum 3 hysteresis 1, rs1 down (sum 2) stays up.
    const lines = [...WEB.slice(0, 7), 'quorum = 3', 'hysteresis = 1', 'sorry_server = 203.0.113.9:80', ...WEB.slice(7)];
    const s = run(lines, { 'web/rs1': { up: false } }, {}, { web: true });
    assert.equal(s.services[0]!.quorumUp, true);
    assert.deepEqual(weights(s), ['198.51.100.2:80=2']);
  });

  it('DR and TUN dests take the service port (real servers and sorry server)', () => {
    const lines = [
      '[virtual_server.dr]',
      'address = 192.0.2.100:443',
      'lb_kind = DR',
      'sorry_server = 203.0.113.9:8443',
      'quorum = 5',
      '[real_server.dr.a]',
      'address = 198.51.100.1:8443',
    ];
    const s = run(lines, {}, {}, { dr: true });
    assert.deepEqual(weights(s), ['203.0.113.9:443=1']);
    assert.equal(s.services[0]!.dests[0]!.fwdMethod, 'DR');
    const up = run(lines.map((l) => (l === 'quorum = 5' ? 'quorum = 1' : l)));
    assert.deepEqual(up.services[0]!.dests.map((d) => [d.port, d.fwdMethod]), [[443, 'DR']]);
  });

  it('maps persistence, granularity, scheduler flags and ops to service flags', () => {
    const s = run([
      '[virtual_server.p]',
      'address = 192.0.2.100:80',
      'lb_algo = sh',
      'sh-port = true',
      'sh-fallback = true',
      'persistence_timeout = 300',
      'persistence_granularity = 255.255.255.0',
      '[virtual_server.u]',
      'address = 192.0.2.100:53',
      'protocol = UDP',
      'ops = true',
      'lb_algo = mh',
      'mh-port = true',
    ]);
    assert.deepEqual(s.services[0]!.service.flags, { persistent: true, onePacket: false, sched1: true, sched2: true, sched3: false });
    assert.equal(s.services[0]!.service.timeoutS, 300);
    assert.equal(s.services[0]!.service.netmask, 24);
    assert.deepEqual(s.services[1]!.service.flags, { persistent: false, onePacket: true, sched1: false, sched2: true, sched3: false });
    assert.deepEqual(s.services[1]!.service.key, { family: 4, protocol: 'UDP', address: '192.0.2.100', port: 53 });
  });

  it('maps fwmark and IPv6 virtual servers', () => {
    const s = run([
      '[virtual_server.fw]',
      'fwmark = 7',
      'ip_family = inet6',
      'lb_kind = DR',
      '[real_server.fw.a]',
      'address = 2001:db8::10',
      '[virtual_server.v6]',
      'address = [2001:db8::100]:80',
      'persistence_timeout = 60',
      '[real_server.v6.a]',
      'address = [2001:db8::11]:8080',
      'weight = 3',
    ]);
    assert.deepEqual(s.services[0]!.service.key, { family: 6, fwmark: 7 });
    assert.deepEqual(s.services[0]!.dests.map((d) => [d.address, d.port, d.fwdMethod]), [['2001:db8::10', 0, 'DR']]);
    assert.deepEqual(s.services[1]!.service.key, { family: 6, protocol: 'TCP', address: '2001:db8::100', port: 80 });
    assert.equal(s.services[1]!.service.netmask, 128);
    assert.deepEqual(weights(s, 1), ['2001:db8::11:8080=3']);
  });

  it('is pure: the same input gives the same output and inputs are not changed', () => {
    const input: DesiredInput = { config: conf(WEB), health: new Map([['web/rs1', { up: false }]]), overrides: none };
    assert.deepEqual(desiredState(input), desiredState(input));
    assert.equal(input.health.size, 1);
  });
  it('recomputing one virtual server after a change: the same result as from scratch, untouched real servers keep their objects', () => {
    const lines = ['[virtual_server.w]', 'address = 192.0.2.100:80', 'lb_algo = wlc', '[real_server.w.a]', 'address = 198.51.100.1:80', 'check = tcp', 'inhibit_on_failure = yes', '[real_server.w.b]', 'address = 198.51.100.2:80', 'weight = 3', '[check.tcp]', 'type = TCP_CHECK'];
    const config = conf(lines);
    const vs = config.virtualServers.get('w')!;
    const up = desiredServiceOf(vs, { health: new Map(), overrides: new Map() });
    const downHealth = new Map([['w/a', { up: false, reason: 'x' }]]);
    const down = desiredServiceOf(vs, { health: downHealth, overrides: new Map() });
    // Fresh configuration objects: nothing cached for them.
    assert.deepEqual(down, desiredServiceOf(conf(lines).virtualServers.get('w')!, { health: downHealth, overrides: new Map() }));
    assert.deepEqual(down.dests.map((d) => `${d.address}=${d.weight}`), ['198.51.100.1=0', '198.51.100.2=3']);
    assert.equal(down.realServers[0]!.disposition, 'down-inhibited');
    assert.equal(down.dests[1], up.dests[1], 'the untouched dest is the same object');
    assert.equal(down.realServers[1], up.realServers[1], 'the untouched verdict is the same object');
    const back = desiredServiceOf(vs, { health: new Map([['w/a', { up: true, reason: 'y', weight: 7 }]]), overrides: new Map([['w/b', 'drain' as const]]) });
    assert.deepEqual(back.dests.map((d) => `${d.address}=${d.weight}`), ['198.51.100.1=7', '198.51.100.2=0']);
    assert.deepEqual(back.realServers.map((r) => `${r.name} ${r.disposition} ${r.liveWeight}`), ['a up 7', 'b drained 0']);
    assert.deepEqual(up.dests.map((d) => `${d.address}=${d.weight}`), ['198.51.100.1=1', '198.51.100.2=3'], 'an earlier result is not changed by later ones');
  });
});

describe('reconcile/desired: one canonical dest order for hash schedulers (issue 13)', () => {
  const vs = (algo: string, extra: readonly string[] = []) => [
    '[virtual_server.aa]', 'address = 192.0.2.10:80', 'lb_kind = DR', `lb_algo = ${algo}`, ...extra,
    '[real_server.aa.c]', 'address = 198.51.100.10',
    '[real_server.aa.a]', 'address = 198.51.100.9',
    '[real_server.aa.b]', 'address = 198.51.100.100',
  ];
  it('mh and sh: dests sorted by address bytes (not text), whatever the file order; the sorry server last', () => {
    for (const algo of ['mh', 'sh']) {
      assert.deepEqual(weights(run(vs(algo))), ['198.51.100.9:80=1', '198.51.100.10:80=1', '198.51.100.100:80=1'], algo);
    }
    const sorry = run(vs('mh', ['sorry_server = 198.51.100.1:80', 'sorry_server_inhibit = true']));
    assert.deepEqual(weights(sorry), ['198.51.100.9:80=1', '198.51.100.10:80=1', '198.51.100.100:80=1', '198.51.100.1:80=0']);
  });
  it('other schedulers keep the file order', () => {
    assert.deepEqual(weights(run(vs('wlc'))), ['198.51.100.10:80=1', '198.51.100.9:80=1', '198.51.100.100:80=1']);
  });
});
