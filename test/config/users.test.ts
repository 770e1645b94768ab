import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capsAllowRunAs, effectiveCaps, fakeHost } from '../../src/config/host';
import { convertKeepalived } from '../../src/config/keepalived/import';
import { parseConfig } from '../../src/config/load';
import { fakeUsers, parseGroup, parsePasswd, resolveUser, systemUsers } from '../../src/config/users';
import { F, instance } from './helpers';

const DB = fakeUsers({ root: [0, 0], nobody: [65534, 65534], lvsd: [998, 997], '4242': [77, 77] }, { root: 0, nogroup: 65534, adm: 4 });

describe('config/users: names to ids', () => {
  it('parses passwd(5) and group(5) lines, skipping malformed ones', () => {
    assert.deepEqual(parsePasswd('root:x:0:0:root:/root:/bin/sh\n# comment\nbad line\nnobody:x:65534:65534::/:/usr/sbin/nologin\nodd:x:a:1::/:\n'), [
      { name: 'root', uid: 0, gid: 0 },
      { name: 'nobody', uid: 65534, gid: 65534 },
    ]);
    assert.deepEqual(parseGroup('root:x:0:\nadm:x:4:syslog,alice\n:x:5:\nnogroup:x:65534:\n'), [
      { name: 'root', gid: 0 },
      { name: 'adm', gid: 4 },
      { name: 'nogroup', gid: 65534 },
    ]);
  });

  it('resolves a user to its uid and primary group, or to the group given', () => {
    assert.deepEqual(resolveUser('nobody', DB), { ok: true, value: { user: 'nobody', uid: 65534, gid: 65534 } });
    assert.deepEqual(resolveUser('lvsd adm', DB), { ok: true, value: { user: 'lvsd', group: 'adm', uid: 998, gid: 4 } });
    assert.deepEqual(resolveUser('nobody  2000', DB), { ok: true, value: { user: 'nobody', group: '2000', uid: 65534, gid: 2000 } });
  });

  it('takes a number that names nobody as an id; a name wins over a number', () => {
    assert.deepEqual(resolveUser('998', DB), { ok: true, value: { user: '998', uid: 998, gid: 997 } }, 'primary group from the passwd entry of uid 998');
    assert.deepEqual(resolveUser('5000 65534', DB), { ok: true, value: { user: '5000', group: '65534', uid: 5000, gid: 65534 } });
    assert.deepEqual(resolveUser('4242', DB), { ok: true, value: { user: '4242', uid: 77, gid: 77 } }, 'a user named 4242');
  });

  it('says why it cannot resolve', () => {
    assert.deepEqual(resolveUser('nosuch', DB), { ok: false, error: 'no user "nosuch" in /etc/passwd (give a user name that exists here, or a numeric uid)' });
    assert.deepEqual(resolveUser('nobody wheel', DB), { ok: false, error: 'no group "wheel" in /etc/group (give a group name that exists here, or a numeric gid)' });
    assert.deepEqual(resolveUser('5000', DB), { ok: false, error: 'uid 5000 is not in /etc/passwd, so it has no primary group: write "5000 GROUP"' });
    assert.deepEqual(resolveUser('a b c', DB), { ok: false, error: 'expected "USER [GROUP]", found "a b c"' });
    assert.deepEqual(resolveUser('3000000000 0', DB), { ok: false, error: 'user "3000000000" has uid 3000000000, beyond 2147483647, which lvsd cannot run scripts as' });
  });

  it("reads this host's files (nobody is 65534 on Debian)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-users-'));
    try {
      fs.writeFileSync(path.join(dir, 'passwd'), 'svc:x:1234:1235::/:/bin/false\n');
      fs.writeFileSync(path.join(dir, 'group'), 'svcg:x:1235:\n');
      const db = systemUsers(path.join(dir, 'passwd'), path.join(dir, 'group'));
      assert.deepEqual(resolveUser('svc svcg', db), { ok: true, value: { user: 'svc', group: 'svcg', uid: 1234, gid: 1235 } });
      const none = systemUsers(path.join(dir, 'absent'), path.join(dir, 'absent'));
      assert.equal(resolveUser('svc', none).ok, false, 'an unreadable file knows nobody');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(resolveUser('nobody', systemUsers()), { ok: true, value: { user: 'nobody', uid: 65534, gid: 65534 } });
  });
});

