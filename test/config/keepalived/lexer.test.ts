import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeepalivedConfigError, KeepalivedErrorCode } from '../../../src/config/keepalived/errors';
import { expandBraces, expandGlob, lexFile, splitWords, substitute, TokenKind } from '../../../src/config/keepalived/lexer';
import { parseKeepalived, parseTokens } from '../../../src/config/keepalived/parser';
import { convertKeepalived, importKeepalived } from '../../../src/config/keepalived/import';
import { expandRange } from '../../../src/config/keepalived/translate-lvs';

/** A temp dir with the given files; removed by the caller. */
function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-kaimport-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const words = (text: string) => splitWords(text, 'f', 1).map((t) => (t.kind === TokenKind.Word ? `${t.quoted ? 'Q:' : ''}${t.text}` : t.kind));

describe('config/keepalived: lexer', () => {
  it('splits words, keeps quoted strings whole and ends comments at # and ! anywhere outside quotes', () => {
    assert.deepEqual(words('script "killall -0 sshd"        # cheaper than pidof'), ['script', 'Q:killall -0 sshd', 'eol']);
    assert.deepEqual(words('inhibit_on_failure        ! set weight to 0'), ['inhibit_on_failure', 'eol']);
    assert.deepEqual(words('auth_pass "a#b!c"'), ['auth_pass', 'Q:a#b!c', 'eol']);
    assert.deepEqual(words('x ab#c'), ['x', 'ab', 'eol']);
  });

  it('makes { and } tokens even when written against a word', () => {
    assert.deepEqual(words('url{ path / }'), ['url', 'open', 'path', '/', 'close', 'eol']);
  });

  it('refuses an unterminated quote with its file and line', () => {
    assert.throws(
      () => splitWords('script "oops', 'k.conf', 7),
      (e: unknown) => e instanceof KeepalivedConfigError && e.code === KeepalivedErrorCode.Syntax && e.message === 'k.conf:7: unterminated " quote',
    );
  });

  it('substitutes $NAME and ${NAME}, recursively, and leaves undefined names alone', () => {
    const p = new Map([
      ['BASE', '10.2.${SUB}'],
      ['SUB', '0'],
      ['PRIO', '240'],
    ]);
    assert.equal(substitute('${BASE}.100/32', p), '10.2.0.100/32');
    assert.equal(substitute('priority $PRIO', p), 'priority 240');
    assert.equal(substitute('priority $PRIOX ${NOPE}', p), 'priority $PRIOX ${NOPE}');
  });

  it('expands csh braces and globs (sorted, dot files only when asked)', () => {
    assert.deepEqual(expandBraces('a/{b,c{1,2}}/d'), ['a/b/d', 'a/c1/d', 'a/c2/d']);
    const dir = tree({ 'd/b.conf': '', 'd/a.conf': '', 'd/.hidden.conf': '', 'd/c.txt': '' });
    try {
      assert.deepEqual(expandGlob('d/*.conf', dir), [path.join(dir, 'd/a.conf'), path.join(dir, 'd/b.conf')]);
      assert.deepEqual(expandGlob('d/[ab].{conf,txt}', dir), [path.join(dir, 'd/a.conf'), path.join(dir, 'd/b.conf')]);
      assert.deepEqual(expandGlob('d/nothing*', dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps or skips @ID / @^ID lines by config id, and says which were skipped', () => {
    const dir = tree({ 'k.conf': '@high priority 170\n@low priority 85\n@^high advert_int 3\n' });
    try {
      const high = lexFile(path.join(dir, 'k.conf'), { configId: 'high' });
      assert.deepEqual(high.tokens.filter((t) => t.kind === TokenKind.Word).map((t) => `${t.line}:${t.text}`), ['1:priority', '1:170']);
      assert.deepEqual(high.notes.map((n) => n.line), [2, 3]);
      const other = lexFile(path.join(dir, 'k.conf'), { configId: 'other' });
      assert.deepEqual(other.tokens.filter((t) => t.kind === TokenKind.Word).map((t) => `${t.line}:${t.text}`), ['3:advert_int', '3:3']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('config/keepalived: parser', () => {
  const parse = (text: string) => parseTokens(text.split('\n').flatMap((l, i) => splitWords(l, 'k.conf', i + 1)));

  it('builds blocks with the line of every keyword, one-line blocks and a { on its own line', () => {
    const nodes = parse('vrrp_instance VI_1\n{\n  virtual_ipaddress {\n    192.0.2.1/24 dev eth0\n  }\n  url { path / }\n}');
    assert.equal(nodes.length, 1);
    const vi = nodes[0]!;
    assert.deepEqual([vi.keyword, vi.args.map((a) => a.text), vi.line], ['vrrp_instance', ['VI_1'], 1]);
    const [vips, url] = vi.children!;
    assert.deepEqual([vips!.keyword, vips!.line, vips!.children!.map((c) => [c.keyword, c.args.map((a) => a.text), c.line])], [
      'virtual_ipaddress',
      3,
      [['192.0.2.1/24', ['dev', 'eth0'], 4]],
    ]);
    assert.deepEqual([url!.keyword, url!.children!.map((c) => [c.keyword, c.args[0]!.text, c.line])], ['url', [['path', '/', 6]]]);
  });

  it('refuses unbalanced braces with the line to look at', () => {
    const err = (text: string) => {
      try {
        parse(text);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    assert.equal(err('a {\n b 1\n'), 'k.conf:1: this "{" is never closed');
    assert.equal(err('a 1\n}\n'), 'k.conf:2: "}" without a matching "{"');
    assert.equal(err('{\n}'), 'k.conf:1: "{" without a keyword before it');
  });
});

describe('config/keepalived: include', () => {
  it('follows include globs relative to the including file, recursively, with each file:line kept', () => {
    const dir = tree({
      'etc/keepalived.conf': 'global_defs {\n  router_id r1\n}\ninclude conf.d/*.conf\n',
      'etc/conf.d/10-vrrp.conf': '! instances\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  include ../parts/vips.inc\n}\n',
      'etc/conf.d/20-mail.conf': 'global_defs {\n  smtp_server 192.0.2.25\n}\n',
      'etc/parts/vips.inc': '  virtual_ipaddress {\n    192.0.2.100/24\n  }\n  use_vmac\n',
    });
    try {
      const main = path.join(dir, 'etc/keepalived.conf');
      const p = parseKeepalived(main, { configId: 'x' });
      assert.deepEqual(p.files, [
        main,
        path.join(dir, 'etc/conf.d/10-vrrp.conf'),
        path.join(dir, 'etc/parts/vips.inc'),
        path.join(dir, 'etc/conf.d/20-mail.conf'),
      ]);
      const vi = p.nodes.find((n) => n.keyword === 'vrrp_instance')!;
      assert.deepEqual([vi.file, vi.line], [path.join(dir, 'etc/conf.d/10-vrrp.conf'), 2]);
      const vips = vi.children!.find((c) => c.keyword === 'virtual_ipaddress')!;
      assert.deepEqual([vips.file, vips.children![0]!.line], [path.join(dir, 'etc/parts/vips.inc'), 2]);

      const conv = convertKeepalived(main, { configId: 'x' });
      assert.deepEqual(
        conv.notImported.map((n) => `${path.relative(dir, n.file)}:${n.line}:${n.keyword}`),
        ['etc/parts/vips.inc:4:use_vmac', 'etc/conf.d/20-mail.conf:2:smtp_server'],
      );
      assert.match(conv.body, /\[vrrp_instance\.VI_1\]\ninterface = eth0\nvirtual_router_id = 51\nvirtual_ipaddress\[\] = 192\.0\.2\.100\/24\n/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an include that matches nothing as lost configuration', () => {
    const dir = tree({ 'k.conf': 'include nowhere/*.conf\n' });
    try {
      const p = parseKeepalived(path.join(dir, 'k.conf'));
      assert.deepEqual(p.notes.map((n) => [n.line, n.lost, n.text]), [
        [1, 'include nowhere/*.conf', `no file matches nowhere/*.conf (relative to ${dir}, the directory of ${path.join(dir, 'k.conf')}): whatever it holds is missing from the import`],
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops an include cycle at the line that closes it, and import-keepalived exits 1 saying so', async () => {
    const dir = tree({
      'a.conf': 'global_defs {\n  router_id a\n}\ninclude sub/b.conf\n',
      'sub/b.conf': '! b\ninclude ../a.conf\n',
    });
    try {
      const a = path.join(dir, 'a.conf');
      const b = path.join(dir, 'sub/b.conf');
      assert.throws(
        () => parseKeepalived(a),
        (e: unknown) =>
          e instanceof KeepalivedConfigError &&
          e.code === KeepalivedErrorCode.IncludeCycle &&
          e.file === b &&
          e.line === 2 &&
          e.detail === `include cycle: ${a} -> ${b} -> ${path.join(dir, 'sub/../a.conf')}`,
      );
      let err = '';
      const out = path.join(dir, 'out.conf');
      const status = await importKeepalived(a, out, { stderr: { write: (s: string) => (err += s) } });
      assert.equal(status, 1);
      assert.ok(err.startsWith(`${b}:2: include cycle: `), err);
      assert.equal(fs.existsSync(out), false, 'nothing is written');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file including itself is a cycle too', () => {
    const dir = tree({ 'k.conf': 'include k.conf\n' });
    try {
      assert.throws(() => parseKeepalived(path.join(dir, 'k.conf')), (e: unknown) => e instanceof KeepalivedConfigError && e.code === KeepalivedErrorCode.IncludeCycle && e.line === 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('config/keepalived: virtual_server_group ranges', () => {
  it('expands the last part of IPv4 (decimal) and IPv6 (hex) addresses, and refuses what it cannot', () => {
    assert.deepEqual(expandRange('192.0.2.3-5'), ['192.0.2.3', '192.0.2.4', '192.0.2.5']);
    assert.deepEqual(expandRange('2001:db8::9-b'), ['2001:db8::9', '2001:db8::a', '2001:db8::b']);
    assert.deepEqual(expandRange('192.0.2.1'), ['192.0.2.1']);
    assert.equal(expandRange('192.0.2.9-3'), undefined);
    assert.equal(expandRange('192.0.2.1-300'), undefined);
    assert.equal(expandRange('nonsense'), undefined);
  });
});
