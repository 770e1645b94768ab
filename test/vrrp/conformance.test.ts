/**
 * Runs every folder under test/vrrp/conformance/: config.json (overrides of
 * the defaults below), input.jsonl (one input per line) and expected.jsonl
 * (line i = the JSON array of actions input i must produce). Addresses are
 * written as text; a v2 packet's `password` stands for its auth data; a
 * 'reconfigure' input's `config` is written as overrides of config.json.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseIp } from '../../src/lib/ip';
import { init, step, type VrrpConfig, type VrrpInput } from '../../src/vrrp/fsm';
import { passwordAuthData, type VrrpPacket } from '../../src/vrrp/packet';
import { VRRP_TEST_DEFAULTS } from './defaults';

const DIR = path.resolve(__dirname, '../../../test/vrrp/conformance');

const ip = (s: string): Uint8Array => {
  const b = parseIp(s);
  if (!b) throw new Error(`bad address ${s} in a conformance case`);
  return b;
};

type Json = Record<string, unknown>;

/** Conformance config: the defaults, with the case's fields over them. */
export function configFromJson(j: Json): VrrpConfig {
  const d: Json = {
    ...VRRP_TEST_DEFAULTS,
    primaryAddress: '192.0.2.11',
    vips: ['192.0.2.100'],
    unicastPeers: [],
    ...j,
  };
  return {
    ...(d as unknown as VrrpConfig),
    primaryAddress: ip(d.primaryAddress as string),
    unicastPeers: (d.unicastPeers as string[]).map(ip),
  };
}

function packetFromJson(j: Json, c: VrrpConfig): VrrpPacket {
  const version = (j.version as 2 | 3 | undefined) ?? c.version;
  const addresses = ((j.addresses as string[] | undefined) ?? c.vips.map((v) => v.replace(/\/\d+$/, ''))).map(ip);
  const vrid = (j.vrid as number | undefined) ?? c.vrid;
  const priority = j.priority as number;
  if (version === 3) return { version, vrid, priority, addresses, maxAdvertInterval: (j.maxAdvertInterval as number | undefined) ?? c.advertInterval };
  const password = (j.password as string | undefined) ?? (c.auth?.type === 'PASS' ? c.auth.password : undefined);
  return {
    version,
    vrid,
    priority,
    addresses,
    advertInterval: (j.advertInterval as number | undefined) ?? c.advertInterval / 100,
    authType: (j.authType as number | undefined) ?? (password !== undefined ? 1 : 0),
    authData: password !== undefined ? passwordAuthData(password) : new Uint8Array(8),
  };
}

/** An input line; a 'reconfigure' line's `config` holds overrides of the case's config.json. */
function inputFromJson(j: Json, c: VrrpConfig, caseJson: Json): VrrpInput {
  if (j.kind === 'reconfigure') return { kind: 'reconfigure', now: j.now as number, reason: j.reason as string, config: configFromJson({ ...caseJson, ...(j.config as Json) }) };
  if (j.kind === 'advert') return { kind: 'advert', now: j.now as number, src: ip(j.src as string), packet: packetFromJson(j.packet as Json, c) };
  return j as unknown as VrrpInput;
}

const lines = (file: string): Json[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('//'))
    .map((l) => JSON.parse(l) as Json);

describe('vrrp fsm: conformance cases', () => {
  const cases = fs.readdirSync(DIR).filter((d) => fs.statSync(path.join(DIR, d)).isDirectory()).sort();
  it('has at least 15 cases', () => assert.ok(cases.length >= 15, `${cases.length} cases`));
  for (const name of cases) {
    it(name, () => {
      const dir = path.join(DIR, name);
      const cfgFile = path.join(dir, 'config.json');
      const caseJson = fs.existsSync(cfgFile) ? (JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Json) : {};
      const config = configFromJson(caseJson);
      const inputs = lines(path.join(dir, 'input.jsonl'));
      const expected = fs
        .readFileSync(path.join(dir, 'expected.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.trim().startsWith('//'))
        .map((l) => JSON.parse(l) as unknown[]);
      assert.equal(expected.length, inputs.length, 'one expected line per input');
      let s = init(config, 0);
      inputs.forEach((j, i) => {
        const before = JSON.stringify(s, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));
        const r = step(s, inputFromJson(j, config, caseJson));
        assert.equal(JSON.stringify(s, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)), before, 'step must not modify its input state');
        assert.deepEqual(r.actions, expected[i], `input line ${i + 1}: ${JSON.stringify(j)}`);
        s = r.state;
      });
    });
  }
});
