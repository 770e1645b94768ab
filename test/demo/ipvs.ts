/**
 * The IPVS demo story, on a kernel that has IPVS (the VM test bed, or any
 * machine whose kernel has CONFIG_IP_VS): lvsd drives the kernel's IPVS in
 * one of LVS-NAT, LVS-DR, LVS-TUN ({@link IpvsCluster}).
 *
 *   1. both directors start as BACKUP; d1 (priority 150) becomes MASTER and
 *      requests spread over rs1, rs2 and rs3 (round-robin);
 *   2. rs3's web server is killed: the health check takes it out of the
 *      table (the demo says when `ipvsadm -Ln` stops listing it) and the
 *      requests go on to rs1 and rs2;
 *   3. the master d1 dies (kill -9 of lvsd, links down): d2 takes over and
 *      the requests go on through it;
 *   4. the failover timeline from lvsctl events of both directors.
 *
 * A live line per request says which real server served it. Exit status 0
 * when the whole story happened, 1 when a step did not (stderr says which).
 */
import { createInterface } from 'node:readline';
import * as path from 'node:path';
import type { EventRecord } from '../../src/control/types';
import { requireTestbed, waitFor } from '../lib/netns';
import { type DemoOptions, type IpvsMode, masterDownMs } from './args';
import type { ClientResult } from './client';
import { type ClusterProcess, DIRECTORS, type DirectorName, IpvsCluster, PORT, PRIORITY, REALS, type RealName } from './ipvs-cluster';
import { ClientStory, REQUEST_INTERVAL_MS } from './live-client';
import { DemoStepError, out, printTimeline, runGuarded } from './output';
import type { RealServerAnswer } from './realserver';

/** How often the directors' VRRP states are read for the narrative. */
const STATE_POLL_MS = 250;
/** Generous limits: under the VM's software emulation a node start alone takes seconds. */
const START_TIMEOUT_MS = 300_000;

/** What the client saw, tallied for the summary. */
interface Tally {
  sent: number;
  noAnswer: number;
  byReal: Record<string, number>;
}

/** A wait for an answer matching a predicate. */
interface Waiter {
  readonly since: number;
  readonly want: (real: string) => boolean;
  readonly resolve: (at: number) => void;
}

/** The running story: the clock, the live client, the watchers. */
class IpvsStory extends ClientStory {
  readonly tally: Tally = { sent: 0, noAnswer: 0, byReal: {} };
  /** performance.now() of each answer, with its real server. */
  readonly answers: Array<{ at: number; real: string }> = [];
  private waiters: Waiter[] = [];
  private watching = false;
  private stateText = '';
  /** Last VRRP state per director, as the watcher read it. */
  readonly states: Record<string, string> = {};

  constructor(private readonly cluster: IpvsCluster) {
    super();
  }

  /** Starts the client in its namespace; each result is printed as it arrives. */
  startClient(): void {
    this.startClientAt(`http://${this.cluster.plan.vip}:${PORT}/`, (argv) => this.cluster.spawn('client', argv, 'client'));
  }

  protected override onResult(r: ClientResult, at: number): void {
    this.tally.sent++;
    const seq = `#${String(r.seq).padStart(3, '0')}`;
    const a = r.answer as RealServerAnswer | undefined;
    if (r.error !== undefined || !a || typeof a.server !== 'string') {
      this.tally.noAnswer++;
      out(`${this.stamp(at)}  ${seq}  no answer            (${r.error ?? `HTTP ${r.status}`}, ${r.ms} ms)`);
      return;
    }
    this.tally.byReal[a.server] = (this.tally.byReal[a.server] ?? 0) + 1;
    this.answers.push({ at, real: a.server });
    out(`${this.stamp(at)}  ${seq}  served by ${a.server} (${a.addr})  ${r.ms} ms`);
    this.waiters = this.waiters.filter((w) => {
      if (at < w.since || !w.want(a.server)) return true;
      w.resolve(at);
      return false;
    });
  }

