/**
 * The checker process: forked for real, driven over IPC, probing a real listener on
 * 127.0.0.1; plus the protocol handler over a fake channel.
 */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { FakeClock } from '../../src/lib/clock';
import { CheckScheduler } from '../../src/check/scheduler';
import { RsChange } from '../../src/check/types';
import { CheckWorker, forkCheckWorker, FromWorker, runWorker } from '../../src/check/worker';
import { closeServer, listen } from './helpers';

function next<T>(w: CheckWorker, ev: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${ev}' from the checker process within ${ms} ms`)), ms);
    w.once(ev, (v: T) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

describe('check/worker: checker process over IPC', () => {
  it('runs the check set in a child process and reports changes back', async function () {
    this.timeout(15000);
    const srv = net.createServer((s) => s.destroy());
    const port = await listen(srv);
    const w = forkCheckWorker({ maxInFlight: 4 });
    try {
      await next(w, 'ready');
      const states = next<RsChange[]>(w, 'states');
      w.set([{
        rs: 'web/rs1',
        checks: [{ type: 'TCP_CHECK', connect_ip: '127.0.0.1', connect_port: port, connect_timeout: 0.3, delay_loop: 0.1, retry: 0, warmup: 0 }],
      }]);
      assert.deepEqual(await states, [{ rs: 'web/rs1', up: true, reason: 'TCP_CHECK: not checked yet' }]);
      const down = next<RsChange>(w, 'change');
      await closeServer(srv);
      const ev = await down;
      assert.deepEqual(ev, { rs: 'web/rs1', up: false, reason: 'TCP_CHECK: ECONNREFUSED' });
      const up = next<RsChange>(w, 'change');
      const srv2 = net.createServer((s) => s.destroy());
      await new Promise<void>((r) => srv2.listen(port, '127.0.0.1', r));
      try {
        assert.equal((await up).up, true);
      } finally {
        await closeServer(srv2);
      }
      const exited = next<[number | null]>(w, 'exit');
      await w.stop();
      await exited.catch(() => undefined);
      assert.equal(w.child.exitCode, 0);
    } finally {
      await closeServer(srv);
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  });

  it('exits when the parent channel goes away', async function () {
    this.timeout(10000);
    const w = forkCheckWorker();
    try {
      await next(w, 'ready');
      const exited = new Promise<number | null>((r) => w.child.once('exit', (code) => r(code)));
      w.child.disconnect();
      assert.equal(await exited, 0);
    } finally {
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  });

  it('answers stats from a real child, and an empty list when the child is gone', async function () {
    this.timeout(10000);
    const w = forkCheckWorker();
    try {
      await next(w, 'ready');
      w.set([{ rs: 'r', checks: [] }]);
      assert.deepEqual(await w.stats(), [], 'no check, no figures');
      w.child.kill('SIGKILL');
      await new Promise((r) => w.child.once('exit', r));
      assert.deepEqual(await w.stats(100), []);
    } finally {
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  });

  it('speaks the documented protocol (fake channel)', async () => {
    const sent: FromWorker[] = [];
    let handler: (m: unknown) => void = () => undefined;
    let exitCode: number | undefined;
    const clock = new FakeClock();
    const sched = runWorker(
      { send: (m) => sent.push(m), onMessage: (fn) => (handler = fn), exit: (c) => (exitCode = c) },
      (onChange) => new CheckScheduler({
        onChange, clock, random: () => 0,
        probe: async () => ({ ok: false, reason: 'refused', durationMs: 0 }),
      }),
    );
    assert.deepEqual(sent, [{ type: 'ready' }]);
    handler({ type: 'bogus' });
    assert.equal(sent[1].type, 'error');
    handler({ type: 'set', servers: [{ rs: 'r', checks: [{ type: 'TCP_CHECK', connect_ip: '198.51.100.1', connect_port: 80, retry: 0, warmup: 0 }] }] });
    assert.deepEqual(sent[2], { type: 'states', states: [{ rs: 'r', up: true, reason: 'TCP_CHECK: not checked yet' }] });
    await clock.advanceAsync(0);
    assert.deepEqual(sent[3], { type: 'change', rs: 'r', up: false, reason: 'TCP_CHECK: refused' });
    handler({ type: 'stats', id: 7 });
    const st = sent[4] as Extract<FromWorker, { type: 'stats' }>;
    assert.equal(st.type, 'stats');
    assert.equal(st.id, 7, 'the answer carries the question\'s id');
    assert.deepEqual(st.stats.map((x) => [x.rs, x.index, x.ok, x.failed, x.durations.count]), [['r', 0, 0, 1, 1]]);
    handler({ type: 'stop' });
    assert.equal(exitCode, 0);
    assert.equal(clock.pending, 0);
    assert.deepEqual(sched.states(), []);
  });
});
