import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ini from 'ini';
import { loadConfig, parseConfig } from '../../src/config/load';
import { fakeHost } from '../../src/config/host';
import { scanIni } from '../../src/config/source';
import { ProblemSink } from '../../src/config/errors';
import { errors, everythingHost, F, instance, problems, ROOT } from './helpers';

const SAMPLE = path.join(ROOT, 'test/config/fixtures/config-md-sample.conf');
const EXAMPLE = path.join(ROOT, 'etc/lvsd.conf');

describe('config: the CONFIG.md sample and etc/lvsd.conf', () => {
  it('loads the CONFIG.md sample (both blocks) with zero errors, on a host that has nothing', () => {
    const r = loadConfig(SAMPLE, { host: fakeHost([], []) });
    const errs = r.problems.filter((p) => p.severity === 'error');
    assert.deepEqual(errs, []);
    assert.ok(r.config);
    // The host lacks eth0/eth1 and every script: those are warnings, on their lines.
    assert.ok(r.problems.some((p) => p.severity === 'warning' && p.message === 'interface eth0 does not exist on this host'));
    assert.ok(r.problems.some((p) => p.message === '/usr/lib/lvsd/checks/check_tcp is not an executable file on this host'));
  });

  it('gives the sample keepalived meanings, in natural units', () => {
    const c = loadConfig(SAMPLE, { host: null }).config!;
    const vi = c.vrrpInstances.get('VI_1')!;
    assert.equal(vi.state, 'BACKUP');
    assert.equal(vi.priority, 150);
    assert.equal(vi.advertIntCs, 100);
    assert.equal(vi.version, 3);
    assert.equal(vi.family, 4);
    assert.deepEqual(vi.virtualIpaddress.map((v) => `${v.address}/${v.prefix}`), ['192.0.2.100/24']);
    assert.deepEqual([...vi.virtualIpaddress[0]!.bytes], [192, 0, 2, 100]);
    assert.deepEqual(vi.virtualIpaddressExcluded.map((v) => `${v.address}/${v.prefix}`), ['2001:db8::100/64']);
    assert.equal(vi.unicastSrcIp?.address, '192.0.2.11');
    assert.deepEqual(vi.unicastPeers.map((p) => p.address), ['192.0.2.12']);
    assert.equal(vi.nopreempt, false);
    assert.equal(vi.authentication, undefined, 'ignored under version 3');
    assert.deepEqual(vi.trackInterfaces.map((t) => [t.name, t.weight]), [['eth1', 0]]);
    assert.deepEqual(vi.trackScripts.map((t) => t.name), ['chk_proxy']);
    assert.equal(vi.garpMasterDelayMs, 5000);
    assert.equal(vi.garpMasterRepeat, 5);
    assert.equal(vi.garpMasterRefreshMs, 0);
    assert.equal(vi.transport, 'raw');
    assert.deepEqual(vi.notifyMaster?.argv, ['/etc/lvsd/notify.sh', 'master']);
    assert.equal(vi.syncGroup, 'G1');
    const s = c.vrrpScripts.get('chk_proxy')!;
    assert.deepEqual(s.script.argv, ['/usr/lib/lvsd/checks/check_tcp', '127.0.0.1', '80']);
    assert.deepEqual([s.intervalMs, s.timeoutMs, s.rise, s.fall, s.weight], [2000, 1000, 2, 2, -60]);
    const chk = c.checks.get('web_health')!;
    assert.equal(chk.type, 'HTTP_GET');
    if (chk.type !== 'HTTP_GET') return;
    assert.equal(chk.urlPath, '/healthz');
    assert.deepEqual(chk.statusCode, [{ min: 200, max: 200 }]);
    assert.deepEqual([chk.connectTimeoutMs, chk.delayLoopMs, chk.retry, chk.delayBeforeRetryMs], [3000, 2000, 3, 1000]);
    const vs = c.virtualServers.get('web')!;
    assert.equal(vs.address?.address, '192.0.2.100');
    assert.equal(vs.address?.port, 80);
    assert.deepEqual([vs.protocol, vs.lbAlgo, vs.lbKind, vs.persistenceTimeoutMs, vs.quorum], ['TCP', 'wlc', 'NAT', 300_000, 1]);
    assert.equal(vs.sorryServer?.address, '198.51.100.99');
    const rs1 = vs.realServers.get('rs1')!;
    const rs2 = vs.realServers.get('rs2')!;
    assert.deepEqual([rs1.weight, rs1.inhibitOnFailure, rs1.checks], [1, true, ['web_health']]);
    assert.deepEqual([rs2.weight, rs2.inhibitOnFailure, rs2.checks], [2, false, ['web_health']]);
    assert.deepEqual(c.global.lvsSyncDaemon && { ...c.global.lvsSyncDaemon, line: 0 }, { interface: 'eth1', instance: 'VI_INSIDE', syncId: 0, port: 8848, line: 0 });
    assert.equal(c.global.controlSocket, '/run/lvsd/lvsd.sock');
    assert.equal(c.global.logLevel, 'info');
  });

  it('reads every value of the sample exactly as the ini package does', () => {
    const text = fs.readFileSync(SAMPLE, 'utf8');
    const viaIni = ini.decode(text) as Record<string, unknown>;
    const sections = scanIni(text, new ProblemSink(F));
    let compared = 0;
    for (const s of sections) {
      // ini nests [a.b.c] as a → b → c.
      let node = viaIni as Record<string, unknown>;
      for (const part of s.header.split('.')) node = node[part] as Record<string, unknown>;
      for (const e of s.entries) {
        const iv = node[e.key];
        const mine = e.array ? s.entries.filter((x) => x.key === e.key).map((x) => x.value) : e.value;
        // ini turns "true"/"false" into booleans; lvsd keeps text and parses it per key.
        const norm = (v: unknown) => (typeof v === 'boolean' ? String(v) : v);
        assert.deepEqual(Array.isArray(iv) ? iv.map(norm) : norm(iv), Array.isArray(mine) ? mine.map(norm) : norm(mine), `${s.header} ${e.key}`);
        compared++;
      }
    }
    assert.ok(compared > 50, `compared ${compared} values`);
  });

  it('loads etc/lvsd.conf with no errors', () => {
    const r = loadConfig(EXAMPLE, { host: null });
    assert.deepEqual(r.problems.filter((p) => p.severity === 'error'), []);
    assert.ok(r.config);
    assert.ok(r.config.vrrpInstances.size >= 2);
    assert.ok(r.config.virtualServers.size >= 1);
  });

  it('reports an unreadable file as one error at line 0', () => {
    const missing = path.join(os.tmpdir(), `lvsd-no-such-${process.pid}.conf`);
    const r = loadConfig(missing);
    assert.equal(r.config, undefined);
    assert.deepEqual(r.problems.map((p) => `${p.file}:${p.line}: ${p.message}`), [`${missing}:0: cannot read the configuration: ENOENT`]);
  });
});

