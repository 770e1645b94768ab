/**
 * A mixed pair: lvsd and keepalived 2.2 (Debian's package) as VRRP peers on
 * one bridge, both directions (lvsd master with keepalived backup and the
 * reverse), v2 (with PASS authentication) and v3, multicast and unicast.
 * Plus a keepalived pair on the same topology and settings as the baseline
 * for takeover times, printed next to lvsd's.
 */
import { strict as assert } from 'node:assert';
import { Topology, requireTestbed, waitFor } from '../lib/netns';
import {
  type InstanceSpec, Scratch, clientNeighbour, keepalivedConfig, lvsdConfig, lvsdStatus, startKeepalived, startLvsd, waitHolder,
} from '../lib/director';

const D = ['d1', 'd2'] as const;
const VIP = '192.0.2.100';

interface Case {
  version: 2 | 3;
  unicast: boolean;
  /** unicast_ttl on both sides: each must accept the other's adverts (no TTL check on unicast). */
  unicastTtl?: number;
}
const cases: Case[] = [
  { version: 3, unicast: false },
  { version: 2, unicast: false },
  { version: 3, unicast: true },
  { version: 2, unicast: true },
  { version: 3, unicast: true, unicastTtl: 64 },
];

function spec(c: Case, host: 'd1' | 'd2', priority: number): InstanceSpec {
  const me = host === 'd1' ? '192.0.2.11' : '192.0.2.12';
  const peer = host === 'd1' ? '192.0.2.12' : '192.0.2.11';
  return {
    priority, version: c.version, advertInt: 1, vips: [`${VIP}/24`],
    ...(c.version === 2 ? { authPass: 's3cret' } : {}),
    ...(c.unicast ? { unicastSrc: me, unicastPeers: [peer] } : {}),
    ...(c.unicastTtl !== undefined ? { unicastTtl: c.unicastTtl } : {}),
  };
}

async function topology(): Promise<{ topo: Topology; macs: Record<string, string> }> {
  const topo = await Topology.create('interop');
  const macs: Record<string, string> = {};
  for (const [h, n] of [['d1', 11], ['d2', 12], ['client', 50]] as const) macs[h] = await topo.addHost(h, [`192.0.2.${n}/24`]);
  return { topo, macs };
}

async function killAll(topo: Topology, host: string, signal: NodeJS.Signals): Promise<number> {
  const pids = await topo.pidsOf(host);
  assert.ok(pids.length, `nothing runs in ${host}`);
  const t0 = performance.now();
  for (const p of pids) process.kill(p, signal);
  return t0;
}

