import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createMemoryLogger } from '../../src/log';
import { HookOutcome, NotifyRunner } from '../../src/notify/scripts';
import { checkScriptSecurity, resolveScript } from '../../src/notify/security';
import { ControlError } from '../../src/control/server';
import { setEventSink } from '../../src/events';
import { loadChecked, problemLines } from '../../src/main/check-config';
import { EventHistory, loadAtStart, loadForReload } from '../../src/main/control';

// A non-root uid/gid for ownership cases (need not exist in /etc/passwd).
const OTHER = 4242;

describe('notify/security: enable_script_security', () => {
  let base: string;
  before(function () {
    if (process.getuid?.() !== 0) throw new Error('these tests chown files: run them as root');
    // /var/lib is root-owned 0755 on Debian, unlike /tmp (1777), so a script
    // under it can be secure.
    const st = fs.statSync('/var/lib');
    if (st.uid !== 0 || st.mode & 0o022) throw new Error('/var/lib must be root-owned and not group/other writable for this test');
    base = fs.mkdtempSync('/var/lib/lvsd-sec-test-');
    fs.chmodSync(base, 0o755);
  });
  after(() => base && fs.rmSync(base, { recursive: true, force: true }));

  function make(rel: string, mode = 0o755): string {
    const p = path.join(base, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
    fs.writeFileSync(p, '#!/bin/sh\nexit 0\n');
    fs.chmodSync(p, mode);
    return p;
  }

  it('accepts a root-owned script in root-owned, non-writable directories', async () => {
    const p = make('ok/hook.sh');
    assert.deepEqual(await checkScriptSecurity(p), { ok: true, path: p });
  });

  it('refuses a script writable by others, naming the file', async () => {
    const p = make('ow/hook.sh', 0o757);
    const r = await checkScriptSecurity(p);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.code, 'OTHER_WRITABLE');
    assert.equal(r.offending, p);
    assert.ok(r.message.includes(p), r.message);
  });

  it('refuses a script owned by a non-root user', async () => {
    const p = make('owner/hook.sh');
    fs.chownSync(p, OTHER, 0);
    const r = await checkScriptSecurity(p);
    assert.ok(!r.ok && r.code === 'OWNER_NOT_ROOT' && r.offending === p, JSON.stringify(r));
  });

  it('refuses a script in a directory group-writable by a non-root group, naming the directory', async () => {
    const p = make('gw/sub/hook.sh');
    const dir = path.join(base, 'gw');
    fs.chownSync(dir, 0, OTHER);
    fs.chmodSync(dir, 0o775);
    const r = await checkScriptSecurity(p);
    assert.ok(!r.ok && r.code === 'GROUP_WRITABLE' && r.offending === dir, JSON.stringify(r));
    assert.ok(!r.ok && r.message.includes(dir));
  });

  it('accepts group write for the root group, as keepalived does', async () => {
    const p = make('rootgroup/hook.sh', 0o775);
    assert.equal((await checkScriptSecurity(p)).ok, true);
  });

  it('refuses a script under a world-writable directory such as /tmp', async () => {
    const dir = fs.mkdtempSync('/tmp/lvsd-sec-');
    try {
      const p = path.join(dir, 'hook.sh');
      fs.writeFileSync(p, '#!/bin/sh\n', { mode: 0o755 });
      const r = await checkScriptSecurity(p);
      assert.ok(!r.ok && r.code === 'OTHER_WRITABLE' && r.offending === '/tmp', JSON.stringify(r));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('judges the target of a symlink too', async () => {
    const target = make('evil/hook.sh', 0o777);
    const link = path.join(base, 'ok', 'link.sh');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(target, link);
    const r = await checkScriptSecurity(link);
    assert.ok(!r.ok && r.offending === target, JSON.stringify(r));
  });

  it('refuses a missing or non-executable script', async () => {
    assert.equal((await checkScriptSecurity(path.join(base, 'missing.sh'))).ok, false);
    const p = make('noexec/hook.sh', 0o644);
    const r = await checkScriptSecurity(p);
    assert.ok(!r.ok && r.code === 'NOT_EXECUTABLE', JSON.stringify(r));
  });

  it('resolves a bare name through PATH', async () => {
    const p = make('bin/lvsd-test-hook');
    assert.equal(await resolveScript('lvsd-test-hook', `/nonexistent:${path.dirname(p)}`), p);
    assert.equal(await resolveScript('lvsd-test-hook', '/nonexistent'), null);
  });

  it('does not hold a script run as an unprivileged script_user to root ownership, as keepalived', async () => {
    const p = make('asuser/hook.sh');
    fs.chownSync(p, OTHER, OTHER);
    const user = { uid: OTHER, gid: OTHER };
    assert.deepEqual(await checkScriptSecurity(p, undefined, user), { ok: true, path: p });
    assert.ok(!(await checkScriptSecurity(p)).ok, 'as root the same script is refused');
    assert.ok(!(await checkScriptSecurity(p, undefined, { uid: OTHER, gid: 0 })).ok, 'root group counts as root');
    // Still an executable regular file.
    fs.chmodSync(p, 0o644);
    const r = await checkScriptSecurity(p, undefined, user);
    assert.ok(!r.ok && r.code === 'NOT_EXECUTABLE', JSON.stringify(r));
  });

  it('still protects a set-user-ID root program run as a script_user', async () => {
    const p = make('suid/hook.sh', 0o757);
    fs.chmodSync(p, 0o4757);
    const r = await checkScriptSecurity(p, undefined, { uid: OTHER, gid: OTHER });
    assert.ok(!r.ok && r.code === 'OTHER_WRITABLE', JSON.stringify(r));
  });

  it('makes the runner refuse an insecure script without running it', async () => {
    const marker = path.join(base, 'ran');
    const p = make('runner/hook.sh', 0o777);
    fs.writeFileSync(p, `#!/bin/sh\ntouch ${marker}\n`);
    const logger = createMemoryLogger();
    const runner = new NotifyRunner({ logger, scriptSecurity: true });
    const r = await runner.run('INSTANCE:VI_1', [p]);
    assert.equal(r.outcome, HookOutcome.REFUSED);
    assert.ok(!fs.existsSync(marker), 'the refused script did not run');
    assert.ok(logger.records.some((rec) => rec.level === 'warn' && String(rec.fields.error).includes(p)));
    fs.chmodSync(p, 0o755);
    assert.equal((await runner.run('INSTANCE:VI_1', [p])).outcome, HookOutcome.OK);
    assert.ok(fs.existsSync(marker));
  });
});

describe('enable_script_security on vrrp_script and MISC_CHECK, where the configuration is accepted (issue 12)', () => {
  let base: string;
  before(function () {
    if (process.getuid?.() !== 0) throw new Error('these tests chown files: run them as root');
    base = fs.mkdtempSync('/var/lib/lvsd-sec-conf-');
    fs.chmodSync(base, 0o755);
  });
  after(() => base && fs.rmSync(base, { recursive: true, force: true }));
  afterEach(() => setEventSink(undefined));

  const script = (name: string, mode = 0o755, uid = 0): string => {
    const p = path.join(base, name);
    fs.writeFileSync(p, '#!/bin/sh\nexit 0\n');
    fs.chmodSync(p, mode);
    fs.chownSync(p, uid, 0);
    return p;
  };
  const conf = (security: boolean, track: string, misc: string): string => {
    const file = path.join(base, 'lvsd.conf');
    fs.writeFileSync(file, [
      '[global]', `enable_script_security = ${security}`, `state_dir = ${base}`, '',
      '[vrrp_script.chk]', `script = ${track} 198.51.100.1 80`, 'interval = 2', '',
      '[vrrp_instance.VI_1]', 'interface = lo', 'virtual_router_id = 51', 'priority = 100', 'virtual_ipaddress[] = 192.0.2.100/24', 'track_script[] = chk', '',
      '[check.misc]', 'type = MISC_CHECK', `misc_path = ${misc} --probe`, '',
      '[virtual_server.web]', 'address = 192.0.2.100:80', 'protocol = TCP', 'lb_algo = rr', 'lb_kind = NAT', 'check = misc', '',
      '[real_server.web.rs1]', 'address = 198.51.100.1:80', '',
    ].join('\n'));
    return file;
  };

  it('refuses a vrrp_script and a MISC_CHECK program others could change: at start, on reload (nothing changes), in both check-configs', async () => {
    const track = script('track.sh', 0o757);
    const misc = script('misc.sh', 0o755, OTHER);
    const file = conf(true, track, misc);
    const r = loadChecked(file);
    assert.equal(r.valid, false);
    assert.equal(r.config, undefined);
    const lines = problemLines(r.problems);
    assert.deepEqual(lines.map((l) => l.replace(/ \(mode.*|, not root$/, '')), [
      `${file}:6: enable_script_security: [vrrp_script.chk] script: refusing script ${track}: file ${track} is writable by other users`,
      `${file}:18: enable_script_security: [check.misc] misc_path: refusing script ${misc}: file ${misc} is owned by uid ${OTHER}`,
    ]);
    assert.throws(() => loadAtStart(file), (e: Error & { code?: string }) => e.code === 'ECONFIG' && e.message.includes('[vrrp_script.chk]'));
    const h = new EventHistory().sink();
    assert.throws(() => loadForReload(file, createMemoryLogger()), (e: unknown) => e instanceof ControlError && e.code === 'ECONFIG' && e.message.includes('[check.misc]'));
    const ev = (await h.events({ subsystem: 'reload' })).events;
    assert.deepEqual(ev.map((e) => [e.subsystem, e.severity, e.subject]), [['reload', 'error', file]]);
    for (const bin of ['lvsd', 'lvsctl']) {
      const run = spawnSync(process.execPath, [path.resolve(__dirname, '../../../bin', bin), ...(bin === 'lvsd' ? ['--check-config', '--config', file] : ['check-config', file])], { encoding: 'utf8' });
      assert.equal(run.status, 1, `${bin}: ${run.stdout}${run.stderr}`);
      assert.match(run.stdout, /\[vrrp_script\.chk\] script: refusing/);
      assert.match(run.stdout, /\[check\.misc\] misc_path: refusing/);
    }
  });

  it('accepts them when they are safe, or when enable_script_security is off', () => {
    const bad = conf(false, script('t2.sh', 0o757), script('m2.sh', 0o755, OTHER));
    assert.equal(loadChecked(bad).valid, true, 'off: not checked (as keepalived)');
    const good = conf(true, script('t3.sh'), script('m3.sh'));
    const r = loadChecked(good);
    assert.deepEqual(problemLines(r.problems).filter((l) => !/warning/.test(l)), []);
    assert.equal(r.valid, true);
    assert.ok(loadAtStart(good).config);
  });
});
