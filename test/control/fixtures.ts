import type { StatusResult } from '../../src/control/types';
import type { DirectorStatus, KernelDestStatus } from '../../src/director/status';

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

/** A canned director status: one NAT service with an up, a drained and a down real server. */
export function sampleServices(): DirectorStatus {
  const k = (weight: number, active: number, inact: number, cps: number): KernelDestStatus => ({
    weight, fwdMethod: 'NAT', activeConns: active, inactConns: inact, persistConns: 0, conns: active + inact + 10, inpkts: 50, outpkts: 40, inbytes: 5000, outbytes: 40000, cps, inpps: 5, outpps: 4, inbps: 500, outbps: 4000,
  });
  return {
    virtualServers: [
      {
        name: 'web',
        service: 'TCP 192.0.2.100:80',
        scheduler: 'wlc',
        lbKind: 'NAT',
        persistenceTimeoutS: 0,
        quorum: { up: true, weightSum: 3, quorum: 1, hysteresis: 0 },
        sorryServer: null,
        inKernel: true,
        stats: { conns: 40, inpkts: 400, outpkts: 300, inbytes: 40000, outbytes: 300000, cps: 2, inpps: 5, outpps: 4, inbps: 500, outbps: 4000 },
        realServers: [
          { name: 'rs1', address: '198.51.100.1:80', configuredWeight: 1, effectiveWeight: 1, health: 'up', reason: 'status 200', checks: ['web_health'], override: null, disposition: 'up', kernel: k(1, 7, 3, 2) },
          { name: 'rs2', address: '198.51.100.2:80', configuredWeight: 2, effectiveWeight: 0, health: 'up', reason: 'status 200', checks: ['web_health', 'tcp'], override: 'drain', disposition: 'drained', kernel: k(0, 1, 0, 0) },
          { name: 'rs3', address: '198.51.100.3:80', configuredWeight: 1, effectiveWeight: null, health: 'down', reason: 'ECONNREFUSED', checks: ['tcp'], override: null, disposition: 'down-removed', kernel: null },
        ],
      },
    ],
    reconciler: { passes: 3, audits: 1, opsApplied: 5, driftRepaired: 0, errors: 0, failing: 0, lastError: null, lastSuccessAt: 1000, managed: 1 },
    syncDaemon: null,
    kernelError: null,
  };
}
