import type { StatusResult } from '../../src/control/types';

/** A canned status: one master with drops, one backup never transitioned. */
export function sampleStatus(now: Date): StatusResult {
  const ago = (s: number): string => new Date(now.getTime() - s * 1000).toISOString();
  return {
    routerId: 'lvs-a',
    pid: 4242,
    version: '0.1.0',
    startedAt: ago(7380),
    instances: [
      {
        name: 'VI_1',
        state: 'MASTER',
        vrid: 51,
        interface: 'eth0',
        version: 3,
        family: 4,
        basePriority: 150,
        effectivePriority: 90,
        advertIntervalMs: 1000,
        master: { address: '192.0.2.11', priority: 90 },
        lastTransition: { from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired', at: ago(125) },
        vips: ['192.0.2.100/24', '2001:db8::100/64'],
        drops: { bad_ttl: 2, bad_checksum: 0, vip_mismatch: 1 },
        peerChecksumForm: 'pseudo-header',
        syncGroup: 'G1',
        transport: 'raw',
        unicastPeers: [],
      },
      {
        name: 'VI_INSIDE',
        state: 'BACKUP',
        vrid: 52,
        interface: 'eth1',
        version: 2,
        family: 4,
        basePriority: 100,
        effectivePriority: 100,
        advertIntervalMs: 100,
        master: null,
        lastTransition: null,
        vips: [],
        drops: {},
        peerChecksumForm: null,
        syncGroup: null,
        transport: 'udp',
        unicastPeers: ['198.51.100.12'],
      },
    ],
    drops: { unknown_vrid: 3, too_short: 0 },
  };
}
