/**
 * `npm run demo -- --mode proxy`: a director pair failing over, live, on this
 * machine, without IPVS.
 *
 * Builds a client, two lvsd directors and two real servers in network
 * namespaces ({@link DemoCluster}), lets the directors elect a master, sends
 * a request to the VIP every 250 ms and prints each answer (which director,
 * which real server) as it comes, kills the master with -9, measures how
 * long the client goes without an answer, restarts the old master (it
 * preempts back) and prints the failover timeline from `lvsctl events` of
 * both directors. Cleans up on every exit: success, error, Ctrl-C, SIGTERM.
 *
 * No IPVS here: each director serves the VIP with a small HTTP proxy
 * (standin.ts) forwarding round-robin to the real servers, so this runs on
 * any kernel with network namespaces, quickly, without the VM.
 *
 * Exit status: 0 when the whole story happened, 1 when a step did not
 * (the message says which), 128+N on signal N.
 */
import * as path from 'node:path';
import type { EventRecord } from '../../src/control/types';
import { clientNeighbour, holders, lvsdStatus } from '../lib/director';
import { type DemoOptions, masterDownMs } from './args';
import type { ClientResult } from './client';
import { ADDR, DIRECTORS, type DirectorName, DemoCluster, PORT, PRIORITY, REALS, VRID } from './cluster';
import { ClientStory, REQUEST_INTERVAL_MS } from './live-client';
import { DemoStepError, out, printTimeline, runGuarded } from './output';
import type { StandinAnswer } from './standin';

/** How often the VIP's holders are looked up for the narrative. */
const HOLDER_POLL_MS = 250;

/** What the client saw, tallied for the summary. */
interface Tally {
  sent: number;
  noAnswer: number;
  byDirector: Record<string, number>;
  byReal: Record<string, number>;
}

/** The running story: the clock, the live client and what it has seen. */
class Story extends ClientStory {
  readonly tally: Tally = { sent: 0, noAnswer: 0, byDirector: {}, byReal: {} };
  private waiters: Array<{ director: string; since: number; resolve: (at: number) => void }> = [];
  private holderText = '';
  private watching = false;

  constructor(private readonly cluster: DemoCluster) {
    super();
  }

  /** Starts the client in its namespace; each result is printed as it arrives. */
  startClient(): void {
    this.startClientAt(`http://${ADDR.vip}:${PORT}/`, (argv) => this.cluster.topo.spawn('client', argv));
  }

  protected override onResult(r: ClientResult, at: number): void {
    this.tally.sent++;
    const seq = `#${String(r.seq).padStart(3, '0')}`;
    const a = r.answer as StandinAnswer | undefined;
    if (r.error !== undefined || !a || typeof a.director !== 'string') {
      this.tally.noAnswer++;
      const why = r.error ?? `HTTP ${r.status}`;
      out(`${this.stamp(at)}  ${seq}  no answer           (${why}, ${r.ms} ms)`);
      return;
    }
    this.tally.byDirector[a.director] = (this.tally.byDirector[a.director] ?? 0) + 1;
    const real = a.real ? `${a.real.server} (${a.real.addr})` : `no real server (${a.error ?? 'error'})`;
    if (a.real) this.tally.byReal[a.real.server] = (this.tally.byReal[a.real.server] ?? 0) + 1;
    out(`${this.stamp(at)}  ${seq}  answered by ${a.director} · served by ${real}  ${r.ms} ms`);
    this.waiters = this.waiters.filter((w) => {
      if (w.director !== a.director || at < w.since) return true;
      w.resolve(at);
      return false;
    });
  }

  /** Resolves with performance.now() of the first answer from `director` after `since`. */
  firstAnswerFrom(director: DirectorName, since: number, timeoutMs: number, what: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new DemoStepError(`no answer from ${director} within ${timeoutMs} ms: ${what}`)), timeoutMs);
      this.waiters.push({ director, since, resolve: (at) => (clearTimeout(timer), resolve(at)) });
    });
  }

  /** Prints a line whenever the set of directors holding the VIP changes. */
  watchHolders(): void {
    this.watching = true;
    const poll = async (): Promise<void> => {
      while (this.watching) {
        try {
          const h = (await holders(this.cluster.topo, DIRECTORS, ADDR.vip)).join(' + ') || 'nobody';
          if (h !== this.holderText) {
            this.holderText = h;
            if (this.watching) this.say(`── VIP ${ADDR.vip} is now on: ${h}`);
          }
        } catch {
          /* a namespace going away during cleanup */
        }
        await new Promise((r) => setTimeout(r, HOLDER_POLL_MS));
      }
    };
    void poll();
  }

  stopWatching(): void {
    this.watching = false;
  }

  /** The client's ARP entry for the VIP, with the owner of that MAC. */
  async clientArp(): Promise<string> {
    const mac = await clientNeighbour(this.cluster.topo, 'client', ADDR.vip);
    return `${mac ?? 'none'}${mac ? ` (${this.cluster.ownerOf(mac) ?? 'unknown'}'s eth0)` : ''}`;
  }
}

