/**
 * keepalived 2.2.7 as the oracle for issue 12's importer cases: the same
 * operator-style files (fixtures/issue12/) are run by keepalived itself in a
 * throwaway network namespace (VRRP only, -P), and what it made of them (its
 * -d configuration dump, and for tracking its live data dump on SIGUSR1) is
 * compared with what lvsd makes of the import. Needs root, ip(8) and
 * /usr/sbin/keepalived (Debian's keepalived package); fails, never skips,
 * without them.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { judgeTracking, trackedInterface, trackedScript } from '../../../src/vrrp/track';
import { requireTestbed, Topology, waitFor, type NsProcess } from '../../lib/netns';
import { importIn, ISSUE12 } from './issue12-helpers';

/** One keepalived run in the test host's namespace; its temp dir holds pid files and data dumps. */
class Keepalived {
  private constructor(
    private readonly proc: NsProcess,
    private readonly dir: string,
  ) {}

  /** Starts keepalived (VRRP only, logging to stdout, dumping its configuration) on `text`. */
  static start(topo: Topology, host: string, text: string, configId = 'lvs-a'): Keepalived {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-kaoracle-'));
    const conf = path.join(dir, 'keepalived.conf');
    fs.writeFileSync(conf, text);
    // TMPDIR: where keepalived writes keepalived.data on SIGUSR1 (not the shared /tmp).
    const argv = ['env', `TMPDIR=${dir}`, 'keepalived', '-n', '-l', '-d', '-P', '--no-syslog', '-f', conf, '-i', configId, '-p', path.join(dir, 'ka.pid'), '-r', path.join(dir, 'vrrp.pid')];
    return new Keepalived(topo.spawn(host, argv), dir);
  }

  /** The -d configuration dump (the VRRP process's, complete once its output stops growing). */
  async configDump(): Promise<string> {
    await waitFor('keepalived to dump its configuration', () => this.proc.output().includes('------< Interfaces >------'), { timeoutMs: 20_000 });
    let last = '';
    await waitFor('the dump to end', () => {
      const now = this.proc.output();
      const stable = now === last;
      last = now;
      return stable;
    }, { timeoutMs: 20_000, intervalMs: 300 });
    return last;
  }

  /** keepalived's live data (SIGUSR1 → $TMPDIR/keepalived.data), once it holds VRRP instances. */
  async liveData(): Promise<string> {
    const file = path.join(this.dir, 'keepalived.data');
    fs.rmSync(file, { force: true });
    this.proc.child.kill('SIGUSR1');
    let last = '';
    return waitFor('keepalived.data', () => {
      const now = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      const done = now !== '' && now === last && now.includes('VRRP Instance = ');
      last = now;
      return done ? now : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200 });
  }

