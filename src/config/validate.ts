/**
 * Checks between sections (references, clashes) and against the host.
 * Errors land on the referencing line; host findings are warnings only.
 */
import { formatEndpoint } from './address';
import { ProblemCode, type ProblemSink } from './errors';
import type { HostProbe } from './host';
import { closest } from './reader';
import type { LvsdConfig, RunAs, Script, VrrpInstance } from './types';

function didYouMean(name: string, candidates: Iterable<string>): string {
  const near = closest(name, candidates);
  return near ? `; did you mean "${near}"?` : '';
}

/**
 * Cross-section rules. Mutates `syncGroup` on instances (the one place a
 * section's object depends on another's).
 */
export function validateReferences(cfg: LvsdConfig, sink: ProblemSink): void {
  const { vrrpScripts, vrrpInstances, vrrpSyncGroups, checks, virtualServers, global } = cfg;

  for (const inst of vrrpInstances.values()) {
    for (const t of inst.trackScripts) {
      if (!vrrpScripts.has(t.name)) {
        sink.error(t.line, ProblemCode.DanglingReference, `track_script "${t.name}" is not defined: no [vrrp_script.${t.name}]${didYouMean(t.name, vrrpScripts.keys())}`);
      }
    }
  }

  // One instance, one sync group: the group's state machine owns the instance's.
  const groupOf = new Map<string, { group: string; line: number }>();
  for (const g of vrrpSyncGroups.values()) {
    for (const m of g.group) {
      const inst = vrrpInstances.get(m.name);
      if (!inst) {
        sink.error(m.line, ProblemCode.DanglingReference, `group: "${m.name}" is not defined: no [vrrp_instance.${m.name}]${didYouMean(m.name, vrrpInstances.keys())}`);
        continue;
      }
      const prev = groupOf.get(m.name);
      if (prev) {
        sink.error(m.line, ProblemCode.Conflict, `${m.name} is already in [vrrp_sync_group.${prev.group}] (line ${prev.line}): an instance belongs to one sync group only`);
        continue;
      }
      groupOf.set(m.name, { group: g.name, line: m.line });
      (inst as { syncGroup?: string }).syncGroup = g.name;
    }
  }

  const sync = global.lvsSyncDaemon;
  if (sync && !vrrpInstances.has(sync.instance)) {
    sink.error(sync.line, ProblemCode.DanglingReference, `lvs_sync_daemon: instance "${sync.instance}" is not defined: no [vrrp_instance.${sync.instance}]${didYouMean(sync.instance, vrrpInstances.keys())}`);
  }

  // RFC 5798 §6.1: a VRID names one virtual router per LAN (and family); two here would answer each other.
  const vrids = new Map<string, VrrpInstance>();
  const vips = new Map<string, VrrpInstance>();
  for (const inst of vrrpInstances.values()) {
    if (inst.interface && inst.virtualRouterId) {
      const key = `${inst.interface}/${inst.family}/${inst.virtualRouterId}`;
      const other = vrids.get(key);
      if (other) {
        sink.error(
          inst.virtualRouterIdLine,
          ProblemCode.Conflict,
          `virtual_router_id ${inst.virtualRouterId} on ${inst.interface} (IPv${inst.family}) is already used by [vrrp_instance.${other.name}] (line ${other.virtualRouterIdLine})`,
        );
      } else vrids.set(key, inst);
    }
    for (const v of [...inst.virtualIpaddress, ...inst.virtualIpaddressExcluded]) {
      const other = vips.get(v.address);
      if (other && other !== inst) {
        sink.error(v.line, ProblemCode.Conflict, `${v.address} is also a virtual address of [vrrp_instance.${other.name}]: two instances would fight over it`);
      } else vips.set(v.address, inst);
    }
  }

  const services = new Map<string, string>();
  for (const vs of virtualServers.values()) {
    if (vs.check && !checks.has(vs.check)) {
      sink.error(vs.checkLine, ProblemCode.DanglingReference, `check "${vs.check}" is not defined: no [check.${vs.check}]${didYouMean(vs.check, checks.keys())}`);
    }
    const key = vs.address ? `${vs.protocol} ${formatEndpoint(vs.address)}` : `fwmark ${vs.fwmark} IPv${vs.family}`;
    const other = services.get(key);
    if (other) sink.error(vs.line, ProblemCode.Conflict, `${key} is already the service of [virtual_server.${other}]`);
    else services.set(key, vs.name);

    const dests = new Map<string, string>();
    for (const rs of vs.realServers.values()) {
      const own = rs.checksLine !== vs.checkLine;
      if (own) {
        for (const c of rs.checks) {
          if (!checks.has(c)) {
            sink.error(rs.checksLine, ProblemCode.DanglingReference, `check "${c}" is not defined: no [check.${c}]${didYouMean(c, checks.keys())}`);
          }
        }
      }
      const dkey = formatEndpoint(rs.address);
      const prev = dests.get(dkey);
      if (prev) sink.error(rs.line, ProblemCode.Conflict, `${dkey} is already [real_server.${vs.name}.${prev}] of this virtual server`);
      else dests.set(dkey, rs.name);
    }
    if (vs.realServers.size === 0 && !vs.sorryServer) {
      sink.warn(vs.line, ProblemCode.Doubtful, `[virtual_server.${vs.name}] has no [real_server.${vs.name}.*] and no sorry_server`);
    }
  }
}

