/** The check scheduler on a fake clock with fake probes: no sleeping. */
import * as assert from 'node:assert/strict';
import { FakeClock } from '../../src/lib/clock';
import { ProbeFn } from '../../src/check/probe';
import { CheckScheduler } from '../../src/check/scheduler';
import { CheckOptions, CheckResult, RsChange, TcpCheckOptions } from '../../src/check/types';

const tcp = (port: number, o: Partial<TcpCheckOptions> = {}): TcpCheckOptions => ({
  type: 'TCP_CHECK', connect_ip: '198.51.100.1', connect_port: port, delay_loop: 10, retry: 1,
  delay_before_retry: 2, warmup: 0, ...o,
});

/** A fake probe whose answer per port is set by the test; records call times. */
function fakeProbe(clock: FakeClock): { probe: ProbeFn; answer: Map<number, Partial<CheckResult>>; calls: Array<[number, number]> } {
  const answer = new Map<number, Partial<CheckResult>>();
  const calls: Array<[number, number]> = [];
  const probe: ProbeFn = async (opts: CheckOptions) => {
    const port = (opts as TcpCheckOptions).connect_port;
    calls.push([clock.now(), port]);
    const a = answer.get(port) ?? { ok: true };
    return { ok: a.ok ?? true, reason: a.reason ?? (a.ok === false ? 'refused' : 'connected'), durationMs: 0, weight: a.weight };
  };
  return { probe, answer, calls };
}

