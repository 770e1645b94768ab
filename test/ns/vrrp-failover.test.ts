/**
 * Two lvsd directors and a client on one bridge, in namespaces: election,
 * failover on kill -9 (within Master_Down_Interval) and SIGTERM (within
 * Skew_Time), preemption back and nopreempt, for IPv4/IPv6, v2/v3, multicast
 * and unicast, raw and udp transports. Root only; fails (never skips) without.
 */
import { strict as assert } from 'node:assert';
import { Topology, waitFor } from '../lib/netns';
import {
  type InstanceSpec, Scratch, clientNeighbour, holders, lvsdConfig, lvsdStatus, startLvsd, waitHolder,
} from '../lib/director';

const D = ['d1', 'd2'] as const;

/** Master_Down_Interval in ms for an effective priority (RFC 5798 §6.1 / RFC 3768 §6.1). */
function masterDown(version: 2 | 3, advertSec: number, prio: number): number {
  const skew = version === 2 ? (256 - prio) / 256 : ((256 - prio) * advertSec) / 256;
  return (3 * advertSec + skew) * 1000;
}

interface Variant {
  title: string;
  family: 4 | 6;
  version: 2 | 3;
  advertInt: number;
  unicast: boolean;
  transport: 'raw' | 'udp';
  /** Run the slower preempt/nopreempt checks too. */
  full?: boolean;
}

const variants: Variant[] = [
  { title: 'IPv4 v3 multicast raw, advert 1 s', family: 4, version: 3, advertInt: 1, unicast: false, transport: 'raw', full: true },
  { title: 'IPv6 v3 multicast raw, advert 0.1 s', family: 6, version: 3, advertInt: 0.1, unicast: false, transport: 'raw' },
  { title: 'IPv4 v2 multicast raw, advert 1 s', family: 4, version: 2, advertInt: 1, unicast: false, transport: 'raw' },
  { title: 'IPv4 v3 unicast raw, advert 0.1 s', family: 4, version: 3, advertInt: 0.1, unicast: true, transport: 'raw' },
  { title: 'IPv6 v3 unicast raw, advert 0.1 s', family: 6, version: 3, advertInt: 0.1, unicast: true, transport: 'raw' },
  { title: 'IPv4 v3 unicast udp, advert 0.1 s', family: 4, version: 3, advertInt: 0.1, unicast: true, transport: 'udp' },
  { title: 'IPv6 v3 unicast udp, advert 0.1 s', family: 6, version: 3, advertInt: 0.1, unicast: true, transport: 'udp' },
];

