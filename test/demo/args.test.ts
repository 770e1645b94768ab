import * as assert from 'node:assert/strict';
import { DemoUsageError, IPVS_MODES, masterDownMs, parseDemoArgs } from './args';
import { lvsdConf, modePlan } from './ipvs-cluster';
import { ConsoleRelay, guestArgs } from './vm-launch';

describe('demo: command line', () => {
  it('defaults to LVS-NAT, advert_int 1 s, 2 s calm', () => {
    assert.deepEqual(parseDemoArgs([]), { advertInt: 1, keep: false, modes: ['nat'], calmMs: 2000, help: false });
  });

  it('takes one mode, or all three IPVS modes in order', () => {
    for (const m of ['nat', 'dr', 'tun', 'proxy']) assert.deepEqual(parseDemoArgs(['--mode', m]).modes, [m]);
    assert.deepEqual(parseDemoArgs(['--mode', 'all']).modes, ['nat', 'dr', 'tun']);
    assert.deepEqual([...IPVS_MODES], ['nat', 'dr', 'tun']);
  });

  it('refuses what it cannot do, saying what it takes', () => {
    const bad = (argv: string[], re: RegExp): void => assert.throws(() => parseDemoArgs(argv), (e: unknown) => e instanceof DemoUsageError && e.code === 'DEMO_USAGE' && re.test(e.message));
    bad(['--mode', 'fwmark'], /--mode takes nat, dr, tun, all or proxy, not "fwmark"/);
    bad(['--mode'], /--mode needs a value/);
    bad(['--advert-int', '0.05'], /0\.1 to 10/);
    bad(['--calm', 'x'], /--calm takes seconds/);
    bad(['--keep', '--mode', 'all'], /--keep needs a single mode/);
    bad(['--fast'], /unknown argument "--fast"/);
  });

  it('passes its timing options to the guest\'s demo', () => {
    assert.equal(guestArgs(parseDemoArgs(['--advert-int', '0.5', '--calm', '1.5'])), '--advert-int 0.5 --calm 1.5');
  });

  it('computes RFC 5798 Master_Down_Interval', () => {
    assert.equal(masterDownMs(1, 100), 3000 + (156 / 256) * 1000);
  });
});

describe('demo: lvsd configuration per mode', () => {
  it('NAT: a sync group of the client VIP and the gateway VIP, connection sync on eth1, lb_kind NAT', () => {
    const c = lvsdConf(modePlan('nat'), 'd2', '/x/d2.sock', '/x/d2-state', 1);
    assert.match(c, /\[vrrp_sync_group\.DEMO\]\ngroup\[\] = VI_1\ngroup\[\] = VI_GW\n/);
    assert.match(c, /\[vrrp_instance\.VI_GW\]\nstate = BACKUP\ninterface = eth1\nvirtual_router_id = 52\npriority = 100\n/);
    assert.match(c, /virtual_ipaddress\[\] = 198\.51\.100\.254\/24/);
    assert.match(c, /lvs_sync_daemon = eth1 VI_GW id 1/);
    assert.match(c, /lb_kind = NAT\ncheck = tcp80/);
    assert.equal((c.match(/^\[real_server\.web\.rs\d\]$/gm) ?? []).length, 3);
  });

  it('DR and TUN: one instance, the VIP /24 or /32, lb_kind DR or TUN, no sync group', () => {
    const dr = lvsdConf(modePlan('dr'), 'd1', '/s', '/st', 0.5);
    assert.match(dr, /priority = 150\nadvert_int = 0\.5\nversion = 3\nvirtual_ipaddress\[\] = 192\.0\.2\.100\/24/);
    assert.match(dr, /lb_kind = DR/);
    assert.doesNotMatch(dr, /sync_group|VI_GW/);
    const tun = lvsdConf(modePlan('tun'), 'd1', '/s', '/st', 1);
    assert.match(tun, /virtual_ipaddress\[\] = 198\.51\.100\.100\/32/);
    assert.match(tun, /lb_kind = TUN/);
    assert.match(tun, /address = 192\.0\.2\.23:80/);
  });
});

describe('demo: the VM console relay', () => {
  it('prefixes boot lines, replaces the test bed\'s markers with words, passes the guest\'s lines through', () => {
    const got: string[] = [];
    const r = new ConsoleRelay((l) => got.push(l));
    r.push('\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS\r\n\x1bc\x1b[?7l\x1b[2J\r\n@@LVSD-VM-BEGIN@@\r\n@@LVSD-SCENARIO-BEGIN demo-dr@@\nline one\nline t');
    r.push('wo\n\n@@LVSD-SCENARIO-END demo-dr 0 61234@@\n@@LVSD-VM-EXIT 0@@\nlast');
    r.flush();
    assert.equal(got[0], 'vm│ SeaBIOS');
    assert.match(got[1]!, /^vm: the guest is up after [\d.]+ s; the demo runs inside it$/);
    assert.deepEqual(got.slice(2), [
      '',
      '════ LVS-DR, inside the VM ════════════════════════════════════════════════',
      'line one',
      'line two',
      '',
      'vm: LVS-DR ended with status 0 after 61.2 s',
      'vm: the demo is over (status 0); the guest powers off',
      'last',
    ]);
  });
});
