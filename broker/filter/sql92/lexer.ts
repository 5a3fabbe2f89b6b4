/**
 * Tokenizer for RocketMQ's SQL92 filter language (`FL/parser/SelectorParser.jj`, an ActiveMQ selector with LIKE,
 * hex/octal literals and arithmetic removed): whitespace, `--` line comments (ended by a newline) and block comments
 * are skipped; keywords are case-insensitive; identifiers keep their spelling because property names are
 * case-sensitive.
 */
import { BrokerError } from '../../errors.ts';

export const KEYWORDS = [
  'NOT',
  'AND',
  'OR',
  'BETWEEN',
  'IN',
  'TRUE',
  'FALSE',
  'NULL',
  'IS',
  'CONTAINS',
  'STARTSWITH',
  'ENDSWITH',
] as const;
export type Keyword = (typeof KEYWORDS)[number];
const keywordSet: ReadonlySet<string> = new Set(KEYWORDS);

export type Punctuation = '=' | '<>' | '>' | '>=' | '<' | '<=' | '(' | ')' | ',' | '+' | '-';

export type Token =
  | { kind: 'keyword'; value: Keyword; offset: number; text: string }
  | { kind: 'identifier'; value: string; offset: number; text: string }
  | { kind: 'integer'; value: string; offset: number; text: string }
  | { kind: 'float'; value: string; offset: number; text: string }
  | { kind: 'string'; value: string; offset: number; text: string }
  | { kind: 'punctuation'; value: Punctuation; offset: number; text: string }
  | { kind: 'end'; value: ''; offset: number; text: '' };

/** Longest RocketMQ accepts here; longer expressions are refused before any parsing work. */
export const EXPRESSION_LENGTH_MAX = 4096;

const quoteLengthMax = 120;

/** `"expr"` for the message, or an excerpt around `offset` when the expression is long. */
function quoted(expression: string, offset: number): string {
  if (expression.length <= quoteLengthMax) return JSON.stringify(expression);
  const from = Math.max(0, offset - 40);
  const to = Math.min(expression.length, offset + 40);
  const excerpt = `${from > 0 ? '…' : ''}${expression.slice(from, to)}${to < expression.length ? '…' : ''}`;
  return `${JSON.stringify(excerpt)} (${expression.length} characters)`;
}

/** "column 4", or "line 2, column 3" when the expression spans lines (both 1-based). */
export function positionText(expression: string, offset: number): string {
  const before = expression.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = offset - lineStart + 1;
  if (lineStart === 0 && !expression.includes('\n')) return `column ${column}`;
  const line = before.split('\n').length;
  return `line ${line}, column ${column}`;
}

/** The ILLEGAL_FILTER_EXPRESSION every malformed expression raises: it quotes the text and names the position. */
export function filterError(expression: string, offset: number, problem: string, hint?: string): BrokerError {
  const where = positionText(expression, offset);
  const message = `SQL92 filter ${quoted(expression, offset)}: ${problem} at ${where}${hint ? `; ${hint}` : ''}`;
  return new BrokerError('ILLEGAL_FILTER_EXPRESSION', message);
}

const isIdentifierStart = (c: string) => /[A-Za-z_$]/.test(c);
const isIdentifierPart = (c: string) => /[A-Za-z0-9_$]/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const whitespace = new Set([' ', '\t', '\n', '\r', '\f']);

/** Characters that are not tokens, with what the author probably meant. */
const strayHints: Record<string, string> = {
  '!': 'use "<>" for not-equal and NOT for negation',
  '&': 'use AND',
  '|': 'use OR',
  '"': "string literals use single quotes: 'text'",
  '*': 'arithmetic is not supported',
  '/': 'arithmetic is not supported',
  '%': 'arithmetic is not supported',
};

class Lexer {
  private offset = 0;
  readonly tokens: Token[] = [];

  constructor(private readonly expression: string) {}

  run(): Token[] {
    for (;;) {
      this.skipBlanks();
      if (this.offset >= this.expression.length) break;
      this.tokens.push(this.next());
    }
    this.tokens.push({ kind: 'end', value: '', offset: this.expression.length, text: '' });
    return this.tokens;
  }

