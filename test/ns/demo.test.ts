/**
 * `npm run demo -- --mode proxy` end to end (the quick look without IPVS and
 * without the VM; the IPVS modes are test/vm/demo-modes.test.ts): runs
 * dist/test/demo/demo.js as a child process (advert_int 0.5 s to keep it short) and checks its story from what it
 * prints: both directors answered, the backup took over within
 * Master_Down_Interval + 2 s of the kill, the old master preempted back, the
 * timeline lists the MASTER transitions, and no namespace is left behind.
 * Also stops a second run with SIGTERM mid-story and checks it cleaned up.
 * Root only; fails (never skips) without.
 */
import { strict as assert } from 'node:assert';
import { masterDownMs } from '../demo/args';
import { runDemo } from '../lib/demo-run';
import { exec, requireTestbed } from '../lib/netns';

const ADVERT_INT = 0.5;

/** The namespace names the demo printed in its topology summary. */
function namespacesOf(stdout: string): string[] {
  const m = /^ {2}Namespaces: (.+)$/m.exec(stdout);
  assert.ok(m, `the demo names its namespaces:\n${stdout}`);
  return m[1]!.split(' ');
}

async function leftOver(names: readonly string[]): Promise<string[]> {
  const r = await exec(['ip', 'netns', 'list']);
  const present = new Set(r.stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean));
  return names.filter((n) => present.has(n));
}

describe('npm run demo -- --mode proxy (director pair failover in namespaces, no IPVS)', function () {
  this.timeout(150_000);
  before(() => requireTestbed(['ip']));

  it('tells the whole story: election, kill -9 takeover, preemption, timeline, cleanup', async () => {
    const t0 = performance.now();
    const r = await runDemo(['--mode', 'proxy', '--advert-int', String(ADVERT_INT), '--calm', '1'], 120_000);
    const took = performance.now() - t0;
    const why = `\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    assert.equal(r.code, 0, `the demo exits 0${why}`);
    console.log(`      the demo ran in ${(took / 1000).toFixed(1)} s`);

    // Live lines: both directors answered, through both real servers.
    const answers = [...r.stdout.matchAll(/#\d+ {2}answered by (d[12]) · served by (rs[12]) /g)];
    const directors = new Set(answers.map((m) => m[1]));
    const reals = new Set(answers.map((m) => m[2]));
    assert.deepEqual([...directors].sort(), ['d1', 'd2'], `both directors answered${why}`);
    assert.deepEqual([...reals].sort(), ['rs1', 'rs2'], `both real servers served${why}`);
    // The order of the story: d1 first, then d2 after the kill, then d1 again.
    const order = answers.map((m) => m[1]).filter((d, i, a) => i === 0 || a[i - 1] !== d);
    assert.deepEqual(order.slice(0, 3), ['d1', 'd2', 'd1'], `answers go d1 → d2 → d1${why}`);
    const killAt = r.stdout.indexOf('killing the master d1 (kill -9');
    assert.ok(killAt > 0, `the kill is announced${why}`);
    assert.ok(!/answered by d2/.test(r.stdout.slice(0, killAt)), `d2 answers only after the kill${why}`);

    // The takeover and its measured gap, against Master_Down_Interval + 2 s.
    const gap = /takeover: first answer from d2 (\d+) ms after the kill/.exec(r.stdout);
    assert.ok(gap, `the takeover gap is printed${why}`);
    const bound = masterDownMs(ADVERT_INT, 100) + 2000;
    assert.ok(Number(gap[1]) < bound, `gap ${gap[1]} ms is below Master_Down_Interval + 2 s = ${bound} ms${why}`);
    assert.match(r.stdout, /restarting the old master d1/);
    assert.match(r.stdout, /preempted: d1 answers again \d+ ms after the restart/);

    // The timeline from lvsctl events: d1 master twice (election, preemption),
    // d2 master once (takeover) and back to backup.
    const timeline = r.stdout.slice(r.stdout.indexOf('failover timeline'));
    assert.ok(timeline.length > 0 && r.stdout.includes('failover timeline'), `a timeline is printed${why}`);
    const rows = (host: string, from: string, to: string): number =>
      timeline.split('\n').filter((l) => new RegExp(`s {2}${host} {2}VI_1 {2}${from} +→ ${to}\\b`).test(l)).length;
    assert.equal(rows('d1', 'BACKUP', 'MASTER'), 2, `d1 became MASTER twice${why}`);
    assert.equal(rows('d2', 'BACKUP', 'MASTER'), 1, `d2 became MASTER once${why}`);
    assert.equal(rows('d2', 'MASTER', 'BACKUP'), 1, `d2 went back to BACKUP${why}`);
    const stamps = [...timeline.matchAll(/^ {2}\+ *([\d.]+)s/gm)].map((m) => Number(m[1]));
    assert.deepEqual(stamps, [...stamps].sort((a, b) => a - b), 'the timeline is in time order');

    // Cleanup.
    assert.match(r.stdout, /cleaned up\s*$/);
    const names = namespacesOf(r.stdout);
    assert.equal(names.length, 6);
    assert.deepEqual(await leftOver(names), [], 'no demo namespace is left');
  });

  it('cleans up when stopped with SIGTERM in the middle of the story', async () => {
    let sent = false;
    const r = await runDemo(['--mode', 'proxy', '--advert-int', String(ADVERT_INT)], 60_000, (text, kill) => {
      // Mid-story: the directors run and the client is sending.
      if (!sent && /#\d+ {2}answered by d1/.test(text)) {
        sent = true;
        kill('SIGTERM');
      }
    });
    const why = `\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    assert.ok(sent, `the demo got as far as an answer${why}`);
    assert.equal(r.code, 128 + 15, `the demo exits 143 on SIGTERM${why}`);
    assert.match(r.stdout, /SIGTERM: stopping[\s\S]*cleaned up/);
    assert.deepEqual(await leftOver(namespacesOf(r.stdout)), [], 'no demo namespace is left');
    assert.equal(r.stderr, '', `a signalled demo prints no error${why}`);
  });
});