/** Every script the configuration would run. */
export function allScripts(cfg: LvsdConfig): Script[] {
  const out: Script[] = [];
  const add = (s: Script | undefined) => s && s.argv.length > 0 && out.push(s);
  add(cfg.global.notify);
  for (const s of cfg.vrrpScripts.values()) add(s.script);
  for (const i of cfg.vrrpInstances.values()) [i.notifyMaster, i.notifyBackup, i.notifyFault, i.notifyStop, i.notify].forEach(add);
  for (const g of cfg.vrrpSyncGroups.values()) [g.notifyMaster, g.notifyBackup, g.notifyFault, g.notifyStop, g.notify].forEach(add);
  for (const c of cfg.checks.values()) if (c.type === 'MISC_CHECK') add(c.miscPath);
  for (const vs of cfg.virtualServers.values()) {
    add(vs.quorumUp);
    add(vs.quorumDown);
    for (const rs of vs.realServers.values()) [rs.notifyUp, rs.notifyDown].forEach(add);
  }
  return out;
}

/** Every user a script would run as, once per key that gave it. */
export function allRunAs(cfg: LvsdConfig): RunAs[] {
  const byLine = new Map<number, RunAs>();
  const add = (u: RunAs | undefined) => u && !byLine.has(u.line) && byLine.set(u.line, u);
  add(cfg.global.scriptUser);
  for (const s of cfg.vrrpScripts.values()) add(s.user);
  for (const c of cfg.checks.values()) if (c.type === 'MISC_CHECK') add(c.user);
  return [...byLine.values()];
}

/** Warnings about this host: interfaces and programs that are not here, script users it cannot switch to. */
export function validateHost(cfg: LvsdConfig, host: HostProbe, sink: ProblemSink): void {
  const iface = (name: string, line: number, what: string) => {
    if (name && !host.interfaceExists(name)) sink.warn(line, ProblemCode.Host, `${what} ${name} does not exist on this host`);
  };
  for (const inst of cfg.vrrpInstances.values()) {
    iface(inst.interface, inst.interfaceLine, 'interface');
    for (const t of inst.trackInterfaces) iface(t.name, t.line, 'track_interface');
  }
  if (cfg.global.lvsSyncDaemon) iface(cfg.global.lvsSyncDaemon.interface, cfg.global.lvsSyncDaemon.line, 'lvs_sync_daemon interface');
  const seen = new Set<string>();
  for (const s of allScripts(cfg)) {
    const prog = s.argv[0]!;
    const key = `${s.line}:${prog}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (!host.programRunnable(prog)) sink.warn(s.line, ProblemCode.Host, `${prog} is not an executable file on this host`);
  }
  for (const u of allRunAs(cfg)) {
    if (!host.mayRunAs(u.uid, u.gid)) {
      sink.warn(
        u.line,
        ProblemCode.Host,
        `scripts are to run as ${u.user}${u.group ? ` ${u.group}` : ''} (uid ${u.uid} gid ${u.gid}), but this process lacks CAP_SETUID, CAP_SETGID or CAP_KILL: ` +
          'they would fail to start (under systemd, add them to CapabilityBoundingSet in a drop-in)',
      );
    }
  }
}