for (const v of variants) {
  describe(`VRRP failover between two lvsd directors: ${v.title}`, function () {
    this.timeout(120_000);
    let topo: Topology;
    let scratch: Scratch;
    const addr = (n: number): string => (v.family === 4 ? `192.0.2.${n}` : `2001:db8::${n}`);
    const plen = v.family === 4 ? 24 : 64;
    const vip = addr(100);
    const macs: Record<string, string> = {};
    const sockets = { d1: '', d2: '' };
    const configs = { d1: '', d2: '' };

    function spec(host: 'd1' | 'd2', priority: number, extra: Partial<InstanceSpec> = {}): InstanceSpec {
      const me = host === 'd1' ? addr(11) : addr(12);
      const peer = host === 'd1' ? addr(12) : addr(11);
      return {
        priority, version: v.version, advertInt: v.advertInt, vips: [`${vip}/${plen}`],
        ...(v.unicast ? { unicastSrc: me, unicastPeers: [peer] } : {}),
        ...(v.transport === 'udp' ? { transport: 'udp' as const } : {}),
        ...extra,
      };
    }

    function writeConfigs(p1: Partial<InstanceSpec> = {}, p2: Partial<InstanceSpec> = {}): void {
      for (const h of D) {
        sockets[h] = scratch.path(`${h}.sock`);
        const s = h === 'd1' ? spec('d1', 150, p1) : spec('d2', 100, p2);
        configs[h] = scratch.file(`${h}.conf`, lvsdConfig(`lvs-${h}`, sockets[h], [s]));
      }
    }

    before(async () => {
      topo = await Topology.create('vrrp');
      scratch = new Scratch();
      for (const [h, n] of [['d1', 11], ['d2', 12], ['client', 50]] as const) {
        const cidrs = [`192.0.2.${n}/24`, `2001:db8::${n}/64`];
        macs[h] = await topo.addHost(h, cidrs);
      }
    });
    after(async () => {
      await topo?.destroy();
      scratch?.remove();
    });
    afterEach(async function () {
      if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
    });

    it('elects the higher priority as master; the client reaches the VIP at its MAC', async () => {
      writeConfigs();
      const t0 = performance.now();
      await startLvsd(topo, 'd2', configs.d2, sockets.d2);
      await startLvsd(topo, 'd1', configs.d1, sockets.d1);
      await waitHolder(topo, D, vip, 'd1', t0, masterDown(v.version, v.advertInt, 100) * 2 + 5000);
      const s2 = await lvsdStatus(topo, 'd2', sockets.d2);
      assert.equal(s2.instances[0]!.state, 'BACKUP');
      const s1 = await lvsdStatus(topo, 'd1', sockets.d1);
      assert.equal(s1.instances[0]!.state, 'MASTER');
      assert.ok(s1.instances[0]!.lastTransition?.reason, 'the transition records its reason');
      assert.equal(await clientNeighbour(topo, 'client', vip), macs.d1);
    });

    it('moves the VIP to the backup within Master_Down_Interval when the master is killed -9', async () => {
      const t0 = await signalDaemon(topo, 'd1', 'SIGKILL');
      const elapsed = await waitHolder(topo, D, vip, 'd2', t0, 10_000, false);
      const bound = masterDown(v.version, v.advertInt, 100);
      console.log(`      kill -9 → backup holds the VIP after ${elapsed.toFixed(0)} ms (Master_Down_Interval ${bound.toFixed(0)} ms)`);
      // The bound plus the polling and process-start slack of this test bed.
      assert.ok(elapsed < bound + 400, `took ${elapsed.toFixed(0)} ms, Master_Down_Interval is ${bound.toFixed(0)} ms`);
      await waitFor('client ARP/ND entry at the new master', async () => (await clientNeighbour(topo, 'client', vip)) === macs.d2, { timeoutMs: 3000 });
    });

    it('preempts back when the higher priority director returns', async () => {
      await gone(topo, 'd1');
      const t0 = performance.now();
      await startLvsd(topo, 'd1', configs.d1, sockets.d1);
      // kill -9 left the VIP on d1; the restarted lvsd clears it while it is BACKUP.
      if (v.advertInt >= 1) {
        const s1 = await lvsdStatus(topo, 'd1', sockets.d1);
        if (s1.instances[0]!.state === 'BACKUP') assert.deepEqual(await holders(topo, D, vip), ['d2'], 'a restarted backup holds no stale VIP');
      }
      await waitHolder(topo, D, vip, 'd1', t0, masterDown(v.version, v.advertInt, 150) + 5000);
      assert.equal((await lvsdStatus(topo, 'd2', sockets.d2)).instances[0]!.state, 'BACKUP');
      await waitFor('client ARP/ND entry back at d1', async () => (await clientNeighbour(topo, 'client', vip)) === macs.d1, { timeoutMs: 3000 });
    });

    it('moves the VIP within Skew_Time when the master stops with SIGTERM (priority 0)', async () => {
      const t0 = await signalDaemon(topo, 'd1', 'SIGTERM');
      const elapsed = await waitHolder(topo, D, vip, 'd2', t0, 10_000);
      const skew = masterDown(v.version, v.advertInt, 100) - 3000 * v.advertInt;
      console.log(`      SIGTERM → backup holds the VIP after ${elapsed.toFixed(0)} ms (Skew_Time ${skew.toFixed(0)} ms)`);
      assert.ok(elapsed < skew + 400, `took ${elapsed.toFixed(0)} ms, Skew_Time is ${skew.toFixed(0)} ms`);
      assert.deepEqual(await holders(topo, D, vip), ['d2'], 'the stopped master removed its VIP');
    });

    if (v.full) {
      it('does not preempt with nopreempt', async () => {
        await signalDaemon(topo, 'd2', 'SIGTERM');
        await gone(topo, 'd2');
        await gone(topo, 'd1');
        writeConfigs({ nopreempt: true }, { nopreempt: true });
        await startLvsd(topo, 'd2', configs.d2, sockets.d2);
        const t0 = performance.now();
        await waitHolder(topo, D, vip, 'd2', t0, masterDown(v.version, v.advertInt, 100) + 5000);
        await startLvsd(topo, 'd1', configs.d1, sockets.d1);
        // Longer than d1's Master_Down_Interval: it would have taken over by now.
        await new Promise((r) => setTimeout(r, masterDown(v.version, v.advertInt, 150) + 1500));
        assert.deepEqual(await holders(topo, D, vip), ['d2']);
        assert.equal((await lvsdStatus(topo, 'd1', sockets.d1)).instances[0]!.state, 'BACKUP');
      });
    }
  });
}

/** Signals every process in `host`; returns the moment of the signal. */
async function signalDaemon(topo: Topology, host: string, signal: NodeJS.Signals): Promise<number> {
  const pids = await topo.pidsOf(host);
  assert.ok(pids.length > 0, `no process runs in ${host}`);
  const t0 = performance.now();
  for (const pid of pids) process.kill(pid, signal);
  return t0;
}

/** Waits until nothing runs in `host` any more. */
async function gone(topo: Topology, host: string): Promise<void> {
  await waitFor(`every process in ${host} to exit`, async () => (await topo.pidsOf(host)).length === 0, { timeoutMs: 5000, intervalMs: 20 });
}
