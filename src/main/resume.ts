/**
 * A restarted VRRP process taking its instances back as MASTER without the
 * VIPs ever leaving the interface (the rule and why it is safe:
 * {@link mayResumeMaster} in restart.ts).
 *
 * The engine's startup always passes through BACKUP, whose entry clears
 * stale VIPs (what a kill -9 leaves behind). For an instance that is about to
 * resume, that removal must not happen: {@link ResumeGuard} wraps the
 * Addresses the engine uses and holds back removals of a held instance's
 * VIPs while its resume is pending or while the instance is MASTER. An
 * instance that does not resume is released, and the removals held back for
 * it are carried out then (so a backup never keeps a stale VIP).
 */
import type { LvsdConfig } from '../config/types';
import { type Addresses, DelegatingAddresses } from '../kernel/addresses';
import type { Logger } from '../log';
import type { VrrpEngine } from '../vrrp/engine';
import type { ResumeHint } from './ipc';
import { mayResumeMaster } from './restart';

/** Addresses that hold back removals of resuming masters' VIPs; see the file's doc. */
export class ResumeGuard extends DelegatingAddresses {
  /** `ifname|cidr` → the held instance owning it. */
  private readonly owners = new Map<string, string>();
  private readonly pending = new Set<string>();
  private readonly skipped = new Map<string, Array<[string, string]>>();
  private stateOf: (instance: string) => string | undefined = () => undefined;

  constructor(real: Addresses, private readonly log: Logger) {
    super(real);
  }

  /** Holds the VIPs of `instances` (pending resume) until {@link release} or {@link resumed}. */
  hold(config: LvsdConfig, instances: readonly string[], stateOf: (instance: string) => string | undefined): void {
    this.stateOf = stateOf;
    for (const name of instances) {
      const inst = config.vrrpInstances.get(name);
      if (!inst) continue;
      this.pending.add(name);
      for (const v of [...inst.virtualIpaddress, ...inst.virtualIpaddressExcluded]) this.owners.set(`${inst.interface}|${v.address}/${v.prefix}`, name);
    }
  }

  /** `instance` resumed as MASTER: removals now pass whenever it is not MASTER. */
  resumed(instance: string): void {
    this.pending.delete(instance);
    this.skipped.delete(instance);
  }

  /** `instance` did not resume: carry out the removals held back, unless it became MASTER meanwhile. */
  release(instance: string): void {
    this.pending.delete(instance);
    for (const [k, owner] of this.owners) if (owner === instance) this.owners.delete(k);
    const held = this.skipped.get(instance) ?? [];
    this.skipped.delete(instance);
    if (this.stateOf(instance) === 'MASTER') return;
    for (const [ifname, cidr] of held) {
      this.real.remove(ifname, cidr).catch((e: Error) => this.log.error('cannot remove a stale VIP', { ifname, cidr, error: e.message }));
    }
  }

  override remove(ifname: string, cidr: string): ReturnType<Addresses['remove']> {
    const owner = this.owners.get(`${ifname}|${cidr}`);
    if (owner !== undefined && (this.pending.has(owner) || this.stateOf(owner) === 'MASTER')) {
      if (this.pending.has(owner)) {
        const l = this.skipped.get(owner) ?? [];
        l.push([ifname, cidr]);
        this.skipped.set(owner, l);
      }
      this.log.debug('VIP kept: its instance is resuming as master', { instance: owner, ifname, cidr });
      return Promise.resolve('removed' as Awaited<ReturnType<Addresses['remove']>>);
    }
    return this.real.remove(ifname, cidr);
  }
}

/**
 * After the engine started: moves each instance the hint names back to
 * MASTER when {@link mayResumeMaster} allows (it advertises at once), and
 * returns the names resumed. `addresses` must be the guard, so the VIP check
 * reads the interface as it is.
 */
export async function resumeMasters(engine: VrrpEngine, config: LvsdConfig, hint: ResumeHint, addresses: Addresses, log: Logger): Promise<string[]> {
  const resumed: string[] = [];
  for (const name of hint.masters) {
    const inst = config.vrrpInstances.get(name);
    const runtime = engine.instance(name);
    if (!inst || !runtime) continue;
    let present: Set<string>;
    try {
      present = new Set((await addresses.list(inst.interface)).map((a) => `${a.address}/${a.prefix}`));
    } catch {
      present = new Set();
    }
    const vipsPresent = [...inst.virtualIpaddress, ...inst.virtualIpaddressExcluded].every((v) => present.has(`${v.address}/${v.prefix}`));
    // The time since the hint arrived (a standby process may have waited long before it).
    const sinceDeathMs = hint.diedAgoMs + performance.now() - (hint.receivedAt ?? 0);
    const advertIntervalMs = inst.advertIntCs * 10;
    const ok = mayResumeMaster({ wasMaster: true, vipsPresent, sinceDeathMs, advertIntervalMs });
    if (!ok) {
      log.warn(`${name}: not resuming as master after the VRRP process restart`, { sinceDeathMs: Math.round(sinceDeathMs), limitMs: 2 * advertIntervalMs, vipsPresent });
      continue;
    }
    runtime.resume(`resumed as master ${Math.round(sinceDeathMs)} ms after the VRRP process died (under 2 x advert_int, VIPs present)`);
    if (runtime.state === 'MASTER') {
      resumed.push(name);
      log.info(`${name}: resumed as MASTER after the VRRP process restart`, { sinceDeathMs: Math.round(sinceDeathMs) });
    }
  }
  return resumed;
}