describe('config: text syntax', () => {
  it('strips inline comments and keeps quoted values whole', () => {
    const r = parseConfig(
      [...instance('VI_1'), 'version = 2', 'authentication = PASS', 'auth_pass = "se;c#t"   ; the password', 'priority = 120 # comment'].join('\n'),
      F,
    );
    assert.deepEqual(r.problems, []);
    const vi = r.config!.vrrpInstances.get('VI_1')!;
    assert.equal(vi.authentication?.pass, 'se;c#t');
    assert.equal(vi.priority, 120);
  });

  it('reads a bare boolean key as true (keepalived style) and a comment after a header', () => {
    const r = parseConfig(['[vrrp_instance.VI_1]   ; the outside VIP', 'interface = eth0', 'virtual_router_id = 1', 'nopreempt'].join('\n'), F);
    assert.deepEqual(r.problems, []);
    assert.equal(r.config!.vrrpInstances.get('VI_1')!.nopreempt, true);
  });

  it('counts lines across CRLF and blank lines', () => {
    assert.deepEqual(problems(['[global]', '', '; c', 'log_levl = info'].map((l) => l + '\r')), [
      `${F}:4: unknown key "log_levl" in [global]; did you mean "log_level"?`,
    ]);
  });

  it('rejects a key outside any section and a malformed header', () => {
    assert.deepEqual(errors(['router_id = a', '[global', '[global]']), [
      `${F}:1: "router_id" is outside any section: put it under [global] or another section`,
      `${F}:2: malformed section header: expected "[kind.name]", found "[global"`,
    ]);
  });

  it('rejects unknown section kinds with a suggestion, wrong name shapes and duplicates', () => {
    assert.deepEqual(errors(['[vrrp_instanse.VI_1]', '[global_defs]', '[vrrp_instance]', '[real_server.web]', '[check.a]', 'type = TCP_CHECK', '[check.a]']), [
      `${F}:1: unknown section kind "vrrp_instanse"; did you mean "vrrp_instance"? (kinds: global, vrrp_script, vrrp_instance, vrrp_sync_group, check, virtual_server, real_server, notify, bgp)`,
      `${F}:2: unknown section kind "global_defs"; did you mean "global"? (kinds: global, vrrp_script, vrrp_instance, vrrp_sync_group, check, virtual_server, real_server, notify, bgp)`,
      `${F}:3: section [vrrp_instance] must be written [vrrp_instance.NAME] (names are labels without dots)`,
      `${F}:4: section [real_server.web] must be written [real_server.VIRTUAL_SERVER.NAME] (names are labels without dots)`,
      `${F}:7: duplicate section [check.a] (first at line 5)`,
    ]);
  });
});

