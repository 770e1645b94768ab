import { strict as assert } from 'node:assert';
import { ControlError } from '../../src/control/server';
import { emitEvent, setEventSink } from '../../src/events';
import { EVENT_HISTORY, EventHistory, eventQueryOf, vrrpHandlers, withOperatorEvents } from '../../src/main/control';

const t = (i: number, to = 'MASTER') => ({ at: new Date(Date.UTC(2026, 0, 10, 12, 0, i)).toISOString(), instance: `VI_${i % 2}`, from: 'BACKUP', to, reason: `r${i}` });

describe('daemon and supervisor: the events history', () => {
  // Events other test files emitted with no sink wait for one: hand them to a bin first.
  beforeEach(() => (setEventSink(() => undefined), setEventSink(undefined)));
  afterEach(() => setEventSink(undefined));

  it('answers the last 50 by default, or the last `limit`, oldest first; transitions keep their old fields', async () => {
    const h = new EventHistory();
    for (let i = 0; i < 60; i++) h.record(t(i));
    assert.deepEqual((await h.events({})).events.map((e) => e.reason), Array.from({ length: 50 }, (_, k) => `r${k + 10}`));
    const last = (await h.events({ limit: 2.7 })).events;
    assert.deepEqual(last.map((e) => e.reason), ['r58', 'r59']);
    assert.deepEqual(last[1], {
      seq: 60, at: t(59).at, subsystem: 'vrrp', severity: 'info', subject: 'VI_1', message: 'BACKUP -> MASTER: r59',
      fields: { from: 'BACKUP', to: 'MASTER', reason: 'r59' }, instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'r59',
    });
    assert.equal((await h.events({ limit: 0 })).events.length, 50, 'a limit that is not positive is ignored');
    assert.equal((await h.events({ limit: '3' })).events.length, 50, 'a limit that is not a number is ignored');
  });

  it(`keeps ${EVENT_HISTORY} events but counts every transition`, async () => {
    const h = new EventHistory();
    for (let i = 0; i < EVENT_HISTORY + 5; i++) h.record(t(i % 60, i % 3 === 0 ? 'BACKUP' : 'MASTER'));
    const all = (await h.events({ limit: 1e9 })).events;
    assert.equal(all.length, EVENT_HISTORY);
    assert.equal(all[0]!.seq, 6);
    const total = Object.values(h.counts).flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);
    assert.equal(total, EVENT_HISTORY + 5);
  });

  it('selects by since, subsystem and after; refuses bad arguments with BAD_ARGS', async () => {
    const h = new EventHistory();
    for (let i = 0; i < 5; i++) h.record(t(i));
    h.add({ at: t(5).at, subsystem: 'check', severity: 'warn', subject: 'web/web1', message: 'down: ECONNREFUSED' });
    assert.deepEqual((await h.events({ since: t(3).at })).events.map((e) => e.seq), [4, 5, 6], 'since: all from then on, no default limit');
    assert.deepEqual((await h.events({ subsystem: 'check' })).events.map((e) => e.subject), ['web/web1']);
    assert.deepEqual((await h.events({ subsystem: ['vrrp'], after: 3 })).events.map((e) => e.seq), [4, 5]);
    assert.equal((await h.events({})).seq, 6);
    for (const bad of [{ since: 'yesterday-ish' }, { after: -1 }, { subsystem: 'bogus' }, { subsystem: ['vrrp', 3] }]) {
      assert.throws(() => eventQueryOf(bad), (e: unknown) => e instanceof ControlError && e.code === 'BAD_ARGS', JSON.stringify(bad));
    }
  });

  it('a follower waits for the next event (after + wait) and gets it at once', async () => {
    const h = new EventHistory();
    h.record(t(0));
    const t0 = performance.now();
    const waiting = h.events({ after: 1, wait: 10_000 });
    setTimeout(() => h.add({ subsystem: 'reload', subject: '/etc/lvsd/lvsd.conf', message: 'applied: no change' }), 50);
    const r = await waiting;
    assert.deepEqual(r.events.map((e) => [e.seq, e.subsystem]), [[2, 'reload']]);
    assert.ok(performance.now() - t0 < 5000, 'answered when the event came, not at the end of the wait');
    assert.deepEqual((await h.events({ after: 2, wait: 30 })).events, [], 'nothing new: an empty answer after the wait');
  });

  it('as the sink, it records what emitEvent reports; operator commands that succeed are recorded', async () => {
    const h = new EventHistory().sink();
    emitEvent({ subsystem: 'process', severity: 'error', subject: 'director', message: 'died (SIGKILL); restarting in 1000 ms' });
    const handlers = withOperatorEvents({
      drain: () => ({ vs: 'web', rs: 'web1', override: 'drain' }),
      enable: () => {
        throw new ControlError('DIRECTOR_UNKNOWN_REAL_SERVER', 'no such real server');
      },
      status: () => 'untouched',
    });
    await handlers.drain!({ vs: 'web', rs: 'web1' }, { connection: 1 });
    await assert.rejects(Promise.resolve(handlers.enable!({ vs: 'web', rs: 'nope' }, { connection: 1 })));
    assert.equal(handlers.status!({}, { connection: 1 }), 'untouched');
    const evs = (await h.events({})).events;
    assert.deepEqual(evs.map((e) => [e.subsystem, e.severity, e.subject]), [['process', 'error', 'director'], ['operator', 'info', 'web/web1']]);
    assert.match(evs[1]!.message, /^drained/);
  });

  it('answers status, show vrrp, events and reload from what it is given', async () => {
    const history = new EventHistory();
    history.record(t(1));
    const status = { routerId: 'r', pid: 1, version: 'v', startedAt: 's', instances: [], drops: {} } as never;
    const h = vrrpHandlers({ status: () => status, reload: async () => ({ changes: ['x'], warnings: [] }), history });
    const ctx = { connection: 1 };
    assert.deepEqual(Object.keys(h), ['status', 'show vrrp', 'events', 'reload']);
    assert.equal(h.status!({}, ctx), status);
    assert.equal(h['show vrrp']!({}, ctx), status);
    const ev = (await h.events!({ limit: 5 }, ctx)) as { events: Array<{ instance: string }>; seq: number };
    assert.deepEqual([ev.events.map((e) => e.instance), ev.seq], [['VI_1'], 1]);
    assert.deepEqual(await h.reload!({}, ctx), { changes: ['x'], warnings: [] });
  });

  it('counts the notify failures that pass through, by kind, for the metrics', () => {
    const h = new EventHistory();
    h.add({ subsystem: 'notify', severity: 'error', subject: 'ops', message: 'webhook http://***@x/ failed', fields: { url: 'http://***@x/' } });
    h.add({ subsystem: 'notify', severity: 'warn', subject: 'INSTANCE:VI_1', message: 'hook /bin/false exited 1', fields: { hook: '/bin/false' } });
    h.add({ subsystem: 'notify', severity: 'warn', subject: 'INSTANCE:VI_1', message: 'hook /bin/false exited 1', fields: { hook: '/bin/false' } });
    h.add({ subsystem: 'vrrp', severity: 'info', subject: 'VI_1', message: 'BACKUP -> MASTER', fields: { url: 'not a notify event' } });
    assert.deepEqual(h.notifyFailures, { hook: 2, webhook: 1 });
  });
});
