import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeClock } from '../../src/lib/clock';
import { judgeTracking, ScriptTracker, scriptSettingsOf, trackedInterface, trackedScript } from '../../src/vrrp/track';
import { conf } from '../reconcile/helpers';

describe('vrrp/track: vrrp_script user', function () {
  this.timeout(10000);

  it("gives each tracker its section's resolved user: its own, else script_user", () => {
    const c = conf([
      '[global]', 'script_user = nobody',
      '[vrrp_script.a]', 'script = /bin/true',
      '[vrrp_script.b]', 'script = /bin/true', 'user = root',
    ]);
    assert.deepEqual(scriptSettingsOf(c.vrrpScripts.get('a')!).runAs, { uid: 65534, gid: 65534 });
    assert.deepEqual(scriptSettingsOf(c.vrrpScripts.get('b')!).runAs, { uid: 0, gid: 0 });
    const none = conf(['[vrrp_script.a]', 'script = /bin/true']);
    assert.ok(!('runAs' in scriptSettingsOf(none.vrrpScripts.get('a')!)));
  });

  it('as root: a tracking script with user nobody runs as uid 65534', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test starts a script as nobody: run it as root');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-track-'));
    try {
      fs.chmodSync(dir, 0o755);
      const p = path.join(dir, 'chk.sh');
      fs.writeFileSync(p, '#!/bin/sh\ntest "$(id -u)" = 65534\n', { mode: 0o755 });
      // It starts in the state opposite to the expected result, so the first run reports a change.
      const run = (expectUp: boolean, runAs?: { uid: number; gid: number }) =>
        new Promise<string>((resolve) => {
          const clock = new FakeClock();
          const settings = { name: 'chk', argv: [p], intervalMs: 1000, timeoutMs: 5000, rise: 1, fall: 1, initFail: expectUp, ...(runAs ? { runAs } : {}) };
          const t = new ScriptTracker(clock, settings, (up, why) => {
            t.stop();
            resolve(`${up} ${why}`);
          });
          t.start();
          clock.advance(0);
        });
      assert.equal(await run(true, { uid: 65534, gid: 65534 }), 'true vrrp_script chk succeeded: exit 0');
      assert.equal(await run(false), 'false vrrp_script chk failed: exit 1', 'as root the same script fails');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('vrrp/track: keepalived weight rule with reverse (issue 12)', () => {
  const item = (up: boolean, weight: number, reverse = false) => ({ kind: 'script' as const, name: 'chk', up, weight, reverse });
  const judge = (up: boolean, weight: number, reverse = false) => judgeTracking(100, [item(up, weight, reverse)]);

  it('without reverse: weight 0 down is FAULT, +w added while up, -w added while down', () => {
    assert.deepEqual(judge(false, 0), { effectivePriority: 100, faults: ['script chk down'] });
    assert.deepEqual(judge(true, 0), { effectivePriority: 100, faults: [] });
    assert.deepEqual([judge(true, 20).effectivePriority, judge(false, 20).effectivePriority], [120, 100]);
    assert.deepEqual([judge(true, -20).effectivePriority, judge(false, -20).effectivePriority], [100, 80]);
  });

  it("with reverse (keepalived's multiplier -1): weight 0 is FAULT while the script SUCCEEDS; +w taken off while up; -w added while down", () => {
    assert.deepEqual(judge(true, 0, true), { effectivePriority: 100, faults: ['script chk up (reverse)'] });
    assert.deepEqual(judge(false, 0, true), { effectivePriority: 100, faults: [] });
    assert.deepEqual([judge(true, 20, true).effectivePriority, judge(false, 20, true).effectivePriority], [80, 100]);
    assert.deepEqual([judge(true, -20, true).effectivePriority, judge(false, -20, true).effectivePriority], [100, 120]);
  });

  it('reverse is clamped like any weight, and an address owner is never moved', () => {
    assert.equal(judgeTracking(250, [item(false, -20, true)]).effectivePriority, 254);
    assert.equal(judgeTracking(10, [item(true, 20, true)]).effectivePriority, 1);
    assert.deepEqual(judgeTracking(255, [item(true, 20, true), item(true, 0, true)]), { effectivePriority: 255, faults: ['script chk up (reverse)'] });
  });

  it("a track_script line's weight and reverse come from the line, else from its vrrp_script (noreverse overrides)", () => {
    const c = conf([
      '[vrrp_script.chk]', 'script = /bin/true', 'weight = -20 reverse',
      '[vrrp_instance.A]', 'interface = eth0', 'virtual_router_id = 1',
      'track_script[] = chk',
      '[vrrp_instance.B]', 'interface = eth0', 'virtual_router_id = 2',
      'track_script[] = chk weight 10',
      '[vrrp_instance.C]', 'interface = eth0', 'virtual_router_id = 3',
      'track_script[] = chk weight 10 noreverse',
      '[vrrp_instance.D]', 'interface = eth1', 'virtual_router_id = 4',
      'track_interface[] = eth2 weight -30 reverse',
      'track_interface[] = eth3 weight 0',
    ]);
    const s = c.vrrpScripts.get('chk')!;
    const of = (name: string) => c.vrrpInstances.get(name)!.trackScripts.map((t) => trackedScript(t, s, true))[0]!;
    assert.deepEqual([of('A').weight, of('A').reverse], [-20, true]);
    assert.deepEqual([of('B').weight, of('B').reverse], [10, true]);
    assert.deepEqual([of('C').weight, of('C').reverse], [10, false]);
    const d = c.vrrpInstances.get('D')!.trackInterfaces.map((t) => trackedInterface(t, false));
    assert.deepEqual(d.map((i) => [i.name, i.weight, i.reverse]), [['eth2', -30, true], ['eth3', 0, false]]);
    assert.equal(judgeTracking(100, d).effectivePriority, 130);
  });
});

describe('vrrp/track: explainTracking (why the priority is what it is)', () => {
  it('gives each item its state and its contribution, and marks the FAULT ones', async () => {
    const { explainTracking, judgeTracking } = await import('../../src/vrrp/track');
    const items = [
      { kind: 'script' as const, name: 'up10', up: true, weight: 10 },
      { kind: 'script' as const, name: 'down10', up: false, weight: 10 },
      { kind: 'script' as const, name: 'downMinus20', up: false, weight: -20 },
      { kind: 'script' as const, name: 'upMinus20', up: true, weight: -20 },
      { kind: 'script' as const, name: 'rev', up: true, weight: 5, reverse: true },
      { kind: 'interface' as const, name: 'eth1', up: false, weight: 0 },
      { kind: 'script' as const, name: 'maint', up: true, weight: 0, reverse: true },
    ];
    const lines = explainTracking(items);
    assert.deepEqual(lines.map((l) => [l.name, l.state, l.contribution, l.fault]), [
      ['up10', 'up', 10, false],
      ['down10', 'down', 0, false],
      ['downMinus20', 'down', -20, false],
      ['upMinus20', 'up', 0, false],
      ['rev', 'up', -5, false],
      ['eth1', 'down', 0, true],
      ['maint', 'up', 0, true],
    ]);
    const v = judgeTracking(100, items);
    assert.equal(v.effectivePriority, 100 + lines.reduce((a, l) => a + l.contribution, 0), 'the contributions add up to the verdict');
    assert.equal(v.faults.length, lines.filter((l) => l.fault).length);
  });
});
