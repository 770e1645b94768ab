/**
 * The configuration loader: INI text → {@link LvsdConfig} plus the problems
 * found, each with its file and line (see /work/shared/design/CONFIG.md).
 *
 * Stages: scan (source.ts) → sections by kind → one builder per kind
 * (build-*.ts, one section at a time) → references between sections and
 * host checks (validate.ts). A configuration is returned only when there is
 * no error; warnings never stop it.
 */
import * as fs from 'node:fs';
import { buildGlobal, buildNotifier } from './build-global';
import { buildBgp, validateBgp } from './build-bgp';
import { buildCheck, buildRealServer, buildVirtualServer } from './build-lvs';
import { buildVrrpInstance, buildVrrpScript, buildVrrpSyncGroup, LABEL_RE } from './build-vrrp';
import { ConfigInvalidError, hasErrors, ProblemCode, ProblemSink, sortProblems, type Problem } from './errors';
import { realHost, type HostProbe } from './host';
import { closest, SectionReader } from './reader';
import { scanIni, type SourceSection } from './source';
import type { Check, LvsdConfig, Notifier, RealServer, VirtualServer, VrrpInstance, VrrpScript, VrrpSyncGroup } from './types';
import { systemUsers, type UserDb } from './users';
import { validateHost, validateReferences } from './validate';

/** Section kinds and how many name labels follow the kind. */
export const SECTION_KINDS = {
  global: 0,
  vrrp_script: 1,
  vrrp_instance: 1,
  vrrp_sync_group: 1,
  check: 1,
  virtual_server: 1,
  real_server: 2,
  notify: 1,
  bgp: 0,
} as const;

/** One of the section kinds. */
export type SectionKind = keyof typeof SECTION_KINDS;

/** keepalived block names an importer might carry over. */
const KIND_HINTS: Readonly<Record<string, string>> = {
  global_defs: 'global',
};

/** What {@link parseConfig} and {@link loadConfig} return. */
export interface LoadResult {
  /** Present only when no problem is an error. */
  readonly config?: LvsdConfig;
  /** Sorted by line; errors first on a line. */
  readonly problems: Problem[];
}

/** Loader options. */
export interface LoadOptions {
  /**
   * Host questions (missing interfaces/programs → warnings). `parseConfig`
   * asks none unless given one; `loadConfig` defaults to the real host.
   */
  readonly host?: HostProbe | null;
  /**
   * Resolves script_user and `user` names to ids. Default: this host's
   * /etc/passwd and /etc/group, read only when such a key is present. An
   * unknown name is an error: no script could run as it.
   */
  readonly users?: UserDb;
}

interface Classified {
  readonly kind: SectionKind;
  readonly labels: readonly string[];
  readonly section: SourceSection;
}

function classify(sections: readonly SourceSection[], sink: ProblemSink): Classified[] {
  const out: Classified[] = [];
  const seen = new Map<string, number>();
  for (const s of sections) {
    const parts = s.header.split('.').map((p) => p.trim());
    const kindText = parts[0]!;
    if (!(kindText in SECTION_KINDS)) {
      const hint = KIND_HINTS[kindText];
      const near = hint ?? closest(kindText, Object.keys(SECTION_KINDS));
      sink.error(
        s.line,
        ProblemCode.UnknownSection,
        `unknown section kind "${kindText}"${near ? `; did you mean "${near}"?` : ''} (kinds: ${Object.keys(SECTION_KINDS).join(', ')})`,
      );
      continue;
    }
    const kind = kindText as SectionKind;
    const labels = parts.slice(1);
    const want = SECTION_KINDS[kind];
    if (labels.length !== want) {
      const form = want === 0 ? '[global]' : want === 1 ? `[${kind}.NAME]` : `[${kind}.VIRTUAL_SERVER.NAME]`;
      sink.error(s.line, ProblemCode.UnknownSection, `section [${s.header}] must be written ${form} (names are labels without dots)`);
      continue;
    }
    const bad = labels.find((l) => !LABEL_RE.test(l));
    if (bad !== undefined) {
      sink.error(s.line, ProblemCode.UnknownSection, `section name "${bad}" may hold only letters, digits, "_" and "-"`);
      continue;
    }
    const key = [kind, ...labels].join('.');
    const first = seen.get(key);
    if (first !== undefined) {
      sink.error(s.line, ProblemCode.DuplicateSection, `duplicate section [${key}] (first at line ${first})`);
      continue;
    }
    seen.set(key, s.line);
    out.push({ kind, labels, section: s });
  }
  return out;
}