describe('config: script_user and user', () => {
  const parse = (lines: readonly string[]) => parseConfig(lines.join('\n'), F, { users: DB });
  const errs = (lines: readonly string[]) => parse(lines).problems.filter((p) => p.severity === 'error').map((p) => `${p.file}:${p.line}: ${p.message}`);

  it('resolves script_user, and every vrrp_script and MISC_CHECK inherits it unless it names its own user', () => {
    const c = parse([
      '[global]', 'script_user = nobody', // 1-2
      '[vrrp_script.a]', 'script = /bin/true', // 3-4
      '[vrrp_script.b]', 'script = /bin/true', 'user = lvsd adm', // 5-7
      '[check.m]', 'type = MISC_CHECK', 'misc_path = /bin/true', // 8-10
      '[check.n]', 'type = MISC_CHECK', 'misc_path = /bin/true', 'user = root', // 11-14
      ...instance('VI_1'),
    ]).config!;
    assert.deepEqual(c.global.scriptUser, { user: 'nobody', uid: 65534, gid: 65534, line: 2 });
    assert.deepEqual(c.vrrpScripts.get('a')!.user, c.global.scriptUser);
    assert.deepEqual(c.vrrpScripts.get('b')!.user, { user: 'lvsd', group: 'adm', uid: 998, gid: 4, line: 7 });
    const m = c.checks.get('m')!;
    const n = c.checks.get('n')!;
    assert.ok(m.type === 'MISC_CHECK' && n.type === 'MISC_CHECK');
    assert.deepEqual(m.user, c.global.scriptUser);
    assert.deepEqual(n.user, { user: 'root', uid: 0, gid: 0, line: 14 });
  });

  it('leaves scripts to the daemon\'s own user without script_user', () => {
    const c = parse(['[vrrp_script.a]', 'script = /bin/true', '[check.m]', 'type = MISC_CHECK', 'misc_path = /bin/true', ...instance('VI_1')]).config!;
    assert.equal(c.global.scriptUser, undefined);
    assert.equal(c.vrrpScripts.get('a')!.user, undefined);
    const m = c.checks.get('m')!;
    assert.ok(m.type === 'MISC_CHECK' && m.user === undefined);
  });

  it('makes an unknown user or group an error on its line', () => {
    assert.deepEqual(errs(['[global]', 'script_user = nosuch', '[vrrp_script.a]', 'script = /bin/true', 'user = nobody wheel', ...instance('VI_1')]), [
      `${F}:2: script_user: no user "nosuch" in /etc/passwd (give a user name that exists here, or a numeric uid)`,
      `${F}:5: user: no group "wheel" in /etc/group (give a group name that exists here, or a numeric gid)`,
    ]);
    assert.deepEqual(errs(['[check.m]', 'type = MISC_CHECK', 'misc_path = /bin/true', 'user = 5000']), [
      `${F}:4: user: uid 5000 is not in /etc/passwd, so it has no primary group: write "5000 GROUP"`,
    ]);
  });

  it('rejects user in a vrrp_instance (keepalived has none there) and in other check types', () => {
    assert.deepEqual(errs(instance('VI_1', ['user = nobody'])), [`${F}:4: unknown key "user" in [vrrp_instance.VI_1]`]);
    assert.deepEqual(errs(['[check.t]', 'type = TCP_CHECK', 'user = nobody']), [`${F}:3: "user" applies to MISC_CHECK, not TCP_CHECK`]);
  });

  it('warns, on the key\'s line, when this process could not switch to the user', () => {
    const lines = ['[global]', 'script_user = nobody', '[vrrp_script.b]', 'script = /bin/true', 'user = lvsd', ...instance('VI_1')];
    const r = parseConfig(lines.join('\n'), F, { users: DB, host: fakeHost(['eth0'], ['/bin/true'], false) });
    assert.ok(r.config, 'a warning, not an error: the file is judged, this host only informs');
    const why = 'lacks CAP_SETUID, CAP_SETGID or CAP_KILL: they would fail to start (under systemd, add them to CapabilityBoundingSet in a drop-in)';
    assert.deepEqual(r.problems.map((p) => `${p.line} ${p.severity} ${p.message}`), [
      `2 warning scripts are to run as nobody (uid 65534 gid 65534), but this process ${why}`,
      `5 warning scripts are to run as lvsd (uid 998 gid 997), but this process ${why}`,
    ]);
    assert.deepEqual(parseConfig(lines.join('\n'), F, { users: DB, host: fakeHost(['eth0'], ['/bin/true']) }).problems, []);
  });

  it('reads the capability bits a script user needs from /proc/self/status', () => {
    assert.equal(effectiveCaps('Name:\tnode\nCapEff:\t000001ffffffffff\n'), 0x1ffffffffffn);
    assert.equal(capsAllowRunAs(0x1ffffffffffn), true);
    // systemd's CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW: bits 12 and 13 only.
    assert.equal(capsAllowRunAs((1n << 12n) | (1n << 13n)), false);
    assert.equal(capsAllowRunAs((1n << 5n) | (1n << 6n) | (1n << 7n)), true, 'CAP_KILL, CAP_SETGID, CAP_SETUID');
    assert.equal(capsAllowRunAs((1n << 6n) | (1n << 7n)), false, 'without CAP_KILL a timed-out script could not be stopped');
    assert.equal(effectiveCaps('Name:\tnode\n'), undefined);
  });

  it('import-keepalived keeps a script_user this host lacks (it is checked where lvsd runs)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-users-'));
    try {
      const file = path.join(dir, 'keepalived.conf');
      fs.writeFileSync(file, 'global_defs {\n  script_user nosuchuser_here\n}\n');
      const r = convertKeepalived(file);
      assert.equal(r.status, 0, r.text);
      assert.match(r.body, /^script_user = nosuchuser_here$/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
