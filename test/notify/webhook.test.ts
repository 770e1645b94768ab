import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Notifier } from '../../src/config/types';
import { createMemoryLogger } from '../../src/log';
import { redactText, redactUrl } from '../../src/notify/redact';
import { type DeliveryResult, type WebhookBody, WebhookNotifier, WebhookNotifyRunner } from '../../src/notify/webhook';

/** A local receiver on port 0 whose behaviour per attempt the test scripts. */
class Receiver {
  readonly seen: Array<{ at: number; body: WebhookBody; contentType: string | undefined; method: string | undefined }> = [];
  /** What to do with attempt n (0-based): a status, or 'hang' (never answer). */
  plan: (n: number) => number | 'hang' = () => 200;
  private readonly server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const n = this.seen.length;
      this.seen.push({ at: performance.now(), body: JSON.parse(text) as WebhookBody, contentType: req.headers['content-type'], method: req.method });
      const what = this.plan(n);
      if (what === 'hang') return; // closed by close() below
      res.writeHead(what).end();
    });
  });
  port = 0;
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}/hook`;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const notifier = (url: string, over: Partial<Notifier> = {}): Notifier => ({ name: 'ops', line: 1, url, timeoutMs: 2000, retries: 3, ...over });

describe('notify/webhook against a local HTTP receiver', function () {
  this.timeout(15_000);
  let rx: Receiver;
  let url: string;
  let results: DeliveryResult[];
  let hooks: WebhookNotifier | undefined;
  beforeEach(async () => {
    rx = new Receiver();
    url = await rx.start();
    results = [];
  });
  afterEach(async () => {
    await hooks?.close();
    hooks = undefined;
    await rx.close();
  });
  const make = (n: Notifier, over: Partial<ConstructorParameters<typeof WebhookNotifier>[1]> = {}): WebhookNotifier =>
    (hooks = new WebhookNotifier([n], { hostname: 'lvs-a.example', routerId: 'lvs-a', backoffBaseMs: 50, onResult: (r) => results.push(r), now: () => new Date('2026-01-10T12:00:00.000Z'), ...over }));

  it('POSTs the JSON body with every field', async () => {
    const w = make(notifier(url));
    w.send({ type: 'INSTANCE', name: 'VI_1', state: 'MASTER', previousState: 'BACKUP', reason: 'master down timer expired', priority: 150 });
    await w.idle();
    assert.equal(rx.seen.length, 1);
    assert.equal(rx.seen[0]!.method, 'POST');
    assert.match(rx.seen[0]!.contentType ?? '', /^application\/json/);
    assert.deepEqual(rx.seen[0]!.body, {
      type: 'INSTANCE', name: 'VI_1', state: 'MASTER', previousState: 'BACKUP', reason: 'master down timer expired', priority: 150,
      hostname: 'lvs-a.example', routerId: 'lvs-a', at: '2026-01-10T12:00:00.000Z',
    });
    assert.deepEqual(results.map((r) => [r.ok, r.attempts, r.status]), [[true, 1, 200]]);
  });

  it('retries failures with exponential backoff until one succeeds', async () => {
    rx.plan = (n) => (n < 3 ? 500 : 204);
    const w = make(notifier(url, { retries: 3 }));
    w.send({ type: 'GROUP', name: 'G1', state: 'BACKUP', previousState: 'MASTER', reason: 'higher priority advert', priority: null });
    await w.idle();
    assert.equal(rx.seen.length, 4, 'three failures, then the success');
    assert.deepEqual(results.map((r) => [r.ok, r.attempts, r.status]), [[true, 4, 204]]);
    const gaps = rx.seen.slice(1).map((s, i) => s.at - rx.seen[i]!.at);
    // 50, 100, 200 ms (base 50 ms, doubling), with scheduling slack.
    [50, 100, 200].forEach((want, i) => assert.ok(gaps[i]! >= want - 5 && gaps[i]! < want + 150, `gap ${i} is ${gaps[i]!.toFixed(0)} ms, want about ${want}`));
    assert.ok(rx.seen.every((s) => s.body.name === 'G1'), 'every attempt carries the same event');
  });

  it('gives up after `retries` retries and says why; a 4xx is final at once', async () => {
    rx.plan = () => 503;
    const w = make(notifier(url, { retries: 2 }));
    w.send({ type: 'RS', name: '[198.51.100.1]:tcp:80', virtualServer: '[192.0.2.100]:tcp:80', state: 'DOWN', previousState: 'UP', reason: 'ECONNREFUSED', priority: null });
    await w.idle();
    assert.equal(rx.seen.length, 3);
    assert.deepEqual(results.map((r) => [r.ok, r.attempts, r.error]), [[false, 3, 'HTTP 503']]);
    rx.plan = () => 404;
    w.send({ type: 'RS', name: '[198.51.100.1]:tcp:80', state: 'UP', previousState: 'DOWN', reason: 'connected', priority: null });
    await w.idle();
    assert.equal(rx.seen.length, 4, 'no retry after a 404');
    assert.deepEqual([results[1]!.ok, results[1]!.attempts, results[1]!.error], [false, 1, 'HTTP 404']);
  });

  it('honours the timeout: a receiver that does not answer is abandoned after timeout, then retried', async () => {
    rx.plan = (n) => (n === 0 ? 'hang' : 200);
    const w = make(notifier(url, { timeoutMs: 300, retries: 1 }));
    const t0 = performance.now();
    w.send({ type: 'INSTANCE', name: 'VI_1', state: 'BACKUP', previousState: 'MASTER', reason: 'x', priority: 100 });
    await w.idle();
    assert.equal(rx.seen.length, 2);
    const second = rx.seen[1]!.at - t0;
    assert.ok(second >= 300 + 50 - 10 && second < 300 + 50 + 400, `second attempt after ${second.toFixed(0)} ms (timeout 300 + backoff 50)`);
    assert.deepEqual(results.map((r) => [r.ok, r.attempts]), [[true, 2]]);
  });

  it('never throws into the caller and returns at once, even to a dead receiver; events keep their order', async () => {
    await rx.close();
    const dead = notifier(url, { retries: 1 });
    const w = make(dead);
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) w.send({ type: 'INSTANCE', name: `VI_${i}`, state: 'MASTER', previousState: 'BACKUP', reason: null, priority: 100 });
    assert.ok(performance.now() - t0 < 20, 'send() does not wait for the network');
    await w.idle();
    assert.equal(results.length, 5);
    assert.deepEqual(results.map((r) => r.body.name), ['VI_0', 'VI_1', 'VI_2', 'VI_3', 'VI_4']);
    assert.ok(results.every((r) => !r.ok && r.attempts === 2 && r.error === 'ECONNREFUSED'), JSON.stringify(results.map((r) => r.error)));
    rx = new Receiver();
    await rx.start();
  });

  it('WebhookNotifyRunner sends notify events (instance, group, real server) to the webhooks as well', async () => {
    const w = make(notifier(url));
    const runner = new WebhookNotifyRunner({}, w);
    await runner.notify({ type: 'INSTANCE', name: 'VI_1', state: 'MASTER', previousState: 'BACKUP', priority: 150, reason: 'r' }, {});
    await runner.notify({ type: 'GROUP', name: 'G1', state: 'MASTER', reason: 'g' }, {});
    await runner.notify({ type: 'RS', realServer: '[198.51.100.1]:tcp:80', virtualServer: '[192.0.2.100]:tcp:80', state: 'DOWN', previousState: 'UP', reason: 'ECONNREFUSED' }, {});
    await w.idle();
    await runner.close();
    const bodies = rx.seen.map((s) => s.body);
    assert.deepEqual(bodies.map((b) => [b.type, b.name, b.state, b.previousState, b.priority]), [
      ['INSTANCE', 'VI_1', 'MASTER', 'BACKUP', 150],
      ['GROUP', 'G1', 'MASTER', null, null],
      ['RS', '[198.51.100.1]:tcp:80', 'DOWN', 'UP', null],
    ]);
    assert.equal(bodies[2]!.virtualServer, '[192.0.2.100]:tcp:80');
  });

  it('a failed delivery logs and reports the URL without its credentials or query (issue 12)', async () => {
    const log = createMemoryLogger();
    rx.plan = () => 500;
    const secretUrl = url.replace('http://', 'http://ops:s3cr3t@') + '?token=t0k3n&x=1';
    const w = make(notifier(secretUrl, { retries: 1 }), { logger: log });
    w.send({ type: 'INSTANCE', name: 'VI_1', state: 'MASTER', previousState: 'BACKUP', reason: null, priority: 150 });
    await w.idle();
    assert.equal(rx.seen.length, 2, 'the real URL (with its token) was still used');
    const shown = `http://***@127.0.0.1:${rx.port}/hook?***`;
    assert.deepEqual(results.map((r) => [r.ok, r.url]), [[false, shown]]);
    const text = log.lines().join('\n');
    assert.ok(!/s3cr3t|t0k3n|ops:/.test(text), text);
    assert.match(text, /^error webhook failed notifier=ops url=.*127\.0\.0\.1/m);
    assert.ok(text.includes(shown), text);
  });
});

describe('notify/redact', () => {
  it('drops credentials, query and fragment from URLs, keeps scheme, host, port and path', () => {
    assert.equal(redactUrl('https://u:p@hooks.example:8443/a/b?token=x#f'), 'https://***@hooks.example:8443/a/b?***');
    assert.equal(redactUrl('https://hooks.example/a'), 'https://hooks.example/a');
    assert.equal(redactUrl('https://u@hooks.example/'), 'https://***@hooks.example/');
    assert.equal(redactUrl('not a url?key=1'), 'not a url?***');
    assert.equal(redactText('POST http://a:b@192.0.2.1/x?k=v failed; see https://docs.example/p'), 'POST http://***@192.0.2.1/x?*** failed; see https://docs.example/p');
  });
});
