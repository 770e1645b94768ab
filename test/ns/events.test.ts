/**
 * Events of every process end to end (issue 12): a running lvsd records the
 * VRRP child's transitions and hook failures, webhook failures (their URL
 * without its token), reloads and child restarts in the parent's store;
 * `lvsctl events --follow` prints a new one as it happens; and the history
 * is still there after lvsd itself is restarted (state_dir).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { request } from '../../src/control/client';
import type { EventsResult } from '../../src/control/types';
import { Topology, waitFor } from '../lib/netns';
import { LVSCTL, Scratch, lvsdConfig, lvsdStatus, startLvsd } from '../lib/director';
import type { NsProcess } from '../lib/netns';

describe('events: every process, persisted, followed', function () {
  this.timeout(120_000);
  let topo: Topology;
  let scratch: Scratch;
  let lvsd: NsProcess | undefined;
  const sock = (): string => scratch.path('d1.sock');
  const conf = (): string => scratch.path('d1.conf');
  const events = async (...args: string[]): Promise<EventsResult['events']> =>
    (JSON.parse(await topo.run('d1', [process.execPath, LVSCTL, '--socket', sock(), '--json', 'events', ...args])) as EventsResult).events;

  before(async () => {
    topo = await Topology.create('ev');
    scratch = new Scratch();
    await topo.addHost('d1', ['192.0.2.11/24']);
    scratch.file('d1.conf', lvsdConfig('lvs-d1', sock(), [{ name: 'VI_1', priority: 150, advertInt: 0.2, vips: ['192.0.2.100/24'], notify: '/bin/false' }]) +
      ['[notify.ops]', 'url = http://ops:s3cr3t@127.0.0.1:9/hook?token=t0k3n', 'timeout = 1', 'retries = 0', ''].join('\n'));
    lvsd = await startLvsd(topo, 'd1', conf(), sock());
    await waitFor('VI_1 master', async () => (await lvsdStatus(topo, 'd1', sock())).instances[0]?.state === 'MASTER', { timeoutMs: 15_000 });
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('holds the VRRP transitions, the hook and webhook failures (URL redacted) and a reload, in order', async () => {
    await waitFor('hook and webhook failures recorded', async () => (await events('--subsystem', 'notify')).length >= 4, { timeoutMs: 15_000 });
    const r = await topo.exec('d1', [process.execPath, LVSCTL, '--socket', sock(), 'reload']);
    assert.equal(r.code, 0, r.stderr);
    const all = await events('1000');
    const vrrp = all.filter((e) => e.subsystem === 'vrrp');
    assert.deepEqual(vrrp.map((e) => [e.subject, e.from, e.to]), [['VI_1', 'INIT', 'BACKUP'], ['VI_1', 'BACKUP', 'MASTER']]);
    const notify = all.filter((e) => e.subsystem === 'notify');
    assert.ok(notify.some((e) => e.severity === 'warn' && /^hook \/bin\/false exited 1$/.test(e.message)), JSON.stringify(notify));
    const hooks = notify.filter((e) => e.severity === 'error' && e.subject === 'ops');
    assert.ok(hooks.length >= 2, JSON.stringify(notify));
    assert.match(hooks[0]!.message, /^webhook http:\/\/\*\*\*@127\.0\.0\.1:9\/hook\?\*\*\* failed after 1 attempt\(s\): ECONNREFUSED$/);
    assert.ok(!JSON.stringify(all).includes('s3cr3t') && !JSON.stringify(all).includes('t0k3n'), 'no secret in the events');
    assert.ok(!lvsd!.output().includes('s3cr3t') && !lvsd!.output().includes('t0k3n'), 'no secret in the log');
    assert.deepEqual(all.filter((e) => e.subsystem === 'reload').map((e) => e.message), ['applied: no change']);
    const seqs = all.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  });

  it('lvsctl events --follow prints a child restart as it happens', async () => {
    const follower = spawn('ip', ['netns', 'exec', topo.ns('d1'), process.execPath, LVSCTL, '--socket', sock(), 'events', '--follow', '--subsystem', 'process', '--since', '1s']);
    let out = '';
    follower.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('the follower to print its header', async () => out.startsWith('AT '), { timeoutMs: 10_000 });
      const { vrrp } = (await request(sock(), 'processes', {})) as { vrrp: number };
      process.kill(vrrp, 'SIGKILL');
      await waitFor('the restart event in the follower', async () => /process +error +vrrp +died \(SIGKILL\) after \d+ ms; restarting in \d+ ms/.test(out), { timeoutMs: 15_000 });
    } finally {
      const gone = new Promise((r) => follower.once('exit', r));
      follower.kill('SIGINT');
      await gone;
    }
    assert.equal(follower.exitCode, 0, out);
  });

  it('keeps the history across a restart of lvsd (state_dir/events.jsonl) and continues its numbering', async () => {
    const before = await events('1000');
    lvsd!.child.kill('SIGTERM');
    await lvsd!.exited;
    const file = `${sock().replace(/\.sock$/, '')}.state/events.jsonl`;
    assert.ok(readFileSync(file, 'utf8').split('\n').length > before.length, `${path.basename(file)} holds the events`);
    lvsd = await startLvsd(topo, 'd1', conf(), sock());
    const after = await events('1000');
    assert.deepEqual(after.slice(0, before.length), before, 'the same events, first');
    assert.ok(after.length > before.length && after[before.length]!.seq > before[before.length - 1]!.seq, 'new ones numbered after them');
  });
});
