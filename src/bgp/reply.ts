/**
 * BIRD's control-socket replies (the line protocol `birdc` speaks), parsed
 * without a socket: bytes in, replies out, then the replies lvsd reads
 * (`show status`, `show protocols [all]`, `show bfd sessions`) as objects.
 *
 * The wire (BIRD 2, doc/reply_codes and client/client.c):
 * ```
 * DDDD-text\n   a line of code DDDD, more lines follow
 *  text\n       a continuation: one more line of the previous code
 * DDDD text\n   the last line of the reply (code DDDD)
 * +text\n       an asynchronous message (not part of any reply)
 * ```
 * Codes: 0xxx the command completed (0001 is the greeting, 0000 the end of
 * a listing, 0013 the status report), 1xxx table entries (1002 protocol
 * list, 1006 protocol details, 1020 BFD sessions, 1000 version, 1011
 * uptime), 2xxx table headings, 8xxx run-time errors, 9xxx parse errors.
 *
 * The decoder checks the framing only (a line that is none of the above is
 * an error of the stream); what the lines mean is the table parsers' job,
 * and they skip a row they cannot read rather than fail the whole reply.
 */

/** One line of a reply: its code and its text (without the code and separator). */
export interface BirdLine {
  readonly code: number;
  readonly text: string;
}

/** A complete reply: every line, and the code of the last one. */
export interface BirdReply {
  readonly lines: readonly BirdLine[];
  /** The code of the final line. */
  readonly code: number;
  /** The final line's text (e.g. `syntax error, ...` for 9001). */
  readonly text: string;
}

/** Whether a reply reports an error (8xxx run-time, 9xxx parse). */
export function isErrorReply(r: BirdReply): boolean {
  return r.code >= 8000;
}

/** A framing error: the stream is not BIRD's protocol (wrong socket, garbage). */
export class BirdProtocolError extends Error {
  readonly code = 'BIRD_PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'BirdProtocolError';
  }
}

/** Longest line accepted: BIRD's own limit on a reply line is far below this. */
const MAX_LINE = 64 * 1024;

/**
 * Splits the byte stream into replies. Feed it whatever the socket gives
 * (any split, also inside a UTF-8 character); it returns the replies that
 * completed. Asynchronous `+` lines are counted in {@link asyncLines} and
 * dropped.
 */
export class BirdReplyDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private lines: BirdLine[] = [];
  private lastCode: number | undefined;
  /** Asynchronous messages seen (BIRD's `echo`). */
  asyncLines = 0;

  /** Adds bytes; returns the replies completed by them. Throws {@link BirdProtocolError} on a malformed line. */
  push(chunk: Uint8Array | string): BirdReply[] {
    const add = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pending = this.pending.length ? Buffer.concat([this.pending, add]) : add;
    const out: BirdReply[] = [];
    let start = 0;
    for (;;) {
      const nl = this.pending.indexOf(0x0a, start);
      if (nl < 0) break;
      const line = this.pending.toString('utf8', start, nl);
      start = nl + 1;
      const done = this.line(line);
      if (done) out.push(done);
    }
    this.pending = this.pending.subarray(start);
    if (this.pending.length > MAX_LINE) throw new BirdProtocolError(`a reply line longer than ${MAX_LINE} bytes`);
    return out;
  }

  private line(line: string): BirdReply | undefined {
    const m = /^([0-9]{4})([ -])(.*)$/s.exec(line);
    if (m) {
      const code = Number(m[1]);
      this.lines.push({ code, text: m[3]! });
      this.lastCode = code;
      if (m[2] === '-') return undefined;
      const reply: BirdReply = { lines: this.lines, code, text: m[3]! };
      this.lines = [];
      this.lastCode = undefined;
      return reply;
    }
    if (line.startsWith(' ')) {
      if (this.lastCode === undefined) throw new BirdProtocolError(`a continuation line outside a reply: ${JSON.stringify(line.slice(0, 80))}`);
      this.lines.push({ code: this.lastCode, text: line.slice(1) });
      return undefined;
    }
    if (line.startsWith('+')) {
      this.asyncLines++;
      return undefined;
    }
    throw new BirdProtocolError(`not a BIRD reply line: ${JSON.stringify(line.slice(0, 80))}`);
  }
}

/** Parses a whole text holding one or more complete replies (tests, captured output). */
export function decodeReplies(text: string): BirdReply[] {
  const d = new BirdReplyDecoder();
  return d.push(text);
}

/** One row of `show protocols`. */
export interface BirdProtocol {
  readonly name: string;
  /** `BGP`, `BFD`, `Kernel`, `Device`, `Static` ... */
  readonly proto: string;
  /** The table, `---` for none. */
  readonly table: string;
  /** BIRD's protocol state: `up`, `start`, `stop`, `down`, `flush`. */
  readonly state: string;
  /** When it entered that state, as BIRD prints it (its `timeformat protocol`). */
  readonly since: string;
  /** The rest: for BGP its state (`Established`, `Active`, `Connect` ...) and the last error. */
  readonly info: string;
}

