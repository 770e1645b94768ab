import * as assert from 'node:assert/strict';
import { FakeKernel } from '../../src/kernel/fake';
import type { LinkChange } from '../../src/kernel/links';
import { ERRNO, NetlinkError } from '../../src/kernel/netlink/errors';
import { AnnounceError } from '../../src/kernel/arp/sender';

describe('FakeKernel', () => {
  let k: FakeKernel;
  beforeEach(() => {
    k = new FakeKernel();
    k.addLink({ name: 'eth0', mac: '02:00:00:00:00:0a' });
  });

  it('adds and removes addresses with the kernel\'s tolerances, and records calls', async () => {
    assert.equal(await k.addresses.add('eth0', '192.0.2.1/24'), 'added');
    assert.equal(await k.addresses.add('eth0', '192.0.2.1/24'), 'existed');
    assert.equal(await k.addresses.add('eth0', '192.0.2.10/24'), 'added');
    assert.equal(await k.addresses.add('eth0', '2001:db8::10/64'), 'added');
    assert.deepEqual(k.addressesOf('eth0'), ['192.0.2.1/24', '192.0.2.10/24', '2001:db8::10/64']);
    const v4 = await k.addresses.list('eth0', 4);
    assert.deepEqual(v4.map((a) => [a.address, a.secondary]), [
      ['192.0.2.1', false],
      ['192.0.2.10', true],
    ]);
    assert.equal(await k.addresses.remove('eth0', '192.0.2.10/24'), 'removed');
    assert.equal(await k.addresses.remove('eth0', '192.0.2.10/24'), 'absent');
    assert.deepEqual(
      k.callsOf('addr.add').map((c) => c.args),
      [
        ['eth0', '192.0.2.1/24'],
        ['eth0', '192.0.2.1/24'],
        ['eth0', '192.0.2.10/24'],
        ['eth0', '2001:db8::10/64'],
      ],
    );
  });

  it('answers a missing interface with NetlinkError ENODEV, like the kernel', async () => {
    await assert.rejects(k.addresses.add('nosuch0', '192.0.2.1/24'), (e: unknown) => e instanceof NetlinkError && e.code === 'ENODEV' && /nosuch0/.test(e.message));
    await assert.rejects(k.addresses.list('nosuch0'), (e: unknown) => e instanceof NetlinkError && e.code === 'ENODEV');
  });

  it('finds the primary IPv4 and the link-local IPv6 source addresses', async () => {
    assert.equal(await k.addresses.primaryIPv4('eth0'), undefined);
    assert.equal(await k.addresses.linkLocalIPv6('eth0'), undefined);
    await k.addresses.add('eth0', '198.51.100.2/24');
    await k.addresses.add('eth0', '198.51.100.3/24');
    assert.equal(k.addresses.addLinkLocal('eth0'), 'fe80::ff:fe00:a');
    assert.equal(await k.addresses.primaryIPv4('eth0'), '198.51.100.2');
    assert.equal(await k.addresses.linkLocalIPv6('eth0'), 'fe80::ff:fe00:a');
  });

  it('simulates link changes and injected errors', async () => {
    const seen: LinkChange[] = [];
    const off = k.links.onChange((c) => seen.push(c));
    k.setLink('eth0', { lowerUp: false });
    k.setLink('eth0', { lowerUp: false }); // no change, no event
    k.setLink('eth0', { up: false });
    k.removeLink('eth0');
    off();
    k.addLink({ name: 'eth1' });
    assert.deepEqual(
      seen.map((c) => (c.kind === 'resync' ? 'resync' : `${c.kind}:${c.link.name}:${c.link.up}:${c.link.running}:${c.link.operstate}`)),
      ['new:eth0:true:false:lowerlayerdown', 'new:eth0:false:false:down', 'del:eth0:false:false:down'],
    );
    k.failNext('addr.add', new NetlinkError(ERRNO.EPERM, 'RTM_NEWADDR', 'x'));
    await assert.rejects(k.addresses.add('eth1', '192.0.2.1/32'), (e: unknown) => e instanceof NetlinkError && e.code === 'EPERM');
    assert.equal(await k.addresses.add('eth1', '192.0.2.1/32'), 'added');
  });

  it('records announcements and refuses a missing interface', async () => {
    assert.equal(await k.announcer.announce('eth0', ['192.0.2.1', '2001:db8::1/64']), 2);
    assert.deepEqual(k.announcer.sent.map((s) => s.vip), ['192.0.2.1', '2001:db8::1/64']);
    await assert.rejects(k.announcer.announce('nosuch0', ['192.0.2.1']), AnnounceError);
    await assert.rejects(k.announcer.announce('eth0', ['not-an-ip']), (e: unknown) => e instanceof AnnounceError && e.failures.length === 1);
  });
});
