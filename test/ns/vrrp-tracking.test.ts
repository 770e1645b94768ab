/**
 * Tracking, FAULT, sync groups, notify hooks and hostile packets, on a real
 * director pair in namespaces. Each director has eth0 (client side, VI_1)
 * and eth1 (inside, VI_2); VI_1 and VI_2 form sync group G1, as a NAT
 * director pair needs (client VIP and the real servers' gateway together).
 */
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { Topology, waitFor } from '../lib/netns';
import { REPO, Scratch, clientNeighbour, holders, lvsdStatus, startLvsd } from '../lib/director';

const D = ['d1', 'd2'] as const;
const VIP1 = '192.0.2.100';
const VIP2 = '198.51.100.254';
const VIP3 = '192.0.2.101';

describe('tracking, FAULT, sync groups, notify hooks and bad packets (two lvsd directors)', function () {
  this.timeout(120_000);
  let topo: Topology;
  let scratch: Scratch;
  const sock = (h: string): string => scratch.path(`${h}.sock`);
  const okFile = (h: string): string => scratch.path(`${h}.ok`);
  const grpFile = (h: string): string => scratch.path(`${h}.grp`);
  const notes = (h: string): string => scratch.path(`${h}.notify`);

  function config(h: 'd1' | 'd2', prio: number): string {
    const n = h === 'd1' ? 11 : 12;
    return [
      '[global]', `router_id = ${h}`, `control_socket = ${sock(h)}`, `pid_file = ${scratch.path(`${h}.pid`)}`, 'log_level = debug', '',
      '[vrrp_script.chk_ok]', `script = /usr/bin/test -e ${okFile(h)}`, 'interval = 1', 'timeout = 1', 'rise = 1', 'fall = 1', 'weight = -60', '',
      '[vrrp_script.chk_grp]', `script = /usr/bin/test -e ${grpFile(h)}`, 'interval = 1', 'timeout = 1', 'rise = 1', 'fall = 1', 'weight = -60', '',
      '[vrrp_sync_group.G1]', 'group[] = VI_1', 'group[] = VI_2', `notify = ${scratch.path('notify.sh')} ${notes(h)}`, '',
      '[vrrp_instance.VI_1]', 'state = BACKUP', 'interface = eth0', 'virtual_router_id = 51', `priority = ${prio}`,
      'advert_int = 0.2', 'version = 3', `virtual_ipaddress[] = ${VIP1}/24`, 'track_script[] = chk_grp',
      // Moves with the instance, not listed in its adverts.
      'virtual_ipaddress_excluded[] = 192.0.2.150/24',
      `notify = ${scratch.path('notify.sh')} ${notes(h)}`,
      `notify_master = ${scratch.path('master.sh')} ${notes(h)}`, '',
      '[vrrp_instance.VI_2]', 'state = BACKUP', 'interface = eth1', 'virtual_router_id = 52', `priority = ${prio}`,
      'advert_int = 0.2', 'version = 3', `virtual_ipaddress[] = ${VIP2}/24`, `unicast_src_ip = 198.51.100.${n}`, '',
      // Outside any sync group: the script's weight moves the priority.
      '[vrrp_instance.VI_3]', 'state = BACKUP', 'interface = eth0', 'virtual_router_id = 53', `priority = ${prio}`,
      'advert_int = 0.2', 'version = 3', `virtual_ipaddress[] = ${VIP3}/24`, 'track_script[] = chk_ok', '',
    ].join('\n');
  }

  before(async () => {
    topo = await Topology.create('track');
    scratch = new Scratch();
    // The generic notify gets keepalived's arguments appended; the per-state one none.
    scratch.file('notify.sh', '#!/bin/sh\nf="$1"; shift\necho "notify $* reason=$LVSD_REASON" >> "$f"\n', 0o755);
    scratch.file('master.sh', '#!/bin/sh\nf="$1"; shift\necho "master-hook args=$#" >> "$f"\n', 0o755);
    for (const [h, n] of [['d1', 11], ['d2', 12]] as const) {
      await topo.addHost(h, [`192.0.2.${n}/24`]);
      await topo.addHost(h, [`198.51.100.${n}/24`], { ifname: 'eth1', bridge: 'br1' });
      writeFileSync(okFile(h), '');
      writeFileSync(grpFile(h), '');
    }
    await topo.addHost('client', ['192.0.2.50/24']);
    for (const [h, p] of [['d2', 100], ['d1', 150]] as const) {
      await startLvsd(topo, h, scratch.file(`${h}.conf`, config(h, p)), sock(h));
    }
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  async function both(host: string): Promise<void> {
    await waitFor(`both VIPs (and VI_1's excluded address) on ${host} alone`, async () => {
      const a = await holders(topo, D, VIP1);
      const b = await holders(topo, D, VIP2);
      const x = await holders(topo, D, '192.0.2.150');
      return a.join() === host && b.join() === host && x.join() === host;
    }, { timeoutMs: 8000, intervalMs: 25 });
  }

  it('elects d1 for both instances and calls the notify hooks with keepalived\'s arguments', async () => {
    await both('d1');
    await waitFor('notify lines', () => existsSync(notes('d1')) && readFileSync(notes('d1'), 'utf8').includes('INSTANCE VI_1 MASTER 150'), { timeoutMs: 5000 });
    const text = readFileSync(notes('d1'), 'utf8');
    assert.match(text, /^notify INSTANCE VI_1 MASTER 150 reason=.+$/m, text);
    assert.match(text, /^master-hook args=0$/m, 'notify_master gets no extra arguments');
    await waitFor('group notify', () => /^notify GROUP G1 MASTER 0 reason=/m.test(readFileSync(notes('d1'), 'utf8')), { timeoutMs: 3000 });
  });

  it('lowers the effective priority by the script weight and lets the peer preempt', async () => {
    await waitFor('VI_3 on d1', async () => (await holders(topo, D, VIP3)).join() === 'd1', { timeoutMs: 5000 });
    rmSync(okFile('d1'));
    await waitFor('VI_3 on d2 alone', async () => (await holders(topo, D, VIP3)).join() === 'd2', { timeoutMs: 5000, intervalMs: 25 });
    const vi3 = (await lvsdStatus(topo, 'd1', sock('d1'))).instances.find((i) => i.name === 'VI_3')!;
    assert.equal(vi3.effectivePriority, 90);
    assert.equal(vi3.state, 'BACKUP');
    // The sync group did not move: its members track another script.
    await both('d1');
    writeFileSync(okFile('d1'), '');
    await waitFor('VI_3 back on d1', async () => (await holders(topo, D, VIP3)).join() === 'd1', { timeoutMs: 5000, intervalMs: 25 });
  });

  it('in a sync group a failing script means FAULT for the whole group (weights ignored, as keepalived)', async () => {
    rmSync(grpFile('d1'));
    await both('d2');
    const st = await lvsdStatus(topo, 'd1', sock('d1'));
    for (const n of ['VI_1', 'VI_2']) assert.equal(st.instances.find((i) => i.name === n)!.state, 'FAULT', n);
    assert.equal(st.instances.find((i) => i.name === 'VI_1')!.effectivePriority, 150);
    writeFileSync(grpFile('d1'), '');
    await both('d1');
  });

  it('puts the whole sync group in FAULT when a tracked interface goes down, and recovers', async () => {
    await topo.run('d1', ['ip', 'link', 'set', 'eth1', 'down']);
    await both('d2');
    const st = await lvsdStatus(topo, 'd1', sock('d1'));
    for (const i of st.instances.filter((x) => x.name !== 'VI_3')) assert.equal(i.state, 'FAULT', `${i.name} is ${i.state}`);
    const vi2 = st.instances.find((i) => i.name === 'VI_2')!;
    assert.match(vi2.lastTransition!.reason, /eth1/);
    await topo.run('d1', ['ip', 'link', 'set', 'eth1', 'up']);
    await topo.run('d1', ['ip', 'addr', 'replace', '198.51.100.11/24', 'dev', 'eth1']);
    await both('d1');
  });

  it('counts hostile packets per reason and keeps running', async () => {
    const tool = path.join(REPO, 'dist', 'test', 'ns', 'tools', 'send-vrrp.js');
    const before = await lvsdStatus(topo, 'd1', sock('d1'));
    for (const kind of ['ttl', 'checksum', 'version', 'short', 'vrid']) {
      await topo.run('client', [process.execPath, tool, kind, '192.0.2.50']);
    }
    await waitFor('drop counters', async () => {
      const st = await lvsdStatus(topo, 'd1', sock('d1')) as unknown as { instances: Array<{ name: string; drops: Record<string, number> }>; drops: Record<string, number> };
      const vi1 = st.instances.find((i) => i.name === 'VI_1')!.drops;
      return ['ttl', 'checksum', 'version', 'short'].every((r) => (vi1[r] ?? 0) >= 1) && (st.drops.vrid ?? 0) >= 1;
    }, { timeoutMs: 3000 });
    const after = await lvsdStatus(topo, 'd1', sock('d1'));
    assert.equal(after.instances.find((i) => i.name === 'VI_1')!.state, 'MASTER');
    assert.equal(before.instances.length, after.instances.length);
    // Still advertising: the backup has not taken over.
    assert.deepEqual(await holders(topo, D, VIP1), ['d1']);
  });
});

describe('split brain heals with exactly one master, which re-announces the VIP at once', function () {
  this.timeout(60_000);
  let topo: Topology;
  let scratch: Scratch;
  const macs: Record<string, string> = {};
  const sock = (h: string): string => scratch.path(`${h}.sock`);

  before(async () => {
    topo = await Topology.create('split');
    scratch = new Scratch();
    for (const [h, n] of [['d1', 11], ['d2', 12], ['client', 50]] as const) macs[h] = await topo.addHost(h, [`192.0.2.${n}/24`]);
  });
  after(async () => {
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('the winner takes the client back within half a second of the heal', async () => {
    const conf = (h: string, prio: number): string => [
      '[global]', `control_socket = ${sock(h)}`, `pid_file = ${scratch.path(`${h}.pid`)}`, 'log_level = debug', '',
      '[vrrp_instance.VI_1]', 'interface = eth0', 'virtual_router_id = 51', `priority = ${prio}`, 'advert_int = 0.2', 'version = 3',
      `virtual_ipaddress[] = ${VIP1}/24`, 'garp_master_delay = 1', '',
    ].join('\n');
    await startLvsd(topo, 'd1', scratch.file('d1.conf', conf('d1', 150)), sock('d1'));
    await waitFor('d1 master', async () => (await holders(topo, D, VIP1)).join() === 'd1', { timeoutMs: 5000 });
    // Partition the directors from each other only: each drops the other's VRRP.
    for (const h of D) await topo.run(h, ['nft', 'add table inet split; add chain inet split in { type filter hook input priority 0; }; add rule inet split in ip protocol 112 drop']);
    await startLvsd(topo, 'd2', scratch.file('d2.conf', conf('d2', 100)), sock('d2'));
    await waitFor('two masters', async () => (await holders(topo, D, VIP1)).length === 2, { timeoutMs: 5000 });
    // d2 announced last (two bursts): the client follows it.
    await new Promise((r) => setTimeout(r, 1500));
    await waitFor('client at d2', async () => (await clientNeighbour(topo, 'client', VIP1)) === macs.d2, { timeoutMs: 3000 });
    const t0 = performance.now();
    for (const h of D) await topo.run(h, ['nft', 'delete table inet split']);
    await waitFor('one master', async () => (await holders(topo, D, VIP1)).join() === 'd1', { timeoutMs: 3000, intervalMs: 20 });
    const neigh = async (): Promise<string | undefined> => {
      const out = await topo.run('client', ['ip', '-j', '-4', 'neigh', 'show', VIP1]);
      return (JSON.parse(out) as Array<{ lladdr?: string }>)[0]?.lladdr;
    };
    // Read the cache without sending anything: only a gratuitous ARP can have moved it.
    // One advert interval (0.2 s) for the first advert to cross, plus slack for a loaded machine;
    // without a re-announce the entry would stay at d2 until the client's cache expires (tens of seconds).
    await waitFor('client ARP entry at d1 without asking', async () => (await neigh()) === macs.d1, { timeoutMs: 1000, intervalMs: 20 });
    console.log(`      split brain healed: client's ARP entry at the winner ${(performance.now() - t0).toFixed(0)} ms after the partition ended`);
    const st = await lvsdStatus(topo, 'd2', sock('d2'));
    assert.equal(st.instances[0]!.state, 'BACKUP');
  });
});
