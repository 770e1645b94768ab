/**
 * The pure diff of the desired IPVS table against the observed one (a
 * kernel dump): an ordered list of {@link IpvsOp}s that turns observed into
 * desired while touching nothing lvsd does not manage.
 *
 * Keys are explicit: a service by family/protocol/address/port or
 * family/fwmark ({@link serviceKeyId}), a dest by address/port within its
 * service ({@link destKeyId}).
 *
 * Order:
 * 1. per desired service, in config order: `addService` (or `editService`
 *    when scheduler, flags, timeout or netmask differ), then its dests:
 *    `addDest`/`editDest` first, then `delDest` of dests it must lose — so a
 *    pool is never empty between two operations (the sorry server comes in
 *    before the pool goes out);
 * 2. managed services no longer desired (a removed virtual server): every
 *    dest deleted, then the service.
 *
 * Edits happen in place where the kernel allows them (weight, thresholds,
 * forwarding method → `editDest`; scheduler, flags, timeout, netmask →
 * `editService`), so established connections survive. Observed services
 * whose key is not in `managed` are never touched, nor are the dests under
 * them. Adopting a kernel table equal to the desired one yields no ops.
 */
import { destKeyId, serviceKeyId } from '../kernel/ipvs/addr';
import type { IpvsDest, IpvsDestEntry, IpvsOp, IpvsService, IpvsServiceEntry } from '../kernel/ipvs/types';

/** One service as read from the kernel, with its dests. */
export interface ObservedService {
  readonly service: IpvsServiceEntry;
  readonly dests: readonly IpvsDestEntry[];
}

/** A desired service: what {@link diffIpvs} needs of a `DesiredService`. */
export interface DesiredServiceLike {
  readonly service: IpvsService;
  readonly dests: readonly IpvsDest[];
}

/** True when the kernel's service must be edited to become `want` (HASHED is never in flags). */
export function serviceDiffers(want: IpvsService, have: IpvsService): boolean {
  const f = want.flags;
  const g = have.flags;
  return (
    want.scheduler !== have.scheduler ||
    f.persistent !== g.persistent ||
    f.onePacket !== g.onePacket ||
    f.sched1 !== g.sched1 ||
    f.sched2 !== g.sched2 ||
    f.sched3 !== g.sched3 ||
    want.timeoutS !== have.timeoutS ||
    want.netmask !== have.netmask ||
    (want.pe ?? '') !== (have.pe ?? '')
  );
}

/** True when the kernel's dest must be edited to become `want`. Tunnel fields are compared only when `want` sets them. */
export function destDiffers(want: IpvsDest, have: IpvsDest): boolean {
  return (
    want.fwdMethod !== have.fwdMethod ||
    want.weight !== have.weight ||
    want.upperThreshold !== have.upperThreshold ||
    want.lowerThreshold !== have.lowerThreshold ||
    (want.tunType !== undefined && want.tunType !== (have.tunType ?? 'ipip')) ||
    (want.tunPort !== undefined && want.tunPort !== have.tunPort) ||
    (want.tunFlags !== undefined && want.tunFlags !== have.tunFlags)
  );
}

// What the kernel takes back: dump entries carry stats the ops must not.
function bareService(s: IpvsService): IpvsService {
  const { key, scheduler, flags, timeoutS, netmask, pe } = s;
  return { key, scheduler, flags: { ...flags }, timeoutS, netmask, ...(pe !== undefined ? { pe } : {}) };
}

function bareDest(d: IpvsDest): IpvsDest {
  const { stats: _s, ...rest } = d as IpvsDestEntry;
  return rest;
}

/**
 * The ops that turn `observed` into `desired`. `managed` holds the
 * {@link serviceKeyId}s lvsd owns: the desired ones plus those of virtual
 * servers removed from the config and not yet deleted. Pure.
 */
export function diffIpvs(desired: readonly DesiredServiceLike[], observed: readonly ObservedService[], managed: ReadonlySet<string>): IpvsOp[] {
  const ops: IpvsOp[] = [];
  const seen = new Map<string, ObservedService>();
  for (const o of observed) seen.set(serviceKeyId(o.service.key), o);
  const wanted = new Set<string>();
  for (const d of desired) {
    const id = serviceKeyId(d.service.key);
    wanted.add(id);
    diffService(d, seen.get(id), ops);
  }
  for (const o of observed) {
    const id = serviceKeyId(o.service.key);
    if (wanted.has(id) || !managed.has(id)) continue;
    deleteService(o, ops);
  }
  return ops;
}