/** A BGP protocol's details from `show protocols all`. */
export interface BgpProtocol extends BirdProtocol {
  /** `Established`, `Idle`, `Connect`, `Active`, `OpenSent`, `OpenConfirm`, `Close`, or `Down` for a disabled protocol. */
  readonly bgpState: string;
  /** The info column after the BGP state (`Socket: Connection refused` ...), '' when none. */
  readonly lastError: string;
  /** `Neighbor address:`, when BIRD shows it. */
  readonly neighborAddress?: string;
  /** Routes the protocol exports, from its channels' `Routes:` lines. */
  readonly exportedRoutes?: number;
}

/** `HH:MM:SS[.fff]`, `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM:SS[.fff]`: BIRD's time formats. */
const SINCE_RE = /^(\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2}(?:\.\d+)?)?|\d{2}:\d{2}:\d{2}(?:\.\d+)?|\S+)\s*(.*)$/;

/** The rows of a `show protocols` (or `show protocols all`) reply: code 1002 lines. */
export function parseProtocols(r: BirdReply): BirdProtocol[] {
  const out: BirdProtocol[] = [];
  for (const l of r.lines) {
    if (l.code !== 1002) continue;
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(l.text.trimEnd());
    if (!m) continue;
    const s = SINCE_RE.exec(m[5]!)!;
    out.push({ name: m[1]!, proto: m[2]!, table: m[3]!, state: m[4]!, since: s[1]!, info: s[2]!.trim() });
  }
  return out;
}

/**
 * The BGP protocols of a `show protocols all` reply, each with its BGP
 * state, last error, neighbour address and exported route count (from the
 * code 1006 detail lines that follow its row).
 */
export function parseBgpProtocols(r: BirdReply): BgpProtocol[] {
  const out: BgpProtocol[] = [];
  let cur: { row: BirdProtocol; details: string[] } | undefined;
  const flush = () => {
    if (!cur || cur.row.proto !== 'BGP') return;
    const field = (name: string) => {
      for (const d of cur!.details) {
        const m = new RegExp(`^\\s*${name}:\\s*(.*?)\\s*$`).exec(d);
        if (m) return m[1]!;
      }
      return undefined;
    };
    const infoWords = /^(\S+)\s*(.*)$/.exec(cur.row.info);
    const bgpState = field('BGP state') ?? infoWords?.[1] ?? (cur.row.state === 'down' ? 'Down' : '');
    let exported: number | undefined;
    for (const d of cur.details) {
      const m = /^\s*Routes:\s+(\d+) imported, (?:(\d+) filtered, )?(\d+) exported/.exec(d);
      if (m) exported = (exported ?? 0) + Number(m[3]);
    }
    const neighbor = field('Neighbor address');
    out.push({
      ...cur.row,
      bgpState,
      lastError: field('Last error') ?? infoWords?.[2]?.trim() ?? '',
      ...(neighbor ? { neighborAddress: neighbor } : {}),
      ...(exported !== undefined ? { exportedRoutes: exported } : {}),
    });
  };
  for (const l of r.lines) {
    if (l.code === 1002) {
      flush();
      const [row] = parseProtocols({ lines: [l], code: r.code, text: r.text });
      cur = row ? { row, details: [] } : undefined;
    } else if (l.code === 1006 && cur) cur.details.push(l.text);
  }
  flush();
  return out;
}

/** One row of `show bfd sessions`. */
export interface BfdSession {
  /** The BFD protocol it belongs to (`bfd1`). */
  readonly protocol: string;
  readonly address: string;
  /** `---` for a multihop session. */
  readonly interface: string;
  /** `Up`, `Down`, `Init`, `AdminDown`. */
  readonly state: string;
  readonly since: string;
  /** Seconds, as printed. */
  readonly interval: number;
  readonly timeout: number;
}

/** The sessions of a `show bfd sessions` reply (code 1020 lines: `NAME:` headers, a column heading, rows). */
export function parseBfdSessions(r: BirdReply): BfdSession[] {
  const out: BfdSession[] = [];
  let protocol = '';
  for (const l of r.lines) {
    if (l.code !== 1020) continue;
    const t = l.text.trim();
    const head = /^(\S+):$/.exec(t);
    if (head) {
      protocol = head[1]!;
      continue;
    }
    if (t.startsWith('IP address')) continue;
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(.*?)\s+([0-9.]+)\s+([0-9.]+)$/.exec(t);
    if (!m) continue;
    out.push({ protocol, address: m[1]!, interface: m[2]!, state: m[3]!, since: m[4]!, interval: Number(m[5]), timeout: Number(m[6]) });
  }
  return out;
}

/** What `show status` says. */
export interface BirdStatus {
  /** `BIRD 2.0.12`. */
  readonly version: string;
  readonly routerId?: string;
  /** The final line: `Daemon is up and running`, `Reconfiguration in progress`, `Shutdown in progress`... */
  readonly message: string;
}

/** Parses a `show status` reply. */
export function parseStatus(r: BirdReply): BirdStatus {
  let version = '';
  let routerId: string | undefined;
  for (const l of r.lines) {
    if (l.code === 1000) version = l.text.trim();
    const m = /^Router ID is (\S+)/.exec(l.text.trim());
    if (m) routerId = m[1]!;
  }
  return { version, ...(routerId ? { routerId } : {}), message: r.text.trim() };
}