function topologySummary(cluster: DemoCluster, opts: DemoOptions): void {
  const md = (d: DirectorName): string => (masterDownMs(opts.advertInt, PRIORITY[d]) / 1000).toFixed(2);
  out(`  client ${ADDR.client} ──┐ br0 (front, 192.0.2.0/24)          br1 (inside, 198.51.100.0/24)`);
  out(`                        ├── d1 eth0 ${ADDR.d1}  prio ${PRIORITY.d1}  eth1 ${ADDR.d1Inside} ──┬── rs1 ${ADDR.rs1}:${PORT}`);
  out(`                        └── d2 eth0 ${ADDR.d2}  prio ${PRIORITY.d2}  eth1 ${ADDR.d2Inside} ──┴── rs2 ${ADDR.rs2}:${PORT}`);
  out();
  out(`  VRRP: version 3, VRID ${VRID}, advert_int ${opts.advertInt} s, multicast 224.0.0.18 on eth0, both start as BACKUP;`);
  out(`        VIP ${ADDR.vip}/24; Master_Down_Interval d1 ${md('d1')} s, d2 ${md('d2')} s (3 × advert_int + Skew_Time)`);
  out('  Service: --mode proxy uses no IPVS: each director serves the VIP with a small HTTP');
  out(`        proxy (node http) that forwards round-robin to rs1/rs2 over eth1 — a stand-in for IPVS.`);
  out('        (npm run demo -- --mode nat|dr|tun shows the same pair driving real IPVS)');
  out(`  Client: GET http://${ADDR.vip}:${PORT}/ every ${REQUEST_INTERVAL_MS} ms, a new connection each, 1 s deadline.`);
  out(`  Namespaces: ${cluster.namespaces().join(' ')}`);
  out();
}

/** Merges both directors' events and the demo's markers into one printed timeline. */
function printFailoverTimeline(story: Story, events: Array<{ host: string; e: EventRecord }>): void {
  printTimeline('failover timeline (lvsctl --json events of d1 and d2, and the demo\'s own actions):', story.wall0, [
    ...events.map(({ host, e }) => ({ at: e.at, text: `${host}  ${e.instance}  ${e.from.padEnd(6)} → ${e.to.padEnd(6)}  ${e.reason}` })),
    ...story.markers.map((m) => ({ at: m.at, text: `──  ${m.text}` })),
  ]);
}

