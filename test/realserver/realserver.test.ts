/**
 * packaging/realserver/lvs-realserver on the host's kernel, in namespaces:
 * DR setup / check / teardown, judged both by the script's own `check` and by
 * what the kernel then does on the wire (the real server accepts packets sent
 * to the VIP at its MAC, as a DR director sends them, and never answers ARP for
 * the VIP). TUN needs ipip, which the host kernel lacks: its setup, check and
 * serving are proven in the VM (test/vm/pair.test.ts, scenario pair-tun).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type ExecResult, Topology, requireTestbed } from '../lib/netns';
import { REPO } from '../lib/director';

const SCRIPT = path.join(REPO, 'packaging', 'realserver', 'lvs-realserver');
const VIP = '192.0.2.100';
const VIP6 = '2001:db8::100';
const RS = '192.0.2.21';

describe('lvs-realserver (DR real-server setup, in namespaces)', function () {
  this.timeout(60_000);
  let topo: Topology;
  let stateDir: string;
  let rsMac: string;

  before(async () => {
    requireTestbed(['ip', 'arping', 'ping']);
    topo = await Topology.create('rs');
    stateDir = mkdtempSync(path.join(tmpdir(), 'lvs-realserver-'));
    rsMac = await topo.addHost('rs', [`${RS}/24`]);
    await topo.addHost('client', ['192.0.2.10/24']);
  });
  after(async () => {
    await topo?.destroy();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  /** Runs the script in the real server's namespace, with a private state directory. */
  function script(...args: string[]): Promise<ExecResult> {
    return topo.exec('rs', ['env', `LVS_REALSERVER_STATE_DIR=${stateDir}`, SCRIPT, ...args]);
  }
  const lines = (r: ExecResult): string[] => r.stdout.split('\n').filter(Boolean);
  const show = (r: ExecResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

  async function sysctl(key: string): Promise<string> {
    return (await topo.run('rs', ['sysctl', '-n', key])).trim();
  }

  async function lo(): Promise<string[]> {
    const j = JSON.parse(await topo.run('rs', ['ip', '-j', 'addr', 'show', 'dev', 'lo'])) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
    return j[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
  }

  /** How many ARP replies the client gets for `ip` (arping exits 0 only with one). */
  async function arpReplies(ip: string): Promise<number> {
    const r = await topo.exec('client', ['arping', '-c', '2', '-w', '2', '-I', 'eth0', ip]);
    const m = /(\d+) packets received/.exec(r.stdout);
    assert.ok(m, `arping output not understood:\n${show(r)}`);
    return Number(m[1]);
  }

  /** Sends a ping to the VIP straight at the real server's MAC, as a DR director forwards it. */
  async function pingVipAtRsMac(): Promise<boolean> {
    await topo.run('client', ['ip', 'neigh', 'replace', VIP, 'lladdr', rsMac, 'dev', 'eth0', 'nud', 'permanent']);
    try {
      return (await topo.exec('client', ['ping', '-c', '1', '-W', '2', VIP])).code === 0;
    } finally {
      await topo.run('client', ['ip', 'neigh', 'del', VIP, 'dev', 'eth0']);
    }
  }

  it('check on a bare host lists every missing piece on its own line and exits 1', async () => {
    const r = await script('check', '--mode', 'dr', VIP, VIP6);
    assert.equal(r.code, 1, show(r));
    assert.deepEqual(lines(r).sort(), [
      `missing: address ${VIP}/32 on lo`,
      `missing: address ${VIP6}/128 on lo`,
      'wrong: net.ipv4.conf.all.arp_announce = 0 (want 2)',
      'wrong: net.ipv4.conf.all.arp_ignore = 0 (want 1)',
      'wrong: net.ipv4.conf.eth0.arp_announce = 0 (want 2)',
      'wrong: net.ipv4.conf.eth0.arp_ignore = 0 (want 1)',
      'wrong: net.ipv4.conf.lo.arp_announce = 0 (want 2)',
      'wrong: net.ipv4.conf.lo.arp_ignore = 0 (want 1)',
    ].sort(), show(r));
  });

  it('the mistake it prevents: a VIP on lo without arp_ignore is answered for in ARP', async () => {
    await topo.run('rs', ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo']);
    try {
      assert.ok(await arpReplies(VIP) > 0, 'Linux answers ARP for any local address by default (arp_ignore=0)');
    } finally {
      await topo.run('rs', ['ip', 'addr', 'del', `${VIP}/32`, 'dev', 'lo']);
    }
  });

  it('setup makes check pass; the VIPs sit on lo as host routes', async () => {
    // A non-default value before setup, to prove teardown restores what it found.
    await topo.run('rs', ['sysctl', '-qw', 'net.ipv4.conf.eth0.arp_announce=1']);
    const s = await script('setup', '--mode', 'dr', VIP, VIP6);
    assert.equal(s.code, 0, show(s));
    const c = await script('check', '--mode', 'dr', VIP, VIP6);
    assert.equal(c.code, 0, show(c));
    assert.deepEqual(lines(c), [`ok: dr real server ready for ${VIP} ${VIP6}`]);
    const addrs = await lo();
    assert.ok(addrs.includes(`${VIP}/32`) && addrs.includes(`${VIP6}/128`), addrs.join(' '));
    for (const i of ['all', 'lo', 'eth0']) {
      assert.equal(await sysctl(`net.ipv4.conf.${i}.arp_ignore`), '1', i);
      assert.equal(await sysctl(`net.ipv4.conf.${i}.arp_announce`), '2', i);
    }
  });

  it('after setup the real server stays silent in ARP for the VIP but accepts packets sent to it at its MAC (what a DR director sends)', async () => {
    assert.equal(await arpReplies(VIP), 0, 'the real server answered ARP for the VIP');
    assert.ok(await arpReplies(RS) > 0, 'the real server must still answer ARP for its own address');
    assert.ok(await pingVipAtRsMac(), 'a packet for the VIP at the real server\'s MAC got no answer');
  });

  it('setup is idempotent: a second run changes nothing and succeeds', async () => {
    const before = await lo();
    const s = await script('setup', '--mode', 'dr', VIP, VIP6);
    assert.equal(s.code, 0, show(s));
    assert.deepEqual(await lo(), before);
    assert.equal((await script('check', '--mode', 'dr', VIP, VIP6)).code, 0);
  });

  it('check names a piece that went missing after setup', async () => {
    await topo.run('rs', ['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=0']);
    await topo.run('rs', ['ip', 'addr', 'del', `${VIP}/32`, 'dev', 'lo']);
    const c = await script('check', '--mode', 'dr', VIP, VIP6);
    assert.equal(c.code, 1, show(c));
    assert.deepEqual(lines(c), [`missing: address ${VIP}/32 on lo`, 'wrong: net.ipv4.conf.all.arp_ignore = 0 (want 1)']);
    assert.equal((await script('setup', '--mode', 'dr', VIP, VIP6)).code, 0);
    assert.equal((await script('check', '--mode', 'dr', VIP, VIP6)).code, 0);
  });

  it('teardown of one VIP keeps the settings the other still needs', async () => {
    const t = await script('teardown', '--mode', 'dr', VIP6);
    assert.equal(t.code, 0, show(t));
    assert.ok(!(await lo()).includes(`${VIP6}/128`));
    assert.equal((await script('check', '--mode', 'dr', VIP)).code, 0);
    const c6 = await script('check', '--mode', 'dr', VIP6);
    assert.deepEqual(lines(c6), [`missing: address ${VIP6}/128 on lo`], show(c6));
  });

  it('teardown of the last VIP restores the values found before setup, and check fails with the right lines', async () => {
    const t = await script('teardown', '--mode', 'dr', VIP);
    assert.equal(t.code, 0, show(t));
    assert.equal(await sysctl('net.ipv4.conf.eth0.arp_announce'), '1', 'the value before setup');
    assert.equal(await sysctl('net.ipv4.conf.all.arp_ignore'), '0');
    const c = await script('check', '--mode', 'dr', VIP);
    assert.equal(c.code, 1, show(c));
    assert.deepEqual(lines(c).sort(), [
      `missing: address ${VIP}/32 on lo`,
      'wrong: net.ipv4.conf.all.arp_announce = 0 (want 2)',
      'wrong: net.ipv4.conf.all.arp_ignore = 0 (want 1)',
      'wrong: net.ipv4.conf.eth0.arp_announce = 1 (want 2)',
      'wrong: net.ipv4.conf.eth0.arp_ignore = 0 (want 1)',
      'wrong: net.ipv4.conf.lo.arp_announce = 0 (want 2)',
      'wrong: net.ipv4.conf.lo.arp_ignore = 0 (want 1)',
    ].sort(), show(c));
    assert.ok(!await pingVipAtRsMac(), 'after teardown the real server must not accept the VIP');
    const again = await script('teardown', '--mode', 'dr', VIP);
    assert.equal(again.code, 0, `teardown twice must succeed: ${show(again)}`);
  });

  it('--iface names the egress interfaces to set instead of guessing them', async () => {
    const c = await script('check', '--mode', 'dr', '--iface', 'eth0', VIP);
    assert.ok(lines(c).includes('wrong: net.ipv4.conf.eth0.arp_ignore = 0 (want 1)'), show(c));
    const bad = await script('check', '--mode', 'dr', '--iface', 'nosuch0', VIP);
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /no such interface: nosuch0/);
  });

  it('refuses bad usage with exit 2 and a message saying what to give', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /missing command/],
      [['start', '--mode', 'dr', VIP], /unknown command: start/],
      [['setup', VIP], /--mode dr\|tun is required/],
      [['setup', '--mode', 'nat', VIP], /unknown mode: nat/],
      [['setup', '--mode', 'dr'], /no VIP given/],
      [['setup', '--mode', 'dr', `${VIP}/32`], /without a prefix length/],
      [['setup', '--mode', 'dr', '192.0.2.300'], /not an address/],
    ];
    for (const [args, msg] of cases) {
      const r = await script(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${show(r)}`);
      assert.match(r.stderr, msg, args.join(' '));
    }
    assert.deepEqual(await lo(), ['127.0.0.1/8', '::1/128'], 'usage errors must change nothing');
  });
});