/**
 * The ops that turn one observed service (undefined: absent) into `d`, appended to
 * `ops` in {@link diffIpvs}'s order: the service, then adds and edits of its dests,
 * then deletes. Pure; lets a caller diff only the services that changed.
 */
export function diffService(d: DesiredServiceLike, have: ObservedService | undefined, ops: IpvsOp[] = []): IpvsOp[] {
  const key = d.service.key;
  if (!have) {
    ops.push({ op: 'addService', service: bareService(d.service) });
    for (const dest of d.dests) ops.push({ op: 'addDest', key, dest: bareDest(dest) });
    return ops;
  }
  if (serviceDiffers(d.service, have.service)) ops.push({ op: 'editService', service: bareService(d.service) });
  // Matched by the address text first (the table holds what lvsd wrote, in the same
  // text); by the canonical key only when a wanted and a present dest are both left
  // unmatched: a health change diffs thousands of services. A service of a few dests is
  // matched by scanning from where the last match was (no map, no key strings: the
  // kernel's order is lvsd's, or lvsd's with re-added dests moved to the end).
  const hds = have.dests;
  const wds = d.dests;
  const pair: (IpvsDestEntry | undefined)[] = new Array<IpvsDestEntry | undefined>(wds.length);
  const used: boolean[] = new Array<boolean>(hds.length).fill(false);
  let matchedCount = 0;
  let unmatched = 0;
  if (hds.length <= SCAN_MAX) {
    let hint = 0;
    for (let i = 0; i < wds.length; i++) {
      const w = wds[i]!;
      let found = -1;
      for (let k = 0; k < hds.length; k++) {
        const j = hint + k < hds.length ? hint + k : hint + k - hds.length;
        const h = hds[j]!;
        if (!used[j] && h.address === w.address && h.port === w.port) {
          found = j;
          break;
        }
      }
      if (found >= 0) {
        pair[i] = hds[found];
        used[found] = true;
        matchedCount++;
        hint = found + 1 < hds.length ? found + 1 : 0;
      } else unmatched++;
    }
  } else {
    const byText = new Map<string, number>();
    hds.forEach((hd, j) => byText.set(`${hd.address}/${hd.port}`, j));
    wds.forEach((dest, i) => {
      const j = byText.get(`${dest.address}/${dest.port}`);
      if (j !== undefined && !used[j]) {
        pair[i] = hds[j];
        used[j] = true;
        matchedCount++;
      } else unmatched++;
    });
  }
  if (unmatched > 0 && matchedCount < hds.length) {
    const byKey = new Map<string, number>();
    hds.forEach((x, j) => {
      if (!used[j]) byKey.set(destKeyId(x), j);
    });
    wds.forEach((dest, i) => {
      if (pair[i] !== undefined) return;
      const j = byKey.get(destKeyId(dest));
      if (j !== undefined && !used[j]) {
        pair[i] = hds[j];
        used[j] = true;
        matchedCount++;
      }
    });
  }
  for (let i = 0; i < wds.length; i++) {
    const dest = wds[i]!;
    const hd = pair[i];
    if (!hd) ops.push({ op: 'addDest', key, dest: bareDest(dest) });
    else if (destDiffers(dest, hd)) ops.push({ op: 'editDest', key, dest: bareDest(dest) });
  }
  if (matchedCount < hds.length) {
    for (let j = 0; j < hds.length; j++) if (!used[j]) ops.push({ op: 'delDest', key, dest: { address: hds[j]!.address, port: hds[j]!.port } });
  }
  return ops;
}

/** Services with at most this many dests are matched by a scan, larger ones through a map. */
const SCAN_MAX = 32;

/** The ops that delete a managed service lvsd no longer wants: its dests, then the service. */
export function deleteService(o: ObservedService, ops: IpvsOp[] = []): IpvsOp[] {
  for (const hd of o.dests) ops.push({ op: 'delDest', key: o.service.key, dest: { address: hd.address, port: hd.port } });
  ops.push({ op: 'delService', key: o.service.key });
  return ops;
}
