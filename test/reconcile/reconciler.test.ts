import * as assert from 'node:assert/strict';
import { serviceKeyId } from '../../src/kernel/ipvs/addr';
import { FakeIpvs } from '../../src/kernel/ipvs/fake';
import type { IpvsDest, ServiceKey } from '../../src/kernel/ipvs/types';
import { FakeClock } from '../../src/lib/clock';
import { createMemoryLogger } from '../../src/log';
import { AuditIntervalError, intervalAudit, parseAuditInterval } from '../../src/reconcile/audit';
import { desiredState, type RsHealth } from '../../src/reconcile/desired';
import { Reconciler } from '../../src/reconcile/reconciler';
import { SyncDaemonController } from '../../src/reconcile/sync';
import { conf, tableLines, WEB } from './helpers';

const KEY: ServiceKey = { family: 4, protocol: 'TCP', address: '192.0.2.100', port: 80 };
const dest = (address: string, weight: number): IpvsDest => ({ address, port: 80, fwdMethod: 'NAT', weight, upperThreshold: 0, lowerThreshold: 0 });

/** Lets queued promise callbacks and immediates run (no sleeping). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

function setup(health: Record<string, RsHealth> = {}, lines: readonly string[] = WEB) {
  const ipvs = new FakeIpvs();
  const clock = new FakeClock(0);
  const logger = createMemoryLogger();
  const rec = new Reconciler({ ipvs, logger, clock });
  const want = (h: Record<string, RsHealth> = health, l: readonly string[] = lines) =>
    rec.setDesired(desiredState({ config: conf(l), health: new Map(Object.entries(h)), overrides: new Map() }).services);
  want();
  return { ipvs, clock, logger, rec, want };
}

const WEB_TABLE = ['TCP 192.0.2.100:80 wlc', '  -> 198.51.100.1:80 NAT w=1', '  -> 198.51.100.2:80 NAT w=2'];

describe('reconcile/reconciler', () => {
  it('builds a fresh table and logs each change', async () => {
    const { ipvs, rec, logger } = setup();
    const r = await rec.pass();
    assert.deepEqual(r.errors, []);
    assert.equal(r.applied, 3);
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE);
    assert.deepEqual(
      logger.records.filter((x) => x.level === 'info').map((x) => x.message.replace(/, [0-9.]+ ms$/, ', <ms>')),
      ['ipvs: add service TCP 192.0.2.100:80 wlc', 'ipvs: add dest 198.51.100.1:80 NAT weight 1 to TCP 192.0.2.100:80', 'ipvs: add dest 198.51.100.2:80 NAT weight 2 to TCP 192.0.2.100:80', 'reconcile: 3 adds in 1 pass (change), <ms>'],
    );
    // A second pass on an equal table changes nothing and writes nothing; a change pass
    // trusts what the last pass left (no read at all), an audit reads the kernel.
    ipvs.clearCalls();
    const again = await rec.pass();
    assert.equal(again.ops.length, 0);
    assert.deepEqual(ipvs.calls.map((c) => c.method), []);
    assert.equal((await rec.pass('audit')).ops.length, 0);
    assert.deepEqual(ipvs.calls.map((c) => c.method), ['services', 'dests']);
  });

  it('a change pass reads nothing back (the acks update its table); hand-made drift waits for the audit', async () => {
    const two = [...WEB, '', '[virtual_server.api]', 'address = 192.0.2.101:80', 'lb_kind = NAT', '', '[real_server.api.rs1]', 'address = 198.51.100.1:80'];
    const { ipvs, rec, want } = setup({}, two);
    await rec.pass('start');
    ipvs.clearCalls();
    // rs2 of web goes down: one delete, and no read at all.
    want({ 'web/rs2': { up: false } });
    const r = await rec.pass();
    assert.deepEqual(r.ops.map((o) => o.op), ['delDest']);
    assert.deepEqual(ipvs.calls.map((c) => c.method), ['delDest']);
    // It comes back: one add, diffed against the table the ack left (not a stale one).
    want({});
    assert.deepEqual((await rec.pass()).ops.map((o) => o.op), ['addDest']);
    assert.deepEqual((await tableLines(ipvs)).slice(0, 3), WEB_TABLE);
    ipvs.clearCalls();
    // Drift by hand is not seen by change passes (they do not read), the audit repairs it.
    await ipvs.editDest(KEY, dest('198.51.100.1', 9));
    ipvs.clearCalls();
    assert.equal((await rec.pass()).ops.length, 0);
    const audit = await rec.pass('audit');
    assert.deepEqual(audit.ops.map((o) => o.op), ['editDest']);
    assert.equal((await tableLines(ipvs))[1], '  -> 198.51.100.1:80 NAT w=1');
  });

  it('reads back the service of a failed op, holds the op until its retry, and adopts a foreign service by reading it', async () => {
    const { ipvs, rec, want, clock } = setup();
    await rec.pass('start');
    // A failed op: its service is read back with the others written, and the op waits for its own retry.
    ipvs.failNext('delDest', 'EPERM');
    want({ 'web/rs2': { up: false } });
    ipvs.clearCalls();
    assert.equal((await rec.pass()).errors.length, 1);
    assert.deepEqual(ipvs.calls.map((c) => c.method), ['delDest', 'dests']);
    ipvs.clearCalls();
    want({ 'web/rs2': { up: false } });
    const heldPass = await rec.pass();
    assert.equal(heldPass.held, 1);
    assert.deepEqual(ipvs.calls.map((c) => c.method), [], 'nothing read, nothing retried before its time');
    clock.advance(1000);
    await settle();
    assert.deepEqual(await tableLines(ipvs), ['TCP 192.0.2.100:80 wlc', '  -> 198.51.100.1:80 NAT w=1']);
    assert.deepEqual(rec.failures(), []);
    // A foreign service (held in the snapshot without its dests) that the config takes
    // over is read before the diff: its dest is edited to weight 1, not left at 5.
    const api: ServiceKey = { ...KEY, address: '192.0.2.101' };
    await ipvs.addService({ key: api, scheduler: 'rr', flags: { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false }, timeoutS: 0, netmask: 0xffffffff });
    await ipvs.addDest(api, dest('198.51.100.1', 5));
    await rec.pass('audit');
    want({ 'web/rs2': { up: false } }, [...WEB, '[virtual_server.api]', 'address = 192.0.2.101:80', 'lb_algo = wlc', 'lb_kind = NAT', '[real_server.api.rs1]', 'address = 198.51.100.1:80']);
    const adopt = await rec.pass();
    assert.deepEqual(adopt.ops.map((o) => o.op), ['editService', 'editDest']);
    assert.ok((await tableLines(ipvs)).includes('  -> 198.51.100.1:80 NAT w=1'));
    assert.ok(!(await tableLines(ipvs)).includes('  -> 198.51.100.1:80 NAT w=5'));
  });

  it('adopts an existing table without flushing: only the difference is applied', async () => {
    const { ipvs, rec } = setup();
    await rec.pass();
    // A new process (restart) with rs2 now down: one delete, nothing else.
    const rec2 = new Reconciler({ ipvs, logger: createMemoryLogger(), clock: new FakeClock() });
    rec2.setDesired(desiredState({ config: conf(WEB), health: new Map([['web/rs2', { up: false }]]), overrides: new Map() }).services);
    ipvs.clearCalls();
    const r = await rec2.pass('start');
    assert.deepEqual(ipvs.calls.filter((c) => !['services', 'dests'].includes(c.method)).map((c) => c.method), ['delDest']);
    assert.equal(r.applied, 1);
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE.slice(0, 2));
  });

  it('treats EEXIST on add and ENOENT/ESRCH on delete as success', async () => {
    const { ipvs, rec } = setup();
    // Raced by another writer (e.g. a second lvsd or ipvsadm): each add finds
    // what it adds, each delete finds nothing left.
    const raced = new Set<string>();
    const remove = ipvs.addFault((c) => {
      if (raced.has(c.method)) return undefined;
      raced.add(c.method);
      if (c.method === 'addService') void ipvs.addService(c.args[0] as never);
      else if (c.method === 'addDest' || c.method === 'delDest') void (ipvs[c.method] as (...a: unknown[]) => Promise<void>)(...c.args);
      else return undefined;
      return c.method === 'delDest' ? 'ENOENT' : 'EEXIST';
    });
    const r = await rec.pass();
    assert.deepEqual(r.errors, []);
    assert.equal(r.applied, 3);
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE);
    rec.setDesired(desiredState({ config: conf(WEB), health: new Map([['web/rs1', { up: false }]]), overrides: new Map() }).services);
    const d = await rec.pass();
    remove();
    assert.deepEqual(d.errors, []);
    assert.deepEqual(
      ipvs.calls.filter((c) => c.error).map((c) => `${c.method}:${c.error}`),
      ['addService:EEXIST', 'addDest:EEXIST', 'delDest:ENOENT'],
    );
    assert.equal(rec.stats().errors, 0);
    assert.deepEqual(await tableLines(ipvs), [WEB_TABLE[0], WEB_TABLE[2]]);
  });

  it('turns an edit that fails with ENOENT into an add', async () => {
    const { ipvs, rec, want } = setup();
    await rec.pass();
    want({ 'web/rs2': { up: true, weight: 9 } });
    // The dest vanishes (deleted by hand) between the dump and the edit.
    const remove = ipvs.addFault((c) => {
      if (c.method !== 'editDest') return undefined;
      void ipvs.delDest(KEY, { address: '198.51.100.2', port: 80 });
      return 'ENOENT';
    });
    ipvs.clearCalls();
    const r = await rec.pass();
    remove();
    assert.deepEqual(r.errors, []);
    const methods = ipvs.calls.map((c) => `${c.method}${c.error ? `:${c.error}` : ''}`);
    const i = methods.indexOf('editDest:ENOENT');
    assert.ok(i >= 0, methods.join(' '));
    // The hand delete (made inside the fault), then the reconciler's add.
    assert.deepEqual(methods.slice(i + 1, i + 3), ['delDest', 'addDest']);
    assert.equal(methods.filter((m) => m === 'addDest').length, 1, methods.join(' '));
    assert.deepEqual(await tableLines(ipvs), ['TCP 192.0.2.100:80 wlc', '  -> 198.51.100.1:80 NAT w=1', '  -> 198.51.100.2:80 NAT w=9']);
  });

  it('never throws on a netlink error: logs, counts, and retries on the clock until it succeeds', async () => {
    const { ipvs, rec, clock, logger } = setup();
    ipvs.failNext('addDest', 'EIO', 3);
    const r = await rec.pass();
    assert.equal(r.errors.length, 2);
    assert.equal(rec.stats().errors, 2);
    assert.ok(logger.records.some((x) => x.level === 'error' && x.message.includes('EIO')));
    assert.deepEqual(await tableLines(ipvs), ['TCP 192.0.2.100:80 wlc']);
    clock.advance(1000); // first retry: one EIO left, one dest goes in
    await settle();
    assert.deepEqual(await tableLines(ipvs), ['TCP 192.0.2.100:80 wlc', '  -> 198.51.100.2:80 NAT w=2']);
    clock.advance(1999); // backoff doubled: not yet
    await settle();
    assert.equal((await tableLines(ipvs)).length, 2);
    clock.advance(1);
    await settle();
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE);
    assert.equal(clock.pending, 0, 'no retry left once clean');
  });

  it('survives a failing dump (no ops, error counted, retried)', async () => {
    const { ipvs, rec, clock } = setup();
    ipvs.failNext('services', 'EPERM');
    const r = await rec.pass();
    assert.equal(r.ops.length, 0);
    assert.match(r.errors[0]!, /reading the IPVS table/);
    clock.advance(1000);
    await settle();
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE);
  });

  it('never overlaps passes: requests during a pass share one more pass', async () => {
    const { ipvs, rec } = setup();
    const a = rec.pass();
    const b = rec.pass();
    const c = rec.pass();
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    assert.equal(ra.applied, 3);
    assert.equal(rb, rc, 'the two queued requests got the same pass');
    assert.equal(rb.ops.length, 0);
    // Pass 1 reads, applies 3 ops (no read-back); pass 2 trusts that and reads nothing.
    assert.equal(ipvs.calls.filter((x) => x.method === 'services').length, 1);
  });

  it('leaves foreign services alone, deletes managed ones that left the config, then forgets them', async () => {
    const { ipvs, rec } = setup();
    await ipvs.addService({ key: { family: 4, protocol: 'UDP', address: '203.0.113.5', port: 53 }, scheduler: 'rr', flags: { persistent: false, onePacket: false, sched1: false, sched2: false, sched3: false }, timeoutS: 0, netmask: 32 });
    await rec.pass();
    rec.setDesired([]);
    const r = await rec.pass();
    assert.deepEqual(r.ops.map((o) => o.op), ['delDest', 'delDest', 'delService']);
    assert.deepEqual(await tableLines(ipvs), ['UDP 203.0.113.5:53 rr']);
    assert.equal(rec.managedKeys().size, 0);
  });

  it('audit on an interval repairs hand-made drift and logs what it repaired', async () => {
    const { ipvs, rec, clock, logger } = setup();
    await rec.pass();
    rec.startAudit(intervalAudit(60, clock));
    // Hand edits, as `ipvsadm -e ... -w 9` and `ipvsadm -d ...` would make.
    await ipvs.editDest(KEY, dest('198.51.100.1', 9));
    await ipvs.delDest(KEY, { address: '198.51.100.2', port: 80 });
    await ipvs.addDest(KEY, dest('198.51.100.66', 1));
    clock.advance(59_999);
    await settle();
    assert.notDeepEqual(await tableLines(ipvs), WEB_TABLE);
    clock.advance(1);
    await settle();
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE);
    const repaired = logger.records.filter((x) => x.message.startsWith('ipvs repaired:')).map((x) => x.message);
    assert.deepEqual(repaired, [
      'ipvs repaired: edit dest 198.51.100.1:80 NAT weight 1 of TCP 192.0.2.100:80',
      'ipvs repaired: add dest 198.51.100.2:80 NAT weight 2 to TCP 192.0.2.100:80',
      'ipvs repaired: delete dest 198.51.100.66:80 from TCP 192.0.2.100:80',
    ]);
    assert.equal(rec.stats().driftRepaired, 3);
    assert.equal(rec.stats().audits, 1);
    // A deleted service is re-created by the next audit.
    await ipvs.delService(KEY);
    clock.advance(60_000);
    await settle();
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE);
    await rec.stop();
    assert.equal(clock.pending, 0);
  });

  it('parses audit_interval: seconds on the clock, cron by node-cron, errors with a code', () => {
    const clock = new FakeClock();
    assert.equal(parseAuditInterval(30, clock).description, 'every 30 s');
    assert.equal(parseAuditInterval('45', clock).description, 'every 45 s');
    assert.equal(parseAuditInterval(undefined, clock).description, 'cron "* * * * *"');
    assert.equal(parseAuditInterval('*/30 * * * * *', clock).description, 'cron "*/30 * * * * *"');
    assert.throws(() => parseAuditInterval('every minute', clock), (e: unknown) => e instanceof AuditIntervalError && e.code === 'AUDIT_INTERVAL_INVALID');
    assert.throws(() => parseAuditInterval('0', clock), AuditIntervalError);
  });

  it('keys managed services explicitly (serviceKeyId)', async () => {
    const { rec } = setup();
    assert.deepEqual([...rec.managedKeys()], [serviceKeyId(KEY)]);
  });
});

