/**
 * Issue 11.4: the health of the real servers survives a restart of the
 * checker process and of the director. The checker runs its real protocol
 * (runWorker) over an in-process channel, so it can be "killed" and respawned
 * on a fake clock; the director's table is a FakeIpvs. Nothing sleeps.
 */
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { CheckScheduler } from '../../src/check/scheduler';
import type { CheckOptions, CheckResult } from '../../src/check/types';
import { CheckWorker, runWorker } from '../../src/check/worker';
import { Director } from '../../src/director/director';
import { workerHealthSource } from '../../src/director/health';
import { currentBootId, loadState, STATE_FILE } from '../../src/director/state';
import { FakeIpvs } from '../../src/kernel/ipvs/fake';
import { FakeClock } from '../../src/lib/clock';
import { createMemoryLogger } from '../../src/log';
import { NotifyRunner } from '../../src/notify/scripts';
import { intervalAudit } from '../../src/reconcile/audit';
import { conf, tableLines, WEB } from '../reconcile/helpers';

const WEB_TABLE = ['TCP 192.0.2.100:80 wlc', '  -> 198.51.100.1:80 NAT w=1', '  -> 198.51.100.2:80 NAT w=2'];
const CHECK = ['[check.tcp]', 'type = TCP_CHECK', 'delay_loop = 1', 'retry = 0', 'rise = 2', 'fall = 1'];

async function settle(rounds = 40): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

const writes = (ipvs: FakeIpvs) => ipvs.calls.filter((c) => !['services', 'dests', 'daemons', 'info'].includes(c.method)).map((c) => c.method);

/** A checker "process": runWorker over an in-process channel; kill() ends it like SIGKILL. */
function fakeChecker(clock: FakeClock, probes: Map<string, boolean>): { fork: () => CheckWorker; kill: () => void; forks: number } {
  const st = { forks: 0, current: undefined as (EventEmitter & { dead?: boolean; sched?: CheckScheduler }) | undefined };
  const probe = async (o: CheckOptions): Promise<CheckResult> => {
    const ok = probes.get((o as { connect_ip: string }).connect_ip) ?? true;
    return { ok, reason: ok ? 'connected' : 'ECONNREFUSED', durationMs: 1 };
  };
  const fork = (): CheckWorker => {
    st.forks++;
    const child = new EventEmitter() as EventEmitter & { dead?: boolean; sched?: CheckScheduler; connected: boolean; exitCode: number | null; signalCode: string | null; send(m: unknown): void; kill(): void };
    let handler: (m: unknown) => void = () => undefined;
    child.connected = true;
    child.exitCode = null;
    child.signalCode = null;
    child.send = (m) => void setImmediate(() => !child.dead && handler(m));
    child.kill = () => {
      if (child.dead) return;
      child.dead = true;
      child.connected = false;
      child.signalCode = 'SIGKILL';
      child.sched?.stop();
      setImmediate(() => child.emit('exit', null, 'SIGKILL'));
    };
    child.sched = runWorker(
      { send: (m) => void setImmediate(() => !child.dead && child.emit('message', m)), onMessage: (fn) => (handler = fn), exit: () => child.kill() },
      (onChange) => new CheckScheduler({ onChange, probe, clock, random: () => 0 }),
    );
    st.current = child;
    return new CheckWorker(child as unknown as ChildProcess);
  };
  return {
    fork,
    kill: () => (st.current as unknown as { kill(): void }).kill(),
    get forks() {
      return st.forks;
    },
  };
}

