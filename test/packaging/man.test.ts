/**
 * The man pages in packaging/man tell the truth about the real program:
 * every option of `lvsd --help` and every option and command of
 * `lvsctl --help` is documented, every key the configuration loader accepts
 * is listed in lvsd.conf(5) under its own section, and no key listed there is
 * one the loader would reject. The pages also format without a warning from
 * man(1), which is what lintian runs on them.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SECTION_KINDS } from '../../src/config';
import { HELP } from '../../src/main/args';
import { USAGE } from '../../src/cli/lvsctl';
import { acceptedKeys } from './config-keys';

const TOP = path.resolve(__dirname, '../../..');
const MAN = path.join(TOP, 'packaging/man');
const page = (name: string): string => fs.readFileSync(path.join(MAN, name), 'utf8');

/** Roff source → the words a reader sees: `\-` is `-`, font escapes gone. */
function plain(roff: string): string {
  return roff
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\-/g, '-')
    .replace(/\\\(dq/g, '"')
    .replace(/\\ /g, ' ');
}

/** Long and short options (`--config`, `-f`) in a help text's option lines. */
function helpOptions(help: string): string[] {
  const out = new Set<string>();
  for (const line of help.split('\n')) {
    for (const m of line.matchAll(/(?:^|[\s,[])(--?[a-zA-Z][a-zA-Z-]*)/g)) out.add(m[1]!);
  }
  return [...out];
}

/** Keys per section kind as lvsd.conf(5) lists them: `.TP`/`.TQ` items under `.SS "[kind..."`. */
function documentedKeys(roff: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let kind: string | undefined;
  const lines = roff.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const ss = /^\.S[SH]\s+"?\[([a-z_]+)/.exec(l);
    if (ss) {
      kind = ss[1]!;
      continue;
    }
    if (/^\.S[SH]\s/.test(l)) {
      kind = undefined;
      continue;
    }
    if (kind && (l === '.TP' || l === '.TQ')) {
      const m = /^\.B[IR]?\s+"?([a-z0-9_\\-]+?)(\[\])?[\s"=]/.exec(`${lines[i + 1] ?? ''} `);
      assert.ok(m, `lvsd.conf.5 line ${i + 2}: an item under [${kind}] does not start with a key: ${lines[i + 1]}`);
      const key = m[1]!.replace(/\\-/g, '-');
      const set = out.get(kind) ?? new Set<string>();
      set.add(key);
      out.set(kind, set);
    }
  }
  return out;
}

