/**
 * lvsd's command line. Pure: argv in, a typed command or a usage error out.
 */

/** Where lvsd looks for its configuration unless told otherwise. */
export const DEFAULT_CONFIG = '/etc/lvsd/lvsd.conf';

/** What the command line asked for. */
export type LvsdCommand =
  | { kind: 'run'; config: string; dryRun: boolean; logLevel?: string }
  | { kind: 'check-config'; config: string }
  | { kind: 'import-keepalived'; file: string; output?: string; configId?: string }
  | { kind: 'help' }
  | { kind: 'version' };

/** A bad command line; the message says what to do instead. */
export class UsageError extends Error {
  readonly code = 'EUSAGE';
}

/** The text of `lvsd --help`: every option, kept true by a test. */
export const HELP = `Usage: lvsd [--config FILE] [--dry-run] [--log-level LEVEL]
       lvsd --check-config [--config FILE]
       lvsd import-keepalived FILE [--output FILE] [--config-id ID]

lvsd runs VRRP for the directors of a Linux Virtual Server pair, checks the
real servers and keeps the kernel's IPVS table equal to configuration and
health. It runs in the foreground and logs to stdout; systemd supervises it.
With a [bgp] section, directors can also run active/active: each puts the VIPs
of its announce = bgp virtual servers, while they have quorum, as routes in a
kernel table that BIRD exports over BGP (see lvsd.conf(5)).

Options:
  -f, --config FILE      configuration file (default ${DEFAULT_CONFIG})
  -t, --check-config     validate the configuration and exit: 0 when valid,
                         1 with one line per problem (FILE:LINE: message)
      --dry-run          run against an in-memory kernel: no addresses, ARP
                         or IPVS changes (VRRP packets are still exchanged)
      --log-level LEVEL  error | warn | info | debug (overrides log_level)
  -h, --help             show this help
  -v, --version          show the version

Commands:
  import-keepalived FILE [--output FILE] [--config-id ID]
                         translate a keepalived.conf (and its includes) into
                         lvsd.conf syntax, to stdout unless --output is given;
                         --config-id picks @ID conditional lines (default: the
                         host name up to its first dot). Exit 0 when all of it
                         was mapped, 3 when something was not (each listed as
                         FILE:LINE: not imported: ... on stderr and as comments
                         at the top of the output), 1 when it cannot be read

Signals: SIGHUP reloads the configuration (only the difference is applied, by
every part or by none; VRRP instances keep their state),
SIGTERM and SIGINT stop (BGP routes withdrawn first, priority 0 advertised,
VIPs removed), SIGUSR1
prints the status and the children's pids as one JSON line on stdout,
SIGUSR2 prints statistics (one JSON line per instance: adverts, errors,
drops).
Logs: one line per record, errors on stderr, the rest on stdout; under
systemd each line carries its syslog priority (journalctl -p err).
Control: lvsctl talks to the daemon over control_socket (see lvsctl --help).`;

/** Parses argv (without node and script). Throws {@link UsageError}. */
export function parseArgs(argv: readonly string[]): LvsdCommand {
  let config = DEFAULT_CONFIG;
  let check = false;
  let dryRun = false;
  let logLevel: string | undefined;
  let output: string | undefined;
  let configId: string | undefined;
  const positional: string[] = [];
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('-')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const take = (): string => (inline !== undefined ? inline : value(i++, flag));
    switch (flag) {
      case '-h':
      case '--help':
        return { kind: 'help' };
      case '-v':
      case '--version':
        return { kind: 'version' };
      case '-f':
      case '--config':
      case '--use-file':
        config = take();
        break;
      case '-t':
      case '--check-config':
        check = true;
        break;
      case '--dry-run':
        dryRun = true;
        break;
      case '--log-level': {
        logLevel = take();
        if (!['error', 'warn', 'info', 'debug'].includes(logLevel)) {
          throw new UsageError(`--log-level takes error, warn, info or debug, not "${logLevel}"`);
        }
        break;
      }
      case '-o':
      case '--output':
        output = take();
        break;
      case '-i':
      case '--config-id':
        configId = take();
        break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a} (see lvsd --help)`);
        positional.push(a);
    }
  }
  if (positional[0] === 'import-keepalived') {
    if (positional.length !== 2) throw new UsageError('import-keepalived takes one file: lvsd import-keepalived /etc/keepalived/keepalived.conf');
    return { kind: 'import-keepalived', file: positional[1]!, ...(output ? { output } : {}), ...(configId ? { configId } : {}) };
  }
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}" (see lvsd --help)`);
  if (output || configId) throw new UsageError(`${output ? '--output' : '--config-id'} goes with import-keepalived`);
  if (check) return { kind: 'check-config', config };
  return { kind: 'run', config, dryRun, ...(logLevel ? { logLevel } : {}) };
}
