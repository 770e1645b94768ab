import { strict as assert } from 'node:assert';
import { EVENT_HISTORY, TransitionHistory, vrrpHandlers } from '../../src/main/control';

const ev = (i: number, to = 'MASTER') => ({ at: `t${i}`, instance: `VI_${i % 2}`, from: 'BACKUP', to, reason: `r${i}` });

describe('daemon and supervisor: the events history', () => {
  it('answers the last 50 by default, or the last `limit`, oldest first', () => {
    const h = new TransitionHistory();
    for (let i = 0; i < 60; i++) h.record(ev(i));
    assert.deepEqual(h.events({}).events.map((e) => e.at), Array.from({ length: 50 }, (_, k) => `t${k + 10}`));
    assert.deepEqual(h.events({ limit: 2.7 }).events.map((e) => e.at), ['t58', 't59']);
    assert.equal(h.events({ limit: 0 }).events.length, 50, 'a limit that is not positive is ignored');
    assert.equal(h.events({ limit: '3' }).events.length, 50, 'a limit that is not a number is ignored');
  });
  it(`keeps ${EVENT_HISTORY} transitions but counts them all`, () => {
    const h = new TransitionHistory();
    for (let i = 0; i < EVENT_HISTORY + 5; i++) h.record(ev(i, i % 3 === 0 ? 'BACKUP' : 'MASTER'));
    const all = h.events({ limit: 1e9 }).events;
    assert.equal(all.length, EVENT_HISTORY);
    assert.equal(all[0]!.at, 't5');
    const total = Object.values(h.counts).flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);
    assert.equal(total, EVENT_HISTORY + 5);
    assert.equal(h.counts.VI_0!.BACKUP, 168);
  });
  it('answers status, show vrrp, events and reload from what it is given', async () => {
    const history = new TransitionHistory();
    history.record(ev(1));
    const status = { routerId: 'r', pid: 1, version: 'v', startedAt: 's', instances: [], drops: {} } as never;
    const h = vrrpHandlers({ status: () => status, reload: async () => ({ changes: ['x'], warnings: [] }), history });
    const ctx = { connection: 1 };
    assert.deepEqual(Object.keys(h), ['status', 'show vrrp', 'events', 'reload']);
    assert.equal(h.status!({}, ctx), status);
    assert.equal(h['show vrrp']!({}, ctx), status);
    assert.deepEqual(h.events!({ limit: 5 }, ctx), { events: [ev(1)] });
    assert.deepEqual(await h.reload!({}, ctx), { changes: ['x'], warnings: [] });
  });
});
