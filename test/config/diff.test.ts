import { strict as assert } from 'node:assert';
import { diffConfig } from '../../src/config/diff';
import { parseConfig } from '../../src/config/load';
import type { LvsdConfig } from '../../src/config/types';
import { F } from './helpers';

function cfg(lines: readonly string[]): LvsdConfig {
  const r = parseConfig(lines.join('\n'), F);
  assert.deepEqual(r.problems.filter((p) => p.severity === 'error'), []);
  return r.config!;
}

const BASE = [
  '[global]',
  'router_id = lvs-a',
  '[vrrp_script.chk]',
  'script = /bin/true',
  '[vrrp_instance.VI_1]',
  'interface = eth0',
  'virtual_router_id = 51',
  'virtual_ipaddress[] = 192.0.2.100/24',
  'track_script[] = chk',
  '[vrrp_instance.VI_2]',
  'interface = eth1',
  'virtual_router_id = 52',
  '[check.web]',
  'type = TCP_CHECK',
  '[virtual_server.web]',
  'address = 192.0.2.100:80',
  'check = web',
  '[real_server.web.a]',
  'address = 198.51.100.1:80',
  '[real_server.web.b]',
  'address = 198.51.100.2:80',
];

const none = { added: [], removed: [], changed: [] };

describe('config: diffConfig', () => {
  it('finds nothing between a configuration and itself, nor when only lines moved', () => {
    const a = cfg(BASE);
    assert.equal(diffConfig(a, cfg(BASE)).empty, true);
    const moved = cfg(['; a comment that moves every line', '', ...BASE]);
    const d = diffConfig(a, moved);
    assert.equal(d.empty, true, JSON.stringify(d));
  });

  it('lists added, removed and changed instances, scripts, checks, services and real servers by name', () => {
    const a = cfg(BASE);
    const next = BASE.map((l) => l)
      // VI_1 changes priority; VI_2 goes away; VI_3 arrives.
      .flatMap((l) => (l === 'virtual_router_id = 51' ? [l, 'priority = 120'] : [l]))
      .filter((_, i) => i < 10 || i > 12) // the three lines of [vrrp_instance.VI_2]
      .map((l) => (l === 'script = /bin/true' ? 'script = /bin/true --changed' : l))
      .map((l) => (l === 'address = 198.51.100.2:80' ? 'address = 198.51.100.3:80' : l));
    next.push('[vrrp_instance.VI_3]', 'interface = eth2', 'virtual_router_id = 53', '[real_server.web.c]', 'address = 198.51.100.4:80');
    const d = diffConfig(a, cfg(next));
    assert.equal(d.empty, false);
    assert.equal(d.global, false);
    assert.deepEqual(d.vrrpInstances, { added: ['VI_3'], removed: ['VI_2'], changed: ['VI_1'] });
    assert.deepEqual(d.vrrpScripts, { added: [], removed: [], changed: ['chk'] });
    assert.deepEqual(d.realServers, { added: ['web/c'], removed: [], changed: ['web/b'] });
    // The service itself did not change: its real servers are compared on their own.
    assert.deepEqual(d.virtualServers, none);
    assert.deepEqual(d.checks, none);
    assert.deepEqual(d.vrrpSyncGroups, none);
  });

  it('sees a changed service, check and global setting, and a removed real server', () => {
    const a = cfg(BASE);
    const next = BASE.map((l) =>
      l === 'address = 192.0.2.100:80' ? 'address = 192.0.2.100:8080' : l === 'type = TCP_CHECK' ? 'type = HTTP_GET' : l === 'router_id = lvs-a' ? 'router_id = lvs-b' : l,
    ).slice(0, -2);
    const d = diffConfig(a, cfg(next));
    assert.equal(d.global, true);
    assert.deepEqual(d.virtualServers.changed, ['web']);
    assert.deepEqual(d.checks.changed, ['web']);
    // a keeps its own address (198.51.100.1:80), so only b's removal shows.
    assert.deepEqual(d.realServers, { added: [], removed: ['web/b'], changed: [] });
  });
});