describe('check/scheduler', () => {
  it('starts after warmup × random, then runs every delay_loop', async () => {
    const clock = new FakeClock();
    const f = fakeProbe(clock);
    const s = new CheckScheduler({ onChange: () => undefined, probe: f.probe, clock, random: () => 0.25 });
    s.set([{ rs: 'web/rs1', checks: [tcp(80, { warmup: 8 })] }]);
    await clock.advanceAsync(35_000);
    assert.deepEqual(f.calls.map((c) => c[0]), [2000, 12000, 22000, 32000]);
    s.stop();
    assert.equal(clock.pending, 0);
  });

  it('spreads thousands of first checks over [0, warmup]', async () => {
    const clock = new FakeClock();
    const f = fakeProbe(clock);
    let seed = 1;
    const random = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const s = new CheckScheduler({ onChange: () => undefined, probe: f.probe, clock, random, maxInFlight: 10_000 });
    s.set(Array.from({ length: 2000 }, (_, i) => ({ rs: `rs${i}`, checks: [tcp(i + 1, { warmup: 10, delay_loop: 60 })] })));
    await clock.advanceAsync(10_000);
    assert.equal(f.calls.length, 2000);
    const perSecond = new Array(10).fill(0);
    for (const [t] of f.calls) perSecond[Math.min(9, Math.floor(t / 1000))]++;
    // Uniform: each second gets about 200; none gets a burst.
    for (const n of perSecond) assert.ok(n > 120 && n < 280, `per-second counts ${perSecond}`);
    s.stop();
  });

  it('retries a failure after delay_before_retry, emits down once, then up on recovery', async () => {
    const clock = new FakeClock();
    const f = fakeProbe(clock);
    const events: Array<[number, RsChange]> = [];
    const s = new CheckScheduler({ onChange: (e) => events.push([clock.now(), e]), probe: f.probe, clock, random: () => 0 });
    s.set([{ rs: 'web/rs1', checks: [tcp(80)] }]);
    assert.deepEqual(s.state('web/rs1')?.up, true);
    await clock.advanceAsync(0);
    f.answer.set(80, { ok: false, reason: 'ECONNREFUSED' });
    await clock.advanceAsync(12_000); // t=10000 fails, its retry at 12000 fails → down.
    assert.deepEqual(f.calls.map((c) => c[0]), [0, 10000, 12000]);
    assert.deepEqual(events, [[12000, { rs: 'web/rs1', up: false, reason: 'TCP_CHECK: ECONNREFUSED' }]]);
    await clock.advanceAsync(20_000); // 22000, 32000 still failing: no new event, no retries.
    assert.deepEqual(f.calls.map((c) => c[0]), [0, 10000, 12000, 22000, 32000]);
    assert.equal(events.length, 1);
    f.answer.set(80, { ok: true });
    await clock.advanceAsync(10_000);
    assert.equal(events.length, 2);
    assert.deepEqual(events[1], [42000, { rs: 'web/rs1', up: true, reason: 'TCP_CHECK: connected' }]);
    s.stop();
  });

  it('a real server is up only when all its checks are up', async () => {
    const clock = new FakeClock();
    const f = fakeProbe(clock);
    const events: RsChange[] = [];
    const s = new CheckScheduler({ onChange: (e) => events.push(e), probe: f.probe, clock, random: () => 0 });
    s.set([{ rs: 'rs', checks: [tcp(80, { retry: 0 }), tcp(443, { retry: 0 })] }]);
    await clock.advanceAsync(0);
    f.answer.set(80, { ok: false });
    await clock.advanceAsync(10_000);
    assert.deepEqual(events.map((e) => e.up), [false]);
    f.answer.set(443, { ok: false });
    await clock.advanceAsync(10_000);
    assert.deepEqual(events.map((e) => e.up), [false], 'a second check down changes nothing');
    f.answer.set(80, { ok: true });
    await clock.advanceAsync(10_000);
    assert.deepEqual(events.map((e) => e.up), [false], 'one of two up is still down');
    f.answer.set(443, { ok: true });
    await clock.advanceAsync(10_000);
    assert.deepEqual(events.map((e) => e.up), [false, true]);
    s.stop();
  });

  it('honours rise and fall', async () => {
    const clock = new FakeClock();
    const f = fakeProbe(clock);
    const events: Array<[number, boolean]> = [];
    const s = new CheckScheduler({ onChange: (e) => events.push([clock.now(), e.up]), probe: f.probe, clock, random: () => 0 });
    s.set([{ rs: 'rs', checks: [tcp(80, { retry: 0, fall: 3, rise: 2 })] }]);
    f.answer.set(80, { ok: false });
    await clock.advanceAsync(40_000);
    assert.deepEqual(events, [[20000, false]]);
    f.answer.set(80, { ok: true });
    await clock.advanceAsync(20_000);
    assert.deepEqual(events, [[20000, false], [60000, true]]);
    s.stop();
  });

  it('alpha starts down; a dynamic weight change while up is an event', async () => {
    const clock = new FakeClock();
    const f = fakeProbe(clock);
    const events: RsChange[] = [];
    const s = new CheckScheduler({ onChange: (e) => events.push(e), probe: f.probe, clock, random: () => 0 });
    s.set([{ rs: 'rs', checks: [tcp(80, { alpha: true })] }]);
    assert.equal(s.state('rs')?.up, false);
    f.answer.set(80, { ok: true, weight: 5, reason: 'exit 7' });
    await clock.advanceAsync(0);
    assert.deepEqual(events, [{ rs: 'rs', up: true, reason: 'TCP_CHECK: exit 7', weight: 5 }]);
    await clock.advanceAsync(10_000);
    assert.equal(events.length, 1, 'same weight: no event');
    f.answer.set(80, { ok: true, weight: 9, reason: 'exit 11' });
    await clock.advanceAsync(10_000);
    assert.deepEqual(events[1], { rs: 'rs', up: true, reason: 'TCP_CHECK: exit 11', weight: 9 });
    s.stop();
  });

  it('keeps at most maxInFlight probes running; the rest queue and all run', async () => {
    const clock = new FakeClock();
    let running = 0;
    let peak = 0;
    let done = 0;
    const release: Array<() => void> = [];
    const probe: ProbeFn = () => {
      running++;
      peak = Math.max(peak, running);
      return new Promise((resolve) => release.push(() => {
        running--;
        done++;
        resolve({ ok: true, reason: 'ok', durationMs: 0 });
      }));
    };
    const s = new CheckScheduler({ onChange: () => undefined, probe, clock, random: () => 0, maxInFlight: 10 });
    s.set(Array.from({ length: 10_000 }, (_, i) => ({ rs: `rs${i}`, checks: [tcp(80 + (i % 7), { connect_ip: `198.51.100.${i % 250}` })] })));
    await clock.advanceAsync(0);
    assert.equal(s.inFlight, 10);
    assert.equal(s.queued, 9990);
    while (release.length > 0) {
      release.splice(0).forEach((r) => r());
      await clock.advanceAsync(0);
      assert.ok(s.inFlight <= 10);
    }
    assert.equal(done, 10_000);
    assert.equal(peak, 10);
    s.stop();
  });

  it('reload keeps unchanged checks, drops removed ones (aborting in-flight probes) and starts new ones', async () => {
    const clock = new FakeClock();
    const aborted: number[] = [];
    const calls: Array<[number, number]> = [];
    const probe: ProbeFn = (opts, signal) => {
      const port = (opts as TcpCheckOptions).connect_port;
      calls.push([clock.now(), port]);
      if (port === 9) {
        return new Promise((resolve) => signal.addEventListener('abort', () => {
          aborted.push(port);
          resolve({ ok: false, reason: 'aborted', durationMs: 0 });
        }));
      }
      return Promise.resolve({ ok: true, reason: 'ok', durationMs: 0 });
    };
    const events: RsChange[] = [];
    const s = new CheckScheduler({ onChange: (e) => events.push(e), probe, clock, random: () => 0.5 });
    s.set([{ rs: 'a', checks: [tcp(80)] }, { rs: 'b', checks: [tcp(9)] }]);
    await clock.advanceAsync(5_000);
    assert.deepEqual(calls, [[0, 80], [0, 9]]);
    s.set([{ rs: 'a', checks: [tcp(80)] }, { rs: 'c', checks: [tcp(81, { alpha: true })] }]);
    await clock.advanceAsync(5_000);
    assert.deepEqual(aborted, [9]);
    // 'a' kept its timing (next at 10000, no new warmup); 'c' started at 5000 + 0.5 × 0.
    assert.deepEqual(calls.slice(2), [[5000, 81], [10000, 80]]);
    assert.deepEqual(s.states().map((x) => [x.rs, x.up]), [['a', true], ['c', true]]);
    assert.deepEqual(events.map((e) => [e.rs, e.up]), [['c', true]]);
    s.stop();
    assert.equal(clock.pending, 0);
  });

  it('survives a probe that throws or rejects, counting it as a failure', async () => {
    const clock = new FakeClock();
    const events: RsChange[] = [];
    let n = 0;
    const probe: ProbeFn = () => {
      if (n++ % 2 === 0) throw new Error('boom');
      return Promise.reject(new Error('bang'));
    };
    const s = new CheckScheduler({ onChange: (e) => events.push(e), probe, clock, random: () => 0 });
    s.set([{ rs: 'rs', checks: [tcp(80)] }]);
    await clock.advanceAsync(2_000);
    assert.equal(events.length, 1);
    assert.equal(events[0].up, false);
    assert.match(events[0].reason, /probe rejected: bang/);
    s.stop();
  });

  it('issue 11.4: a real server handed a known down state starts down, announces nothing, and comes up only after rise', async () => {
    const clock = new FakeClock();
    const f = fakeProbe(clock);
    const events: RsChange[] = [];
    const s = new CheckScheduler({ onChange: (e) => events.push(e), probe: f.probe, clock, random: () => 0 });
    s.set([
      { rs: 'down', checks: [tcp(80, { rise: 2 })], known: { up: false, reason: 'TCP_CHECK: refused' } },
      { rs: 'up', checks: [tcp(81, { alpha: true })], known: { up: true, reason: 'TCP_CHECK: connected' } },
    ]);
    assert.deepEqual(s.states(), [
      { rs: 'down', up: false, reason: 'TCP_CHECK: refused (last known)' },
      { rs: 'up', up: true, reason: 'TCP_CHECK: not checked yet' },
    ]);
    f.answer.set(80, { ok: false });
    await clock.advanceAsync(0);
    assert.equal(events.length, 0, 'the baseline is what the director knew: no change to announce');
    f.answer.set(80, { ok: true });
    await clock.advanceAsync(10_000);
    assert.equal(events.length, 0, 'one success of the two rise needs');
    await clock.advanceAsync(10_000);
    assert.deepEqual(events.map((e: RsChange) => [e.rs, e.up]), [['down', true]]);
    s.stop();
  });

  it('a reload that changes the check of a down real server keeps it down (no flap through up)', async () => {
    const clock = new FakeClock();
    const f = fakeProbe(clock);
    const events: RsChange[] = [];
    const s = new CheckScheduler({ onChange: (e) => events.push(e), probe: f.probe, clock, random: () => 0 });
    f.answer.set(80, { ok: false, reason: 'refused' });
    s.set([{ rs: 'rs', checks: [tcp(80, { retry: 0 })] }]);
    await clock.advanceAsync(0);
    assert.deepEqual(events.map((e) => [e.rs, e.up]), [['rs', false]]);
    s.update([{ rs: 'rs', checks: [tcp(80, { retry: 0, delay_loop: 5 })] }]);
    assert.equal(s.state('rs')?.up, false);
    await clock.advanceAsync(5_000);
    assert.equal(events.length, 1, 'still down, nothing announced');
    s.stop();
  });

  it('counts each check\'s runs by result and times them, by real server and the check\'s place in its list', async () => {
    const clock = new FakeClock();
    const f = fakeProbe(clock);
    const s = new CheckScheduler({ onChange: () => undefined, probe: f.probe, clock, random: () => 0 });
    f.answer.set(81, { ok: false });
    s.set([{ rs: 'web/rs1', checks: [tcp(80), tcp(81)] }]);
    await clock.advanceAsync(60_000);
    const stats = s.stats();
    s.stop();
    assert.deepEqual(stats.map((x) => [x.rs, x.index]), [['web/rs1', 0], ['web/rs1', 1]]);
    assert.equal(stats[0]!.failed, 0);
    assert.equal(stats[1]!.ok, 0);
    assert.equal(stats[0]!.ok, f.calls.filter((c) => c[1] === 80).length, 'every run of the first check counted as ok');
    assert.equal(stats[1]!.failed, f.calls.filter((c) => c[1] === 81).length, 'every run of the second counted as failed');
    for (const x of stats) {
      assert.ok(x.ok + x.failed >= 4, `runs counted: ${JSON.stringify(x)}`);
      assert.equal(x.durations.count, x.ok + x.failed, 'each run timed once');
      assert.equal(x.durations.buckets.at(-1)![1], x.durations.count, 'every duration under the largest bucket');
    }
  });
});
