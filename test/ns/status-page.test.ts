/**
 * The status page in a real browser: Debian's chromium, driven headless by
 * puppeteer-core, loads lvsd's page (metrics_listen, `/`) from inside the
 * backup director's namespace. Two lvsd directors (priorities 150 and 100,
 * --dry-run: the host kernel has no IPVS, the table is the in-memory fake)
 * check two real servers, each an HTTP listener in its own namespace. The
 * test kills one real server's listener and waits for the page to turn that
 * row red (class rs-down and its computed background, read from the DOM, not
 * from pixels); then it kills the master director and waits for the VRRP
 * failover (VI_1 BACKUP -> MASTER) in the page's timeline; when lvsd stops,
 * the page says so and keeps the last figures. The page must never show the
 * instances' auth_pass.
 *
 * Root only; fails without root or /usr/bin/chromium (test/setup.sh installs
 * it). The browser never downloads anything: puppeteer-core brings no browser
 * and chromium runs with networking features off and a fresh profile.
 * LVSD_SCREENSHOT=FILE copies the screenshot taken at the end there.
 */
import { strict as assert } from 'node:assert';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { type NsProcess, Topology, requireTestbed, waitFor } from '../lib/netns';
import { LVSCTL, LVSD, Scratch, lvsdConfig, stop } from '../lib/director';

/** Debian's chromium (test/setup.sh installs the package). */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a browser that talks to nothing but the page under test. */
export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-default-apps', '--disable-extensions', '--metrics-recording-only', '--mute-audio',
];

const AUTH_PASS = 'pw4page';

/** An HTTP real server answering 200 on every path. */
const HTTP = `require('node:http').createServer((q, s) => s.end('ok')).listen(80, process.argv[1]);`;

/** What the test reads from the page's DOM (the contract status.js documents). */
interface PageView {
  loaded: string | null;
  stale: boolean;
  instances: Array<{ name: string; state: string }>;
  rs: Array<{ vs: string; rs: string; health: string; cls: string; background: string }>;
  events: Array<{ kind: string; subject: string; to: string; text: string }>;
  text: string;
}

// A string, so this file needs no DOM typings: it runs in the page.
const READ_PAGE = `(() => ({
  loaded: document.body.getAttribute('data-loaded'),
  stale: !document.getElementById('stale').hidden,
  instances: [...document.querySelectorAll('tr.instance')].map((r) => ({ name: r.dataset.instance, state: r.dataset.state })),
  rs: [...document.querySelectorAll('tr.rs')].map((r) => ({ vs: r.dataset.vs, rs: r.dataset.rs, health: r.dataset.health, cls: r.className, background: getComputedStyle(r).backgroundColor })),
  events: [...document.querySelectorAll('#events li')].map((li) => ({ kind: li.dataset.kind, subject: li.dataset.subject, to: li.dataset.to, text: li.textContent })),
  text: document.body.innerText,
}))()`;

