import { strict as assert } from 'node:assert';
import { Announcer } from '../../src/bgp/announcer';

const cfg = (m: Record<string, string[]>) => ({ kind: 'config' as const, vips: new Map(Object.entries(m)) });

describe('bgp/announcer: which VIPs are announced, and why', () => {
  it('announces a VIP once every virtual server on it has quorum, withdraws it when one loses it', () => {
    const a = new Announcer();
    assert.deepEqual(a.step(cfg({ '192.0.2.10': ['web', 'web443'], '192.0.2.11': ['dns'] }), 1), []);
    assert.deepEqual(a.view().map((v) => [v.vip, v.state, v.cause]), [
      ['192.0.2.10', 'pending', 'quorum not known yet: web, web443'],
      ['192.0.2.11', 'pending', 'quorum not known yet: dns'],
    ]);
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'web', up: true }, 2), []);
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'web443', up: true }, 3), [{ kind: 'announce', vip: '192.0.2.10', cause: 'quorum gained: web443' }]);
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'dns', up: false }, 4), []);
    assert.equal(a.view()[1]!.state, 'withdrawn');
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'web', up: false }, 5), [{ kind: 'withdraw', vip: '192.0.2.10', cause: 'quorum lost: web' }]);
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'web', up: false }, 6), [], 'no news, no action');
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'web', up: true }, 7), [{ kind: 'announce', vip: '192.0.2.10', cause: 'quorum gained: web' }]);
    assert.deepEqual(a.view()[0], { vip: '192.0.2.10', state: 'announced', cause: 'quorum gained: web', since: 7, virtualServers: ['web', 'web443'] });
  });

  it('drain withdraws everything, undrain announces what has quorum; a stop withdraws and stays', () => {
    const a = new Announcer();
    a.step(cfg({ '192.0.2.10': ['web'], '192.0.2.11': ['dns'] }), 0);
    a.step({ kind: 'quorum', vs: 'web', up: true }, 1);
    a.step({ kind: 'quorum', vs: 'dns', up: false }, 1);
    assert.deepEqual(a.step({ kind: 'drain', drained: true }, 2), [{ kind: 'withdraw', vip: '192.0.2.10', cause: 'director drained (lvsctl drain)' }]);
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'dns', up: true }, 3), [], 'drained: quorum does not announce');
    assert.deepEqual(a.step({ kind: 'drain', drained: false }, 4), [
      { kind: 'announce', vip: '192.0.2.10', cause: 'director undrained (lvsctl undrain)' },
      { kind: 'announce', vip: '192.0.2.11', cause: 'director undrained (lvsctl undrain)' },
    ]);
    assert.deepEqual(a.step({ kind: 'stop' }, 5), [
      { kind: 'withdraw', vip: '192.0.2.10', cause: 'lvsd stopping' },
      { kind: 'withdraw', vip: '192.0.2.11', cause: 'lvsd stopping' },
    ]);
    assert.deepEqual(a.step({ kind: 'drain', drained: false }, 6), []);
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'web', up: true }, 6), []);
  });

  it('keeps a route found at start while quorum is unknown (a restarted director process does not flap), and withdraws strays', () => {
    const a = new Announcer();
    a.step(cfg({ '192.0.2.10': ['web'] }), 0);
    assert.deepEqual(a.step({ kind: 'installed', vips: ['192.0.2.10', '192.0.2.99'] }, 1), [
      { kind: 'withdraw', vip: '192.0.2.99', cause: 'found in the table at start, no virtual server announces it' },
    ]);
    assert.equal(a.view()[0]!.state, 'announced');
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'web', up: true }, 2), [], 'already announced');
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'web', up: false }, 3), [{ kind: 'withdraw', vip: '192.0.2.10', cause: 'quorum lost: web' }]);
  });

  it('a drained director withdraws a route found at start at once', () => {
    const a = new Announcer();
    a.step(cfg({ '192.0.2.10': ['web'] }), 0);
    a.step({ kind: 'drain', drained: true }, 0);
    assert.deepEqual(a.step({ kind: 'installed', vips: ['192.0.2.10'] }, 1), [{ kind: 'withdraw', vip: '192.0.2.10', cause: 'director drained (lvsctl drain)' }]);
  });

  it('withdraws a VIP whose last announcing virtual server leaves the configuration, and forgets its quorum', () => {
    const a = new Announcer();
    a.step(cfg({ '192.0.2.10': ['web'], '192.0.2.11': ['dns'] }), 0);
    a.step({ kind: 'quorum', vs: 'web', up: true }, 1);
    a.step({ kind: 'quorum', vs: 'dns', up: true }, 1);
    assert.deepEqual(a.step(cfg({ '192.0.2.11': ['dns'] }), 2), [{ kind: 'withdraw', vip: '192.0.2.10', cause: 'no virtual server with announce = bgp on it any more' }]);
    // Back again: its quorum must be reported afresh.
    assert.deepEqual(a.step(cfg({ '192.0.2.10': ['web'], '192.0.2.11': ['dns'] }), 3), []);
    assert.equal(a.view()[0]!.state, 'pending');
    // A second virtual server joins an announced VIP: withdrawn until it has quorum too.
    assert.deepEqual(a.step(cfg({ '192.0.2.10': ['web'], '192.0.2.11': ['dns', 'dns-tcp'] }), 4), []);
    assert.deepEqual(a.step({ kind: 'quorum', vs: 'dns-tcp', up: false }, 5), [{ kind: 'withdraw', vip: '192.0.2.11', cause: 'quorum lost: dns-tcp' }]);
    assert.deepEqual(a.announced(), []);
  });
});
