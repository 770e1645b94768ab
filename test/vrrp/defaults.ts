import type { VrrpConfig } from '../../src/vrrp/types';

/**
 * The instance the VRRP unit tests start from, but for its addresses
 * (primary address, VIPs, unicast peers): VI_1, VRID 51, v3 over IPv4,
 * priority 100, advert_int 1 s, preempt without delay, starting as BACKUP.
 * The FSM tests and the conformance cases (test/vrrp/conformance/) both use it.
 */
export const VRRP_TEST_DEFAULTS: Omit<VrrpConfig, 'primaryAddress' | 'vips' | 'unicastPeers' | 'auth'> = {
  name: 'VI_1',
  vrid: 51,
  version: 3,
  family: 4,
  priority: 100,
  advertInterval: 100,
  preempt: true,
  preemptDelay: 0,
  initialState: 'BACKUP',
};
