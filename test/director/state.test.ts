/**
 * The state file's writer: the managed keys' text is made once per version of the
 * live set (a flapping table saves its health up to five times a second), and the
 * file is byte for byte what a plain write makes.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HEALTH_SAVE_COST_FACTOR, HEALTH_SAVE_MAX_MS, HEALTH_SAVE_MS, KnownHealthStore } from '../../src/director/known-health';
import { loadState, saveState, STATE_FILE, type StoredHealth } from '../../src/director/state';
import { FakeClock } from '../../src/lib/clock';
import { conf } from '../reconcile/helpers';

describe('director state file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-state-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const read = (d: string): string => fs.readFileSync(path.join(d, STATE_FILE), 'utf8');

  it('writes the same bytes with the managed keys cached by version, and follows a new version', () => {
    const plain = path.join(dir, 'plain');
    const cached = path.join(dir, 'cached');
    const managed = new Set(['TCP/4/192.0.2.100/80', 'TCP/4/192.0.2.10/1024', 'fwm/4/7']);
    const overrides = new Map([['web/rs1', 'drain' as const]]);
    const health = new Map<string, StoredHealth>([['web/rs2', { up: false, reason: 'ECONNREFUSED', address: '198.51.100.2:80' }]]);
    for (const h of [undefined, health]) {
      saveState(plain, { overrides, managed: [...managed], ...(h ? { health: h } : {}) }, false);
      saveState(cached, { overrides, managed, managedVersion: 3, ...(h ? { health: h } : {}) }, false);
      assert.equal(read(cached), read(plain));
    }
    // The set changes with its version: the new keys are written.
    managed.add('UDP/4/192.0.2.53/53');
    saveState(plain, { overrides, managed: [...managed], health }, false);
    saveState(cached, { overrides, managed, managedVersion: 4, health }, false);
    assert.equal(read(cached), read(plain));
    assert.deepEqual(loadState(cached).managed, [...managed].sort());
    // An empty set too.
    const none = new Set<string>();
    saveState(plain, { overrides: new Map(), managed: [] }, false);
    saveState(cached, { overrides: new Map(), managed: none, managedVersion: 0 }, false);
    assert.equal(read(cached), read(plain));
  });

  it('spaces health writes by their CPU cost: a write that takes 20 ms of CPU is followed by none for 1 s (at most 2 s)', async () => {
    const clock = new FakeClock();
    const cpuMs = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    let burn = 0;
    const saves: number[] = [];
    const store = new KnownHealthStore(clock, () => {
      saves.push(clock.now());
      // A large file: the write burns `burn` ms of CPU.
      const until = cpuMs() + burn;
      while (cpuMs() < until) {
        /* busy */
      }
    });
    const config = conf(['[check.tcp]', 'type = TCP_CHECK', '[virtual_server.web]', 'address = 192.0.2.100:80', 'check = tcp', '[real_server.web.rs1]', 'address = 198.51.100.1:80']);
    const vs = config.virtualServers.get('web')!;
    const rs = vs.realServers.get('rs1')!;
    const flip = (up: boolean): void => {
      store.note(vs, rs, { up, reason: up ? 'ok' : 'down', ...(up ? { weight: 3 } : {}) });
      store.flush();
    };
    // Cheap writes: HEALTH_SAVE_MS apart.
    flip(false);
    flip(true);
    assert.deepEqual(saves, [0]);
    await clock.advanceAsync(HEALTH_SAVE_MS);
    assert.deepEqual(saves, [0, HEALTH_SAVE_MS]);
    // A costly write: the next waits its cost times the factor.
    burn = 20;
    await clock.advanceAsync(HEALTH_SAVE_MS);
    flip(false);
    assert.equal(saves.length, 3);
    burn = 0;
    const at = clock.now();
    flip(true);
    await clock.advanceAsync(20 * HEALTH_SAVE_COST_FACTOR - 1);
    assert.equal(saves.length, 3, 'no write before the grown gap');
    await clock.advanceAsync(HEALTH_SAVE_MAX_MS);
    assert.equal(saves.length, 4);
    assert.ok(saves[3]! - at >= 20 * HEALTH_SAVE_COST_FACTOR && saves[3]! - at <= HEALTH_SAVE_MAX_MS, `gap ${saves[3]! - at} ms`);
    store.stop();
  });
});
