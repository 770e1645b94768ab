import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { splitCommandLine } from '../../src/check/misc';
import { checkSetOf, joinCommandLine } from '../../src/director/checks';
import { loadState, saveState, STATE_FILE } from '../../src/director/state';
import { conf } from '../reconcile/helpers';

describe('director/checks and state', () => {
  it('maps config checks to checker options in seconds, with the real server as the default target', () => {
    const set = checkSetOf(
      conf([
        '[check.web]',
        'type = HTTP_GET',
        'url_path = /healthz',
        'status_code = 200-204',
        'connect_timeout = 2.5',
        'delay_loop = 3',
        '[check.m]',
        'type = MISC_CHECK',
        "misc_path = /usr/lib/check 'a b' x",
        'misc_dynamic = true',
        '[virtual_server.web]',
        'address = 192.0.2.100:80',
        'alpha = true',
        '[real_server.web.a]',
        'address = 198.51.100.1:8080',
        'check[] = web',
        'check[] = m',
        '[real_server.web.b]',
        'address = 198.51.100.2:80',
      ]),
    );
    assert.deepEqual(set.map((s) => s.rs), ['web/a', 'web/b']);
    assert.deepEqual(set[1]!.checks, []);
    const [http, misc] = set[0]!.checks;
    assert.deepEqual(http, {
      type: 'HTTP_GET',
      delay_loop: 3,
      retry: 1,
      delay_before_retry: 3,
      warmup: 0,
      rise: 1,
      fall: 1,
      alpha: true,
      connect_ip: '198.51.100.1',
      connect_port: 8080,
      url_path: '/healthz',
      status_code: [{ from: 200, to: 204 }],
      connect_timeout: 2.5,
    });
    assert.equal(misc!.type, 'MISC_CHECK');
    assert.deepEqual(splitCommandLine((misc as { misc_path: string }).misc_path), ['/usr/lib/check', 'a b', 'x']);
  });

  it("passes a MISC_CHECK's resolved user (its own, else script_user) to the checker as ids", () => {
    const set = checkSetOf(
      conf([
        '[global]',
        'script_user = nobody',
        '[check.inherit]',
        'type = MISC_CHECK',
        'misc_path = /bin/true',
        '[check.own]',
        'type = MISC_CHECK',
        'misc_path = /bin/true',
        'user = root',
        '[virtual_server.web]',
        'address = 192.0.2.100:80',
        '[real_server.web.a]',
        'address = 198.51.100.1:80',
        'check[] = inherit',
        'check[] = own',
      ]),
    );
    const [inherit, own] = set[0]!.checks as { user?: unknown }[];
    assert.deepEqual(inherit!.user, { uid: 65534, gid: 65534 });
    assert.deepEqual(own!.user, { uid: 0, gid: 0 });
  });

  it('joins argv so that the checker splits it back exactly', () => {
    for (const argv of [['/bin/x'], ['/bin/x', "it's", 'a "q"', 'back\\slash', '', '$HOME']]) {
      assert.deepEqual(splitCommandLine(joinCommandLine(argv)), argv);
    }
  });

  it('state file: atomic write and read back; a corrupt file is reported and treated as empty', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-state-'));
    try {
      const sub = path.join(dir, 'nested');
      assert.deepEqual(loadState(sub), { overrides: new Map(), managed: [], health: new Map() });
      saveState(sub, { overrides: new Map([['web/b', 'disable'], ['web/a', 'drain']]), managed: ['TCP/4/192.0.2.100/80'] });
      const back = loadState(sub);
      assert.deepEqual([...back.overrides], [['web/a', 'drain'], ['web/b', 'disable']]);
      assert.deepEqual(back.managed, ['TCP/4/192.0.2.100/80']);
      assert.deepEqual(fs.readdirSync(sub), [STATE_FILE], 'no temporary file left behind');
      fs.writeFileSync(path.join(sub, STATE_FILE), '{"version": 1, "overrides": ');
      const bad = loadState(sub);
      assert.equal(bad.overrides.size, 0);
      assert.match(bad.problem ?? '', /director\.json/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
