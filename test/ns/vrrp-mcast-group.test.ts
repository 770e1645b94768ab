/**
 * Issue 12: vrrp_mcast_group4 (and its import). One keepalived.conf for both
 * directors puts the pair on 224.0.0.19 (fixtures/issue12/mcast-group...):
 * keepalived runs it on d1 as lvs-a (priority 150); d2 runs lvsd on the
 * import of the same file as lvs-b (priority 100). lvsd must hear keepalived
 * on the group and stay BACKUP, so exactly one director holds the VIP; and
 * the other way round (lvsd master as lvs-a, keepalived backup). The
 * control run imports the file without the group lines: lvsd then listens
 * on 224.0.0.18, hears nobody and takes the VIP too (what the issue saw).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { convertKeepalived } from '../../src/config/keepalived/import';
import { Topology, requireTestbed, waitFor } from '../lib/netns';
import { REPO, Scratch, holders, lvsdStatus, startLvsd, waitHolder } from '../lib/director';

const FIXTURE = path.join(REPO, 'test/config/keepalived/fixtures/issue12/mcast-group.keepalived.conf');
const VIP = '192.0.2.100';

/** The import of `text` as lvs-b, made runnable in the test bed (its own control socket and pid file). */
function importFor(scratch: Scratch, text: string, configId = 'lvs-b'): string {
  const ka = scratch.file('keepalived.conf', text);
  const conv = convertKeepalived(ka, { configId });
  assert.deepEqual(conv.notImported, [], 'the fixture imports completely');
  const own = [`control_socket = ${scratch.path('lvsd.sock')}`, `pid_file = ${scratch.path('lvsd.pid')}`, 'log_level = debug'];
  return scratch.file('lvsd.conf', conv.text.replace(/^\[global\]$/m, `[global]\n${own.join('\n')}`));
}

describe('vrrp: vrrp_mcast_group4 with a keepalived peer (issue 12)', function () {
  this.timeout(60_000);
  let topo: Topology;
  let scratch: Scratch;

  beforeEach(async () => {
    requireTestbed(['ip', 'keepalived']);
    topo = await Topology.create('mcgrp');
    for (const [h, n] of [['d1', 11], ['d2', 12]] as const) await topo.addHost(h, [`192.0.2.${n}/24`]);
    scratch = new Scratch();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
    await topo?.destroy();
    scratch?.remove();
  });

  const startKeepalived = (text: string, configId = 'lvs-a') => {
    const conf = scratch.file('d1-keepalived.conf', text);
    topo.spawn('d1', ['keepalived', '-n', '-l', '-D', '--vrrp', '-i', configId, '-f', conf, '-p', scratch.path('ka.pid'), '-r', scratch.path('vrrp.pid')]);
  };

  it('lvsd on the imported group hears keepalived on 224.0.0.19 and stays BACKUP: one VIP holder', async () => {
    const text = fs.readFileSync(FIXTURE, 'utf8');
    const conf = importFor(scratch, text);
    assert.match(fs.readFileSync(conf, 'utf8'), /^vrrp_mcast_group4 = 224\.0\.0\.19$/m);
    const t0 = performance.now();
    startKeepalived(text);
    await startLvsd(topo, 'd2', conf, scratch.path('lvsd.sock'));
    await waitHolder(topo, ['d1', 'd2'], VIP, 'd1', t0, 15_000);
    await waitFor('lvsd to see keepalived as master', async () => (await lvsdStatus(topo, 'd2', scratch.path('lvsd.sock'))).instances[0]!.master?.address === '192.0.2.11', { timeoutMs: 5000 });
    // Three more advert intervals: lvsd's master-down timer (3 s + skew) would have fired by now if it heard nothing.
    await new Promise((r) => setTimeout(r, 4000));
    const st = (await lvsdStatus(topo, 'd2', scratch.path('lvsd.sock'))).instances[0]!;
    assert.equal(st.state, 'BACKUP');
    assert.deepEqual(await holders(topo, ['d1', 'd2'], VIP), ['d1']);
  });

  it('lvsd as the master sends to 224.0.0.19: keepalived hears it and stays BACKUP', async () => {
    const text = fs.readFileSync(FIXTURE, 'utf8');
    const conf = importFor(scratch, text, 'lvs-a');
    const t0 = performance.now();
    await startLvsd(topo, 'd2', conf, scratch.path('lvsd.sock'));
    await waitHolder(topo, ['d1', 'd2'], VIP, 'd2', t0, 15_000);
    startKeepalived(text, 'lvs-b');
    // keepalived's master-down interval (3 s + skew) passes several times over.
    await new Promise((r) => setTimeout(r, 6000));
    assert.deepEqual(await holders(topo, ['d1', 'd2'], VIP), ['d2']);
    assert.equal((await lvsdStatus(topo, 'd2', scratch.path('lvsd.sock'))).instances[0]!.state, 'MASTER');
  });

  it('control: imported without the group lines, lvsd listens on 224.0.0.18, hears nobody and also takes the VIP', async () => {
    const text = fs.readFileSync(FIXTURE, 'utf8');
    const conf = importFor(scratch, text.replace(/^\s*vrrp_mcast_group[46] .*\n/gm, ''));
    startKeepalived(text);
    await startLvsd(topo, 'd2', conf, scratch.path('lvsd.sock'));
    await waitFor('both directors to hold the VIP', async () => (await holders(topo, ['d1', 'd2'], VIP)).length === 2, { timeoutMs: 15_000 });
    assert.equal((await lvsdStatus(topo, 'd2', scratch.path('lvsd.sock'))).instances[0]!.state, 'MASTER');
  });

  it('IPv6: lvsd on the imported vrrp_mcast_group6 hears keepalived on ff02::1:19 and stays BACKUP', async () => {
    // The same file for an IPv6 VIP (VRRPv3, as keepalived requires for IPv6).
    const text = fs.readFileSync(FIXTURE, 'utf8').replace('192.0.2.100/24', '2001:db8::100/64').replace('advert_int 1', 'advert_int 1\n    version 3');
    const conf = importFor(scratch, text);
    const vip6 = '2001:db8::100';
    const t0 = performance.now();
    startKeepalived(text);
    await startLvsd(topo, 'd2', conf, scratch.path('lvsd.sock'));
    await waitHolder(topo, ['d1', 'd2'], vip6, 'd1', t0, 15_000);
    await waitFor('lvsd to see keepalived as master', async () => (await lvsdStatus(topo, 'd2', scratch.path('lvsd.sock'))).instances[0]!.master !== null, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal((await lvsdStatus(topo, 'd2', scratch.path('lvsd.sock'))).instances[0]!.state, 'BACKUP');
    assert.deepEqual(await holders(topo, ['d1', 'd2'], vip6), ['d1']);
  });
});
