import { strict as assert } from 'node:assert';
import { DEFAULT_CONFIG, HELP, UsageError, parseArgs } from '../../src/main/args';

describe('lvsd command line', () => {
  it('runs the daemon on the default config with no arguments', () => {
    assert.deepEqual(parseArgs([]), { kind: 'run', config: DEFAULT_CONFIG, dryRun: false });
  });
  it('takes --config FILE, --config=FILE and -f FILE', () => {
    for (const argv of [['--config', '/x.conf'], ['--config=/x.conf'], ['-f', '/x.conf']]) {
      assert.deepEqual(parseArgs(argv), { kind: 'run', config: '/x.conf', dryRun: false });
    }
  });
  it('validates with --check-config and -t', () => {
    assert.deepEqual(parseArgs(['--check-config', '--config', '/x.conf']), { kind: 'check-config', config: '/x.conf' });
    assert.deepEqual(parseArgs(['-t']), { kind: 'check-config', config: DEFAULT_CONFIG });
  });
  it('imports a keepalived.conf', () => {
    assert.deepEqual(parseArgs(['import-keepalived', 'k.conf', '--output', 'o.conf', '--config-id', 'lb1']), { kind: 'import-keepalived', file: 'k.conf', output: 'o.conf', configId: 'lb1' });
  });
  it('passes --dry-run and --log-level through', () => {
    assert.deepEqual(parseArgs(['--dry-run', '--log-level', 'debug']), { kind: 'run', config: DEFAULT_CONFIG, dryRun: true, logLevel: 'debug' });
  });
  it('rejects what it does not know, saying what to do instead', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--bogus'], /unknown option --bogus \(see lvsd --help\)/],
      [['--config'], /--config needs a value/],
      [['--log-level', 'loud'], /error, warn, info or debug/],
      [['import-keepalived'], /takes one file/],
      [['extra'], /unexpected argument "extra"/],
      [['--output', 'x'], /--output goes with import-keepalived/],
    ];
    for (const [argv, re] of cases) assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(' '));
  });
  it('documents every option it accepts in --help', () => {
    for (const opt of ['--config', '--check-config', '--dry-run', '--log-level', '--help', '--version', 'import-keepalived', '--output', '--config-id']) {
      assert.ok(HELP.includes(opt), `${opt} missing from --help`);
    }
  });
});
