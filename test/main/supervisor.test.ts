/**
 * The supervisor against stand-in children (fake-child.ts), in this
 * process: restarts that never give up (a child that fails while it
 * restarts is restarted again), a stuck child killed and replaced, children
 * fed the last accepted configuration whatever the file holds, and the
 * two-phase, one-at-a-time reload. No root needed: the stand-ins touch no
 * network.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Supervisor } from '../../src/main/supervisor';

interface Line { patch?: boolean; loaded?: string; at?: number; start?: string; n?: number; pid?: number; behaviour?: string; routerId?: string; instances?: string[]; virtualServers?: string[]; role?: string; phase?: string; id?: number }

function configText(dir: string, routerId: string, withDirector: boolean, withInstance = true): string {
  return [
    '[global]',
    `router_id = ${routerId}`,
    `control_socket = ${path.join(dir, 'lvsd.sock')}`,
    `pid_file = ${path.join(dir, 'lvsd.pid')}`,
    `state_dir = ${path.join(dir, 'state')}`,
    'log_level = error',
    ...(withInstance ? ['[vrrp_instance.VI_1]', 'interface = lo', 'virtual_router_id = 51', 'priority = 100', 'virtual_ipaddress[] = 192.0.2.100/24'] : []),
    ...(withDirector ? ['[virtual_server.web]', 'address = 192.0.2.100:80', 'lb_algo = rr', 'lb_kind = NAT', '[real_server.web.rs1]', 'address = 198.51.100.1:80'] : []),
    '',
  ].join('\n');
}

async function until(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const t0 = performance.now();
  while (!(await test())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('supervisor with stand-in children', function () {
  this.timeout(40_000);
  let dir: string;
  let sup: Supervisor | undefined;
  const file = (): string => path.join(dir, 'lvsd.conf');
  const lines = (): Line[] => readFileSync(path.join(dir, 'log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
  const startsOf = (role: string): Line[] => lines().filter((l) => l.start === role);

  async function boot(plan: Record<string, string>, withDirector = false, text = configText(dir, 'lvs-a', withDirector)): Promise<Supervisor> {
    writeFileSync(path.join(dir, 'plan'), JSON.stringify(plan));
    writeFileSync(file(), text);
    process.env.FAKE_CHILD_PLAN = path.join(dir, 'plan');
    process.env.FAKE_CHILD_LOG = path.join(dir, 'log');
    sup = new Supervisor({ configFile: file(), dryRun: true, logLevel: 'error', childModule: path.join(__dirname, 'fake-child.js') });
    await sup.start();
    return sup;
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lvsd-sup-'));
    writeFileSync(path.join(dir, 'log'), '');
  });
  afterEach(async () => {
    await sup?.stop('test over');
    sup = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('restarts a child that fails during a restart\'s start-up, again and again, showing the crash loop, until it runs', async () => {
    const s = await boot({ 'vrrp:2': 'fail', 'vrrp:3': 'exit', 'vrrp:4': 'fail' });
    process.kill(startsOf('vrrp')[0]!.pid!, 'SIGKILL');
    let sawLoop = false;
    await until('a fourth start', () => {
      if (s.processes().vrrp?.state === 'crash-loop') sawLoop = true;
      return startsOf('vrrp').length >= 4;
    });
    await assert.rejects(s.status(), (e: Error & { code?: string }) => e.code === 'CHILD_RESTARTING' && /crash loop/.test(e.message));
    await until('the fifth start to run', async () => {
      if (s.processes().vrrp?.state === 'crash-loop') sawLoop = true;
      return startsOf('vrrp').length === 5 && s.processes().vrrp?.state === 'running';
    });
    assert.ok(sawLoop, 'the crash loop was visible in processes()');
    assert.equal((await s.status()).routerId, 'lvs-a', 'status answers again');
    assert.equal(s.processes().vrrp!.restarts, 4);
  });

  it('kills a child whose event loop is stuck and starts another', async () => {
    const s = await boot({ 'vrrp:1': 'hang' });
    const stuck = startsOf('vrrp')[0]!.pid!;
    await until('a second start', () => startsOf('vrrp').length === 2);
    assert.throws(() => process.kill(stuck, 0), 'the stuck process is gone');
    await until('running again', () => s.processes().vrrp?.state === 'running');
    assert.equal(s.processes().vrrp!.lastExit, 'SIGKILL');
  });

  it('restarts a crashed child on the last accepted configuration, whatever the file holds now, and gives each child only its part', async () => {
    await boot({}, true);
    const [v1] = startsOf('vrrp');
    const [d1] = startsOf('director');
    assert.deepEqual([v1!.instances, v1!.virtualServers], [['VI_1'], []], 'VRRP: no LVS sections');
    assert.deepEqual([d1!.instances, d1!.virtualServers], [[], ['web']], 'director: no VRRP sections');
    writeFileSync(file(), '[global]\nrouter_id = half-edit\n[vrrp_instance.VI_1\n');
    process.kill(v1!.pid!, 'SIGKILL');
    process.kill(d1!.pid!, 'SIGKILL');
    await until('both restarted', () => startsOf('vrrp').length === 2 && startsOf('director').length === 2);
    assert.equal(startsOf('vrrp')[1]!.routerId, 'lvs-a');
    assert.equal(startsOf('director')[1]!.routerId, 'lvs-a');
  });

  it('keeps every part on the old configuration when one part refuses the reload, and says which', async () => {
    const s = await boot({ 'director:1': 'refuse' }, true);
    writeFileSync(file(), configText(dir, 'lvs-b', true));
    await assert.rejects(s.reload(), (e: Error & { code?: string }) => e.code === 'RELOAD_REFUSED' && /director process refused/.test(e.message) && /refuses by plan/.test(e.message));
    const phases = lines().filter((l) => l.phase).map((l) => `${l.role}:${l.phase}`);
    assert.deepEqual(phases.slice(0, 2), ['vrrp:prepare', 'director:prepare']);
    assert.deepEqual(phases.slice(2).sort(), ['director:abort', 'vrrp:abort'], 'both parts aborted (in parallel), nothing committed');
    // A restart now still gets the old configuration: nothing was decided.
    process.kill(startsOf('vrrp')[0]!.pid!, 'SIGKILL');
    await until('restarted', () => startsOf('vrrp').length === 2);
    assert.equal(startsOf('vrrp')[1]!.routerId, 'lvs-a');
  });

  it('runs a burst of reloads one at a time, coalesced, answering every request, ending on the last file', async () => {
    const s = await boot({}, true);
    const answers: Array<Promise<unknown>> = [];
    for (let i = 0; i < 20; i++) {
      writeFileSync(file(), configText(dir, i % 2 ? 'lvs-odd' : 'lvs-even', true));
      answers.push(s.reload());
      if (i % 5 === 4) await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.allSettled(answers);
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), [], 'every request answered without error');
    const phases = lines().filter((l) => l.phase);
    let open = 0;
    for (const l of phases) {
      if (l.phase === 'prepare' && l.role === 'vrrp') open++;
      if (l.phase === 'commit' && l.role === 'director') open--;
      assert.ok(open <= 1, 'never two reloads at once');
    }
    const prepares = phases.filter((l) => l.phase === 'prepare' && l.role === 'vrrp');
    assert.ok(prepares.length < 20, `coalesced: ${prepares.length} runs for 20 requests`);
    assert.equal(prepares.at(-1)!.routerId, 'lvs-odd', 'the last run saw the last file');
    process.kill(startsOf('director')[0]!.pid!, 'SIGKILL');
    await until('restarted', () => startsOf('director').length === 2);
    assert.equal(startsOf('director')[1]!.routerId, 'lvs-odd');
  });

  it('forks the director before it parses the file (its Node start overlaps the parse), and stops it when the file turns out bad', async () => {
    // Every fork the supervisor makes, seen through the module it calls.
    const cp = require('node:child_process') as typeof import('node:child_process');
    const fork = cp.fork;
    const forks: Array<{ args: readonly string[]; child: import('node:child_process').ChildProcess }> = [];
    cp.fork = ((mod: string, args: readonly string[], opts: object) => {
      const child = fork(mod, args, opts);
      forks.push({ args, child });
      return child;
    }) as typeof cp.fork;
    try {
      const bad = `${configText(dir, 'lvs-a', true)}[real_server.web.rs2]\naddress = not-an-address\n`;
      await assert.rejects(boot({}, true, bad), (e: Error & { code?: string }) => e.code === 'ECONFIG');
    } finally {
      cp.fork = fork;
    }
    await sup!.stop('start failed');
    assert.deepEqual(forks.map((f) => f.args[0]), ['director'], 'one director forked, before the parse found the error');
    assert.deepEqual(startsOf('director'), [], 'never given a start message');
    const c = forks[0]!.child;
    assert.ok(c.exitCode !== null || c.signalCode !== null, 'and gone once lvsd stopped');
  });

  it('with no VRRP instance, forks the VRRP process only once the director is ready, out of the way of its first writes', async () => {
    const s = await boot({}, true, configText(dir, 'lvs-a', true, false));
    const [d] = startsOf('director');
    const [v] = lines().filter((l) => l.loaded === 'vrrp');
    assert.ok(d && v, 'both processes ran');
    assert.ok(v.at! >= d.at!, `the VRRP process began ${(v.at! - d.at!).toFixed(0)} ms after the director's start message`);
    assert.equal(lines().filter((l) => l.loaded === 'director').length, 1, 'the director forked before the parse is the one started');
    assert.equal((await s.status()).routerId, 'lvs-a');
  });

  it('forks no director for a file without virtual servers', async () => {
    await boot({});
    assert.deepEqual(lines().filter((l) => l.loaded === 'director'), []);
  });

  it('sends a reload as a patch against the part each child holds, and the whole part to a child that holds another', async () => {
    const s = await boot({ 'director:1': 'nobase' }, true);
    writeFileSync(file(), configText(dir, 'lvs-b', true));
    await s.reload();
    writeFileSync(file(), configText(dir, 'lvs-c', true));
    await s.reload();
    const prepares = lines().filter((l) => l.phase === 'prepare').map((l) => `${l.role} ${l.routerId} ${l.patch ? 'patch' : 'whole'}`);
    assert.deepEqual(prepares, ['vrrp lvs-b patch', 'director lvs-b whole', 'vrrp lvs-c patch', 'director lvs-c patch']);
    process.kill(startsOf('director')[0]!.pid!, 'SIGKILL');
    await until('restarted', () => startsOf('director').length === 2);
    assert.equal(startsOf('director')[1]!.routerId, 'lvs-c', 'a restart gets the whole last configuration');
  });
});
