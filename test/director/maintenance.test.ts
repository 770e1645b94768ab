import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Director } from '../../src/director/director';
import { schedulerHealthSource } from '../../src/director/health';
import { type CronScheduler, MaintenanceWindows } from '../../src/director/maintenance';
import { FakeIpvs } from '../../src/kernel/ipvs/fake';
import { FakeClock } from '../../src/lib/clock';
import { createMemoryLogger, nullLogger } from '../../src/log';
import { intervalAudit } from '../../src/reconcile/audit';
import { conf, tableLines, WEB } from '../reconcile/helpers';

/** A cron stand-in: tests fire an expression by hand. */
function fakeCron(): CronScheduler & { fire(expr: string): void; live(): string[] } {
  const jobs = new Set<{ expr: string; fire: () => void }>();
  const f = ((expr: string, fire: () => void) => {
    const job = { expr, fire };
    jobs.add(job);
    return { stop: () => void jobs.delete(job) };
  }) as CronScheduler & { fire(expr: string): void; live(): string[] };
  f.fire = (expr) => [...jobs].filter((j) => j.expr === expr).forEach((j) => j.fire());
  f.live = () => [...jobs].map((j) => j.expr);
  return f;
}

const WITH_WINDOW = [...WEB, 'maintenance = 0 3 * * sun', 'maintenance_duration = 600'];

describe('director: scheduled maintenance windows', () => {
  it('opens a window on the cron match and closes it after maintenance_duration', () => {
    const clock = new FakeClock();
    const cron = fakeCron();
    let changes = 0;
    const w = new MaintenanceWindows(clock, nullLogger, () => changes++, cron);
    w.set(conf(WITH_WINDOW));
    assert.deepEqual(cron.live(), ['0 3 * * sun']);
    assert.equal(w.active().size, 0);
    cron.fire('0 3 * * sun');
    assert.deepEqual([...w.active()], ['web/rs2']);
    clock.advance(599_999);
    assert.deepEqual([...w.active()], ['web/rs2']);
    clock.advance(1);
    assert.equal(w.active().size, 0);
    assert.equal(changes, 2);
  });

  it('closes an open window and stops its schedule when the config drops it', () => {
    const clock = new FakeClock();
    const cron = fakeCron();
    const w = new MaintenanceWindows(clock, nullLogger, () => undefined, cron);
    w.set(conf(WITH_WINDOW));
    cron.fire('0 3 * * sun');
    w.set(conf(WEB));
    assert.equal(w.active().size, 0);
    assert.deepEqual(cron.live(), []);
    assert.equal(clock.pending, 0);
  });

  it('drains the real server in the kernel during the window, then restores its weight', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-maint-'));
    const clock = new FakeClock();
    const cron = fakeCron();
    const ipvs = new FakeIpvs();
    const d = new Director({
      config: conf(WITH_WINDOW), ipvs, logger: createMemoryLogger(), clock, cron,
      health: schedulerHealthSource({ clock: new FakeClock(), probe: async () => ({ ok: true, reason: 'ok', durationMs: 1 }), random: () => 0 }),
      audit: intervalAudit(3600, clock), stateDir: path.join(dir, 'state'),
    });
    try {
      await d.start();
      const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
      assert.ok((await tableLines(ipvs)).includes('  -> 198.51.100.2:80 NAT w=2'));
      cron.fire('0 3 * * sun');
      await settle();
      assert.ok((await tableLines(ipvs)).includes('  -> 198.51.100.2:80 NAT w=0'), 'drained: weight 0, still in the table');
      const rs2 = (await d.status()).virtualServers[0]!.realServers.find((r) => r.name === 'rs2')!;
      assert.equal(rs2.maintenance, true);
      assert.equal(rs2.override, null, 'a window is not an operator override');
      clock.advance(600_000);
      await settle();
      assert.ok((await tableLines(ipvs)).includes('  -> 198.51.100.2:80 NAT w=2'));
    } finally {
      await d.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
