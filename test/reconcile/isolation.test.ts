/**
 * Issue 11.5: one IPVS object the kernel keeps refusing (a scheduler whose
 * module is missing, a dest with lthreshold above uthreshold) is retried on
 * its own with a capped backoff and reported, while every other object keeps
 * changing incrementally (no whole-table read, no retry of the others).
 */
import * as assert from 'node:assert/strict';
import { serviceKeyId } from '../../src/kernel/ipvs/addr';
import { FakeIpvs } from '../../src/kernel/ipvs/fake';
import type { ServiceKey } from '../../src/kernel/ipvs/types';
import { FakeClock } from '../../src/lib/clock';
import { createMemoryLogger } from '../../src/log';
import { desiredState, type RsHealth } from '../../src/reconcile/desired';
import { OBJECT_RETRY_MAX_MS, Reconciler, type ObjectFailure } from '../../src/reconcile/reconciler';
import { conf, tableLines, WEB } from './helpers';

async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** web (wlc) and api (twos, a scheduler this kernel lacks) side by side. */
const TWO = [...WEB, '[virtual_server.api]', 'address = 192.0.2.101:80', 'lb_algo = twos', 'lb_kind = NAT', 'check = tcp', '[real_server.api.a]', 'address = 198.51.100.5:80', '[real_server.api.b]', 'address = 198.51.100.6:80'];
const WEB_KEY: ServiceKey = { family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 };
const API_KEY: ServiceKey = { family: 4, protocol: 'TCP', address: '192.0.2.101', port: 80 };

function setup() {
  const ipvs = new FakeIpvs();
  ipvs.removeScheduler('twos');
  const clock = new FakeClock(0);
  const logger = createMemoryLogger();
  const events: [string, ObjectFailure][] = [];
  const rec = new Reconciler({ ipvs, logger, clock, onFailure: (f, state) => events.push([state, f]) });
  const config = conf(TWO);
  /** Sets the desired state of the virtual servers named (all at first) with this health. */
  const want = (health: Record<string, RsHealth>, only?: string[]) => {
    const all = desiredState({ config, health: new Map(Object.entries(health)), overrides: new Map() }).services;
    if (!only) rec.setDesired(all);
    else rec.updateDesired(all.filter((s) => only.includes(s.vs)));
  };
  want({});
  return { ipvs, clock, logger, rec, want, events };
}

const writes = (ipvs: FakeIpvs) => ipvs.calls.filter((c) => !['services', 'dests'].includes(c.method)).map((c) => `${c.method}${c.error ? `:${c.error}` : ''}`);

