/**
 * The keys lvsd's configuration loader accepts, per section kind, found by
 * asking the loader itself: every `SectionReader` getter marks its key as
 * known, so a parse of a file holding one section of each kind (and one
 * `[check.*]` per check type, since each type reads its own keys) leaves the
 * full vocabulary in the readers' `known` sets, read at `finish()`.
 *
 * Why not a list: src/config exports none (SECTION_KINDS names the kinds
 * only). Parsing the builders' source for string literals would miss keys
 * read through helpers (`path('state_dir')`, `notify('notify_master')`) and
 * catch strings that are not keys; asking the reader catches exactly what it
 * accepts.
 */
import { parseConfig, SECTION_KINDS, CheckTypes, type SectionKind } from '../../src/config';
import { SectionReader } from '../../src/config/reader';

/** Section kind (and, for checks, `check:TYPE`) → the keys read there. */
export type KeyVocabulary = Map<string, Set<string>>;

/** A file with one section of every kind; each check type once. */
function probeText(): string {
  const lines: string[] = ['[global]', 'router_id = probe'];
  lines.push('[vrrp_script.s]', 'script = /bin/true');
  lines.push('[vrrp_instance.i]', 'interface = lo', 'virtual_router_id = 1');
  lines.push('[vrrp_sync_group.g]', 'group[] = i');
  for (const t of CheckTypes) lines.push(`[check.c_${t}]`, `type = ${t}`, ...(t === 'MISC_CHECK' ? ['misc_path = /bin/true'] : []));
  lines.push('[virtual_server.v]', 'address = 192.0.2.1:80');
  lines.push('[real_server.v.r]', 'address = 198.51.100.1:80');
  lines.push('[notify.n]', 'url = http://192.0.2.2/');
  lines.push('[bgp]', 'route_table = 100');
  return `${lines.join('\n')}\n`;
}

/**
 * Returns the accepted keys per section kind (`check` is the union over all
 * types; `check:HTTP_GET` etc. per type). Throws if a kind got no reader.
 */
export function acceptedKeys(): KeyVocabulary {
  const out: KeyVocabulary = new Map();
  const proto = SectionReader.prototype as unknown as { finish: (this: SectionReader, ...a: unknown[]) => void };
  const original = proto.finish;
  proto.finish = function (this: SectionReader, ...a: unknown[]) {
    // `known` is private to the reader; this test-only peek is the point of the exercise.
    const known = (this as unknown as { known: Set<string> }).known;
    const header = this.section.header;
    const kind = header.split('.')[0]!;
    const add = (k: string) => {
      const s = out.get(k) ?? new Set<string>();
      for (const key of known) s.add(key);
      out.set(k, s);
    };
    add(kind);
    const m = /^check\.c_(.+)$/.exec(header);
    if (m) add(`check:${m[1]}`);
    return original.apply(this, a);
  };
  try {
    parseConfig(probeText(), 'probe.conf');
  } finally {
    proto.finish = original;
  }
  for (const k of Object.keys(SECTION_KINDS) as SectionKind[]) {
    if (!out.get(k)?.size) throw new Error(`config-keys: no keys harvested for [${k}]: the probe file no longer reaches its builder`);
  }
  return out;
}

if (require.main === module) {
  for (const [k, v] of acceptedKeys()) process.stdout.write(`${k}: ${[...v].sort().join(' ')}\n`);
}
