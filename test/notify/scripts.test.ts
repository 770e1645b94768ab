import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMemoryLogger } from '../../src/log';
import { HookOutcome, NotifyRunner, eventKey, hookCommands, hookSpawnOptions, scriptPolicy } from '../../src/notify/scripts';
import type { NotifyScripts } from '../../src/notify/scripts';

/** Writes an executable sh script and returns its path. */
function script(dir: string, name: string, body: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

/** Asserts that the two pids a hanging hook wrote to `pidsFile` (its own and its child's) are gone. */
async function assertGroupKilled(pidsFile: string): Promise<void> {
  const list = fs.readFileSync(pidsFile, 'utf8').trim().split('\n').map(Number);
  assert.equal(list.length, 2);
  await new Promise((res) => setTimeout(res, 100));
  for (const pid of list) assert.ok(!alive(pid), `process ${pid} of the hook's group was killed`);
}

/** True while `pid` names a live (non-zombie) process. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('notify/scripts: hookCommands (keepalived argument conventions)', () => {
  const scripts: NotifyScripts = {
    notify: ['/etc/lvsd/notify.sh'],
    master: ['/etc/lvsd/notify.sh', 'master'],
    backup: ['/etc/lvsd/notify.sh', 'backup'],
    up: ['/bin/up.sh', 'x'],
  };
  it('runs the per-state script with its own argv, then the generic one with INSTANCE name state prio', () => {
    assert.deepEqual(hookCommands({ type: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 150 }, scripts), [
      ['/etc/lvsd/notify.sh', 'master'],
      ['/etc/lvsd/notify.sh', 'INSTANCE', 'VI_1', 'MASTER', '150'],
    ]);
  });
  it('passes priority 0 for a group, and omits an unconfigured per-state script', () => {
    assert.deepEqual(hookCommands({ type: 'GROUP', name: 'G1', state: 'FAULT' }, scripts), [
      ['/etc/lvsd/notify.sh', 'GROUP', 'G1', 'FAULT', '0'],
    ]);
  });
  it('uses the RS form for real servers', () => {
    assert.deepEqual(
      hookCommands({ type: 'RS', realServer: '[198.51.100.1]:tcp:80', virtualServer: '[192.0.2.100]:tcp:80', state: 'UP' }, scripts),
      [['/bin/up.sh', 'x'], ['/etc/lvsd/notify.sh', 'RS', '[198.51.100.1]:tcp:80', '[192.0.2.100]:tcp:80', 'UP']],
    );
    assert.deepEqual(hookCommands({ type: 'RS', realServer: 'a', virtualServer: 'b', state: 'DOWN' }, { up: ['/x'] }), []);
  });
  it('keys instances, groups and real servers apart', () => {
    const keys = new Set([
      eventKey({ type: 'INSTANCE', name: 'X', state: 'MASTER', priority: 1 }),
      eventKey({ type: 'GROUP', name: 'X', state: 'MASTER' }),
      eventKey({ type: 'RS', realServer: 'X', virtualServer: 'Y', state: 'UP' }),
    ]);
    assert.equal(keys.size, 3);
  });
});

describe('notify/scripts: NotifyRunner with real scripts', function () {
  this.timeout(15000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-notify-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives scripts the argv and LVSD_* environment of the event', async () => {
    const out = path.join(dir, 'out');
    const s = script(
      dir,
      'hook.sh',
      `{ printf '%s|' "$@"; echo; echo "T=$LVSD_TYPE I=$LVSD_INSTANCE S=$LVSD_STATE P=$LVSD_PREVIOUS_STATE PR=$LVSD_PRIORITY R=$LVSD_REASON X=$LVSD_ROUTER_ID"; } >> ${out}`,
    );
    const runner = new NotifyRunner({ extraEnv: { LVSD_ROUTER_ID: 'lvs-a' } });
    const results = await runner.notify(
      { type: 'INSTANCE', name: 'VI_1', state: 'MASTER', previousState: 'BACKUP', priority: 90, reason: 'master down timer expired' },
      { notify: [s], master: [s, 'master', 'two words'] },
    );
    assert.deepEqual(results.map((r) => r.outcome), ['OK', 'OK']);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    const env = 'T=INSTANCE I=VI_1 S=MASTER P=BACKUP PR=90 R=master down timer expired X=lvs-a';
    assert.deepEqual(lines, ['master|two words|', env, 'INSTANCE|VI_1|MASTER|90|', env]);
  });

  it('runs hooks of one instance one at a time, in order, and other instances in parallel', async () => {
    const log = path.join(dir, 'log');
    const s = script(dir, 'slow.sh', `echo "start $2 $3" >> ${log}; sleep 0.2; echo "end $2 $3" >> ${log}`);
    const runner = new NotifyRunner();
    const states = ['BACKUP', 'MASTER', 'FAULT'] as const;
    const t0 = Date.now();
    for (const st of states) runner.notify({ type: 'INSTANCE', name: 'VI_1', state: st, priority: 100 }, { notify: [s] });
    for (const st of states) runner.notify({ type: 'INSTANCE', name: 'VI_2', state: st, priority: 100 }, { notify: [s] });
    assert.equal(runner.pending('INSTANCE:VI_1'), 2, 'the 2nd and 3rd hook wait for the 1st');
    await runner.idle();
    const elapsed = Date.now() - t0;
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    for (const name of ['VI_1', 'VI_2']) {
      const mine = lines.filter((l) => l.split(' ')[1] === name).map((l) => l.split(' ')[0] + ' ' + l.split(' ')[2]);
      assert.deepEqual(mine, states.flatMap((st) => [`start ${st}`, `end ${st}`]), `serial per instance: ${lines.join(', ')}`);
    }
    // 3 × 0.2 s serially per instance; the two instances overlap.
    assert.ok(elapsed < 1100, `two instances ran in parallel (took ${elapsed} ms)`);
  });

  it('returns at once even when the hook is slow', async () => {
    const s = script(dir, 'slow.sh', 'sleep 2');
    const runner = new NotifyRunner();
    const t0 = performance.now();
    const p = runner.run('k', [s]);
    // Spawning alone can take tens of ms on a loaded machine; waiting for the hook takes 2 s.
    assert.ok(performance.now() - t0 < 1000, 'run() did not wait for the hook');
    assert.equal((await p).outcome, 'OK');
  });

  it('kills the hook and its whole process group on timeout', async () => {
    const pids = path.join(dir, 'pids');
    // The hook starts a grandchild and waits: both must die.
    const s = script(dir, 'hang.sh', `sleep 30 & echo $! >> ${pids}; echo $$ >> ${pids}; sleep 30`);
    const logger = createMemoryLogger();
    const runner = new NotifyRunner({ logger, timeoutMs: 300, killGraceMs: 500 });
    const t0 = Date.now();
    const r = await runner.run('INSTANCE:VI_1', [s]);
    assert.equal(r.outcome, HookOutcome.TIMEOUT);
    assert.ok(Date.now() - t0 < 3000, 'timeout honoured');
    await assertGroupKilled(pids);
    assert.ok(logger.records.some((rec) => rec.level === 'warn' && rec.fields.outcome === 'TIMEOUT'));
  });

  it('escalates to SIGKILL when the hook ignores SIGTERM', async () => {
    const s = script(dir, 'stubborn.sh', `trap '' TERM; while :; do sleep 0.05; done`);
    const runner = new NotifyRunner({ timeoutMs: 200, killGraceMs: 300 });
    const r = await runner.run('k', [s]);
    assert.equal(r.outcome, HookOutcome.TIMEOUT);
    assert.equal(r.signal, 'SIGKILL');
  });

  it('logs a failing hook with its stderr tail, without throwing', async () => {
    const s = script(dir, 'fail.sh', 'echo "first line" >&2; echo "cannot reach 192.0.2.1" >&2; exit 3');
    const logger = createMemoryLogger();
    const runner = new NotifyRunner({ logger });
    const seen: string[] = [];
    runner.on('result', (r) => seen.push(r.outcome));
    const r = await runner.run('INSTANCE:VI_1', [s]);
    assert.equal(r.outcome, HookOutcome.FAILED);
    assert.equal(r.exitCode, 3);
    assert.match(r.stderrTail, /cannot reach 192\.0\.2\.1/);
    const warn = logger.records.find((rec) => rec.level === 'warn');
    assert.ok(warn, 'a warning was logged');
    assert.match(String(warn.fields.stderr), /cannot reach 192\.0\.2\.1/);
    assert.equal(warn.fields.exit, 3);
    assert.deepEqual(seen, ['FAILED']);
  });

  it('keeps only the tail of a long stderr', async () => {
    const s = script(dir, 'noisy.sh', 'i=0; while [ $i -lt 500 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 1');
    const runner = new NotifyRunner({ stderrTailBytes: 64 });
    const r = await runner.run('k', [s]);
    assert.ok(r.stderrTail.length <= 64);
    assert.match(r.stderrTail, /line 499\n$/);
  });

  it('reports a missing script as SPAWN_ERROR and goes on with the next hook', async () => {
    const out = path.join(dir, 'ran');
    const ok = script(dir, 'ok.sh', `touch ${out}`);
    const logger = createMemoryLogger();
    const runner = new NotifyRunner({ logger });
    const [missing, next] = await Promise.all([runner.run('k', [path.join(dir, 'nope.sh')]), runner.run('k', [ok])]);
    assert.equal(missing.outcome, HookOutcome.SPAWN_ERROR);
    assert.match(missing.error ?? '', /ENOENT/);
    assert.equal(next.outcome, HookOutcome.OK);
    assert.ok(fs.existsSync(out));
    assert.ok(logger.records.some((rec) => rec.level === 'warn' && /ENOENT/.test(String(rec.fields.error))));
  });

  it('drops hooks beyond the per-key queue limit', async () => {
    const s = script(dir, 'slow.sh', 'sleep 0.2');
    const runner = new NotifyRunner({ maxQueuePerKey: 1 });
    const a = runner.run('k', [s]); // starts
    const b = runner.run('k', [s]); // queued
    const c = runner.run('k', [s]); // over the limit
    assert.equal((await c).outcome, HookOutcome.DROPPED);
    assert.deepEqual([(await a).outcome, (await b).outcome], ['OK', 'OK']);
  });

  it('close() lets queued hooks (e.g. STOP at shutdown) finish, then refuses new ones', async () => {
    const out = path.join(dir, 'out');
    const s = script(dir, 'rec.sh', `sleep 0.1; echo "$3" >> ${out}`);
    const runner = new NotifyRunner();
    runner.notify({ type: 'INSTANCE', name: 'VI_1', state: 'BACKUP', priority: 100 }, { notify: [s] });
    runner.notify({ type: 'INSTANCE', name: 'VI_1', state: 'STOP', priority: 100 }, { notify: [s] });
    await runner.close();
    assert.equal(fs.readFileSync(out, 'utf8'), 'BACKUP\nSTOP\n');
    assert.equal((await runner.run('k', [s])).outcome, HookOutcome.DROPPED);
  });

  it('close({ dropQueued: true }) drops hooks not yet started', async () => {
    const s = script(dir, 'slow.sh', 'sleep 0.2');
    const runner = new NotifyRunner();
    const a = runner.run('k', [s]);
    const b = runner.run('k', [s]);
    await runner.close({ dropQueued: true });
    assert.deepEqual([(await a).outcome, (await b).outcome], ['OK', 'DROPPED']);
  });
});

describe('notify/scripts: script_user', function () {
  this.timeout(15000);
  const NOBODY = { uid: 65534, gid: 65534 };

  it('puts the uid and gid in the spawn options, and nothing without a script_user', () => {
    const env = { PATH: '/usr/bin:/bin' };
    const as = hookSpawnOptions(env, NOBODY);
    assert.equal(as.uid, 65534);
    assert.equal(as.gid, 65534);
    assert.deepEqual({ ...as, uid: undefined, gid: undefined }, { ...hookSpawnOptions(env, undefined), uid: undefined, gid: undefined });
    const own = hookSpawnOptions(env, undefined);
    assert.ok(!('uid' in own) && !('gid' in own), JSON.stringify(own));
    assert.deepEqual([own.detached, own.shell, own.stdio, own.env], [true, false, ['ignore', 'ignore', 'pipe'], env]);
  });

  it("takes enable_script_security and script_user's ids from [global]", () => {
    const scriptUser = { user: 'nobody', uid: 65534, gid: 65534, line: 3 };
    assert.deepEqual(scriptPolicy({ global: { enableScriptSecurity: true, scriptUser } }), { scriptSecurity: true, runAs: NOBODY });
    assert.deepEqual(scriptPolicy({ global: { enableScriptSecurity: false } }), { scriptSecurity: false });
  });

  describe('as root, with real processes', () => {
    let dir: string;
    before(function () {
      if (process.getuid?.() !== 0) throw new Error('these tests start hooks as nobody: run them as root');
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-runas-'));
      fs.chmodSync(dir, 0o755); // nobody must reach the scripts
    });
    after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

    it('runs a hook as nobody: id -u is 65534, and no supplementary group is left', async () => {
      const s = script(dir, 'id.sh', 'echo "$(id -u) $(id -g) $(id -G)" >&2');
      const as = await new NotifyRunner({ runAs: NOBODY }).run('k', [s]);
      assert.equal(as.outcome, HookOutcome.OK, as.error);
      assert.equal(as.stderrTail.trim(), '65534 65534 65534');
      const own = await new NotifyRunner().run('k', [s]);
      assert.equal(own.stderrTail.trim().split(' ')[0], '0', 'without script_user it runs as the daemon (root)');
    });

    it('applies a reloaded script_user to the next hook', async () => {
      const s = script(dir, 'uid.sh', 'id -u >&2');
      const runner = new NotifyRunner();
      assert.equal((await runner.run('k', [s])).stderrTail.trim(), '0');
      runner.configure({ scriptSecurity: false, runAs: NOBODY });
      assert.equal((await runner.run('k', [s])).stderrTail.trim(), '65534');
      runner.configure({ scriptSecurity: false });
      assert.equal((await runner.run('k', [s])).stderrTail.trim(), '0');
    });

    it('still kills a timed-out hook that runs as nobody, with its process group', async () => {
      const pids = path.join(dir, 'pids');
      fs.writeFileSync(pids, '', { mode: 0o666 });
      fs.chmodSync(pids, 0o666);
      const s = script(dir, 'hang.sh', `sleep 30 & echo $! >> ${pids}; echo $$ >> ${pids}; sleep 30`);
      const r = await new NotifyRunner({ runAs: NOBODY, timeoutMs: 300, killGraceMs: 500 }).run('k', [s]);
      assert.equal(r.outcome, HookOutcome.TIMEOUT);
      await assertGroupKilled(pids);
    });
  });
});