describe('reconcile/sync (lvs_sync_daemon)', () => {
  const cfg = { interface: 'eth1', instance: 'VI_IN', syncId: 3, port: 8848, line: 1 };

  it('starts as backup, switches on every transition of its instance, ignores others, stops both', async () => {
    const ipvs = new FakeIpvs();
    const s = new SyncDaemonController(cfg, ipvs, new FakeClock(), createMemoryLogger());
    await s.start();
    assert.deepEqual((await ipvs.daemons()).map((d) => [d.state, d.ifname, d.syncId]), [['backup', 'eth1', 3]]);
    await s.onVrrpState('VI_IN', 'MASTER');
    assert.deepEqual((await ipvs.daemons()).map((d) => d.state), ['master']);
    await s.onVrrpState('VI_OTHER', 'BACKUP');
    assert.deepEqual((await ipvs.daemons()).map((d) => d.state), ['master']);
    await s.onVrrpState('VI_IN', 'FAULT');
    assert.deepEqual((await ipvs.daemons()).map((d) => d.state), ['backup']);
    await s.onVrrpState('VI_IN', 'MASTER');
    await s.onVrrpState('VI_IN', 'MASTER');
    assert.deepEqual((await ipvs.daemons()).map((d) => d.state), ['master']);
    assert.equal(s.status().running, 'master');
    await s.stop();
    assert.deepEqual(await ipvs.daemons(), []);
  });

  it('retries a failed switch on the clock', async () => {
    const ipvs = new FakeIpvs();
    const clock = new FakeClock();
    const s = new SyncDaemonController(cfg, ipvs, clock, createMemoryLogger());
    ipvs.failNext('startDaemon', 'ENODEV');
    await s.start();
    assert.deepEqual(await ipvs.daemons(), []);
    assert.equal(s.status().errors, 1);
    clock.advance(1000);
    await settle();
    assert.deepEqual((await ipvs.daemons()).map((d) => d.state), ['backup']);
  });
});