describe('config: keys and values', () => {
  it('rejects an unknown key, suggesting the near one', () => {
    assert.deepEqual(errors([...instance('VI_1'), 'prioirty = 100']), [`${F}:4: unknown key "prioirty" in [vrrp_instance.VI_1]; did you mean "priority"?`]);
  });

  it('hints at the lvsd spelling of a keepalived keyword', () => {
    assert.deepEqual(errors([...instance('VI_1'), 'auth_type = PASS']), [
      `${F}:4: unknown key "auth_type" in [vrrp_instance.VI_1]: use "authentication = PASS" (keepalived's auth_type)`,
    ]);
  });

  it('rejects a duplicate single-valued key on its second line, and [] on a single-valued key', () => {
    assert.deepEqual(errors([...instance('VI_1'), 'priority = 100', 'priority = 110', 'state[] = MASTER']), [
      `${F}:5: duplicate key "priority" in [vrrp_instance.VI_1] (first at line 4)`,
      `${F}:6: "state" takes one value: write "state = ..." without []`,
    ]);
  });

  it('rejects a list key repeated without []', () => {
    assert.deepEqual(errors([...instance('VI_1'), 'virtual_ipaddress = 192.0.2.1', 'virtual_ipaddress = 192.0.2.2']), [
      `${F}:5: "virtual_ipaddress" given twice without []: to give several values write "virtual_ipaddress[] = ..." on each line`,
    ]);
  });

  it('says what is allowed for a bad value', () => {
    assert.deepEqual(
      errors([
        ...instance('VI_1', ['priority = 300', 'state = MASTR', 'nopreempt = maybe', 'virtual_ipaddress[] = 192.0.2.300/24', 'preempt_delay = soon']),
        '[virtual_server.web]',
        'address = 192.0.2.1:80',
        'lb_algo = wlcc',
        'lb_kind = FULLNAT',
        'persistence_timeout = 1.5',
      ]),
      [
        `${F}:4: priority: 300 is out of range (allowed: 1–255)`,
        `${F}:5: state: "MASTR" is not one of MASTER | BACKUP; did you mean "MASTER"?`,
        `${F}:6: nopreempt: "maybe" is not a boolean (allowed: true | false)`,
        `${F}:7: virtual_ipaddress: "192.0.2.300" is not an IPv4 or IPv6 address`,
        `${F}:8: preempt_delay: "soon" is not a number of seconds (allowed: 0–1000)`,
        `${F}:11: lb_algo: "wlcc" is not one of rr | wrr | lc | wlc | lblc | lblcr | dh | sh | sed | nq | mh | fo | ovf | twos; did you mean "wlc"?`,
        `${F}:12: lb_kind: "FULLNAT" is not one of NAT | DR | TUN`,
        `${F}:13: persistence_timeout: "1.5" is not a whole number of seconds (allowed: 0–2678400)`,
      ],
    );
  });

  it('reports a missing required key on the section line', () => {
    assert.deepEqual(errors(['[vrrp_instance.VI_1]', 'priority = 100', '[vrrp_script.s]', '[check.c]', '[virtual_server.v]']), [
      `${F}:1: [vrrp_instance.VI_1] needs "interface" (the interface VRRP runs on)`,
      `${F}:1: [vrrp_instance.VI_1] needs "virtual_router_id" (1–255, the same on every router of this virtual router)`,
      `${F}:3: [vrrp_script.s] needs "script" (the program to run and its arguments)`,
      `${F}:4: [check.c] needs "type" (TCP_CHECK | HTTP_GET | SSL_GET | MISC_CHECK)`,
      `${F}:5: [virtual_server.v] needs "address" (IP:PORT, [IPv6]:PORT) or "fwmark"`,
    ]);
  });

  it('rejects a check key that belongs to another check type', () => {
    assert.deepEqual(errors(['[check.t]', 'type = TCP_CHECK', 'url_path = /x', 'connect_port = 8080']), [
      `${F}:3: "url_path" applies to HTTP_GET, SSL_GET, not TCP_CHECK`,
    ]);
  });

  it('applies keepalived check defaults per type', () => {
    const c = parseConfig(['[check.t]', 'type = TCP_CHECK', '[check.h]', 'type = SSL_GET', 'ca_file = /etc/ssl/ca.pem', '[check.m]', 'type = MISC_CHECK', 'misc_path = "/usr/local/bin/my check" --fast'].join('\n'), F).config!;
    const t = c.checks.get('t')!;
    const h = c.checks.get('h')!;
    const m = c.checks.get('m')!;
    assert.deepEqual([t.delayLoopMs, t.retry, t.delayBeforeRetryMs, t.type === 'TCP_CHECK' && t.connectTimeoutMs], [60_000, 1, 1000, 5000]);
    assert.deepEqual([h.retry, h.delayBeforeRetryMs], [1, 3000]);
    assert.ok(h.type === 'SSL_GET' && h.verifyCert && h.enableSni && h.urlPath === '/' && h.statusCode[0]!.min === 200 && h.statusCode[0]!.max === 299);
    assert.ok(m.type === 'MISC_CHECK');
    assert.deepEqual([m.retry, m.delayBeforeRetryMs, m.miscTimeoutMs], [0, 1000, 60_000]);
    assert.deepEqual(m.miscPath.argv, ['/usr/local/bin/my check', '--fast']);
  });

  it('parses status code lists and ranges', () => {
    const c = parseConfig(['[check.h]', 'type = HTTP_GET', 'status_code = 200-299, 301 404'].join('\n'), F).config!;
    const h = c.checks.get('h')!;
    assert.ok(h.type === 'HTTP_GET');
    assert.deepEqual(h.statusCode, [{ min: 200, max: 299 }, { min: 301, max: 301 }, { min: 404, max: 404 }]);
    assert.deepEqual(errors(['[check.h]', 'type = HTTP_GET', 'status_code = 299-200']), [
      `${F}:3: status_code: "299-200" is not a status code or range within 100–599 (e.g. 200, 200-299, "200,301-302")`,
    ]);
  });

  it('parses lvs_sync_daemon options and rejects unknown ones', () => {
    const c = parseConfig(['[global]', 'lvs_sync_daemon = eth1 VI_1 id 7 port 9000', ...instance('VI_1')].join('\n'), F).config!;
    assert.deepEqual({ ...c.global.lvsSyncDaemon!, line: 0 }, { interface: 'eth1', instance: 'VI_1', syncId: 7, port: 9000, line: 0 });
    assert.deepEqual(errors(['[global]', 'lvs_sync_daemon = eth1 VI_1 ttl 3', ...instance('VI_1')]), [
      `${F}:2: lvs_sync_daemon: "ttl": lvsd takes "id N" and "port P" after INTERFACE INSTANCE`,
    ]);
  });
});