  /** Resolves with performance.now() of the first answer after `since` whose real server passes `want`. */
  answer(since: number, timeoutMs: number, what: string, want: (real: string) => boolean = () => true): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new DemoStepError(`no answer within ${timeoutMs} ms: ${what}`)), timeoutMs);
      this.waiters.push({ since, want, resolve: (at) => (clearTimeout(timer), resolve(at)) });
    });
  }

  /** Waits until `n` answers came after `since`. */
  async answersAfter(n: number, since: number, timeoutMs: number, what: string): Promise<void> {
    for (let i = 0; i < n; i++) since = (await this.answer(since, timeoutMs, what)) + 0.001;
  }

  /** Prints each director's lvsd "real server UP/DOWN" log lines as they come. */
  watchLvsdLog(d: DirectorName, p: ClusterProcess): void {
    const each = (line: string): void => {
      const m = /real server (UP|DOWN)\b.*?\brs=(\S+).*?\baddress=(\S+)(?:.*?\breason=(.*))?$/.exec(line);
      if (m) this.say(`   ${d} lvsd: real server ${m[1]} ${m[2]} ${m[3]}${m[4] ? ` (${m[4].trim().replace(/^"|"$/g, '')})` : ''}`);
    };
    createInterface({ input: p.child.stdout! }).on('line', each);
    createInterface({ input: p.child.stderr! }).on('line', each);
  }

  /** Prints a line whenever the directors' VRRP states change. */
  watchStates(): void {
    this.watching = true;
    const read = async (d: DirectorName): Promise<string> => {
      try {
        const s = await this.cluster.status(d);
        const states = [...new Set(s.instances.map((i) => i.state))];
        return states.length === 1 ? states[0]! : s.instances.map((i) => `${i.name} ${i.state}`).join('/');
      } catch {
        return 'not answering';
      }
    };
    const poll = async (): Promise<void> => {
      while (this.watching) {
        const now = await Promise.all(DIRECTORS.map(read));
        DIRECTORS.forEach((d, i) => (this.states[d] = now[i]!));
        const text = DIRECTORS.map((d, i) => `${d} ${now[i]}`).join(' · ');
        if (text !== this.stateText && this.watching) {
          this.stateText = text;
          this.say(`── VRRP: ${text}`);
        }
        await new Promise((r) => setTimeout(r, STATE_POLL_MS));
      }
    };
    void poll();
  }

  stopWatching(): void {
    this.watching = false;
  }

  /** Waits until the watcher saw director `d` in `state`; returns performance.now() then. */
  async state(d: DirectorName, state: string, timeoutMs: number, what: string): Promise<number> {
    try {
      await waitFor(what, () => this.states[d] === state, { timeoutMs, intervalMs: 50 });
    } catch {
      throw new DemoStepError(`${what}: not seen within ${timeoutMs} ms (${d} is ${this.states[d] ?? 'unknown'})`);
    }
    return performance.now();
  }
}

/** The real-server lines of an `ipvsadm -Ln` listing (`  -> ADDR:PORT ...`). */
export function tableReals(listing: string): string[] {
  return listing.split('\n').filter((l) => /^ {2}-> \d/.test(l)).map((l) => l.trim().split(/\s+/)[1]!);
}

/** Prints an `ipvsadm -Ln` listing, indented. */
function printTable(title: string, listing: string): void {
  out(`         ${title}`);
  for (const l of listing.trimEnd().split('\n')) out(`         │ ${l}`);
}

function summary(cluster: IpvsCluster, opts: DemoOptions): void {
  const p = cluster.plan;
  const md = (d: DirectorName): string => (masterDownMs(opts.advertInt, PRIORITY[d]) / 1000).toFixed(2);
  for (const l of p.picture) out(l);
  out(`  VRRP: version 3, advert_int ${opts.advertInt} s, both directors start as BACKUP; Master_Down_Interval`);
  out(`        d1 ${md('d1')} s, d2 ${md('d2')} s (3 × advert_int + Skew_Time): d1 wins the election`);
  out(`  IPVS: virtual server ${p.vip}:${PORT} TCP, rr, lb_kind ${p.mode.toUpperCase()}; TCP_CHECK every 1 s on each real server`);
  out(`        (${REALS.map((r) => `${r} ${p.reals[r]}:${PORT}`).join(', ')}; busybox httpd answering its name)`);
  out(`  Client: GET http://${p.vip}:${PORT}/ every ${REQUEST_INTERVAL_MS} ms, a new connection each, 1 s deadline.`);
  out(`  Namespaces: ${cluster.namespaces().join(' ')}`);
  out();
}