describe('director: health survives restarts (issue 11.4)', () => {
  let dir: string;
  let notify: NotifyRunner;
  const directors: Director[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-restart-'));
    fs.writeFileSync(path.join(dir, 'notify.sh'), `#!/bin/sh\necho "$@" >> '${dir}/notify.out'\n`, { mode: 0o755 });
    notify = new NotifyRunner({ timeoutMs: 10_000 });
  });
  afterEach(async () => {
    for (const d of directors.splice(0)) await d.stop();
    await notify.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const notified = (): string[] => {
    try {
      return fs.readFileSync(path.join(dir, 'notify.out'), 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  const lines = (): string[] => ['[global]', `notify = ${dir}/notify.sh`, ...CHECK, ...WEB.slice(2)];
  const make = (ipvs: FakeIpvs, clock: FakeClock, checker: ReturnType<typeof fakeChecker>): Director => {
    const d = new Director({
      config: conf(lines()),
      ipvs,
      logger: createMemoryLogger(),
      clock,
      health: workerHealthSource({ clock, logger: createMemoryLogger(), fork: checker.fork }),
      notify,
      audit: intervalAudit(3600, clock),
      stateDir: path.join(dir, 'state'),
    });
    directors.push(d);
    return d;
  };
  const DOWN = 'RS [198.51.100.2]:tcp:80 [192.0.2.100]:tcp:80 DOWN';

  it('a checker restart keeps a real server known down out of the table, with no notify_up, until its checks pass', async () => {
    const ipvs = new FakeIpvs();
    const clock = new FakeClock();
    const probes = new Map([['198.51.100.2', false]]);
    const checker = fakeChecker(clock, probes);
    const d = make(ipvs, clock, checker);
    await d.start();
    await settle();
    await clock.advanceAsync(0);
    await settle();
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE.slice(0, 2));
    await notify.idle();
    assert.deepEqual(notified(), [DOWN]);
    // The checker dies and is respawned 1 s later; rs2 is still failing.
    ipvs.clearCalls();
    checker.kill();
    await settle();
    await clock.advanceAsync(1000);
    await settle();
    assert.equal(checker.forks, 2, 'respawned');
    assert.deepEqual(writes(ipvs), [], 'no real server known down put back');
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE.slice(0, 2));
    await notify.idle();
    assert.deepEqual(notified(), [DOWN], 'no notify because a process restarted');
    const st = await d.status();
    assert.equal(st.virtualServers[0]!.realServers[1]!.health, 'down');
    assert.match(st.virtualServers[0]!.realServers[1]!.reason, /ECONNREFUSED/);
    // It still recovers the normal way: rise = 2 successes.
    probes.set('198.51.100.2', true);
    await clock.advanceAsync(1000);
    await settle();
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE.slice(0, 2));
    await clock.advanceAsync(1000);
    await settle();
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE);
    await notify.idle();
    assert.deepEqual(notified(), [DOWN, 'RS [198.51.100.2]:tcp:80 [192.0.2.100]:tcp:80 UP']);
  });

  it('a restarted director (same state dir) starts from the health in its state file: no flap, no notify', async () => {
    const ipvs = new FakeIpvs();
    const clock = new FakeClock();
    const probes = new Map([['198.51.100.2', false]]);
    const d1 = make(ipvs, clock, fakeChecker(clock, probes));
    await d1.start();
    await settle();
    await clock.advanceAsync(0);
    await settle();
    assert.deepEqual(await tableLines(ipvs), WEB_TABLE.slice(0, 2));
    // Written before the table changed, so a crash right after leaves it.
    const doc = JSON.parse(fs.readFileSync(path.join(dir, 'state', STATE_FILE), 'utf8'));
    assert.deepEqual(doc.health, { 'web/rs2': { up: false, reason: 'TCP_CHECK: ECONNREFUSED', address: '198.51.100.2:80' } });
    assert.equal(doc.bootId, currentBootId());
    await d1.stop();
    directors.splice(0);
    await notify.idle();
    ipvs.clearCalls();
    const clock2 = new FakeClock();
    const d2 = make(ipvs, clock2, fakeChecker(clock2, probes));
    await d2.start();
    await settle();
    await clock2.advanceAsync(0);
    await settle();
    assert.deepEqual(writes(ipvs), [], 'rs2 is not put back and taken out again');
    await notify.idle();
    assert.deepEqual(notified(), [DOWN]);
    const st = await d2.status();
    assert.equal(st.virtualServers[0]!.realServers[1]!.health, 'down');
  });

  it('health saved under another boot is not used (the kernel table went with it)', () => {
    const sub = path.join(dir, 's');
    fs.mkdirSync(sub);
    const file = path.join(sub, STATE_FILE);
    const h = { 'web/rs2': { up: false, reason: 'x', address: '198.51.100.2:80' } };
    fs.writeFileSync(file, JSON.stringify({ version: 1, overrides: {}, managed: [], bootId: 'another-boot', health: h }));
    assert.equal(loadState(sub).health.size, 0);
    fs.writeFileSync(file, JSON.stringify({ version: 1, overrides: {}, managed: [], bootId: currentBootId(), health: h }));
    assert.deepEqual([...loadState(sub).health.keys()], ['web/rs2']);
  });
});