describe('config: VRRP rules', () => {
  it('v2 takes whole seconds 1–255', () => {
    assert.deepEqual(errors(instance('VI_1', ['version = 2', 'advert_int = 0.5'])), [`${F}:5: advert_int: VRRP version 2 takes whole seconds 1–255, found "0.5"`]);
    assert.deepEqual(errors(instance('VI_1', ['advert_int = 0.5'])), [
      `${F}:4: advert_int: VRRP version 2 (the default; set version = 3 for sub-second intervals) takes whole seconds 1–255, found "0.5"`,
    ]);
    assert.equal(parseConfig(instance('VI_1', ['advert_int = 3']).join('\n'), F).config!.vrrpInstances.get('VI_1')!.advertIntCs, 300);
  });

  it('v3 takes 0.01–40.95 s in 10 ms steps', () => {
    assert.equal(parseConfig(instance('VI_1', ['version = 3', 'advert_int = 0.05']).join('\n'), F).config!.vrrpInstances.get('VI_1')!.advertIntCs, 5);
    assert.equal(parseConfig(instance('VI_1', ['version = 3', 'advert_int = 40.95']).join('\n'), F).config!.vrrpInstances.get('VI_1')!.advertIntCs, 4095);
    for (const bad of ['0.015', '41', '0']) {
      assert.deepEqual(errors(instance('VI_1', ['version = 3', `advert_int = ${bad}`])), [
        `${F}:5: advert_int: VRRP version 3 takes 0.01–40.95 seconds in 0.01 s steps, found "${bad}"`,
      ]);
    }
  });

  it('takes unicast_ttl 1–255 (default 255), and warns that it does nothing without unicast peers', () => {
    const get = (extra: string[]) => parseConfig(instance('VI_1', extra).join('\n'), F).config!.vrrpInstances.get('VI_1')!.unicastTtl;
    assert.equal(get(['unicast_peer[] = 192.0.2.12']), 255);
    assert.equal(get(['unicast_peer[] = 192.0.2.12', 'unicast_ttl = 1']), 1);
    assert.deepEqual(errors(instance('VI_1', ['unicast_peer[] = 192.0.2.12', 'unicast_ttl = 0'])), [`${F}:5: unicast_ttl: 0 is out of range (allowed: 1–255)`]);
    assert.deepEqual(problems(instance('VI_1', ['unicast_ttl = 64'])), [
      `${F}:4: warning: unicast_ttl has no effect without unicast_peer[] (multicast adverts always carry TTL 255)`,
    ]);
  });

  it("takes keepalived's per-peer min_ttl / max_ttl on a unicast_peer line", () => {
    const peers = parseConfig(instance('VI_1', ['unicast_peer[] = 192.0.2.12 min_ttl 250', 'unicast_peer[] = 192.0.2.13 MAX_TTL 64 min_ttl 1', 'unicast_peer[] = 192.0.2.14']).join('\n'), F)
      .config!.vrrpInstances.get('VI_1')!.unicastPeers.map((p) => `${p.address} ${p.minTtl}-${p.maxTtl}`);
    assert.deepEqual(peers, ['192.0.2.12 250-255', '192.0.2.13 1-64', '192.0.2.14 0-255']);
    const bad = (v: string) => errors(instance('VI_1', [`unicast_peer[] = ${v}`]));
    assert.deepEqual(bad('192.0.2.12 ttl 3'), [`${F}:4: unicast_peer 192.0.2.12: "ttl": expected "ADDRESS [min_ttl N] [max_ttl N]"`]);
    assert.deepEqual(bad('192.0.2.12 min_ttl'), [`${F}:4: unicast_peer 192.0.2.12: "min_ttl" needs a value`]);
    assert.deepEqual(bad('192.0.2.12 min_ttl 1 min_ttl 2'), [`${F}:4: unicast_peer 192.0.2.12: "min_ttl" given twice`]);
    assert.deepEqual(bad('192.0.2.12 max_ttl 256'), [`${F}:4: unicast_peer 192.0.2.12: max_ttl: 256 is out of range (allowed: 0–255)`]);
    assert.deepEqual(bad('192.0.2.12 min_ttl 200 max_ttl 100'), [
      `${F}:4: unicast_peer 192.0.2.12: min_ttl 200 is above max_ttl 100, so every advert from it would be dropped`,
    ]);
    assert.deepEqual(problems(instance('VI_1', ['unicast_peer[] = 192.0.2.12 min_ttl 250', 'transport = udp'])), [
      `${F}:4: warning: unicast_peer 192.0.2.12: min_ttl/max_ttl have no effect with transport = udp (lvsd cannot read the TTL of a UDP datagram)`,
    ]);
  });

  it('ignores authentication with version 3 (a warning: the CONFIG.md sample has it), refuses AH', () => {
    assert.deepEqual(problems(instance('VI_1', ['version = 3', 'authentication = PASS', 'auth_pass = x'])), [
      `${F}:5: warning: authentication is ignored with version 3 (RFC 5798 removed it; VRRPv2 only)`,
    ]);
    assert.deepEqual(errors(instance('VI_1', ['authentication = AH'])), [`${F}:4: authentication: AH (IPsec) is not supported by lvsd; use PASS or no authentication`]);
    assert.deepEqual(errors(instance('VI_1', ['auth_pass = x'])), [`${F}:4: auth_pass without authentication = PASS`]);
  });

  it('rejects version 2 for an IPv6 instance, and picks 3 when version is not given', () => {
    assert.deepEqual(errors(instance('VI_6', ['virtual_ipaddress[] = 2001:db8::1/64', 'version = 2'])), [
      `${F}:5: version 2 is IPv4 only (RFC 3768): an IPv6 instance needs version = 3`,
    ]);
    const c = parseConfig(instance('VI_6', ['virtual_ipaddress[] = 2001:db8::1/64']).join('\n'), F).config!;
    assert.deepEqual([c.vrrpInstances.get('VI_6')!.version, c.vrrpInstances.get('VI_6')!.family], [3, 6]);
  });

  it('rejects a duplicate VRID on one interface and family, on the second instance', () => {
    assert.deepEqual(errors([...instance('A', [], 51), ...instance('B', [], 51)]), [
      `${F}:6: virtual_router_id 51 on eth0 (IPv4) is already used by [vrrp_instance.A] (line 3)`,
    ]);
    // Another interface, or another family, is another virtual router (RFC 5798 §6.1).
    assert.deepEqual(errors([...instance('A', [], 51), ...instance('B', [], 51, 'eth1')]), []);
    assert.deepEqual(errors([...instance('A', [], 51), ...instance('B', ['virtual_ipaddress[] = 2001:db8::1/64'], 51)]), []);
  });

  it('requires unicast peers for transport = udp', () => {
    assert.deepEqual(errors(instance('VI_1', ['transport = udp'])), [
      `${F}:4: transport = udp needs unicast_peer[] (UDP adverts are sent to each peer, never multicast)`,
    ]);
    const c = parseConfig(instance('VI_1', ['transport = udp', 'unicast_peer[] = 192.0.2.12']).join('\n'), F).config!;
    assert.deepEqual([c.vrrpInstances.get('VI_1')!.transport, c.vrrpInstances.get('VI_1')!.udpPort], ['udp', 5112]);
    // unicast_peer without unicast_src_ip is fine: the interface's address is used.
    assert.deepEqual(problems(instance('VI_1', ['unicast_peer[] = 192.0.2.12'])), []);
  });

  it('rejects a unicast peer of the other family', () => {
    assert.deepEqual(errors(instance('VI_1', ['virtual_ipaddress[] = 192.0.2.1/24', 'unicast_peer[] = 2001:db8::2'])), [
      `${F}:5: unicast_peer 2001:db8::2 is IPv6 but [vrrp_instance.VI_1] is IPv4`,
    ]);
  });

  it('parses track_interface and track_script weights', () => {
    const c = parseConfig(
      ['[vrrp_script.chk]', 'script = /bin/true', ...instance('VI_1', ['track_interface[] = eth1', 'track_interface[] = eth2 weight -20', 'track_script[] = chk weight 10'])].join('\n'),
      F,
    ).config!;
    const vi = c.vrrpInstances.get('VI_1')!;
    assert.deepEqual(vi.trackInterfaces.map((t) => [t.name, t.weight]), [['eth1', 0], ['eth2', -20]]);
    assert.deepEqual(vi.trackScripts.map((t) => [t.name, t.weight]), [['chk', 10]]);
    assert.deepEqual(errors(instance('VI_1', ['track_interface[] = eth1 weight 300'])), [`${F}:4: track_interface: weight: 300 is out of range (allowed: -253–253)`]);
  });
});