/** The whole story; throws {@link DemoStepError} when a step does not happen. */
async function tell(cluster: DemoCluster, opts: DemoOptions): Promise<void> {
  const start = performance.now();
  out('lvsd demo: a director pair failing over, in network namespaces on this machine');
  out('building the topology (6 namespaces, 2 bridges)…');
  out();
  await cluster.build();
  topologySummary(cluster, opts);
  await cluster.startRealServers();
  for (const d of DIRECTORS) await cluster.startStandin(d);
  out(`real servers and stand-ins up after ${((performance.now() - start) / 1000).toFixed(1)} s; the story begins (times are since now)`);
  out();

  const story = new Story(cluster);
  story.startClient();
  story.watchHolders();
  const mdD1 = masterDownMs(opts.advertInt, PRIORITY.d1);
  const mdD2 = masterDownMs(opts.advertInt, PRIORITY.d2);

  // Act 1: election. Both start as BACKUP; d1's shorter Master_Down_Interval
  // (RFC 5798 §6.4.2) makes it master, and nobody holds the VIP until then.
  story.mark('starting lvsd on d1, then on d2: electing…');
  story.say('(until a master adds the VIP, nobody answers ARP for it and requests fail)');
  const tStart = performance.now();
  // One after the other: d1's Master_Down timer starts first and is the shorter, so the
  // election does not hang on which of two parallel starts a loaded machine favours
  // (started together, d2 was master first about one run in four).
  for (const d of DIRECTORS) await cluster.startLvsd(d);
  await story.firstAnswerFrom('d1', tStart, mdD1 * 2 + 10_000, 'the election');
  const s1 = await lvsdStatus(cluster.topo, 'd1', cluster.socket('d1'));
  const s2 = await lvsdStatus(cluster.topo, 'd2', cluster.socket('d2'));
  story.say(`elected: d1 is ${s1.instances[0]!.state} (priority ${s1.instances[0]!.effectivePriority}), d2 is ${s2.instances[0]!.state} (priority ${s2.instances[0]!.effectivePriority}); client's ARP for the VIP: ${await story.clientArp()}`);
  await story.calm(opts.calmMs);

  // Act 2: the master crashes. Its events survive it (state_dir), so they
  // are read once, after its restart.
  story.say('killing the master d1 (kill -9 of lvsd and of its stand-in, as if the box had crashed)…');
  const tKill = await cluster.crash('d1');
  story.mark('d1 killed (SIGKILL)', tKill);
  const noAnswerBefore = story.tally.noAnswer;
  const tTakeover = await story.firstAnswerFrom('d2', tKill, mdD2 * 2 + 5000, 'the takeover');
  const gap = tTakeover - tKill;
  story.say(`takeover: first answer from d2 ${gap.toFixed(0)} ms after the kill (d2's Master_Down_Interval is ${mdD2.toFixed(0)} ms); ${story.tally.noAnswer - noAnswerBefore} requests got no answer meanwhile`);
  story.say(`client's ARP for the VIP now: ${await story.clientArp()} (d2's gratuitous ARP moved it; d1's kernel still has the address: kill -9 left it there)`);
  await story.calm(opts.calmMs);

  // Act 3: the old master returns and preempts (RFC 5798 §6.4.2: a backup
  // with preempt ignores adverts of lower priority and takes over when its
  // Master_Down_Interval runs out).
  story.mark('restarting the old master d1 (stand-in, then lvsd)…');
  const tRestart = performance.now();
  const noAnswerBeforeRestart = story.tally.noAnswer;
  await cluster.startStandin('d1');
  await cluster.startLvsd('d1');
  const tBack = await story.firstAnswerFrom('d1', tRestart, mdD1 * 2 + 10_000, 'the preemption');
  story.say(`preempted: d1 answers again ${(tBack - tRestart).toFixed(0)} ms after the restart (lvsd start-up + d1's Master_Down_Interval ${mdD1.toFixed(0)} ms); ${story.tally.noAnswer - noAnswerBeforeRestart} requests got no answer meanwhile`);
  const s2b = await lvsdStatus(cluster.topo, 'd2', cluster.socket('d2'));
  story.say(`d2 is ${s2b.instances[0]!.state} again; client's ARP for the VIP: ${await story.clientArp()}`);
  await story.calm(Math.min(opts.calmMs, 1500));
  story.stopWatching();
  await story.stopClient();

  const events = [
    ...(await cluster.events('d2')).map((e) => ({ host: 'd2', e })),
    ...(await cluster.events('d1')).map((e) => ({ host: 'd1', e })),
  ];
  const t = story.tally;
  out();
  printFailoverTimeline(story, events);
  const per = (o: Record<string, number>, keys: readonly string[]): string => keys.map((k) => `${k} ${o[k] ?? 0}`).join(', ');
  out(`requests: ${t.sent} — answered by ${per(t.byDirector, DIRECTORS)}; served by ${per(t.byReal, REALS)}; no answer ${t.noAnswer}`);
  out(`failover gap (kill -9 → first answer from d2): ${gap.toFixed(0)} ms`);
  out(`story told in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}

function keepHints(cluster: DemoCluster): void {
  const ns = (h: string): string => cluster.topo.ns(h);
  out();
  out('--keep: the topology stays up until Ctrl-C. Try:');
  out(`  ip netns exec ${ns('client')} curl -s http://${ADDR.vip}/`);
  for (const d of DIRECTORS) out(`  ip netns exec ${ns(d)} ${process.execPath} ${path.resolve(__dirname, '../../../bin/lvsctl')} --socket ${cluster.socket(d)} status`);
  out(`  ip netns exec ${ns('d1')} tcpdump -vv -n -i eth0 proto 112`);
}

/**
 * Runs the proxy demo with `opts`; resolves with the exit status (0: the
 * whole story happened, 1: a step did not). Cleans up on every exit.
 */
export async function runProxyDemo(opts: DemoOptions): Promise<number> {
  const cluster = new DemoCluster(opts.advertInt);
  return runGuarded({
    body: async () => {
      await tell(cluster, opts);
      if (opts.keep) {
        keepHints(cluster);
        // Only a signal ends this; the timer keeps the event loop alive.
        setInterval(() => undefined, 1 << 30);
        await new Promise<never>(() => undefined);
      }
    },
    cleanup: () => cluster.destroy(),
    diagnostics: () => cluster.topo.diagnostics().slice(-6000),
  });
}
