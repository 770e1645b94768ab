import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { parseIp } from '../../src/lib/ip';
import { VrrpConfigError } from '../../src/vrrp/errors';
import {
  clampPriority,
  init,
  initialMasterDownMs,
  makeAdvert,
  masterDownIntervalMs,
  skewTimeMs,
  step,
  type VrrpConfig,
} from '../../src/vrrp/fsm';
import { decodeIpv4Header } from '../../src/vrrp/ipv4';
import { encodeVrrp } from '../../src/vrrp/packet';
import { VRRP_TEST_DEFAULTS } from './defaults';
import { FIXTURES, readCaptureConf, readPcap } from './pcap';

const ip = (s: string): Uint8Array => parseIp(s)!;

describe('vrrp fsm: timing formulas (RFC 5798 §6.1, RFC 3768 §6.1)', () => {
  it('v3 priority 100 at 100 cs: Skew_Time 0.609375 s, Master_Down_Interval 3.609375 s', () => {
    assert.equal(skewTimeMs(3, 100, 100), 609.375);
    assert.equal(masterDownIntervalMs(3, 100, 100), 3609.375);
  });
  it('v3 scales the skew with Master_Adver_Interval', () => {
    assert.equal(skewTimeMs(3, 100, 10), 60.9375);
    assert.equal(masterDownIntervalMs(3, 100, 10), 360.9375);
    assert.equal(masterDownIntervalMs(3, 150, 50), 1500 + (106 * 500) / 256);
  });
  it('v2 skew is (256 − p)/256 s whatever the interval', () => {
    assert.equal(skewTimeMs(2, 100, 300), 609.375);
    assert.equal(skewTimeMs(2, 255, 100), 3.90625);
    assert.equal(masterDownIntervalMs(2, 200, 300), 9218.75);
  });
  it("the first down timer of `state MASTER` is one interval plus keepalived's minimum skew", () => {
    assert.equal(initialMasterDownMs(3, 100), 1000 + 1000 / 256);
    assert.equal(initialMasterDownMs(3, 10), 100 + 100 / 256);
    assert.equal(initialMasterDownMs(2, 200), 2000 + 1000 / 256);
  });
  it('a higher priority always gives a shorter down interval', () => {
    for (let p = 1; p < 255; p++) assert.ok(masterDownIntervalMs(3, p + 1, 100) < masterDownIntervalMs(3, p, 100));
  });
  it('clamps tracked priority to 1..254, owners stay 255', () => {
    assert.equal(clampPriority(100, 0), 1);
    assert.equal(clampPriority(100, 255), 254);
    assert.equal(clampPriority(100, 140), 140);
    assert.equal(clampPriority(255, 10), 255);
  });
});

const base: VrrpConfig = {
  ...VRRP_TEST_DEFAULTS,
  primaryAddress: ip('192.0.2.11'),
  vips: ['192.0.2.100/24'],
  unicastPeers: [],
};

describe('vrrp fsm: init validates the configuration', () => {
  const rejects = (patch: Partial<VrrpConfig>, word: string): void => {
    assert.throws(
      () => init({ ...base, ...patch }),
      (e: unknown) => e instanceof VrrpConfigError && e.code === 'ERR_VRRP_CONFIG' && e.message.includes(word) && e.message.includes('VI_1'),
    );
  };
  it('refuses out-of-range values with the field named', () => {
    rejects({ vrid: 0 }, 'virtual_router_id');
    rejects({ priority: 256 }, 'priority');
    rejects({ version: 2, advertInterval: 150 }, 'advert_int');
    rejects({ advertInterval: 4096 }, 'advert_int');
    rejects({ vips: ['2001:db8::1'] }, 'virtual_ipaddress');
    rejects({ primaryAddress: ip('2001:db8::1') }, 'primary address');
    rejects({ unicastPeers: [ip('2001:db8::1')] }, 'unicast_peer');
  });
  it('starts in INIT with nothing armed', () => {
    const s = init(base, 42);
    assert.equal(s.state, 'INIT');
    assert.equal(s.since, 42);
    assert.deepEqual(s.timers, { adver: null, 'master-down': null });
  });
});

describe("vrrp fsm: makeAdvert builds keepalived's bytes", () => {
  for (const name of ['v2-pass-ipv4', 'v3-ipv4', 'v3-ipv4-unicast']) {
    it(`${name}: our advert for the same config equals the captured one`, () => {
      const conf = readCaptureConf(path.join(FIXTURES, `${name}.conf`));
      const frame = readPcap(path.join(FIXTURES, `${name}.pcap`))[0]!.data.subarray(14);
      const h = decodeIpv4Header(frame);
      assert.ok(h.ok);
      const s = init({
        ...base,
        vrid: conf.vrid,
        version: conf.version,
        priority: conf.priority,
        advertInterval: conf.advertIntervalSeconds * 100,
        primaryAddress: h.header.src,
        vips: conf.vips,
        auth: conf.authPass ? { type: 'PASS', password: conf.authPass } : undefined,
        unicastPeers: conf.unicastPeers.map(ip),
      });
      const ours = encodeVrrp(makeAdvert(s, conf.priority), { family: 4, src: h.header.src, dst: h.header.dst });
      assert.equal(Buffer.from(ours).toString('hex'), Buffer.from(h.payload).toString('hex'));
    });
  }
  it('v3-ipv6 likewise', () => {
    const conf = readCaptureConf(path.join(FIXTURES, 'v3-ipv6.conf'));
    const l3 = readPcap(path.join(FIXTURES, 'v3-ipv6.pcap'))[0]!.data.subarray(14);
    const src = l3.slice(8, 24);
    const dst = l3.slice(24, 40);
    const s = init({ ...base, family: 6, vrid: conf.vrid, priority: conf.priority, advertInterval: Math.round(conf.advertIntervalSeconds * 100), primaryAddress: src, vips: conf.vips });
    const ours = encodeVrrp(makeAdvert(s, conf.priority), { family: 6, src, dst });
    assert.equal(Buffer.from(ours).toString('hex'), Buffer.from(l3.subarray(40)).toString('hex'));
  });
});