describe('config: references', () => {
  it('rejects a track_script that names no vrrp_script, on its line', () => {
    assert.deepEqual(errors(['[vrrp_script.chk_proxy]', 'script = /bin/true', ...instance('VI_1', ['track_script[] = chk_proxx'])]), [
      `${F}:6: track_script "chk_proxx" is not defined: no [vrrp_script.chk_proxx]; did you mean "chk_proxy"?`,
    ]);
  });

  it('rejects dangling checks on the virtual server and the real server', () => {
    assert.deepEqual(
      errors(['[virtual_server.web]', 'address = 192.0.2.1:80', 'check = nope', '[real_server.web.a]', 'address = 198.51.100.1', 'check[] = nope2']),
      [`${F}:3: check "nope" is not defined: no [check.nope]`, `${F}:6: check "nope2" is not defined: no [check.nope2]`],
    );
  });

  it('rejects a real server of an undefined virtual server', () => {
    assert.deepEqual(errors(['[virtual_server.web]', 'address = 192.0.2.1:80', '[real_server.wbe.a]', 'address = 198.51.100.1:80']), [
      `${F}:3: [real_server.wbe.a]: virtual server "wbe" is not defined: no [virtual_server.wbe]; did you mean "web"?`,
    ]);
  });

  it('rejects group members that are not instances, and an instance in two groups', () => {
    assert.deepEqual(
      errors([...instance('A', [], 1), ...instance('B', [], 2), '[vrrp_sync_group.G1]', 'group[] = A', 'group[] = B', '[vrrp_sync_group.G2]', 'group[] = A', 'group[] = C']),
      [
        `${F}:11: A is already in [vrrp_sync_group.G1] (line 8): an instance belongs to one sync group only`,
        `${F}:12: group: "C" is not defined: no [vrrp_instance.C]`,
      ],
    );
  });

  it('rejects an lvs_sync_daemon instance that does not exist', () => {
    assert.deepEqual(errors(['[global]', 'lvs_sync_daemon = eth1 VI_2', ...instance('VI_1')]), [
      `${F}:2: lvs_sync_daemon: instance "VI_2" is not defined: no [vrrp_instance.VI_2]; did you mean "VI_1"?`,
    ]);
  });

  it('rejects a VIP held by two instances and two real servers with one address', () => {
    assert.deepEqual(
      errors([
        ...instance('A', ['virtual_ipaddress[] = 192.0.2.1/24'], 1),
        ...instance('B', ['virtual_ipaddress[] = 192.0.2.1/24'], 2),
        '[virtual_server.web]',
        'address = 192.0.2.1:80',
        '[real_server.web.a]',
        'address = 198.51.100.1:80',
        '[real_server.web.b]',
        'address = 198.51.100.1',
      ]),
      [
        `${F}:8: 192.0.2.1 is also a virtual address of [vrrp_instance.A]: two instances would fight over it`,
        `${F}:13: 198.51.100.1:80 is already [real_server.web.a] of this virtual server`,
      ],
    );
  });
});