/** Runs man(1) as lintian does and returns its warnings (stderr). */
function manWarnings(file: string): string {
  const r = spawnSync('man', ['--warnings', '-E', 'UTF-8', '-l', '-Tutf8', '-Z', file], {
    env: { ...process.env, LC_ALL: 'C.UTF-8', MANWIDTH: '80' },
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`man(1) is needed to check the pages (apt-get install man-db groff-base): ${r.error.message}`);
  assert.equal(r.status, 0, `man -l ${file} failed: ${r.stderr}`);
  return r.stderr;
}

describe('packaging/man: the man pages match the program', () => {
  it('lvsd(8) documents every option of lvsd --help', () => {
    const text = plain(page('lvsd.8'));
    const opts = helpOptions(HELP);
    for (const o of ['--config', '-f', '--check-config', '-t', '--dry-run', '--log-level', '--help', '-h', '--version', '-v', '--output']) {
      assert.ok(opts.includes(o), `the option extractor missed ${o} in lvsd --help (extractor broken?)`);
    }
    const missing = opts.filter((o) => !new RegExp(`(^|[^a-zA-Z-])${o.replace(/-/g, '\\-')}([^a-zA-Z-]|$)`, 'm').test(text));
    assert.deepEqual(missing, [], `lvsd.8 does not mention: ${missing.join(' ')}`);
    assert.match(text, /import-keepalived/);
    for (const sig of ['SIGHUP', 'SIGTERM', 'SIGINT']) assert.match(text, new RegExp(sig), `lvsd.8 does not mention ${sig}`);
  });

  it('lvsd --help names every signal lvsd(8) documents (issue 12: SIGUSR1 and SIGUSR2 were missing)', () => {
    const section = plain(page('lvsd.8')).split(/^\.SH SIGNALS$/m)[1]!.split(/^\.SH /m)[0]!;
    const signals = [...new Set([...section.matchAll(/\bSIG[A-Z0-9]+\b/g)].map((m) => m[0]))];
    assert.ok(signals.includes('SIGUSR1') && signals.includes('SIGHUP'), `signals found in lvsd.8: ${signals.join(' ')}`);
    const missing = signals.filter((sig) => !HELP.includes(sig));
    assert.deepEqual(missing, [], `lvsd --help does not mention: ${missing.join(' ')}`);
  });

  it('lvsctl(8) documents every option and command of lvsctl --help', () => {
    const text = plain(page('lvsctl.8'));
    const opts = helpOptions(USAGE);
    for (const o of ['--socket', '--config', '--json', '--timeout', '-h', '--help', '-V', '--version']) {
      assert.ok(opts.includes(o), `the option extractor missed ${o} in lvsctl --help`);
    }
    const missing = opts.filter((o) => !new RegExp(`(^|[^a-zA-Z-])${o.replace(/-/g, '\\-')}([^a-zA-Z-]|$)`, 'm').test(text));
    assert.deepEqual(missing, [], `lvsctl.8 does not mention: ${missing.join(' ')}`);
    // Command lines sit at two spaces: the command's lower-case words, then arguments or the description.
    const commands = [
      ...new Set(
        USAGE.split('Commands:')[1]!
          .split('Options:')[0]!
          .split('\n')
          .map((l) => /^ {2}([a-z][a-z-]*(?: [a-z][a-z-]*)?)(?=\s|$)/.exec(l)?.[1])
          .filter((c): c is string => c !== undefined),
      ),
    ];
    for (const c of ['status', 'show vrrp', 'events', 'reload', 'help', 'version']) {
      assert.ok(commands.includes(c), `the command extractor missed "${c}" in lvsctl --help (extractor broken?)`);
    }
    for (const c of commands) assert.match(text, new RegExp(`^\\.BI? "?${c}`, 'm'), `lvsctl.8 has no item for the command "${c}"`);
  });

  it('lvsd.conf(5) lists every key the loader accepts, under its section, and no other', () => {
    const accepted = acceptedKeys();
    const documented = documentedKeys(page('lvsd.conf.5'));
    assert.deepEqual([...documented.keys()].sort(), Object.keys(SECTION_KINDS).sort(), 'lvsd.conf.5 needs one .SS "[kind...]" per section kind');
    const problems: string[] = [];
    for (const kind of Object.keys(SECTION_KINDS)) {
      const acc = accepted.get(kind)!;
      const doc = documented.get(kind)!;
      for (const k of acc) if (!doc.has(k)) problems.push(`[${kind}] ${k}: accepted by the loader, missing from lvsd.conf.5`);
      for (const k of doc) if (!acc.has(k)) problems.push(`[${kind}] ${k}: in lvsd.conf.5, but the loader rejects it`);
    }
    assert.deepEqual(problems, []);
  });

  it('lvsd.conf(5) states the defaults the loader applies for paths and ports', () => {
    const text = plain(page('lvsd.conf.5'));
    // The ones an operator looks up most; the loader exports them.
    const { GLOBAL_DEFAULTS, DEFAULT_VRRP_UDP_PORT } = require('../../src/config') as typeof import('../../src/config');
    for (const v of [GLOBAL_DEFAULTS.controlSocket, GLOBAL_DEFAULTS.stateDir, GLOBAL_DEFAULTS.pidFile, String(GLOBAL_DEFAULTS.lvsSyncPort), String(DEFAULT_VRRP_UDP_PORT)]) {
      assert.ok(text.includes(v), `lvsd.conf.5 does not state the default ${v}`);
    }
  });

  it('every page formats without a warning from man(1)', () => {
    for (const f of ['lvsd.8', 'lvsctl.8', 'lvsd.conf.5']) assert.equal(manWarnings(path.join(MAN, f)), '', `${f}: man(1) warnings`);
  });
});