/** Polls `ipvsadm -Ln` of d until `rs`'s address is (present) or is not (!present) listed; returns performance.now(). */
async function waitTable(cluster: IpvsCluster, d: DirectorName, pred: (reals: string[]) => boolean, timeoutMs: number, what: string): Promise<{ at: number; listing: string }> {
  let listing = '';
  try {
    await waitFor(what, async () => pred(tableReals((listing = await cluster.table(d)))), { timeoutMs, intervalMs: 50 });
  } catch {
    throw new DemoStepError(`${what}: not within ${timeoutMs} ms; last ipvsadm -Ln of ${d}:\n${listing}`);
  }
  return { at: performance.now(), listing };
}

/** The whole story; throws {@link DemoStepError} when a step does not happen. */
async function tell(cluster: IpvsCluster, opts: DemoOptions, where: string): Promise<void> {
  const start = performance.now();
  const p = cluster.plan;
  const MODE = p.mode.toUpperCase();
  const addr = (r: RealName): string => `${p.reals[r]}:${PORT}`;
  out(`lvsd demo, LVS-${MODE}: a director pair driving the kernel's IPVS, in network namespaces ${where}`);
  out(`building the topology (${cluster.hosts().length} namespaces, ${cluster.bridges().length} bridge${cluster.bridges().length > 1 ? 's' : ''}${p.mode === 'nat' ? '' : ', lvs-realserver on the real servers'})…`);
  await cluster.build();
  out(`built in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  out();
  summary(cluster, opts);
  cluster.startRealServers();

  const story = new IpvsStory(cluster);
  const mdD2 = masterDownMs(opts.advertInt, PRIORITY.d2);

  // Act 1: election, then traffic spreading over the three real servers.
  story.mark('starting lvsd on d1 and d2 (both BACKUP)…');
  const tStart = performance.now();
  for (const d of DIRECTORS) story.watchLvsdLog(d, cluster.startLvsd(d));
  for (const d of DIRECTORS) {
    await waitFor(`lvsd on ${d} to answer on its control socket`, async () => {
      await cluster.status(d);
      return true;
    }, { timeoutMs: START_TIMEOUT_MS, intervalMs: 1000 }).catch((e: Error) => {
      throw new DemoStepError(e.message);
    });
  }
  story.say(`both lvsd answer on their control sockets, ${((performance.now() - tStart) / 1000).toFixed(1)} s after the start (each is a`);
  story.say('        supervisor with a VRRP and a director child: three node starts, slow under emulation)');
  story.watchStates();
  story.startClient();
  story.say('client started (until a master holds the VIP, requests get no answer)');
  await story.state('d1', 'MASTER', START_TIMEOUT_MS, 'd1 becoming MASTER');
  const full = await waitTable(cluster, 'd1', (rs) => REALS.every((r) => rs.includes(addr(r))), START_TIMEOUT_MS, 'd1\'s table listing rs1, rs2 and rs3');
  printTable('d1: ipvsadm -Ln', full.listing);
  const tFirst = await story.answer(tStart, START_TIMEOUT_MS, 'the first answer through the VIP');
  story.say(`first answer through the VIP ${((tFirst - tStart) / 1000).toFixed(1)} s after the start`);
  for (const r of REALS) await story.answer(tStart, 30_000, `an answer from ${r}`, (x) => x === r);
  story.say('requests spread over rs1, rs2 and rs3 (round-robin)');
  await story.calm(opts.calmMs);

  // Act 2: rs3 fails; the health checks of both directors take it out of their tables.
  story.mark('rs3 fails: its web server is killed (kill -9 of busybox httpd)');
  const tFail = await cluster.failReal('rs3');
  const gone = await waitTable(cluster, 'd1', (rs) => !rs.includes(addr('rs3')), 30_000, 'd1\'s table dropping rs3');
  story.mark(`d1's ipvsadm -Ln no longer lists rs3 (${addr('rs3')}): ${(gone.at - tFail).toFixed(0)} ms after the failure`, gone.at);
  printTable('d1: ipvsadm -Ln', gone.listing);
  const gone2 = await waitTable(cluster, 'd2', (rs) => !rs.includes(addr('rs3')), 30_000, 'd2\'s table dropping rs3');
  story.say(`d2 (the backup, checking too) dropped rs3 as well: ${(gone2.at - tFail).toFixed(0)} ms after the failure`);
  await story.answersAfter(6, gone.at, 30_000, 'answers after rs3 left the pool');
  await story.calm(opts.calmMs / 2);
  const late = story.answers.filter((a) => a.at > gone.at && a.real === 'rs3').length;
  if (late > 0) throw new DemoStepError(`rs3 served ${late} requests after it left d1's table`);
  story.say('rs3 serves no more: requests go to rs1 and rs2 only');

  // Act 3: the master dies. Its events are read first: a dead daemon answers no lvsctl (its state_dir keeps them).
  const d1Events = await cluster.events('d1');
  story.say('the master d1 dies as a box does: its lvsd processes are frozen, its links go down, then');
  story.say('        kill -9 (kill -9 of lvsd alone would leave the VIP and the IPVS table in d1\'s kernel,');
  story.say('        still forwarding, and lvsd\'s VRRP child would resign with a priority-0 advert)');
  const noAnswerBefore = story.tally.noAnswer;
  const tKill = performance.now();
  story.mark('d1 dies (SIGSTOP, links down, SIGKILL)', tKill);
  await cluster.crash('d1');
  // Answers from here on came through d2: d1's links are down.
  const tDead = performance.now();
  story.say(`d1 is dead: frozen, links down and killed within ${(tDead - tKill).toFixed(0)} ms; d2 hears no more adverts`);
  const tMaster = await story.state('d2', 'MASTER', mdD2 * 3 + 20_000, 'd2 becoming MASTER');
  const tTakeover = await story.answer(tDead, mdD2 * 3 + 20_000, 'the first answer after the takeover', (r) => r !== 'rs3');
  story.mark(`takeover: d2 MASTER ${(tMaster - tKill).toFixed(0)} ms after the kill, first answer through d2 ${(tTakeover - tKill).toFixed(0)} ms after it (d2's Master_Down_Interval is ${mdD2.toFixed(0)} ms)`, tTakeover);
  printTable('d2: ipvsadm -Ln', await cluster.table('d2'));
  await story.answersAfter(6, tTakeover, 30_000, 'requests continuing through d2');
  // Counted only now: requests sent before the takeover fail at their 1 s deadline, after it.
  story.say(`requests go on through d2; ${story.tally.noAnswer - noAnswerBefore} requests got no answer during the failover`);
  await story.calm(opts.calmMs / 2);
  story.stopWatching();
  await story.stopClient();

  const d2Events = await cluster.events('d2');
  out();
  const row = (host: string, e: EventRecord): { at: string; text: string } =>
    ({ at: e.at, text: `${host}  ${e.instance.padEnd(5)}  ${e.from.padEnd(6)} → ${e.to.padEnd(6)}  ${e.reason}` });
  printTimeline('failover timeline (lvsctl events of d1, read before its death, and of d2; and the demo\'s own actions):', story.wall0, [
    ...d1Events.map((e) => row('d1', e)),
    ...d2Events.map((e) => row('d2', e)),
    ...story.markers.map((m) => ({ at: m.at, text: `──  ${m.text}` })),
  ]);
  const t = story.tally;
  out(`requests: ${t.sent} — served by ${REALS.map((r) => `${r} ${t.byReal[r] ?? 0}`).join(', ')}; no answer ${t.noAnswer}`);
  out(`rs3 out of d1's table ${(gone.at - tFail).toFixed(0)} ms after its failure; failover (kill -9 → first answer through d2) ${(tTakeover - tKill).toFixed(0)} ms`);
  out(`LVS-${MODE} story told in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}

function keepHints(cluster: IpvsCluster): void {
  const ns = (h: string): string => cluster.ns(h);
  out();
  out('--keep: the topology stays up until Ctrl-C. Try:');
  out(`  ip netns exec ${ns('client')} curl -s http://${cluster.plan.vip}/`);
  out(`  ip netns exec ${ns('d2')} ipvsadm -Ln --stats`);
  out(`  ip netns exec ${ns('d2')} ${path.resolve(__dirname, '../../../bin/lvsctl')} --socket ${cluster.socket('d2')} status`);
}

/**
 * Runs the IPVS story of `mode` on this kernel (which must have IPVS);
 * `where` says where, for the first line. Resolves with the exit status.
 */
export async function runIpvsDemo(opts: DemoOptions, mode: IpvsMode, where: string): Promise<number> {
  requireTestbed(['ip', 'ipvsadm', 'busybox']);
  const cluster = new IpvsCluster(mode, opts.advertInt);
  return runGuarded({
    body: async () => {
      await tell(cluster, opts, where);
      if (opts.keep) {
        keepHints(cluster);
        setInterval(() => undefined, 1 << 30);
        await new Promise<never>(() => undefined);
      }
    },
    cleanup: () => cluster.destroy(),
    diagnostics: () => cluster.diagnostics().slice(-8000),
  });
}
