/** The director's onQuorum hook (issue 13): each virtual server's quorum, told after the pass that applied it, once per change. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CheckOptions, CheckResult } from '../../src/check/types';
import { Director } from '../../src/director/director';
import { schedulerHealthSource } from '../../src/director/health';
import { FakeIpvs } from '../../src/kernel/ipvs/fake';
import { FakeClock } from '../../src/lib/clock';
import { createMemoryLogger } from '../../src/log';
import { NotifyRunner } from '../../src/notify/scripts';
import { intervalAudit } from '../../src/reconcile/audit';
import { conf, WEB } from '../reconcile/helpers';

async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

describe('director: onQuorum, the hook BGP announcement hangs on', () => {
  it('tells the first quorum after the pass that created the service, then each change once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-quorum-'));
    const ipvs = new FakeIpvs();
    const clock = new FakeClock();
    const checkClock = new FakeClock();
    const down = new Set<string>();
    const probe = async (o: CheckOptions): Promise<CheckResult> => {
      const ip = (o as { connect_ip: string }).connect_ip;
      return { ok: !down.has(ip), reason: down.has(ip) ? 'ECONNREFUSED' : 'connected', durationMs: 1 };
    };
    const told: string[] = [];
    const notify = new NotifyRunner({ timeoutMs: 10_000 });
    const d = new Director({
      config: conf(['[check.tcp]', 'type = TCP_CHECK', 'delay_loop = 1', 'retry = 0', ...WEB.slice(2)]),
      ipvs,
      logger: createMemoryLogger(),
      clock,
      health: schedulerHealthSource({ clock: checkClock, probe, random: () => 0 }),
      notify,
      audit: intervalAudit(60, clock),
      stateDir: path.join(dir, 'state'),
      onQuorum: (vs, up) => {
        // Told after the pass: the service is in the kernel by then.
        told.push(`${vs} ${up} applied=${ipvs.calls.some((c) => !['services', 'dests', 'daemons', 'info'].includes(c.method))}`);
      },
    });
    try {
      await d.start();
      assert.deepEqual(told, ['web true applied=true']);
      down.add('198.51.100.1');
      await checkClock.advanceAsync(1000);
      await settle();
      assert.deepEqual(told, ['web true applied=true'], 'weight 2 of 3 left: quorum 1 still held, nothing told');
      down.add('198.51.100.2');
      await checkClock.advanceAsync(1000);
      await settle();
      assert.deepEqual(told, ['web true applied=true', 'web false applied=true']);
      await d.audit();
      assert.equal(told.length, 2, 'no change, nothing told');
    } finally {
      await d.stop();
      await notify.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
