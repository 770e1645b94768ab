/**
 * Test helpers: a minimal pcap (libpcap classic format) reader for the
 * captured fixtures, and a reader of the keepalived configs beside them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Folder of the committed fixtures (the .ts sources, not dist/). */
export const FIXTURES = path.resolve(__dirname, '../../../test/vrrp/fixtures');

/** One captured link-layer frame. */
export interface Frame {
  readonly data: Uint8Array;
}

/** Reads every record of a classic pcap file (either byte order, µs or ns). */
export function readPcap(file: string): Frame[] {
  const b = fs.readFileSync(file);
  const magic = b.readUInt32LE(0);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`${file}: not a pcap file`);
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== 1) throw new Error(`${file}: link type ${linkType}, expected Ethernet (1)`);
  const frames: Frame[] = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const incl = u32(o + 8);
    frames.push({ data: new Uint8Array(b.subarray(o + 16, o + 16 + incl)) });
    o += 16 + incl;
  }
  return frames;
}

/** What a capture case's keepalived.conf configured (the expectations). */
export interface CaptureConf {
  readonly vrid: number;
  readonly priority: number;
  readonly version: 2 | 3;
  readonly advertIntervalSeconds: number;
  readonly authPass?: string;
  readonly vips: string[];
  readonly unicastPeers: string[];
  readonly unicastSrc?: string;
}

/** Reads the few keywords the capture configs use. */
export function readCaptureConf(file: string): CaptureConf {
  const text = fs.readFileSync(file, 'utf8');
  const num = (k: string): number | undefined => {
    const m = new RegExp(`^\\s*${k}\\s+([0-9.]+)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const block = (k: string): string[] => {
    const m = new RegExp(`${k}\\s*\\{([^}]*)\\}`, 'm').exec(text);
    return m ? m[1]!.split('\n').map((l) => l.trim().split(/\s+/)[0]!.replace(/\/\d+$/, '')).filter(Boolean) : [];
  };
  const pass = /^\s*auth_pass\s+(\S+)/m.exec(text);
  const src = /^\s*unicast_src_ip\s+(\S+)/m.exec(text);
  return {
    vrid: num('virtual_router_id')!,
    priority: num('priority')!,
    version: num('version') as 2 | 3,
    advertIntervalSeconds: num('advert_int') ?? 1,
    authPass: pass?.[1],
    vips: block('virtual_ipaddress'),
    unicastPeers: block('unicast_peer'),
    unicastSrc: src?.[1],
  };
}
