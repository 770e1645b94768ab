/**
 * The shipped example etc/lvsd.conf (installed as /etc/lvsd/lvsd.conf) must
 * not be a trap (issue 12): its chk_lvsd_links checked one real server from
 * inside a sync group, so that one server down put both directors in FAULT
 * and the VIPs vanished while the other server was healthy.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { hasErrors, loadConfig } from '../../src/config';

const EXAMPLE = path.resolve(__dirname, '../../../etc/lvsd.conf');

describe('etc/lvsd.conf, the shipped example', () => {
  it('loads without errors', () => {
    const r = loadConfig(EXAMPLE, { host: null });
    assert.ok(r.config && !hasErrors(r.problems), JSON.stringify(r.problems));
  });

  it('no single real server can take the VIPs away: no tracked script whose failure means FAULT checks one real server alone', () => {
    const c = loadConfig(EXAMPLE, { host: null }).config!;
    const realServers = [...c.virtualServers.values()].flatMap((vs) => [...vs.realServers.values()].map((rs) => ({ name: `${vs.name}/${rs.name}`, ip: rs.address.address })));
    assert.ok(realServers.length >= 2, `the example has ${realServers.length} real servers`);
    const traps: string[] = [];
    for (const rs of realServers) {
      // A script that names this server's address and no other real server's fails when this one is down.
      const names = (argv: readonly string[]) => (ip: string) => argv.some((a) => new RegExp(`(^|[^0-9.])${ip.replace(/\./g, '\\.')}([^0-9.]|$)`).test(a));
      const failing = [...c.vrrpScripts.values()].filter((s) => names(s.script.argv)(rs.ip) && !realServers.some((o) => o.ip !== rs.ip && names(s.script.argv)(o.ip)));
      for (const inst of c.vrrpInstances.values()) {
        for (const t of inst.trackScripts) {
          const s = failing.find((f) => f.name === t.name);
          if (!s) continue;
          const weight = t.weight ?? s.weight;
          const group = inst.syncGroup ? c.vrrpSyncGroups.get(inst.syncGroup) : undefined;
          // keepalived's rule, and lvsd's: weight 0, or inside a sync group without tracking weights, means FAULT.
          if (weight === 0 || (group && !group.syncGroupTrackingWeight)) {
            traps.push(`${rs.name} down fails [vrrp_script.${s.name}], which puts ${inst.name}${group ? ` (sync group ${group.name})` : ''} in FAULT on both directors`);
          }
        }
      }
    }
    assert.deepEqual(traps, []);
  });
});