describe('config: virtual and real servers', () => {
  it('parses IPv6 services, fwmark services and inherited defaults', () => {
    const c = parseConfig(
      [
        '[check.tcp]',
        'type = TCP_CHECK',
        '[virtual_server.v6]',
        'address = [2001:db8::10]:443',
        'lb_kind = DR',
        'inhibit_on_failure = true',
        'check = tcp',
        '[real_server.v6.a]',
        'address = 2001:db8::21',
        'maintenance = 0 3 * * sun',
        'maintenance_duration = 600',
        '[virtual_server.fw]',
        'fwmark = 10',
        'lb_algo = sh',
        'sh-port = true',
        '[real_server.fw.a]',
        'address = 198.51.100.5',
        'check[] = tcp',
      ].join('\n'),
      F,
    );
    assert.deepEqual(r_errors(r_ok(c)), []);
    const v6 = c.config!.virtualServers.get('v6')!;
    assert.deepEqual([v6.family, v6.address?.address, v6.address?.port], [6, '2001:db8::10', 443]);
    const a = v6.realServers.get('a')!;
    assert.deepEqual([a.address.address, a.address.port, a.inhibitOnFailure, a.checks], ['2001:db8::21', 443, true, ['tcp']]);
    assert.deepEqual(a.maintenance && [a.maintenance.cron, a.maintenance.durationMs], ['0 3 * * sun', 600_000]);
    const fw = c.config!.virtualServers.get('fw')!;
    assert.deepEqual([fw.fwmark, fw.address, fw.family, fw.schedFlags.shPort], [10, undefined, 4, true]);
    assert.equal(fw.realServers.get('a')!.address.port, 0);
  });

  it('rejects mixed families (except TUN), ops without UDP, bad cron', () => {
    assert.deepEqual(
      errors([
        '[virtual_server.web]',
        'address = 192.0.2.1:80',
        'ops = true',
        '[real_server.web.a]',
        'address = [2001:db8::1]:80',
        'maintenance = 61 * * * *',
        'maintenance_duration = 60',
        '[virtual_server.t]',
        'address = 192.0.2.2:80',
        'lb_kind = TUN',
        '[real_server.t.a]',
        'address = [2001:db8::1]:80',
      ]),
      [
        `${F}:3: ops (one-packet scheduling) applies to protocol = UDP only`,
        `${F}:5: address 2001:db8::1 is IPv6 but [virtual_server.web] is IPv4 (only lb_kind = TUN may mix)`,
        `${F}:6: maintenance: "61 * * * *" is not a cron expression (e.g. "0 3 * * sun")`,
      ],
    );
  });

  it('rejects an IPv6 address with a port but no brackets', () => {
    assert.deepEqual(errors(['[virtual_server.web]', 'address = 2001:db8::1:80']), [
      `${F}:2: address: "2001:db8::1:80": write an IPv6 address with a port as [ADDRESS]:PORT`,
    ]);
  });
});