  private skipBlanks(): void {
    const text = this.expression;
    for (;;) {
      const c = text[this.offset];
      if (c !== undefined && whitespace.has(c)) {
        this.offset++;
      } else if (text.startsWith('--', this.offset) && /[\r\n]/.test(text.slice(this.offset))) {
        // The grammar's LINE_COMMENT needs its newline; a trailing `--` without one stays two minus signs.
        const end = text.slice(this.offset).search(/[\r\n]/);
        this.offset += end;
      } else if (text.startsWith('/*', this.offset)) {
        const end = text.indexOf('*/', this.offset + 2);
        if (end < 0) throw filterError(text, this.offset, 'unterminated comment starting');
        this.offset = end + 2;
      } else {
        return;
      }
    }
  }

  private next(): Token {
    const text = this.expression;
    const start = this.offset;
    const c = text[start] as string;
    if (c === "'") return this.stringLiteral();
    if (isDigit(c) || (c === '.' && isDigit(text[start + 1]))) return this.numberLiteral();
    if (isIdentifierStart(c)) {
      let end = start + 1;
      while (end < text.length && isIdentifierPart(text[end] as string)) end++;
      this.offset = end;
      const word = text.slice(start, end);
      const upper = word.toUpperCase();
      if (keywordSet.has(upper)) return { kind: 'keyword', value: upper as Keyword, offset: start, text: word };
      return { kind: 'identifier', value: word, offset: start, text: word };
    }
    const two = text.slice(start, start + 2);
    if (two === '<>' || two === '>=' || two === '<=') return this.punctuation(two, 2);
    if (two === '!=') throw filterError(text, start, 'unexpected "!="', 'SQL92 spells not-equal "<>"');
    if (two === '==') throw filterError(text, start, 'unexpected "=="', 'SQL92 spells equality "="');
    if ('=<>(),+-'.includes(c)) return this.punctuation(c as Punctuation, 1);
    throw filterError(text, start, `unexpected character ${JSON.stringify(c)}`, strayHints[c]);
  }

  private punctuation(value: Punctuation, length: number): Token {
    const token: Token = { kind: 'punctuation', value, offset: this.offset, text: value };
    this.offset += length;
    return token;
  }

  /** `'…'` with `''` standing for one quote. */
  private stringLiteral(): Token {
    const text = this.expression;
    const start = this.offset;
    let value = '';
    let i = start + 1;
    for (;;) {
      const quote = text.indexOf("'", i);
      if (quote < 0) {
        throw filterError(
          text,
          start,
          'unterminated string literal starting',
          "close it with ' (write '' for a quote)",
        );
      }
      value += text.slice(i, quote);
      if (text[quote + 1] === "'") {
        value += "'";
        i = quote + 2;
      } else {
        this.offset = quote + 1;
        return { kind: 'string', value, offset: start, text: text.slice(start, this.offset) };
      }
    }
  }

  /**
   * DECIMAL_LITERAL is `0` or `[1-9][0-9]*` with an optional `L`; FLOATING_POINT_LITERAL is `5.`, `5.5`, `.5` or
   * `5E10`, each with an optional exponent. The longest match wins, as in JavaCC.
   */
  private numberLiteral(): Token {
    const text = this.expression;
    const start = this.offset;
    const match = /^(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE][+-]?[0-9]))(?:[eE][+-]?[0-9]+)?/.exec(text.slice(start));
    if (match) {
      this.offset = start + match[0].length;
      return { kind: 'float', value: match[0], offset: start, text: match[0] };
    }
    const digits = (/^[0-9]+/.exec(text.slice(start)) as RegExpExecArray)[0];
    if (digits.length > 1 && digits.startsWith('0')) {
      throw filterError(
        text,
        start,
        `integer literal ${digits} has a leading zero`,
        'octal literals are not supported',
      );
    }
    let end = start + digits.length;
    if (digits !== '0' && (text[end] === 'L' || text[end] === 'l')) end++;
    this.offset = end;
    return { kind: 'integer', value: digits, offset: start, text: text.slice(start, end) };
  }
}

/** The expression's tokens, ending with an `end` token; a lexical error throws ILLEGAL_FILTER_EXPRESSION. */
export function tokenize(expression: string): Token[] {
  return new Lexer(expression).run();
}
