/**
 * Tokens → a tree of keepalived statements: `keyword arg... [{ children }]`.
 *
 * A statement is the words of one line up to its end, a `{` or a `}`; a `{`
 * opens the block of the statement it ends (or, alone on a line, of the
 * statement just before it, as keepalived allows), and the words after a `{`
 * or `}` on the same line start the next statement, so `url { path / }`
 * reads as one block with one child. The parser knows no keyword: meaning is
 * the translator's business.
 */
import { KeepalivedConfigError, KeepalivedErrorCode } from './errors';
import { lexFile, TokenKind, type LexNote, type LexOptions, type Token } from './lexer';

/** One statement, with the file and line of its keyword. */
export interface KNode {
  readonly keyword: string;
  readonly args: readonly Token[];
  /** Present when the statement has a `{ ... }` block (possibly empty). */
  children?: KNode[];
  readonly file: string;
  readonly line: number;
}

/**
 * Builds the statement tree. Throws {@link KeepalivedConfigError} on a `}`
 * without its `{`, a `{` left open at the end (pointing at the `{`), or a
 * `{` with no statement to belong to.
 */
export function parseTokens(tokens: readonly Token[]): KNode[] {
  let i = 0;
  const block = (opener: Token | undefined): KNode[] => {
    const nodes: KNode[] = [];
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t.kind === TokenKind.Eol) {
        i++;
        continue;
      }
      if (t.kind === TokenKind.Close) {
        if (!opener) throw new KeepalivedConfigError(KeepalivedErrorCode.Syntax, t.file, t.line, '"}" without a matching "{"');
        i++;
        return nodes;
      }
      if (t.kind === TokenKind.Open) {
        const owner = nodes[nodes.length - 1];
        if (!owner || owner.children) throw new KeepalivedConfigError(KeepalivedErrorCode.Syntax, t.file, t.line, '"{" without a keyword before it');
        i++;
        owner.children = block(t);
        continue;
      }
      const words: Token[] = [];
      while (i < tokens.length && tokens[i]!.kind === TokenKind.Word) words.push(tokens[i++]!);
      const node: KNode = { keyword: words[0]!.text, args: words.slice(1), file: t.file, line: t.line };
      nodes.push(node);
      if (i < tokens.length && tokens[i]!.kind === TokenKind.Open) {
        const open = tokens[i++]!;
        node.children = block(open);
      }
    }
    if (opener) throw new KeepalivedConfigError(KeepalivedErrorCode.Syntax, opener.file, opener.line, 'this "{" is never closed');
    return nodes;
  };
  return block(undefined);
}

/** What {@link parseKeepalived} returns. */
export interface ParsedKeepalived {
  readonly nodes: KNode[];
  readonly notes: LexNote[];
  readonly files: string[];
}

/** Reads and parses a keepalived.conf with its includes. Throws {@link KeepalivedConfigError}. */
export function parseKeepalived(file: string, opts: LexOptions = {}): ParsedKeepalived {
  const lexed = lexFile(file, opts);
  return { nodes: parseTokens(lexed.tokens), notes: lexed.notes, files: lexed.files };
}
