/**
 * PacketAnnouncer against real peers: two namespaces on a bridge; one sends
 * gratuitous ARPs and unsolicited NAs, the other captures them (tcpdump) and
 * its neighbour cache follows. Root only; fails (never skips) without.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Topology, exec, waitFor } from '../lib/netns';
import { Agent } from '../kernel/agent-client';
import { ARPOP, decodeArp, decodeNa } from '../../src/kernel/arp/packet';
import { formatIp, formatMac } from '../../src/kernel/rtnl/inet';

/** The frames of a classic pcap file (LINKTYPE_ETHERNET). */
function pcapFrames(file: string): Uint8Array[] {
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const out: Uint8Array[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const incl = u32(off + 8);
    if (off + 16 + incl > b.length) break;
    out.push(Uint8Array.from(b.subarray(off + 16, off + 16 + incl)));
    off += 16 + incl;
  }
  return out;
}

interface Neigh {
  dst: string;
  lladdr?: string;
  state: string[];
}

const BOGUS_MAC = '02:00:00:00:00:99';

describe('gratuitous ARP and unsolicited NA between namespaces (root)', function () {
  this.timeout(30_000);
  let topo: Topology;
  let agent: Agent;
  let macA: string;
  const pcap = path.join(os.tmpdir(), `lvsd-arp-${process.pid}-${Date.now()}.pcap`);

  before(async () => {
    if ((await exec(['sh', '-c', 'command -v tcpdump'])).code !== 0) {
      const r = await exec(['apt-get', 'install', '-y', 'tcpdump'], { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`this test needs tcpdump and could not install it: ${r.stderr}`);
    }
    topo = await Topology.create('lvsda');
    macA = await topo.addHost('a', ['192.0.2.1/24', '2001:db8::1/64']);
    await topo.addHost('b', ['192.0.2.2/24', '2001:db8::2/64']);
    agent = await Agent.start(topo, 'a');
  });
  after(async () => {
    await topo?.destroy();
    rmSync(pcap, { force: true });
  });

  const neigh = async (family: '-4' | '-6', ip: string): Promise<Neigh | undefined> => {
    const all = JSON.parse(await topo.run('b', ['ip', '-j', family, 'neigh', 'show', 'dev', 'eth0'])) as Neigh[];
    return all.find((n) => n.dst === ip);
  };

  it('peer captures one well-formed frame per VIP and updates existing neighbour entries to our MAC', async () => {
    // Existing entries pointing elsewhere: an announcement must move them (RFC 5798 §6.4.2).
    await topo.run('b', ['ip', 'neigh', 'replace', '192.0.2.50', 'lladdr', BOGUS_MAC, 'dev', 'eth0', 'nud', 'stale']);
    await topo.run('b', ['ip', '-6', 'neigh', 'replace', '2001:db8::50', 'lladdr', BOGUS_MAC, 'dev', 'eth0', 'nud', 'stale']);
    assert.equal((await neigh('-4', '192.0.2.50'))?.lladdr, BOGUS_MAC);

    const dump = topo.spawn('b', ['tcpdump', '-n', '-U', '--immediate-mode', '-i', 'eth0', '-w', pcap, 'arp or icmp6']);
    await waitFor('tcpdump listening', () => /listening on/.test(dump.output()), { timeoutMs: 10_000 });

    const sent = await agent.call<number>('announce', 'eth0', ['192.0.2.50/24', '2001:db8::50', '192.0.2.51', '2001:db8::51/64']);
    assert.equal(sent, 4);

    await waitFor('IPv4 entry moved to the announcer', async () => (await neigh('-4', '192.0.2.50'))?.lladdr === macA, { timeoutMs: 5000 });
    await waitFor('IPv6 entry moved to the announcer', async () => (await neigh('-6', '2001:db8::50'))?.lladdr === macA, { timeoutMs: 5000 });

    // Without an entry, neither creates one (arp_accept=0; RFC 4861 §7.2.5: an unsolicited NA only updates).
    assert.equal(await neigh('-4', '192.0.2.51'), undefined);
    assert.equal(await neigh('-6', '2001:db8::51'), undefined);

    await new Promise((r) => setTimeout(r, 200));
    dump.child.kill('SIGINT');
    await dump.exited;
    const all = pcapFrames(pcap);
    assert.ok(all.length > 0, `tcpdump captured nothing: ${topo.diagnostics()}`);
    const frames = all.filter((f) => formatMac(f.subarray(6, 12)) === macA);
    const arps = frames.filter((f) => f[12] === 0x08 && f[13] === 0x06).map(decodeArp);
    const nas = frames.filter((f) => f[12] === 0x86 && f[13] === 0xdd && f[54] === 136).map(decodeNa); // decodeNa checks the checksum
    assert.deepEqual(
      arps.map((a) => [a.op, formatIp(a.senderIp), formatIp(a.targetIp), formatMac(a.senderMac), formatMac(a.targetMac), formatMac(a.ethDst)]),
      ['192.0.2.50', '192.0.2.51'].map((ip) => [ARPOP.REQUEST, ip, ip, macA, 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff']),
      topo.diagnostics(),
    );
    assert.deepEqual(
      nas.map((n) => [formatIp(n.target), formatIp(n.ipSrc), formatIp(n.ipDst), n.hopLimit, n.override, n.solicited, formatMac(n.targetMac!), formatMac(n.ethDst)]),
      ['2001:db8::50', '2001:db8::51'].map((ip) => [ip, ip, 'ff02::1', 255, true, false, macA, '33:33:00:00:00:01']),
    );
    // tcpdump's own decoder agrees the ICMPv6 checksum is good.
    const text = await topo.run('b', ['tcpdump', '-n', '-vv', '-r', pcap, 'icmp6']);
    assert.match(text, /neighbor advertisement, length 32, tgt is 2001:db8::50, Flags \[override\]/);
    assert.doesNotMatch(text, /bad icmp6 cksum/);
  });

  it('refuses to announce on a missing interface, with a clear error', async () => {
    const e = await agent.failure('announce', 'nosuch0', ['192.0.2.50']);
    assert.equal(e.code, 'ERR_ANNOUNCE');
    assert.match(e.message, /"nosuch0": no such interface/);
  });
});