describe('vrrp fsm: two instances converge (a small simulation)', () => {
  it('exactly one master after a split brain heals, the higher priority one', () => {
    const a0 = init({ ...base, priority: 150, primaryAddress: ip('192.0.2.11') });
    const b0 = init({ ...base, priority: 100, primaryAddress: ip('192.0.2.12') });
    // Both became master while partitioned.
    let a = step(step(a0, { kind: 'startup', now: 0 }).state, { kind: 'timeout', timer: 'master-down', now: 3414.0625 }).state;
    let b = step(step(b0, { kind: 'startup', now: 0 }).state, { kind: 'timeout', timer: 'master-down', now: 3609.375 }).state;
    assert.equal(a.state, 'MASTER');
    assert.equal(b.state, 'MASTER');
    // The partition heals: each hears the other's next advert.
    const ra = step(a, { kind: 'advert', now: 5000, src: ip('192.0.2.12'), packet: makeAdvert(b, 100) });
    const rb = step(b, { kind: 'advert', now: 5000, src: ip('192.0.2.11'), packet: makeAdvert(a, 150) });
    a = ra.state;
    b = rb.state;
    assert.equal(a.state, 'MASTER');
    assert.equal(b.state, 'BACKUP');
    assert.ok(ra.actions.some((x) => x.type === 'garp'));
    assert.ok(rb.actions.some((x) => x.type === 'del-vips'));
  });
});

describe('vrrp fsm: reconfigure (a reload applied in place, issue #10)', () => {
  const master = (): ReturnType<typeof init> => {
    const s0 = init({ ...base, priority: 150, advertInterval: 10, primaryAddress: ip('192.0.2.11') });
    return step(step(s0, { kind: 'startup', now: 0 }).state, { kind: 'timeout', timer: 'master-down', now: 400 }).state;
  };
  it('refuses to change identity (VRID, version, family) and leaves the state as it was', () => {
    const s = master();
    for (const change of [{ vrid: 52 }, { version: 2 as const, advertInterval: 100 }]) {
      assert.throws(() => step(s, { kind: 'reconfigure', now: 500, reason: 'reload', config: { ...s.config, ...change } }), VrrpConfigError);
    }
    assert.equal(s.state, 'MASTER');
  });
  it('refuses a configuration init would refuse', () => {
    const s = master();
    assert.throws(() => step(s, { kind: 'reconfigure', now: 500, reason: 'reload', config: { ...s.config, advertInterval: 0 } }), VrrpConfigError);
  });
  it('keeps the tracking offset over a new base priority, and an owner at 255', () => {
    let s = master();
    s = step(s, { kind: 'priority', now: 450, effective: 130 }).state; // tracking -20
    s = step(s, { kind: 'reconfigure', now: 500, reason: 'reload', config: { ...s.config, priority: 140 } }).state;
    assert.equal(s.effectivePriority, 120);
    s = step(s, { kind: 'reconfigure', now: 600, reason: 'reload', config: { ...s.config, priority: 255 } }).state;
    assert.equal(s.effectivePriority, 255);
    assert.equal(s.state, 'MASTER');
  });
  it('shortens a running preempt delay to the new one, and drops it with preempt_delay 0', () => {
    const s0 = init({ ...base, priority: 150, preemptDelay: 60_000, primaryAddress: ip('192.0.2.11') });
    let s = step(s0, { kind: 'startup', now: 0 }).state;
    assert.equal(s.preemptUntil, 60_000);
    s = step(s, { kind: 'reconfigure', now: 1000, reason: 'reload', config: { ...s.config, preemptDelay: 5000 } }).state;
    assert.equal(s.preemptUntil, 6000);
    s = step(s, { kind: 'reconfigure', now: 2000, reason: 'reload', config: { ...s.config, preemptDelay: 0 } }).state;
    assert.equal(s.preemptUntil, null);
    assert.equal(s.state, 'BACKUP');
  });
  it('a BACKUP that has heard no master takes the new interval; timers are not touched', () => {
    let s = step(init({ ...base, primaryAddress: ip('192.0.2.11') }), { kind: 'startup', now: 0 }).state;
    const r = step(s, { kind: 'reconfigure', now: 100, reason: 'reload', config: { ...s.config, advertInterval: 10 } });
    s = r.state;
    assert.equal(s.masterAdverInterval, 10);
    assert.deepEqual(r.actions, []);
    assert.equal(s.state, 'BACKUP');
  });
});
