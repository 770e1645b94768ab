/**
 * KernelLinks / KernelAddresses against the real kernel, inside a namespace,
 * checked against iproute2's own view (`ip -j`). Root only; fails (never
 * skips) without.
 */
import { strict as assert } from 'node:assert';
import { Topology, waitFor } from '../lib/netns';
import { Agent } from '../kernel/agent-client';
import type { IfAddress } from '../../src/kernel/addresses';
import type { Link } from '../../src/kernel/links';

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  operstate: string;
  address?: string;
  mtu: number;
}
interface IpAddr {
  ifname: string;
  addr_info: Array<{ family: string; local: string; prefixlen: number; secondary?: boolean; scope: string }>;
}

describe('rtnetlink in a namespace (root)', function () {
  this.timeout(30_000);
  let topo: Topology;
  let agent: Agent;

  before(async () => {
    topo = await Topology.create('lvsdk');
    await topo.addHost('h', ['192.0.2.1/24', '2001:db8::1/64']);
    agent = await Agent.start(topo, 'h');
  });
  after(async () => {
    await topo?.destroy();
  });

  const ipj = async <T>(...argv: string[]): Promise<T> => JSON.parse(await topo.run('h', ['ip', '-j', ...argv])) as T;

  async function kernelAddrs(ifname: string): Promise<string[]> {
    const [l] = await ipj<IpAddr[]>('addr', 'show', 'dev', ifname);
    return l!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
  }

  it('lists the same links as `ip -j link`, with flags, operstate and MAC', async () => {
    const mine = await agent.call<Link[]>('links.list');
    const theirs = await ipj<IpLink[]>('link', 'show');
    assert.deepEqual(
      mine.map((l) => [l.index, l.name, l.up, l.lowerUp, l.operstate.toUpperCase(), l.mtu]),
      theirs.map((l) => [l.ifindex, l.ifname, l.flags.includes('UP'), l.flags.includes('LOWER_UP'), l.operstate, l.mtu]),
    );
    const eth0 = mine.find((l) => l.name === 'eth0')!;
    assert.equal(eth0.mac, theirs.find((l) => l.ifname === 'eth0')!.address);
    assert.ok(eth0.running, 'eth0 is plugged into the bridge and up');
    assert.deepEqual(await agent.call('links.get', 'eth0'), eth0);
    assert.equal(await agent.call('links.get', 'nosuch0'), null);
  });

  it('adds and removes IPv4 and IPv6 addresses as `ip -j addr` sees them, tolerating repeats', async () => {
    assert.equal(await agent.call('addr.add', 'eth0', '192.0.2.100/24'), 'added');
    assert.equal(await agent.call('addr.add', 'eth0', '192.0.2.100/24'), 'existed');
    assert.equal(await agent.call('addr.add', 'eth0', '2001:db8::100/64'), 'added');
    assert.equal(await agent.call('addr.add', 'eth0', '203.0.113.9'), 'added'); // host prefix
    const after = await kernelAddrs('eth0');
    for (const a of ['192.0.2.100/24', '2001:db8::100/64', '203.0.113.9/32']) assert.ok(after.includes(a), `${a} in ${after.join(' ')}`);

    // The IPv6 VIP is usable at once: not tentative (IFA_F_NODAD).
    const [l] = await ipj<Array<{ addr_info: Array<{ local: string; tentative?: boolean; dadfailed?: boolean }> }>>('addr', 'show', 'dev', 'eth0');
    const v6 = l!.addr_info.find((a) => a.local === '2001:db8::100')!;
    assert.ok(!v6.tentative && !v6.dadfailed, JSON.stringify(v6));

    // The second address in 192.0.2.0/24 is secondary, and the kernel lists primaries first.
    const mine = await agent.call<IfAddress[]>('addr.list', 'eth0', 4);
    assert.deepEqual(mine.map((a) => [a.address, a.prefix, a.secondary]), [
      ['192.0.2.1', 24, false],
      ['203.0.113.9', 32, false],
      ['192.0.2.100', 24, true],
    ]);
    assert.equal(await agent.call('addr.primaryIPv4', 'eth0'), '192.0.2.1');

    assert.equal(await agent.call('addr.remove', 'eth0', '192.0.2.100/24'), 'removed');
    assert.equal(await agent.call('addr.remove', 'eth0', '192.0.2.100/24'), 'absent');
    assert.equal(await agent.call('addr.remove', 'eth0', '2001:db8::100/64'), 'removed');
    assert.equal(await agent.call('addr.remove', 'eth0', '2001:db8::100/64'), 'absent');
    assert.equal(await agent.call('addr.remove', 'eth0', '203.0.113.9/32'), 'removed');
    assert.deepEqual((await kernelAddrs('eth0')).filter((a) => !a.startsWith('fe80')), ['192.0.2.1/24', '2001:db8::1/64']);
  });

  it('finds the link-local IPv6 address the kernel gave the interface', async () => {
    const ll = await waitFor('a link-local address on eth0', async () => {
      const [l] = await ipj<IpAddr[]>('-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link');
      return l?.addr_info.find((a) => a.scope === 'link')?.local; // iproute2 prints {} for filtered-out entries
    });
    assert.match(ll, /^fe80:/);
    assert.equal(await agent.call('addr.linkLocalIPv6', 'eth0'), ll);
  });

  it('reports a missing interface as NetlinkError ENODEV with a clear message, and keeps working', async () => {
    const e = await agent.failure('addr.add', 'nosuch0', '192.0.2.5/24');
    assert.equal(e.name, 'NetlinkError');
    assert.equal(e.code, 'ENODEV');
    assert.equal(e.errno, 19);
    assert.equal(e.request, 'RTM_NEWADDR');
    assert.match(e.message, /^RTM_NEWADDR 192\.0\.2\.5\/24 on "nosuch0": no such device \(ENODEV\)/);
    const e6 = await agent.failure('addr.add', 'nosuch0', '2001:db8::5/64');
    assert.equal(e6.code, 'ENODEV');
    const el = await agent.failure('addr.list', 'nosuch0');
    assert.equal(el.code, 'ENODEV');
    const bad = await agent.failure('addr.add', 'eth0', '192.0.2.300/24');
    assert.equal(bad.code, 'ERR_INVALID_ADDRESS');
    assert.equal(await agent.call('addr.primaryIPv4', 'eth0'), '192.0.2.1', 'the socket still answers after errors');
  });

  it('delivers link events when a veth is set down and up', async () => {
    await agent.call('watch');
    // Let the subscription's initial dump land before changing anything.
    await new Promise((r) => setTimeout(r, 200));
    const seen = (pred: (l: Link) => boolean): (() => Link | undefined) => () => {
      for (const c of agent.changes) if (c.kind === 'new' && c.link.name === 'eth0' && pred(c.link)) return c.link;
      return undefined;
    };
    await topo.run('h', ['ip', 'link', 'set', 'eth0', 'down']);
    // Flags change at once; the operstate follows from the kernel's link watcher, maybe in a later event.
    const down = await waitFor('eth0 down event', seen((l) => !l.up && l.operstate === 'down'), { timeoutMs: 5000 });
    assert.equal(down.running, false);
    agent.changes.length = 0;
    await topo.run('h', ['ip', 'link', 'set', 'eth0', 'up']);
    const up = await waitFor('eth0 running event', seen((l) => l.up && l.running), { timeoutMs: 5000 });
    assert.equal(up.lowerUp, true);
    // A carrier loss on the far side of the veth: admin up, lower layer down.
    agent.changes.length = 0;
    const sw = topo.ns('sw');
    const peers = JSON.parse(await topo.run('sw', ['ip', '-j', 'link', 'show', 'type', 'veth'])) as IpLink[];
    assert.equal(peers.length, 1, `one veth in ${sw}`);
    await topo.run('sw', ['ip', 'link', 'set', peers[0]!.ifname, 'down']);
    const noCarrier = await waitFor('eth0 no-carrier event', seen((l) => l.up && !l.lowerUp), { timeoutMs: 5000 });
    assert.equal(noCarrier.running, false);
    const [ipView] = await ipj<IpLink[]>('link', 'show', 'eth0');
    assert.ok(ipView!.flags.includes('NO-CARRIER'));
    // The operstate may settle an event later (the kernel's link watcher): wait for ip's view to be reported.
    await waitFor(`an event with operstate ${ipView!.operstate}`, seen((l) => !l.lowerUp && l.operstate === ipView!.operstate.toLowerCase()), { timeoutMs: 5000 });
    await topo.run('sw', ['ip', 'link', 'set', peers[0]!.ifname, 'up']);
    await waitFor('eth0 carrier back', seen((l) => l.lowerUp && l.running), { timeoutMs: 5000 });
  });

  it('delivers address events for changes made by others (ip addr add/del), IPv4 and IPv6, and for a deleted interface', async () => {
    await agent.call('addr.watch');
    const seen = (kind: 'new' | 'del', address: string): (() => IfAddress | undefined) => () => {
      for (const e of agent.addrEvents) if (e.kind === kind && e.address.address === address) return e.address;
      return undefined;
    };
    const [eth0] = await ipj<Array<{ ifindex: number }>>('link', 'show', 'eth0');
    await topo.run('h', ['ip', 'addr', 'add', '192.0.2.77/24', 'dev', 'eth0']);
    const added = await waitFor('192.0.2.77 new event', seen('new', '192.0.2.77'), { timeoutMs: 5000 });
    assert.deepEqual([added.ifindex, added.family, added.prefix, added.secondary], [eth0!.ifindex, 4, 24, true]);
    await topo.run('h', ['ip', 'addr', 'del', '192.0.2.77/24', 'dev', 'eth0']);
    await waitFor('192.0.2.77 del event', seen('del', '192.0.2.77'), { timeoutMs: 5000 });
    await topo.run('h', ['ip', 'addr', 'add', '2001:db8::77/64', 'dev', 'eth0', 'nodad']);
    await waitFor('2001:db8::77 new event', seen('new', '2001:db8::77'), { timeoutMs: 5000 });
    await topo.run('h', ['ip', 'addr', 'del', '2001:db8::77/64', 'dev', 'eth0']);
    await waitFor('2001:db8::77 del event', seen('del', '2001:db8::77'), { timeoutMs: 5000 });
    // Our own change is reported too: the kernel does not tell whose it was.
    await agent.call('addr.add', 'eth0', '192.0.2.78/32');
    await waitFor('192.0.2.78 new event', seen('new', '192.0.2.78'), { timeoutMs: 5000 });
    // An interface deleted with its address: the address goes with a 'del'.
    await topo.run('h', ['ip', 'link', 'add', 'dum9', 'type', 'veth', 'peer', 'name', 'dum9p']);
    await topo.run('h', ['ip', 'addr', 'add', '203.0.113.9/24', 'dev', 'dum9']);
    await waitFor('203.0.113.9 new event', seen('new', '203.0.113.9'), { timeoutMs: 5000 });
    await topo.run('h', ['ip', 'link', 'del', 'dum9']);
    await waitFor('203.0.113.9 del event on link deletion', seen('del', '203.0.113.9'), { timeoutMs: 5000 });
  });

  it('resolves generic netlink families, and says ENOENT for one that is absent', async () => {
    const f = await agent.call<{ id: number; name: string; mcastGroups: Record<string, number> }>('genl.family', 'nlctrl');
    assert.equal(f.id, 0x10);
    assert.equal(f.name, 'nlctrl');
    assert.equal(typeof f.mcastGroups.notify, 'number');
    // IPVS is not built into this host's kernel (TESTBED.md); the VM tests cover it.
    // (A name longer than GENL_NAMSIZ - 1 = 15 is refused earlier, with EINVAL.)
    const e = await agent.failure('genl.family', 'lvsdnofamily');
    assert.equal(e.code, 'ENOENT');
    assert.match(e.message, /CTRL_CMD_GETFAMILY generic netlink family "lvsdnofamily"/);
  });
});
