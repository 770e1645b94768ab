import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeClock } from '../../src/lib/clock';
import { ScriptTracker, scriptSettingsOf } from '../../src/vrrp/track';
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
