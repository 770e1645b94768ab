/**
 * The six single-op writes of {@link Ipvs}, shared by the real client and the
 * fake: each is one {@link IpvsOp} handed to the implementation's `write`,
 * the same op {@link Ipvs.apply} takes in a batch.
 */
import type { DestKey, Ipvs, IpvsDest, IpvsOp, IpvsService, ServiceKey } from './types';

/** The {@link Ipvs} methods that each carry out one {@link IpvsOp}. */
export type IpvsSingleOps = Pick<Ipvs, 'addService' | 'editService' | 'delService' | 'addDest' | 'editDest' | 'delDest'>;

/** Implements {@link IpvsSingleOps} over `write`; see the file's doc. */
export abstract class IpvsOpWriter implements IpvsSingleOps {
  /** Carries out one op; rejects with its IpvsError when it is refused. */
  protected abstract write(op: IpvsOp): Promise<void>;

  addService(service: IpvsService): Promise<void> {
    return this.write({ op: 'addService', service });
  }
  editService(service: IpvsService): Promise<void> {
    return this.write({ op: 'editService', service });
  }
  delService(key: ServiceKey): Promise<void> {
    return this.write({ op: 'delService', key });
  }
  addDest(key: ServiceKey, dest: IpvsDest): Promise<void> {
    return this.write({ op: 'addDest', key, dest });
  }
  editDest(key: ServiceKey, dest: IpvsDest): Promise<void> {
    return this.write({ op: 'editDest', key, dest });
  }
  delDest(key: ServiceKey, dest: DestKey): Promise<void> {
    return this.write({ op: 'delDest', key, dest });
  }
}
