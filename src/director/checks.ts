/**
 * From the configuration to the checker process's input: one
 * {@link RealServerChecks} per real server, keyed by {@link rsId}. Pure.
 *
 * The config keeps durations in milliseconds and scripts as argv arrays; the
 * checker takes keepalived's units (seconds) and a `misc_path` command line,
 * so this file is the one place that converts between them.
 */
import type { CheckOptions, RealServerChecks } from '../check/types';
import type { Check, LvsdConfig, RealServer, VirtualServer } from '../config/types';

/** The identifier of a real server everywhere in the director: `VS/RS` (config section names). */
export type RsId = string;

/** `VS/RS` for a real server of a virtual server. */
export function rsId(vs: string, rs: string): RsId {
  return `${vs}/${rs}`;
}

/** Splits an {@link RsId} back into its virtual server and real server names. */
export function splitRsId(id: RsId): { vs: string; rs: string } {
  const i = id.indexOf('/');
  return { vs: id.slice(0, i), rs: id.slice(i + 1) };
}

// Safe words need no quoting in splitCommandLine's grammar.
const SAFE = /^[A-Za-z0-9_./:=@%+,-]+$/;

/**
 * Joins an argv into a command line that the checker's `splitCommandLine`
 * splits back into exactly the same argv (single quotes, `\'` for a quote).
 */
export function joinCommandLine(argv: readonly string[]): string {
  return argv.map((a) => (SAFE.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const sec = (ms: number): number => ms / 1000;

/** The checker options of one config check run against one real server (keepalived defaults already filled by the loader). */
export function checkOptionsOf(check: Check, rs: RealServer, vs: VirtualServer): CheckOptions {
  const sched = {
    delay_loop: sec(check.delayLoopMs),
    retry: check.retry,
    delay_before_retry: sec(check.delayBeforeRetryMs),
    warmup: sec(check.warmupMs),
    rise: check.rise,
    fall: check.fall,
    alpha: vs.alpha,
  };
  switch (check.type) {
    case 'TCP_CHECK':
      return {
        type: 'TCP_CHECK',
        ...sched,
        connect_ip: check.connectIp?.address ?? rs.address.address,
        connect_port: check.connectPort ?? rs.address.port,
        ...(check.bindto ? { bindto: check.bindto.address } : {}),
        ...(check.bindPort !== undefined ? { bind_port: check.bindPort } : {}),
        connect_timeout: sec(check.connectTimeoutMs),
      };
    case 'HTTP_GET':
    case 'SSL_GET':
      return {
        type: check.type,
        ...sched,
        connect_ip: check.connectIp?.address ?? rs.address.address,
        connect_port: check.connectPort ?? rs.address.port,
        url_path: check.urlPath,
        status_code: check.statusCode.map((r) => ({ from: r.min, to: r.max })),
        ...(check.digest ? { digest: check.digest } : {}),
        ...(check.regex ? { regex: check.regex } : {}),
        ...(check.virtualhost ? { virtualhost: check.virtualhost } : {}),
        ...(check.type === 'SSL_GET' && check.enableSni && check.sniName ? { servername: check.sniName } : {}),
        ...(check.caFile ? { ca_file: check.caFile } : {}),
        ...(check.type === 'SSL_GET' ? { verify: check.verifyCert } : {}),
        ...(check.bindto ? { bindto: check.bindto.address } : {}),
        connect_timeout: sec(check.connectTimeoutMs),
      };
    case 'MISC_CHECK':
      return {
        type: 'MISC_CHECK',
        ...sched,
        misc_path: joinCommandLine(check.miscPath.argv),
        misc_timeout: sec(check.miscTimeoutMs),
        misc_dynamic: check.miscDynamic,
        ...(check.user ? { user: { uid: check.user.uid, gid: check.user.gid } } : {}),
      };
  }
}

/**
 * The whole check set for the checker process: every real server of every
 * virtual server, in file order, with its checks resolved by name. A real
 * server without checks is listed with none (the checker reports it up).
 * A check name missing from `config.checks` is skipped (the loader already
 * rejected such a file).
 */
export function checkSetOf(config: LvsdConfig): RealServerChecks[] {
  const out: RealServerChecks[] = [];
  for (const vs of config.virtualServers.values()) {
    for (const rs of vs.realServers.values()) {
      const checks: CheckOptions[] = [];
      for (const name of rs.checks) {
        const c = config.checks.get(name);
        if (c) checks.push(checkOptionsOf(c, rs, vs));
      }
      out.push({ rs: rsId(vs.name, rs.name), checks });
    }
  }
  return out;
}
