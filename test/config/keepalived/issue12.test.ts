/**
 * Issue 12, "Importer: found wrong, tried as a new user would": each case is
 * a keepalived.conf as operators write them (fixtures/issue12/), imported
 * the way the issue tried it, and checked for what keepalived would do.
 * keepalived's own reading of the same files is checked in
 * keepalived-oracle.test.ts.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../../src/config/load';
import { convertKeepalived } from '../../../src/config/keepalived/import';
import { importIn, ISSUE12 } from './issue12-helpers';

describe('config/keepalived: issue 12 importer cases', () => {
  it('follows relative includes when the main file is named by a relative path (lvsd import-keepalived keepalived.conf in its directory)', async () => {
    const r = await importIn(path.join(ISSUE12, 'include'), 'keepalived.conf');
    assert.equal(r.status, 0, r.err.join('\n'));
    assert.deepEqual([...r.config.virtualServers.keys()], ['vs_192_0_2_100_8080', 'vs_192_0_2_100_80']);
    assert.deepEqual([...r.config.virtualServers.get('vs_192_0_2_100_80')!.realServers.values()].map((s) => s.address.address), ['198.51.100.1', '198.51.100.2']);
    assert.deepEqual([...r.config.vrrpInstances.keys()], ['VI_1']);
    // From a subdirectory, with ../ in the name, the includes still resolve against the main file's directory.
    const sub = await importIn(path.join(ISSUE12, 'include/conf.d'), '../keepalived.conf');
    assert.equal(sub.status, 0, sub.err.join('\n'));
    assert.equal(sub.config.virtualServers.size, 2);
  });

  it('an include that matches nothing makes the import exit 3, naming it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-issue12-'));
    try {
      fs.copyFileSync(path.join(ISSUE12, 'include/vrrp.conf'), path.join(dir, 'vrrp.conf'));
      fs.writeFileSync(path.join(dir, 'keepalived.conf'), 'global_defs {\n   router_id lvs-a\n}\n\ninclude vrrp.conf\ninclude conf.d/*.conf\n');
      const r = await importIn(dir, 'keepalived.conf');
      assert.equal(r.status, 3);
      assert.equal(r.err.length, 1, r.err.join('\n'));
      assert.match(r.err[0]!, /^keepalived\.conf:6: not imported: include conf\.d\/\*\.conf \(no file matches conf\.d\/\*\.conf \(relative to .*, the directory of keepalived\.conf\): whatever it holds is missing from the import\)$/);
      assert.ok(r.out.includes(`;   ${r.err[0]}\n`), 'listed in the header too');
      assert.deepEqual([...r.config.vrrpInstances.keys()], ['VI_1']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fwmark real servers written "real_server IP 0" become port-less real servers of the fwmark service', async () => {
    const r = await importIn(ISSUE12, 'fwmark.keepalived.conf');
    assert.equal(r.status, 0, r.err.join('\n'));
    assert.match(r.out, /^\[real_server\.vs_fwmark_10\.rs1\]\naddress = 192\.0\.2\.21$/m);
    const vs = r.config.virtualServers.get('vs_fwmark_10')!;
    assert.deepEqual([vs.fwmark, vs.lbKind, vs.persistenceTimeoutMs], [10, 'DR', 600_000]);
    assert.deepEqual([...vs.realServers.values()].map((s) => [s.address.address, s.address.port, s.weight]), [
      ['192.0.2.21', 0, 1],
      ['192.0.2.22', 0, 1],
    ]);
    const chk = r.config.checks.get(vs.check!)!;
    assert.ok(chk.type === 'TCP_CHECK' && chk.connectPort === 443);
  });

  it('a real server with port 0 under an IP:PORT service takes the service port, as keepalived does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-issue12-'));
    try {
      fs.writeFileSync(path.join(dir, 'keepalived.conf'), 'virtual_server 192.0.2.100 443 {\n    lb_kind DR\n    real_server 192.0.2.21 0 {\n        weight 2\n    }\n}\n');
      const r = await importIn(dir, 'keepalived.conf');
      assert.equal(r.status, 0, r.err.join('\n'));
      const rs = r.config.virtualServers.get('vs_192_0_2_100_443')!.realServers.get('rs1')!;
      assert.deepEqual([rs.address.address, rs.address.port], ['192.0.2.21', 443]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a key given twice keeps the last value (priority 100, then @lvs-a priority 150), with a note', async () => {
    const a = await importIn(ISSUE12, 'priority-per-host.keepalived.conf', 'lvs-a');
    assert.equal(a.status, 0, a.err.join('\n'));
    assert.equal(a.config.vrrpInstances.get('VI_1')!.priority, 150);
    assert.deepEqual(a.err, [
      'priority-per-host.keepalived.conf:7: note: priority is given again here (also at line 6): keepalived keeps the last value, "150", and so does the import',
    ]);
    const b = await importIn(ISSUE12, 'priority-per-host.keepalived.conf', 'lvs-b');
    assert.equal(b.config.vrrpInstances.get('VI_1')!.priority, 100);
  });

  it('a VRRPv2 advert_int with a fraction is rounded to whole seconds as keepalived 2.2.7 does, and the notes say so', async () => {
    const r = await importIn(ISSUE12, 'advert-half-second.keepalived.conf');
    assert.equal(r.status, 0, r.err.join('\n'));
    assert.deepEqual([...r.config.vrrpInstances.values()].map((i) => [i.name, i.version, i.advertIntCs]), [
      ['VI_1', 2, 100],
      ['VI_2', 2, 300],
    ]);
    assert.deepEqual(r.err, [
      'advert-half-second.keepalived.conf:7: note: advert_int 0.5 under VRRP version 2, which carries whole seconds: rounded to 1, as keepalived does (it warns "must be an integer. rounding")',
      'advert-half-second.keepalived.conf:18: note: advert_int 2.5 under VRRP version 2, which carries whole seconds: rounded to 3, as keepalived does (it warns "must be an integer. rounding")',
    ]);
  });

  it('a fractional advert_int is kept under version 3 (instance or global_defs vrrp_version)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-issue12-'));
    try {
      const f = path.join(dir, 'keepalived.conf');
      fs.writeFileSync(f, 'global_defs {\n  vrrp_version 3\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  advert_int 0.5\n}\n');
      const conv = convertKeepalived(f, { configId: 'x' });
      assert.deepEqual([conv.status, conv.notes], [0, []]);
      assert.equal(parseConfig(conv.text, f).config!.vrrpInstances.get('VI_1')!.advertIntCs, 50);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the header points at lvsd.conf(5), not at CONFIG.md (which users do not have)", async () => {
    const r = await importIn(ISSUE12, 'priority-per-host.keepalived.conf');
    const first = r.out.split('\n')[0]!;
    assert.match(first, /see lvsd\.conf\(5\)/);
    assert.doesNotMatch(r.out, /CONFIG\.md/);
  });

  it('says that keepalived removes its IPVS services on stop (unless -I) and lvsd leaves them; not when lvs_flush_onstop is set', async () => {
    const r = await importIn(ISSUE12, 'fwmark.keepalived.conf');
    assert.deepEqual(r.err, [
      "fwmark.keepalived.conf:3: note: keepalived removes the IPVS services it made when it stops (unless started with -I, --dont-release-ipvs); lvsd leaves them in the kernel, so traffic keeps flowing while it restarts. For keepalived's behaviour set lvs_flush_onstop = VS in [global]",
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-issue12-'));
    try {
      fs.writeFileSync(path.join(dir, 'keepalived.conf'), `global_defs {\n  lvs_flush_onstop VS\n}\n${fs.readFileSync(path.join(ISSUE12, 'fwmark.keepalived.conf'), 'utf8')}`);
      const f = await importIn(dir, 'keepalived.conf');
      assert.deepEqual([f.status, f.err, f.config.global.lvsFlushOnstop], [0, [], 'vs']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('weight N reverse (vrrp_script, track_script, track_interface) is imported as written, and lvsd reads it with its meaning', async () => {
    const r = await importIn(ISSUE12, 'reverse.keepalived.conf');
    assert.equal(r.status, 0, r.err.join('\n'));
    assert.match(r.out, /^weight = 0 reverse$/m);
    assert.match(r.out, /^track_script\[\] = chk_haproxy weight -10 noreverse$/m);
    assert.match(r.out, /^track_interface\[\] = eth1 weight 10 reverse$/m);
    const s = r.config.vrrpScripts;
    assert.deepEqual(['chk_maintenance', 'chk_nginx', 'chk_haproxy'].map((n) => [n, s.get(n)!.weight, s.get(n)!.weightReverse]), [
      ['chk_maintenance', 0, true],
      ['chk_nginx', -20, true],
      ['chk_haproxy', -20, true],
    ]);
    const vi = r.config.vrrpInstances.get('VI_1')!;
    assert.deepEqual(vi.trackScripts.map((t) => [t.name, t.weight, t.reverse]), [
      ['chk_maintenance', undefined, undefined],
      ['chk_nginx', 30, undefined],
      ['chk_haproxy', -10, false],
    ]);
    assert.deepEqual(vi.trackInterfaces.map((t) => [t.name, t.weight, t.reverse]), [['eth1', 10, true]]);
  });

  it('the loader refuses a reverse it cannot read, with the line', () => {
    const conf = (extra: string[]) =>
      ['[vrrp_script.chk]', 'script = /bin/true', ...extra, '[vrrp_instance.VI_1]', 'interface = eth0', 'virtual_router_id = 51', 'track_script[] = chk'].join('\n');
    const errs = (text: string) => parseConfig(text, 'x.conf').problems.filter((p) => p.severity === 'error').map((p) => `${p.line}: ${p.message}`);
    assert.deepEqual(errs(conf(['weight = -20 reverse'])), []);
    assert.deepEqual(errs(conf(['weight = -20 sideways'])), ['3: weight: expected "N [reverse]", found "-20 sideways"']);
    assert.deepEqual(errs(conf(['weight = -20 noreverse'])), ['3: weight: expected "N [reverse]", found "-20 noreverse"']);
    assert.deepEqual(errs(conf(['weight = 300 reverse'])), ['3: weight: 300 is out of range (allowed: -253–253)']);
    const line = (t: string) => errs(['[vrrp_script.chk]', 'script = /bin/true', '[vrrp_instance.VI_1]', 'interface = eth0', 'virtual_router_id = 51', t].join('\n'));
    assert.deepEqual(line('track_script[] = chk weight 5 noreverse'), []);
    assert.deepEqual(line('track_interface[] = eth1 weight 5 reverse'), []);
    assert.deepEqual(line('track_interface[] = eth1 weight 5 noreverse'), ['6: track_interface: weight: expected "N [reverse]", found "5 noreverse"']);
    assert.deepEqual(line('track_script[] = chk weight 5 reverse now'), ['6: track_script: weight: expected "N [reverse|noreverse]", found "5 reverse now"']);
  });

  it('vrrp_mcast_group4 / vrrp_mcast_group6 are imported into [global], and each multicast instance takes its family\'s group', async () => {
    const r = await importIn(ISSUE12, 'mcast-group.keepalived.conf');
    assert.equal(r.status, 0, r.err.join('\n'));
    assert.match(r.out, /^\[global\]\nrouter_id = lvs\nvrrp_mcast_group4 = 224\.0\.0\.19\nvrrp_mcast_group6 = ff02::1:19$/m);
    assert.deepEqual([r.config.global.vrrpMcastGroup4.address, r.config.global.vrrpMcastGroup6.address], ['224.0.0.19', 'ff02::1:19']);
    assert.equal(r.config.vrrpInstances.get('VI_1')!.mcastGroup?.address, '224.0.0.19');
  });

  it('the loader defaults the groups to the RFC ones, refuses a group that is not multicast or of the wrong family, and gives none to a unicast instance', () => {
    const load = (global: string[], inst: string[] = []) =>
      parseConfig(['[global]', ...global, '[vrrp_instance.V4]', 'interface = eth0', 'virtual_router_id = 1', ...inst, '[vrrp_instance.V6]', 'interface = eth0', 'virtual_router_id = 2', 'native_ipv6 = true'].join('\n'), 'x.conf');
    const d = load([]).config!;
    assert.deepEqual([d.global.vrrpMcastGroup4.address, d.global.vrrpMcastGroup6.address], ['224.0.0.18', 'ff02::12']);
    assert.deepEqual([d.vrrpInstances.get('V4')!.mcastGroup?.address, d.vrrpInstances.get('V6')!.mcastGroup?.address], ['224.0.0.18', 'ff02::12']);
    const errs = (g: string[]) => load(g).problems.filter((p) => p.severity === 'error').map((p) => `${p.line}: ${p.message}`);
    assert.deepEqual(errs(['vrrp_mcast_group4 = 239.1.2.3', 'vrrp_mcast_group6 = ff05::12']), []);
    assert.deepEqual(errs(['vrrp_mcast_group4 = 192.0.2.1']), ['2: vrrp_mcast_group4: 192.0.2.1 is not a multicast address (224.0.0.0/4)']);
    assert.deepEqual(errs(['vrrp_mcast_group4 = ff02::12']), ['2: vrrp_mcast_group4: ff02::12 is not an IPv4 address']);
    assert.deepEqual(errs(['vrrp_mcast_group6 = 2001:db8::12']), ['2: vrrp_mcast_group6: 2001:db8::12 is not a multicast address (ff00::/8)']);
    assert.equal(errs(['vrrp_mcast_group6 = nonsense']).length, 1);
    const uni = load([], ['unicast_src_ip = 192.0.2.11', 'unicast_peer[] = 192.0.2.12']).config!;
    assert.equal(uni.vrrpInstances.get('V4')!.mcastGroup, undefined);
  });

  it('DNS_CHECK, SMTP_CHECK and PING_CHECK become MISC_CHECKs running the checks/ scripts with their parameters; a UDP_CHECK real server is left out, loudly', async () => {
    const r = await importIn(ISSUE12, 'checkers.keepalived.conf');
    const c = r.config;
    const misc = (vs: string, rs: string) =>
      c.virtualServers.get(vs)!.realServers.get(rs)!.checks.map((n) => {
        const k = c.checks.get(n)!;
        assert.ok(k.type === 'MISC_CHECK', `${vs}.${rs}: ${k.type}`);
        return [k.miscPath.argv.join(' '), k.miscTimeoutMs, k.retry, k.delayBeforeRetryMs, k.delayLoopMs];
      });
    const C = '/usr/lib/lvsd/checks';
    assert.deepEqual(misc('vs_192_0_2_100_53_udp', 'rs1'), [[`${C}/check_dns 192.0.2.21 www.example.com A 2`, 4000, 3, 10_000, 10_000]]);
    assert.deepEqual(misc('vs_192_0_2_100_53_udp', 'rs2'), [[`${C}/check_dns 192.0.2.22 . SOA 5`, 7000, 3, 10_000, 10_000]]);
    assert.deepEqual(misc('vs_192_0_2_100_25', 'rs1'), [[`${C}/check_smtp 198.51.100.21 25 10`, 12_000, 2, 5000, 30_000]]);
    assert.deepEqual(misc('vs_192_0_2_100_25', 'rs2'), [
      [`${C}/check_smtp 198.51.100.22 25 10`, 12_000, 0, 1000, 30_000],
      [`${C}/check_ping 198.51.100.22 10`, 12_000, 4, 1000, 30_000],
    ]);
    assert.deepEqual(misc('vs_192_0_2_100_514_udp', 'rs1'), [[`${C}/check_ping 192.0.2.32 5`, 7000, 0, 1000, 60_000]]);
    // The UDP_CHECK real server is not imported at all (it would be "always up"), and the import exits 3 saying why.
    assert.deepEqual([...c.virtualServers.get('vs_192_0_2_100_514_udp')!.realServers.values()].map((s) => s.address.address), ['192.0.2.32']);
    assert.equal(r.status, 3);
    const lost = r.err.filter((l) => l.includes('not imported'));
    assert.deepEqual(lost.map((l) => l.replace(/ \(.*$/, '')), ['checkers.keepalived.conf:51: not imported: real_server 192.0.2.31 514', 'checkers.keepalived.conf:52: not imported: UDP_CHECK']);
    assert.match(lost[0]!, /left out: its UDP_CHECK cannot be imported, and without it the real server would always count as up/);
    assert.ok(r.err.includes('checkers.keepalived.conf:10: note: DNS_CHECK runs as a MISC_CHECK: /usr/lib/lvsd/checks/check_dns 192.0.2.21 www.example.com A TIMEOUT (TIMEOUT: its connect_timeout, default 5 s)'), r.err.join('\n'));
  });

  it('a weighted track_script of a sync group member is left out as keepalived ignores it; sync_group_tracking_weight keeps it', async () => {
    const r = await importIn(ISSUE12, 'sync-group.keepalived.conf');
    assert.equal(r.status, 0, r.err.join('\n'));
    const tracked = (c: typeof r.config, n: string) => c.vrrpInstances.get(n)!.trackScripts.map((t) => t.name);
    assert.deepEqual([tracked(r.config, 'VI_OUTSIDE'), tracked(r.config, 'VI_INSIDE')], [['chk_uplink'], []]);
    assert.deepEqual(r.err.filter((l) => l.includes('sync group')).map((l) => l.replace(/: keepalived ignores.*$/, '')), [
      'sync-group.keepalived.conf:26: note: track_script chk_haproxy has a weight and VI_OUTSIDE is in sync group G1',
      'sync-group.keepalived.conf:40: note: track_script chk_uplink has a weight and VI_INSIDE is in sync group G1',
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-issue12-'));
    try {
      const text = fs.readFileSync(path.join(ISSUE12, 'sync-group.keepalived.conf'), 'utf8').replace('vrrp_sync_group G1 {', 'vrrp_sync_group G1 {\n    sync_group_tracking_weight');
      fs.writeFileSync(path.join(dir, 'keepalived.conf'), text);
      const k = await importIn(dir, 'keepalived.conf');
      assert.equal(k.status, 0, k.err.join('\n'));
      assert.equal(k.config.vrrpSyncGroups.get('G1')!.syncGroupTrackingWeight, true);
      assert.deepEqual([tracked(k.config, 'VI_OUTSIDE'), tracked(k.config, 'VI_INSIDE')], [['chk_haproxy', 'chk_uplink'], ['chk_uplink']]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