for (const c of cases) {
  const label = `v${c.version} ${c.unicast ? 'unicast' : 'multicast'}${c.unicastTtl !== undefined ? ` unicast_ttl ${c.unicastTtl}` : ''}`;
  for (const lvsdIsMaster of [true, false]) {
    describe(`interop with keepalived, ${label}: ${lvsdIsMaster ? 'lvsd master, keepalived backup' : 'keepalived master, lvsd backup'}`, function () {
      this.timeout(60_000);
      let topo: Topology;
      let macs: Record<string, string>;
      let scratch: Scratch;
      // d1 is the higher priority director.
      const lvsdHost = lvsdIsMaster ? 'd1' : 'd2';
      const kaHost = lvsdIsMaster ? 'd2' : 'd1';
      const socket = (): string => scratch.path('lvsd.sock');

      before(async () => {
        requireTestbed(['ip', 'keepalived']);
        ({ topo, macs } = await topology());
        scratch = new Scratch();
      });
      after(async () => {
        await topo?.destroy();
        scratch?.remove();
      });
      afterEach(function () {
        if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
      });

      it('elects the higher priority director, whichever implementation it runs', async () => {
        const prio = (h: string): number => (h === 'd1' ? 150 : 100);
        const t0 = performance.now();
        startKeepalived(topo, kaHost, scratch, keepalivedConfig(`ka-${kaHost}`, [spec(c, kaHost as 'd1' | 'd2', prio(kaHost))]));
        await startLvsd(topo, lvsdHost, scratch.file('lvsd.conf', lvsdConfig(`lvs-${lvsdHost}`, socket(), [spec(c, lvsdHost as 'd1' | 'd2', prio(lvsdHost))])), socket());
        await waitHolder(topo, D, VIP, 'd1', t0, 12_000);
        // A backup knows its master from the next advert it hears.
        if (!lvsdIsMaster) await waitFor('lvsd to see the master', async () => (await lvsdStatus(topo, lvsdHost, socket())).instances[0]!.master !== null, { timeoutMs: 3000 });
        const st = (await lvsdStatus(topo, lvsdHost, socket())).instances[0]!;
        assert.equal(st.state, lvsdIsMaster ? 'MASTER' : 'BACKUP');
        if (!lvsdIsMaster) assert.equal(st.master?.address, '192.0.2.11', 'lvsd sees keepalived as the master');
        const bad = Object.entries(st.drops).filter(([, n]) => n > 0);
        assert.deepEqual(bad, [], 'lvsd dropped none of keepalived\'s adverts');
        if (c.version === 3 && !lvsdIsMaster) assert.equal(st.peerChecksumForm, 'pseudo-header');
        assert.equal(await clientNeighbour(topo, 'client', VIP), macs.d1);
      });

      it('fails over to the other implementation when the master is killed -9', async () => {
        const t0 = await killAll(topo, 'd1', 'SIGKILL');
        const ms = await waitHolder(topo, D, VIP, 'd2', t0, 10_000, false);
        console.log(`      kill -9 of ${lvsdIsMaster ? 'lvsd' : 'keepalived'} → ${lvsdIsMaster ? 'keepalived' : 'lvsd'} holds the VIP after ${ms.toFixed(0)} ms`);
        assert.ok(ms < 3000 + 1000 * (156 / 256) + 400, `took ${ms.toFixed(0)} ms`);
        await waitFor('client neighbour entry at d2', async () => (await clientNeighbour(topo, 'client', VIP)) === macs.d2, { timeoutMs: 3000 });
      });
    });
  }
}

describe('takeover times side by side: an lvsd pair and a keepalived pair, v3 advert 1 s, priorities 150/100', function () {
  this.timeout(120_000);
  const results: Record<string, Record<string, number>> = { lvsd: {}, keepalived: {} };

  for (const impl of ['lvsd', 'keepalived'] as const) {
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      it(`${impl}: ${signal} of the master`, async () => {
        requireTestbed(['ip', 'keepalived']);
        const { topo } = await topology();
        const scratch = new Scratch();
        try {
          const c: Case = { version: 3, unicast: false };
          const t0 = performance.now();
          for (const h of ['d2', 'd1'] as const) {
            const s = spec(c, h, h === 'd1' ? 150 : 100);
            if (impl === 'keepalived') startKeepalived(topo, h, scratch, keepalivedConfig(`ka-${h}`, [s]));
            else await startLvsd(topo, h, scratch.file(`${h}.conf`, lvsdConfig(`lvs-${h}`, scratch.path(`${h}.sock`), [s])), scratch.path(`${h}.sock`));
          }
          await waitHolder(topo, D, VIP, 'd1', t0, 15_000);
          // Let the master settle past its GARP bursts, as an operator's pair would be.
          await new Promise((r) => setTimeout(r, 1500));
          const tk = await killAll(topo, 'd1', signal);
          const ms = await waitHolder(topo, D, VIP, 'd2', tk, 10_000, signal === 'SIGTERM');
          results[impl]![signal] = Math.round(ms);
          console.log(`      ${impl} ${signal}: backup holds the VIP after ${ms.toFixed(0)} ms`);
        } catch (e) {
          console.error(topo.diagnostics());
          throw e;
        } finally {
          await topo.destroy();
          scratch.remove();
        }
      });
    }
  }

  after(() => {
    console.log(`      takeover ms ${JSON.stringify(results)}`);
  });
});