describe('config: host checks are warnings', () => {
  const lines = ['[global]', 'notify = /etc/lvsd/notify.sh', '[vrrp_script.s]', 'script = check_it --now', ...instance('VI_1', ['track_interface[] = eth9'])];
  it('warns about missing interfaces and programs, on their lines', () => {
    const r = parseConfig(lines.join('\n'), F, { host: fakeHost(['eth0'], []) });
    assert.ok(r.config, 'warnings do not stop the configuration');
    assert.deepEqual(
      r.problems.map((p) => `${p.line} ${p.severity} ${p.message}`),
      ['2 warning /etc/lvsd/notify.sh is not an executable file on this host', '4 warning check_it is not an executable file on this host', '8 warning track_interface eth9 does not exist on this host'],
    );
  });
  it('is silent when the host has them, and when no host is given', () => {
    assert.deepEqual(parseConfig(lines.join('\n'), F, { host: fakeHost(['eth0', 'eth9'], ['/etc/lvsd/notify.sh', 'check_it']) }).problems, []);
    assert.deepEqual(parseConfig(lines.join('\n'), F).problems, []);
    assert.deepEqual(problems(lines, everythingHost), []);
  });
});

function r_ok<T extends { problems: unknown[] }>(r: T): T {
  return r;
}
function r_errors(r: { problems: { severity: string; message: string }[] }): string[] {
  return r.problems.filter((p) => p.severity === 'error').map((p) => p.message);
}