  async stop(): Promise<void> {
    if (this.proc.child.exitCode === null && this.proc.child.signalCode === null) this.proc.child.kill('SIGTERM');
    await Promise.race([this.proc.exited, new Promise((r) => setTimeout(r, 10_000))]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One instance's block of a keepalived dump (log timestamps removed): its header line and the indented lines under it. */
function instanceBlock(dump: string, name: string): string {
  const lines = dump.split('\n').map((l) => l.replace(/^[A-Z][a-z]{2} [A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d \d{4}: /, ''));
  const start = lines.findIndex((l) => l === ` VRRP Instance = ${name}`);
  assert.ok(start >= 0, `no VRRP Instance = ${name} in keepalived's dump:\n${dump.slice(-3000)}`);
  const end = lines.findIndex((l, i) => i > start && !l.startsWith('   '));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The value of `KEY = VALUE` in a block. */
function field(block: string, key: string): string {
  const m = new RegExp(`^\\s*${key.replace(/ /g, '\\s+')} = (.*)$`, 'm').exec(block);
  assert.ok(m, `no "${key} =" in:\n${block}`);
  return m[1]!.trim();
}

describe('config/keepalived: issue 12 cases checked against keepalived 2.2.7 itself', function () {
  this.timeout(120_000);
  let topo: Topology;
  const running: Keepalived[] = [];

  before(async () => {
    requireTestbed(['ip', 'keepalived']);
    topo = await Topology.create('kaor');
    await topo.addHost('d', ['192.0.2.1/24']);
    await topo.addHost('d', ['198.51.100.1/24'], { ifname: 'eth1', bridge: 'br1' });
  });
  afterEach(async () => {
    for (const k of running.splice(0)) await k.stop();
  });
  after(async () => {
    await topo?.destroy();
  });

  const start = (text: string, configId = 'lvs-a') => {
    const k = Keepalived.start(topo, 'd', text, configId);
    running.push(k);
    return k;
  };

  it('priority 100 then @lvs-a priority 150: keepalived and the import both run 150 on lvs-a, 100 elsewhere', async () => {
    const text = fs.readFileSync(path.join(ISSUE12, 'priority-per-host.keepalived.conf'), 'utf8');
    for (const [id, expected] of [['lvs-a', 150], ['lvs-b', 100]] as const) {
      const dump = await start(text, id).configDump();
      assert.equal(Number(field(instanceBlock(dump, 'VI_1'), 'Priority')), expected, `keepalived -i ${id}`);
      const imported = await importIn(ISSUE12, 'priority-per-host.keepalived.conf', id);
      assert.equal(imported.config.vrrpInstances.get('VI_1')!.priority, expected, `import --config-id ${id}`);
      for (const k of running.splice(0)) await k.stop();
    }
  });

  it('VRRPv2 advert_int 0.5 and 2.5: keepalived rounds them to 1 s and 3 s, and so does the import', async () => {
    const text = fs.readFileSync(path.join(ISSUE12, 'advert-half-second.keepalived.conf'), 'utf8');
    const k = start(text);
    const dump = await k.configDump();
    assert.match(dump, /VRRPv2 advertisement interval 0\.500000s must be an integer\. rounding/);
    const imported = await importIn(ISSUE12, 'advert-half-second.keepalived.conf');
    for (const name of ['VI_1', 'VI_2']) {
      const ka = field(instanceBlock(dump, name), 'Advert interval');
      assert.match(ka, /^\d+ sec$/);
      assert.equal(imported.config.vrrpInstances.get(name)!.advertIntCs, Number(ka.split(' ')[0]) * 100, `${name}: keepalived says ${ka}`);
    }
  });

  for (const maintenance of [false, true]) {
    it(`weight ... reverse (maintenance flag ${maintenance ? 'set' : 'absent'}): the imported tracking gives keepalived's effective priority and FAULT state`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-kaoracle-'));
      try {
        const flag = path.join(dir, 'maintenance');
        if (maintenance) fs.writeFileSync(flag, '');
        const text = fs.readFileSync(path.join(ISSUE12, 'reverse.keepalived.conf'), 'utf8').replaceAll('/etc/keepalived/maintenance', flag);
        fs.writeFileSync(path.join(dir, 'keepalived.conf'), text);
        const k = start(text);
        const dump = await k.configDump();
        // keepalived's reading of the lines: chk_nginx keeps its script's reverse, noreverse drops chk_haproxy's.
        assert.match(dump, /chk_maintenance weight 0 reverse\n.*chk_nginx weight 30 reverse\n.*chk_haproxy weight -10\n/);

        const imported = (await importIn(dir, 'keepalived.conf')).config;
        const vi = imported.vrrpInstances.get('VI_1')!;
        // Each script's state as it really is here, run the way lvsd runs it (argv, no shell).
        const up = (name: string) => {
          const s = imported.vrrpScripts.get(name)!;
          return spawnSync(s.script.argv[0]!, s.script.argv.slice(1)).status === 0;
        };
        const items = [
          ...vi.trackInterfaces.map((t) => trackedInterface(t, true)),
          ...vi.trackScripts.map((t) => trackedScript(t, imported.vrrpScripts.get(t.name), up(t.name))),
        ];
        const verdict = judgeTracking(vi.priority, items);

        // keepalived's verdict once every script has run (interval 2, fall 2: a few seconds).
        const block = await waitFor('keepalived to settle its tracking', async () => {
          const b = instanceBlock(await k.liveData(), 'VI_1');
          return field(b, 'Number of track scripts init') === '0' && Number(field(b, 'Effective priority')) === verdict.effectivePriority ? b : undefined;
        }, { timeoutMs: 30_000, intervalMs: 1000 }).catch(async (e: Error) => {
          throw new Error(`${e.message}; keepalived now says:\n${instanceBlock(await k.liveData(), 'VI_1')}\nlvsd's verdict: ${JSON.stringify(verdict)}`);
        });
        assert.equal(Number(field(block, 'Effective priority')), verdict.effectivePriority);
        assert.equal(field(block, 'State') === 'FAULT', verdict.faults.length > 0, `keepalived: ${field(block, 'State')}; lvsd faults: ${verdict.faults.join(', ')}`);
        assert.equal(verdict.faults.length > 0, maintenance, 'weight 0 reverse: FAULT exactly while the flag file exists');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('a weighted track_script in a sync group: keepalived ignores it, and the import leaves it out', async () => {
    const text = fs.readFileSync(path.join(ISSUE12, 'sync-group.keepalived.conf'), 'utf8');
    const dump = await start(text).configDump();
    assert.match(dump, /\(VI_OUTSIDE\) ignoring tracked script chk_haproxy with weights due to SYNC group/);
    assert.match(dump, /\(VI_INSIDE\) ignoring tracked script chk_uplink with weights due to SYNC group/);
    assert.match(instanceBlock(dump, 'VI_OUTSIDE'), /Tracked scripts :\n\s+chk_uplink weight 0\n/);
    assert.doesNotMatch(instanceBlock(dump, 'VI_INSIDE'), /Tracked scripts/);
    const imported = await importIn(ISSUE12, 'sync-group.keepalived.conf');
    assert.deepEqual([...imported.config.vrrpInstances.values()].map((i) => [i.name, i.trackScripts.map((t) => t.name)]), [
      ['VI_OUTSIDE', ['chk_uplink']],
      ['VI_INSIDE', []],
    ]);
  });
});