describe('reconcile: a failing object is isolated (issue 11.5)', () => {
  it('a service with a missing scheduler fails alone; the others change incrementally; it is retried on its own with backoff and recovers', async () => {
    const { ipvs, clock, rec, want, events, logger } = setup();
    const start = await rec.pass('start');
    assert.equal(start.errors.length, 3, 'the service and its two dests (ESRCH) failed');
    assert.deepEqual(await tableLines(ipvs), ['TCP 192.0.2.100:80 wlc', '  -> 198.51.100.1:80 NAT w=1', '  -> 198.51.100.2:80 NAT w=2']);
    // One failing object (the service), not three: its dests fail because of it.
    assert.deepEqual(rec.failures().map((f) => [f.kind, serviceKeyId(f.key), f.code, f.attempts, f.nextRetryAt]), [['service', serviceKeyId(API_KEY), 'ENOENT', 1, 1000]]);
    assert.equal(rec.stats().failing, 1);
    assert.deepEqual(events.map(([s, f]) => [s, f.op]), [['failing', 'add service TCP 192.0.2.101:80 twos']]);
    assert.ok(logger.records.some((r) => r.level === 'error' && r.message.includes('add service TCP 192.0.2.101:80 twos') && r.message.includes('ENOENT')));

    // A health change on web: one write, nothing read back (the kernel's ack is applied in memory); api is not touched.
    ipvs.clearCalls();
    want({ 'web/rs2': { up: false } }, ['web']);
    const r = await rec.pass();
    assert.deepEqual(r.errors, []);
    assert.deepEqual(ipvs.calls.map((c) => c.method), ['delDest']);
    assert.deepEqual(ipvs.calls[0]!.args, [WEB_KEY, { address: '198.51.100.2', port: 80 }]);

    // The retry comes on the clock, for api alone: 1 s, then 2 s, 4 s … capped.
    ipvs.clearCalls();
    clock.advance(999);
    await settle();
    assert.deepEqual(writes(ipvs), []);
    clock.advance(1);
    await settle();
    assert.deepEqual(writes(ipvs), ['addService:ENOENT']);
    assert.equal(rec.failures()[0]!.attempts, 2);
    assert.equal(rec.failures()[0]!.nextRetryAt, 3000);
    let last = 3000;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      clock.advance(rec.failures()[0]!.nextRetryAt - clock.now());
      await settle();
      delays.push(rec.failures()[0]!.nextRetryAt - last);
      last = rec.failures()[0]!.nextRetryAt;
    }
    assert.deepEqual(delays, [4000, 8000, 16000, 32000, OBJECT_RETRY_MAX_MS, OBJECT_RETRY_MAX_MS, OBJECT_RETRY_MAX_MS, OBJECT_RETRY_MAX_MS]);
    assert.equal(events.length, 1, 'one event for the whole failing series');

    // The module appears: the next retry adds the service and its dests.
    ipvs.restoreScheduler('twos');
    ipvs.clearCalls();
    clock.advance(OBJECT_RETRY_MAX_MS);
    await settle();
    assert.deepEqual(writes(ipvs), ['addService', 'addDest', 'addDest']);
    assert.deepEqual(rec.failures(), []);
    assert.deepEqual(events.map(([s]) => s), ['failing', 'recovered']);
    assert.equal(clock.pending, 0, 'nothing left to retry');
  });

  it('a dest the kernel refuses (lthreshold above uthreshold) fails alone; its siblings and later changes go through', async () => {
    const { ipvs, clock, rec, want } = setup();
    ipvs.restoreScheduler('twos');
    const refuse = ipvs.failOp((op) => op.op === 'addDest' && op.dest.address === '198.51.100.5', 'ERANGE');
    await rec.pass('start');
    assert.deepEqual(rec.failures().map((f) => [f.kind, f.dest?.address, f.code]), [['dest', '198.51.100.5', 'ERANGE']]);
    assert.ok((await tableLines(ipvs)).includes('  -> 198.51.100.6:80 NAT w=1'));
    // A change of api's other dest goes through at once; the refused one waits for its retry.
    ipvs.clearCalls();
    want({ 'api/b': { up: false } }, ['api']);
    const r = await rec.pass();
    assert.equal(r.held, 1);
    assert.deepEqual(writes(ipvs), ['delDest']);
    refuse();
    clock.advance(1000);
    await settle();
    assert.deepEqual(writes(ipvs), ['delDest', 'addDest']);
    assert.deepEqual(await tableLines(ipvs), ['TCP 192.0.2.100:80 wlc', '  -> 198.51.100.1:80 NAT w=1', '  -> 198.51.100.2:80 NAT w=2', 'TCP 192.0.2.101:80 twos', '  -> 198.51.100.5:80 NAT w=1']);
    assert.deepEqual(rec.failures(), []);
  });

  it('a new desired state for a failing object is tried at once; one no longer wanted stops failing', async () => {
    const { ipvs, rec, want } = setup();
    await rec.pass('start');
    assert.equal(rec.failures().length, 1);
    // The operator fixes the scheduler (a reload): tried at once, not at the next retry.
    const fixed = conf(TWO.map((l) => (l === 'lb_algo = twos' ? 'lb_algo = rr' : l)));
    rec.updateDesired(desiredState({ config: fixed, health: new Map(), overrides: new Map() }).services.filter((s) => s.vs === 'api'));
    ipvs.clearCalls();
    await rec.pass();
    assert.deepEqual(writes(ipvs), ['addService', 'addDest', 'addDest']);
    assert.deepEqual(rec.failures(), []);
    // Broken again, then removed from the configuration: nothing left to fail.
    ipvs.removeScheduler('rr');
    want({});
    await rec.pass();
    rec.updateDesired([], [serviceKeyId(API_KEY)]);
    await rec.pass();
    assert.deepEqual(rec.failures(), []);
    assert.ok(!(await tableLines(ipvs)).some((l) => l.startsWith('TCP 192.0.2.101')));
  });
});
