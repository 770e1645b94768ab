/**
 * What the translators share: the report of what was not imported (always
 * with file and line), notes, section building with origins, and small
 * readers of a statement's arguments.
 */
import type { IniEntry, IniSection, Origin } from './ini-doc';
import type { Token } from './lexer';
import type { KNode } from './parser';

/** A keepalived keyword lvsd could not take, and why. */
export interface NotImported {
  readonly file: string;
  readonly line: number;
  readonly keyword: string;
  readonly why: string;
}

/** Something the importer changed or decided that the operator should know (not a loss). */
export interface ImportNote {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** Why lvsd does not take a keepalived keyword, for keywords known to keepalived. */
const REASONS: Readonly<Record<string, string>> = {
  notification_email: 'lvsd sends no e-mail; use notify scripts',
  notification_email_from: 'lvsd sends no e-mail',
  smtp_server: 'lvsd sends no e-mail',
  smtp_connect_timeout: 'lvsd sends no e-mail',
  smtp_helo_name: 'lvsd sends no e-mail',
  smtp_alert: 'lvsd sends no e-mail; use notify scripts',
  smtp_alert_vrrp: 'lvsd sends no e-mail',
  smtp_alert_checker: 'lvsd sends no e-mail',
  email_faults: 'lvsd sends no e-mail',
  static_ipaddress: 'lvsd manages no static addresses',
  static_routes: 'lvsd manages no routes',
  static_rules: 'lvsd manages no policy rules',
  virtual_routes: 'lvsd manages no routes',
  virtual_rules: 'lvsd manages no policy rules',
  use_vmac: 'lvsd has no VMAC (macvlan) interfaces',
  vmac_xmit_base: 'lvsd has no VMAC interfaces',
  net_namespace: 'lvsd runs in the namespace it is started in',
  vrrp_strict: 'lvsd has no strict RFC mode',
  vrrp_iptables: 'lvsd adds no firewall rules',
  vrrp_nftables: 'lvsd adds no firewall rules',
  vrrp_skip_check_adv_addr: 'lvsd always counts a VIP list mismatch without dropping',
  track_file: 'lvsd has no tracked files; use a vrrp_script',
  vrrp_track_file: 'lvsd has no tracked files; use a vrrp_script',
  track_process: 'lvsd has no tracked processes; use a vrrp_script',
  vrrp_track_process: 'lvsd has no tracked processes; use a vrrp_script',
  track_bfd: 'lvsd has no BFD',
  bfd_instance: 'lvsd has no BFD',
  garp_group: 'lvsd has no garp groups; set garp_* on each instance',
  linkbeat_use_polling: 'lvsd watches links with netlink only',
  omega: 'lvsd has no omega mode (quorum_down at shutdown)',
  ha_suspend: 'lvsd always checks real servers',
  UDP_CHECK: 'lvsd has no UDP checker; a MISC_CHECK script can do it',
  BFD_CHECK: 'lvsd has no BFD',
  FILE_CHECK: 'lvsd has no file checker; a MISC_CHECK script can do it',
  SSL: 'lvsd takes TLS settings per check (ca_file), not a global SSL block',
  log_all_failures: 'lvsd logs every failure the same way',
  bind_if: 'lvsd binds checks by address only (bindto)',
  fwmark: 'lvsd marks no check traffic',
  vrrp_notify_fifo: 'lvsd has one notify_fifo for all events',
  lvs_notify_fifo: 'lvsd has one notify_fifo for all events',
  accept: 'lvsd does not filter traffic to VIPs',
  no_accept: 'lvsd does not filter traffic to VIPs',
  strict_mode: 'lvsd has no strict RFC mode',
  promote_secondaries: 'lvsd does not set interface sysctls',
};

/** Shared state of one translation. */
export class Ctx {
  readonly notImported: NotImported[] = [];
  readonly notes: ImportNote[] = [];

  /** Lists a keyword as not imported. */
  skip(at: { file: string; line: number }, keyword: string, why: string): void {
    this.notImported.push({ file: at.file, line: at.line, keyword, why });
  }

  /** Lists a statement lvsd has no place for, with the known reason or a generic one. */
  unknown(n: KNode, where: string): void {
    this.skip(n, n.keyword, REASONS[n.keyword] ?? `lvsd has no equivalent in ${where}`);
  }

  /** Records a note. */
  note(at: { file: string; line: number }, text: string): void {
    this.notes.push({ file: at.file, line: at.line, text });
  }

  /** Reports a statement that needs `n` arguments and has fewer; true when it is usable. */
  need(n: KNode, count: number, what: string): boolean {
    if (n.args.length >= count) return true;
    this.skip(n, n.keyword, `needs ${what}`);
    return false;
  }

  /**
   * Lists the words after the first `count` arguments: lvsd takes no more,
   * and keepalived would ignore or refuse them, so they are not silently lost.
   */
  extra(n: KNode, count = 1): void {
    if (n.args.length <= count) return;
    const rest = n.args.slice(count).map((t) => t.text).join(' ');
    this.skip(n, `${n.keyword} ... ${rest}`, `takes ${count === 1 ? 'one value' : `${count} values`}; the rest of the line is not used`);
  }

  /** Reports a block statement written without its block (or a plain one with a block). */
  needBlock(n: KNode): n is KNode & { children: KNode[] } {
    if (n.children) return true;
    this.skip(n, n.keyword, 'needs a { ... } block');
    return false;
  }
}

/** The origin of a statement. */
export function origin(n: KNode): Origin {
  return { file: n.file, line: n.line, keyword: n.keyword };
}

/** A section under construction. */
export class SectionBuilder implements IniSection {
  readonly entries: IniEntry[] = [];
  constructor(
    readonly header: string,
    readonly origin: Origin,
  ) {}

  /** Adds `key = value` (or `key[] = value`) made from statement `n`. */
  set(key: string, value: string, n: KNode | Origin, array = false): void {
    const o = 'args' in n ? origin(n) : n;
    this.entries.push({ key, value, array, origin: o });
  }

  /** Whether a key is already set. */
  has(key: string): boolean {
    return this.entries.some((e) => e.key === key);
  }
}

/** The argument words' texts. */
export function words(n: KNode): string[] {
  return n.args.map((t) => t.text);
}

/**
 * A command line as keepalived reads it: one quoted word is the whole command
 * (keepalived splits it itself, honouring quotes inside); several words are
 * joined, a word that was quoted and holds blanks re-quoted so it stays one
 * argument.
 */
export function commandLine(args: readonly Token[]): string {
  if (args.length === 1) return args[0]!.text;
  return args.map((t) => (t.quoted && /\s/.test(t.text) ? `'${t.text}'` : t.text)).join(' ');
}

/** Section names are labels: letters, digits, `_` and `-`. */
export function label(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}