describe('status page in headless chromium: a real server dies, the master dies', function () {
  this.timeout(120_000);
  let topo: Topology;
  let scratch: Scratch;
  let browser: Browser | undefined;
  let page: Page;
  const rsProcs: Record<string, NsProcess> = {};
  const directors: Record<string, NsProcess> = {};

  const view = (): Promise<PageView> => page.evaluate(READ_PAGE) as Promise<PageView>;
  const until = <T>(what: string, test: (v: PageView) => T | undefined | false, timeoutMs: number): Promise<T> =>
    waitFor(what, async () => test(await view()), { timeoutMs, intervalMs: 250 });

  before(async () => {
    requireTestbed(['ip']);
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (test/setup.sh does)`);
    topo = await Topology.create('stpg');
    scratch = new Scratch();
    await topo.addHost('d1', ['192.0.2.11/24']);
    await topo.addHost('d2', ['192.0.2.12/24']);
    for (const [rs, ip] of [['rs1', '192.0.2.21'], ['rs2', '192.0.2.22']] as const) {
      await topo.addHost(rs, [`${ip}/24`]);
      rsProcs[rs] = topo.spawn(rs, [process.execPath, '-e', HTTP, ip]);
    }
    const service = [
      '[check.web]', 'type = HTTP_GET', 'url_path = /', 'status_code = 200', 'connect_timeout = 1', 'delay_loop = 1', 'retry = 0', '',
      '[virtual_server.web]', 'address = 192.0.2.100:80', 'protocol = TCP', 'lb_algo = wrr', 'lb_kind = NAT', 'check = web', '',
      '[real_server.web.rs1]', 'address = 192.0.2.21:80', 'weight = 3', '',
      '[real_server.web.rs2]', 'address = 192.0.2.22:80', 'weight = 2', '',
    ].join('\n');
    for (const [d, prio] of [['d1', 150], ['d2', 100]] as const) {
      const sock = scratch.path(`${d}.sock`);
      const conf = lvsdConfig(`lvs-${d}`, sock, [{ name: 'VI_1', priority: prio, advertInt: 1, vips: ['192.0.2.100/24'], authPass: AUTH_PASS, version: 2 }], [
        'metrics_listen = 127.0.0.1:9650',
        `state_dir = ${scratch.path(`${d}-state`)}`,
      ]) + service;
      const p = topo.spawn(d, [process.execPath, LVSD, '--config', scratch.file(`${d}.conf`, conf), '--dry-run']);
      directors[d] = p;
      await waitFor(`lvsd in ${d} to answer`, async () => {
        if (p.child.exitCode !== null) throw new Error(`lvsd in ${d} exited ${p.child.exitCode}: ${p.output().slice(-2000)}`);
        return (await topo.exec(d, [process.execPath, LVSCTL, '--socket', sock, 'status'])).code === 0;
      }, { timeoutMs: 20_000, intervalMs: 100 });
    }
    // The browser runs in d2's namespace (the metrics listener is on its loopback); a pipe, not
    // a TCP port, carries the DevTools protocol across `ip netns exec`.
    const wrapper = scratch.file('chromium-in-d2', `#!/bin/sh\nexec ip netns exec ${topo.ns('d2')} ${CHROMIUM} "$@"\n`, 0o755);
    browser = await puppeteer.launch({
      executablePath: wrapper,
      pipe: true,
      headless: true,
      userDataDir: scratch.path('chromium-profile'),
      args: CHROMIUM_FLAGS,
      defaultViewport: { width: 1280, height: 900 },
      timeout: 60_000,
    });
    page = await browser.newPage();
    await page.goto('http://127.0.0.1:9650/', { waitUntil: 'load', timeout: 30_000 });
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    await topo?.destroy();
    scratch?.remove();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(topo.diagnostics());
  });

  it('shows the backup instance, both real servers up, and never the auth_pass', async () => {
    const v = await until('the page to show VI_1 BACKUP and rs1, rs2 up', (x) =>
      x.instances.some((i) => i.name === 'VI_1' && i.state === 'BACKUP') && ['rs1', 'rs2'].every((n) => x.rs.some((r) => r.rs === n && r.health === 'up')) && x, 20_000);
    assert.ok(v.loaded, 'the page loaded /status.json');
    assert.equal(v.stale, false);
    for (const r of v.rs) assert.match(r.cls, /\brs-up\b/, `${r.rs}: ${r.cls}`);
    assert.match(v.text, /web/);
    assert.match(v.text, /TCP 192\.0\.2\.100:80/);
    assert.ok(!v.text.includes(AUTH_PASS), 'the auth_pass is on the page');
    const json = await page.evaluate(`fetch('/status.json').then((r) => r.text())`) as string;
    assert.ok(!json.includes(AUTH_PASS), 'the auth_pass is in /status.json');
  });

  it('turns a real server red when its listener dies', async () => {
    const t0 = performance.now();
    await stop(rsProcs.rs1!, 'SIGKILL');
    const v = await until('rs1 red on the page', (x) => {
      const r = x.rs.find((y) => y.rs === 'rs1');
      return r && r.health === 'down' && /\brs-down\b/.test(r.cls) ? x : undefined;
    }, 20_000);
    const rs1 = v.rs.find((y) => y.rs === 'rs1')!;
    assert.equal(rs1.background, 'rgb(255, 235, 233)', 'a down real server row is red');
    const rs2 = v.rs.find((y) => y.rs === 'rs2')!;
    assert.equal(rs2.health, 'up');
    assert.notEqual(rs2.background, rs1.background, 'the live real server is not red');
    console.log(`      rs1 red on the page ${((performance.now() - t0) / 1000).toFixed(1)} s after its listener died (delay_loop 1 s, retry 0, page refresh 2 s)`);
  });

  it('shows the VRRP failover in its timeline when the master dies', async () => {
    const before = (await view()).events.filter((e) => e.kind === 'vrrp' && e.subject === 'VI_1' && e.to === 'MASTER').length;
    const t0 = performance.now();
    await stop(directors.d1!, 'SIGKILL');
    const v = await until('VI_1 MASTER on the page and in its timeline', (x) =>
      x.instances.some((i) => i.name === 'VI_1' && i.state === 'MASTER') && x.events.filter((e) => e.kind === 'vrrp' && e.subject === 'VI_1' && e.to === 'MASTER').length > before && x, 20_000);
    const e = v.events.find((y) => y.kind === 'vrrp' && y.to === 'MASTER')!;
    assert.match(e.text, /BACKUP → MASTER/);
    assert.equal(v.events[0], e, 'newest first');
    console.log(`      failover on the page ${((performance.now() - t0) / 1000).toFixed(1)} s after the master died (takeover within Skew_Time 0.6 s to Master_Down_Interval 3.6 s, plus a page refresh of 2 s)`);
    const shot = scratch.path('status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'a screenshot was written');
    if (process.env.LVSD_SCREENSHOT) copyFileSync(shot, process.env.LVSD_SCREENSHOT);
  });

  it('says lvsd is not answering when it stops, and keeps the last figures', async () => {
    await stop(directors.d2!, 'SIGTERM');
    const v = await until('the page to say lvsd is not answering', (x) => x.stale && x, 10_000);
    assert.match(v.text, /lvsd is not answering/);
    assert.ok(v.rs.some((r) => r.rs === 'rs1' && r.health === 'down'), 'the last figures stay on the page');
  });
});
