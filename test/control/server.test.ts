import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ControlBadAnswerError,
  ControlRemoteError,
  ControlTimeoutError,
  DaemonNotRunningError,
  request,
} from '../../src/control/client';
import { ControlError, ControlServer, ControlSocketInUseError, ControlSocketPathError } from '../../src/control/server';
import { createMemoryLogger } from '../../src/log';

/** Sends raw bytes, half-closes, and collects every answer line. */
function raw(sockPath: string, data: string | Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sockPath);
    let buf = '';
    s.on('connect', () => s.end(data));
    s.on('data', (c) => (buf += c.toString()));
    s.on('error', reject);
    s.on('close', () => resolve(buf.split('\n').filter((l) => l !== '')));
  });
}

describe('control/server + client over a real unix socket', function () {
  let dir: string;
  let sockPath: string;
  let server: ControlServer | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-ctl-'));
    sockPath = path.join(dir, 'run', 'lvsd', 'lvsd.sock');
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(handlers: ConstructorParameters<typeof ControlServer>[0]['handlers'], extra: object = {}): Promise<ControlServer> {
    server = new ControlServer({ path: sockPath, handlers, logger: createMemoryLogger(), ...extra });
    await server.listen();
    return server;
  }

  it('creates the parent directory 0755 and the socket 0600, restores the umask, and removes the socket on close', async () => {
    const umaskBefore = process.umask();
    const s = await start({ status: () => ({ up: true }) });
    assert.equal(process.umask(), umaskBefore, 'process umask restored after listen');
    assert.equal(fs.statSync(path.dirname(sockPath)).mode & 0o777, 0o755);
    const st = fs.lstatSync(sockPath);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    await s.close();
    server = undefined;
    assert.ok(!fs.existsSync(sockPath));
  });

  it('answers a command with its handler result and passes args', async () => {
    await start({ echo: async (args) => ({ got: args }), nothing: () => undefined });
    assert.deepEqual(await request(sockPath, 'echo', { limit: 5 }), { got: { limit: 5 } });
    assert.equal(await request(sockPath, 'nothing'), null);
  });

  it('answers bad JSON, bad shape, unknown commands and throwing handlers with errors, and keeps serving', async () => {
    await start({
      status: () => 'fine',
      boom: () => {
        throw new Error('kaboom');
      },
      invalid: () => {
        throw new ControlError('CONFIG_INVALID', '/etc/lvsd/lvsd.conf:3: unknown key "foo"');
      },
      toString: undefined as never,
    });
    const lines = await raw(
      sockPath,
      [
        'not json',
        '{"id":2}',
        '{"cmd":"status"}',
        '{"id":3,"cmd":"nope"}',
        '{"id":4,"cmd":"boom"}',
        '{"id":5,"cmd":"invalid"}',
        '{"id":6,"cmd":"constructor"}',
        '{"id":7,"cmd":"status"}',
        '',
      ].join('\n'),
    );
    const answers = lines.map((l) => JSON.parse(l));
    assert.deepEqual(
      answers.map((a) => [a.id, a.ok ? 'ok' : a.error.code]),
      [
        [null, 'BAD_JSON'],
        [2, 'BAD_REQUEST'],
        [null, 'BAD_REQUEST'],
        [3, 'UNKNOWN_COMMAND'],
        [4, 'INTERNAL'],
        [5, 'CONFIG_INVALID'],
        [6, 'UNKNOWN_COMMAND'],
        [7, 'ok'],
      ],
    );
    assert.match(answers[3].error.message, /unknown command "nope" \(known: .*status/);
    assert.equal(answers[4].error.message, 'kaboom');
    assert.equal(answers[7].result, 'fine');
    // The client maps an error answer to ControlRemoteError with the daemon's code.
    await assert.rejects(request(sockPath, 'invalid'), (e: unknown) => e instanceof ControlRemoteError && e.remoteCode === 'CONFIG_INVALID' && /unknown key/.test(e.message));
  });

  it('answers an overlong line with LINE_TOO_LONG and goes on with the next line', async () => {
    await start({ status: () => 1 }, { maxLineBytes: 1024 });
    const lines = await raw(sockPath, 'x'.repeat(5000) + '\n{"id":2,"cmd":"status"}\n');
    const answers = lines.map((l) => JSON.parse(l));
    assert.equal(answers.length, 2);
    assert.equal(answers[0].error.code, 'LINE_TOO_LONG');
    assert.deepEqual([answers[1].id, answers[1].result], [2, 1]);
  });

  it('answers requests of one connection in order even when handlers finish out of order', async () => {
    await start({ wait: (args) => new Promise((r) => setTimeout(() => r(args.ms), Number(args.ms))) });
    const lines = await raw(sockPath, '{"id":1,"cmd":"wait","args":{"ms":150}}\n{"id":2,"cmd":"wait","args":{"ms":1}}\n');
    assert.deepEqual(lines.map((l) => JSON.parse(l).id), [1, 2]);
  });

  it('survives clients that vanish before their answer', async () => {
    await start({ slow: () => new Promise((r) => setTimeout(() => r('late'), 100)), status: () => 'alive' });
    const s = net.connect(sockPath);
    await new Promise((r) => s.once('connect', r));
    s.write('{"id":1,"cmd":"slow"}\n');
    s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await request(sockPath, 'status'), 'alive');
  });

  it('replaces a stale socket file that nothing answers on', async () => {
    fs.mkdirSync(path.dirname(sockPath), { recursive: true });
    // A socket file left behind by a killed daemon: bound, never listening.
    const stale = net.createServer();
    await new Promise<void>((r) => stale.listen(sockPath, r));
    // Closing unlinks; recreate the file as a dead socket by hard-linking first.
    fs.linkSync(sockPath, sockPath + '.keep');
    await new Promise((r) => stale.close(r));
    fs.renameSync(sockPath + '.keep', sockPath);
    assert.ok(fs.lstatSync(sockPath).isSocket());
    await start({ status: () => 'new' });
    assert.equal(await request(sockPath, 'status'), 'new');
  });

  it('refuses to start when another server answers on the path', async () => {
    await start({ status: () => 'first' });
    const second = new ControlServer({ path: sockPath, handlers: {} });
    await assert.rejects(second.listen(), ControlSocketInUseError);
    assert.equal(await request(sockPath, 'status'), 'first', 'the first server was left alone');
  });

  it('refuses to delete a path that is not a socket', async () => {
    fs.mkdirSync(path.dirname(sockPath), { recursive: true });
    fs.writeFileSync(sockPath, 'precious');
    const s = new ControlServer({ path: sockPath, handlers: {} });
    await assert.rejects(s.listen(), ControlSocketPathError);
    assert.equal(fs.readFileSync(sockPath, 'utf8'), 'precious');
  });

  it('client: daemon down gives "is lvsd running?"', async () => {
    await assert.rejects(request(sockPath, 'status'), (e: unknown) => e instanceof DaemonNotRunningError && e.message === `is lvsd running? no control socket at ${sockPath}`);
  });

  it('client: a server answering garbage or nothing gives typed errors', async () => {
    fs.mkdirSync(path.dirname(sockPath), { recursive: true });
    let mode: 'garbage' | 'silent' | 'close' = 'garbage';
    const fake = net.createServer((s) => {
      s.on('data', () => {
        if (mode === 'garbage') s.end('<html>oops</html>\n');
        else if (mode === 'close') s.end();
      });
    });
    await new Promise<void>((r) => fake.listen(sockPath, r));
    try {
      await assert.rejects(request(sockPath, 'status'), (e: unknown) => e instanceof ControlBadAnswerError && /not JSON/.test(e.message) && e.message.includes('<html>'));
      mode = 'silent';
      await assert.rejects(request(sockPath, 'status', {}, 200), ControlTimeoutError);
      mode = 'close';
      await assert.rejects(request(sockPath, 'status'), (e: unknown) => e instanceof ControlBadAnswerError && /without answering/.test(e.message));
    } finally {
      await new Promise((r) => fake.close(r));
    }
  });
});