/**
 * Parses configuration text. Pure unless `opts.host` is given (then host
 * findings become warnings), apart from reading /etc/passwd and /etc/group
 * for user keys when `opts.users` is not given. Never throws on bad input.
 */
export function parseConfig(text: string, file: string, opts: LoadOptions = {}): LoadResult {
  const sink = new ProblemSink(file);
  const users = opts.users ?? systemUsers();
  const classified = classify(scanIni(text, sink), sink);
  const of = (k: SectionKind) => classified.filter((c) => c.kind === k);
  const reader = (c: Classified) => new SectionReader(c.section, sink);

  const globalSec = of('global')[0];
  let global;
  if (globalSec) {
    const r = reader(globalSec);
    global = buildGlobal(r, users);
    r.finish();
  } else global = buildGlobal(undefined, users);

  const build = <T>(kind: SectionKind, fn: (r: SectionReader, c: Classified) => T | undefined, finish = true): Map<string, T> => {
    const m = new Map<string, T>();
    for (const c of of(kind)) {
      const r = reader(c);
      const v = fn(r, c);
      if (finish) r.finish();
      if (v !== undefined) m.set(c.labels.join('.'), v);
    }
    return m;
  };
  const vrrpScripts = build<VrrpScript>('vrrp_script', (r, c) => buildVrrpScript(r, c.labels[0]!, global, users));
  const vrrpInstances = build<VrrpInstance>('vrrp_instance', (r, c) => buildVrrpInstance(r, c.labels[0]!, global));
  const vrrpSyncGroups = build<VrrpSyncGroup>('vrrp_sync_group', (r, c) => buildVrrpSyncGroup(r, c.labels[0]!));
  const checks = build<Check>('check', (r, c) => buildCheck(r, c.labels[0]!, global, users), false);
  const virtualServers = build('virtual_server', (r, c) => buildVirtualServer(r, c.labels[0]!));
  build<RealServer>('real_server', (r, c) => {
    const [vsName, name] = c.labels as [string, string];
    const vs = virtualServers.get(vsName);
    if (!vs) {
      sink.error(
        c.section.line,
        ProblemCode.DanglingReference,
        `[real_server.${vsName}.${name}]: virtual server "${vsName}" is not defined: no [virtual_server.${vsName}]` +
          ((n) => (n ? `; did you mean "${n}"?` : ''))(closest(vsName, virtualServers.keys())),
      );
      // Its keys cannot be judged without the virtual server: the one error above says why.
      return undefined;
    }
    const rs = buildRealServer(r, vsName, name, vs);
    r.finish();
    if (rs) vs.realServers.set(name, rs);
    return rs;
  }, false);
  const notifiers = build<Notifier>('notify', (r, c) => buildNotifier(r, c.labels[0]!));
  const bgpSec = of('bgp')[0];
  let bgp;
  if (bgpSec) {
    const r = reader(bgpSec);
    bgp = buildBgp(r);
    r.finish();
  }

  const config: LvsdConfig = {
    file,
    global,
    vrrpScripts,
    vrrpInstances,
    vrrpSyncGroups,
    checks,
    virtualServers: virtualServers as Map<string, VirtualServer>,
    notifiers,
    ...(bgp ? { bgp } : {}),
  };
  validateReferences(config, sink);
  validateBgp(config, sink);
  if (opts.host) validateHost(config, opts.host, sink);
  const problems = sortProblems(sink.problems);
  return hasErrors(problems) ? { problems } : { config, problems };
}

/**
 * Reads and parses a file. An unreadable file is one error at line 0.
 * Host checks use the real host unless `opts.host` says otherwise (`null`: none).
 */
export function loadConfig(file: string, opts: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return {
      problems: [{ file, line: 0, severity: 'error', code: ProblemCode.Read, message: `cannot read the configuration: ${err.code ?? err.message}` }],
    };
  }
  return parseConfig(text, file, { host: opts.host === undefined ? realHost : opts.host, ...(opts.users ? { users: opts.users } : {}) });
}

/** Like {@link loadConfig}, but throws {@link ConfigInvalidError} when the file has errors. */
export function loadConfigOrThrow(file: string, opts: LoadOptions = {}): { config: LvsdConfig; warnings: Problem[] } {
  const r = loadConfig(file, opts);
  if (!r.config) throw new ConfigInvalidError(file, r.problems);
  return { config: r.config, warnings: r.problems };
}
