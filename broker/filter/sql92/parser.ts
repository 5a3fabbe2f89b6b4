/**
 * Recursive-descent parser for RocketMQ's SQL92 filters, one method per production of `SelectorParser.jj`:
 *
 *   or         := and (OR and)*
 *   and        := equality (AND equality)*
 *   equality   := comparison ( '=' comparison | '<>' comparison | IS NULL | IS NOT NULL )*
 *   comparison := unary ( ('>'|'>='|'<'|'<=') unary | [NOT] (CONTAINS|STARTSWITH|ENDSWITH) string
 *                       | [NOT] BETWEEN unary AND unary | [NOT] IN '(' string (',' string)* ')' )*
 *   unary      := '+' unary | '-' unary | NOT unary | primary
 *   primary    := literal | identifier | '(' or ')'
 *
 * Note what this grammar implies, as in RocketMQ: a leading NOT binds tighter than comparisons, so `NOT a = 'x'`
 * is `(NOT a) = 'x'` (never true); write `NOT (a = 'x')`. The checks RocketMQ makes while building its expression
 * tree are made here too (ordering needs numbers, `= NULL` is refused, BETWEEN bounds in order, IN needs a
 * property). One deliberate difference: RocketMQ's grammar does not demand the end of input, so it silently ignores
 * trailing tokens (`a = 1 b`); here they are an error.
 */
import { filterError, type Keyword, type Punctuation, positionText, type Token } from './lexer.ts';
import { describeValue, integerLiteral, javaCompare, type Sql92Value } from './values.ts';

export type Ordering = '>' | '>=' | '<' | '<=';
export type StringMatch = 'CONTAINS' | 'STARTSWITH' | 'ENDSWITH';

/** The syntax tree; `offset` is where the node starts in the expression (for messages). */
export type Node =
  | { kind: 'literal'; offset: number; value: Sql92Value }
  | { kind: 'property'; offset: number; name: string }
  | { kind: 'negate'; offset: number; operand: Node }
  | { kind: 'not'; offset: number; operand: Node }
  | { kind: 'booleanCast'; offset: number; operand: Node }
  | { kind: 'and' | 'or'; offset: number; left: Node; right: Node }
  | { kind: 'equal'; offset: number; left: Node; right: Node }
  | { kind: 'compare'; offset: number; operator: Ordering; left: Node; right: Node }
  | { kind: 'in'; offset: number; operand: Node; values: ReadonlySet<string>; negated: boolean }
  | { kind: 'match'; offset: number; operator: StringMatch; operand: Node; search: string; negated: boolean };

/** Deepest nesting of parentheses and prefix operators accepted. */
export const NESTING_DEPTH_MAX = 100;

const stringMatches: ReadonlySet<string> = new Set(['CONTAINS', 'STARTSWITH', 'ENDSWITH']);
const negatable: ReadonlySet<string> = new Set([...stringMatches, 'BETWEEN', 'IN']);
const orderings: ReadonlySet<string> = new Set(['>', '>=', '<', '<=']);

/** RocketMQ's BooleanExpression: what AND, OR, NOT and the whole filter accept without a cast. */
export function isCondition(node: Node): boolean {
  if (node.kind === 'literal') return node.value === null || typeof node.value === 'boolean';
  return node.kind !== 'property' && node.kind !== 'negate';
}

function describeNode(node: Node): string {
  if (node.kind === 'literal') return describeValue(node.value);
  if (node.kind === 'property') return `property ${node.name}`;
  if (node.kind === 'negate') return 'a negated value';
  return 'a condition';
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'end of expression';
    case 'identifier':
      return `identifier "${token.text}"`;
    case 'string':
      return `string ${token.text}`;
    default:
      return `"${token.text}"`;
  }
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly expression: string,
    private readonly tokens: Token[],
  ) {}

  parse(): Node {
    if (this.atEnd()) throw this.unexpected("a condition such as TAGS = 'A'");
    const node = this.toCondition(this.or());
    if (!this.atEnd()) throw this.unexpected('an operator, AND, OR or the end of the expression');
    return node;
  }

  private atEnd(): boolean {
    return this.token.kind === 'end';
  }

  private get token(): Token {
    return this.tokens[this.index] as Token;
  }

  private advance(): Token {
    const token = this.token;
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private isKeyword(word: Keyword, token: Token = this.token): boolean {
    return token.kind === 'keyword' && token.value === word;
  }

  private isPunctuation(value: Punctuation): boolean {
    return this.token.kind === 'punctuation' && this.token.value === value;
  }

  private unexpected(expected: string): Error {
    return filterError(
      this.expression,
      this.token.offset,
      `unexpected ${describeToken(this.token)}`,
      `expected ${expected}`,
    );
  }

  private error(node: Node | Token, problem: string, hint?: string): Error {
    return filterError(this.expression, node.offset, problem, hint);
  }

  private expectKeyword(word: Keyword, expected: string): void {
    if (!this.isKeyword(word)) throw this.unexpected(expected);
    this.advance();
  }

  private expectPunctuation(value: Punctuation, expected: string): void {
    if (!this.isPunctuation(value)) throw this.unexpected(expected);
    this.advance();
  }

  private expectString(expected: string): string {
    if (this.token.kind !== 'string') throw this.unexpected(expected);
    return this.advance().value;
  }

  /** Counts one level of parentheses or prefix operator; too deep is an error rather than a stack overflow. */
  private enter(): void {
    this.depth++;
    if (this.depth > NESTING_DEPTH_MAX) {
      throw this.error(this.token, `nesting deeper than ${NESTING_DEPTH_MAX} levels`, 'simplify the expression');
    }
  }

  /** RocketMQ's asBooleanExpression: conditions pass, a bare property is cast, anything else is refused. */
  private toCondition(node: Node): Node {
    if (isCondition(node)) return node;
    if (node.kind === 'property') return { kind: 'booleanCast', offset: node.offset, operand: node };
    throw this.error(node, `${describeNode(node)} is not a condition`, 'AND, OR, NOT and the filter need conditions');
  }

  private or(): Node {
    let left = this.and();
    while (this.isKeyword('OR')) {
      this.advance();
      const right = this.and();
      left = { kind: 'or', offset: left.offset, left: this.toCondition(left), right: this.toCondition(right) };
    }
    return left;
  }

  private and(): Node {
    let left = this.equality();
    while (this.isKeyword('AND')) {
      this.advance();
      const right = this.equality();
      left = { kind: 'and', offset: left.offset, left: this.toCondition(left), right: this.toCondition(right) };
    }
    return left;
  }

  private equality(): Node {
    let left = this.comparison();
    for (;;) {
      if (this.isPunctuation('=') || this.isPunctuation('<>')) {
        const operator = this.advance().text;
        const equal = this.equal(left, this.comparison(), operator);
        left = operator === '=' ? equal : { kind: 'not', offset: left.offset, operand: equal };
      } else if (this.isKeyword('IS')) {
        this.advance();
        const negated = this.isKeyword('NOT');
        if (negated) this.advance();
        this.expectKeyword('NULL', negated ? 'NULL' : 'NULL or NOT NULL');
        const isNull: Node = {
          kind: 'equal',
          offset: left.offset,
          left,
          right: { ...nullLiteral, offset: left.offset },
        };
        left = negated ? { kind: 'not', offset: left.offset, operand: isNull } : isNull;
      } else {
        return left;
      }
    }
  }

  /** RocketMQ's checkEqualOperand and checkEqualOperandCompatability. */
  private equal(left: Node, right: Node, operator: string): Node {
    for (const side of [left, right]) {
      if (side.kind === 'literal' && side.value === null) {
        throw this.error(side, `NULL cannot be compared with "${operator}"`, 'use IS NULL or IS NOT NULL');
      }
    }
    if (left.kind === 'literal' && typeof left.value === 'boolean' && right.kind === 'literal') {
      if (typeof right.value !== 'boolean') {
        throw this.error(left, `${describeNode(left)} cannot be compared with ${describeNode(right)}`);
      }
    }
    return { kind: 'equal', offset: left.offset, left, right };
  }

  private comparison(): Node {
    let left = this.unary();
    for (;;) {
      const token = this.token;
      if (token.kind === 'punctuation' && orderings.has(token.value)) {
        this.advance();
        left = this.compare(token.value as Ordering, left, this.unary());
        continue;
      }
      let negated = false;
      const next = this.tokens[this.index + 1] as Token;
      if (this.isKeyword('NOT') && next.kind === 'keyword' && negatable.has(next.value)) {
        this.advance();
        negated = true;
      }
      if (this.token.kind === 'keyword' && stringMatches.has(this.token.value)) {
        const operator = this.advance().value as StringMatch;
        const search = this.expectString(`a string literal after ${operator}`);
        left = { kind: 'match', offset: left.offset, operator, operand: left, search, negated };
      } else if (this.isKeyword('BETWEEN')) {
        left = this.between(left, negated);
      } else if (this.isKeyword('IN')) {
        left = this.in(left, negated);
      } else {
        return left;
      }
    }
  }

  /** RocketMQ's checkLessThanOperand: only numbers, properties and negations can be ordered. */
  private compare(operator: Ordering, left: Node, right: Node): Node {
    for (const side of [left, right]) {
      const literal = side.kind === 'literal';
      if ((literal && (side.value === null || typeof side.value !== 'object')) || (!literal && isCondition(side))) {
        throw this.error(side, `${describeNode(side)} cannot be compared with "${operator}"`, 'only numbers can');
      }
    }
    return { kind: 'compare', offset: left.offset, operator, left, right };
  }

  private between(value: Node, negated: boolean): Node {
    this.advance();
    const low = this.unary();
    this.expectKeyword('AND', 'AND between the BETWEEN bounds');
    const high = this.unary();
    if (negated) {
      return {
        kind: 'or',
        offset: value.offset,
        left: this.compare('<', value, low),
        right: this.compare('>', value, high),
      };
    }
    const node: Node = {
      kind: 'and',
      offset: value.offset,
      left: this.compare('>=', value, low),
      right: this.compare('<=', value, high),
    };
    if (low.kind === 'literal' && high.kind === 'literal' && low.value !== null && high.value !== null) {
      if (javaCompare(high.value, low.value) < 0) {
        const range = `${describeValue(low.value)} AND ${describeValue(high.value)}`;
        throw this.error(low, `BETWEEN ${range} is empty`, 'the lower bound comes first');
      }
    }
    return node;
  }

  private in(operand: Node, negated: boolean): Node {
    const keyword = this.advance();
    if (operand.kind !== 'property') {
      throw this.error(keyword, `IN needs a property on its left, not ${describeNode(operand)}`);
    }
    const listHint = "IN lists hold string literals only: IN ('a', 'b')";
    this.expectPunctuation('(', `"("; ${listHint}`);
    const values = new Set([this.expectString(`a string literal; ${listHint}`)]);
    while (this.isPunctuation(',')) {
      this.advance();
      values.add(this.expectString(`a string literal; ${listHint}`));
    }
    this.expectPunctuation(')', `"," or ")"`);
    return { kind: 'in', offset: operand.offset, operand, values, negated };
  }

  private unary(): Node {
    const token = this.token;
    if (this.isPunctuation('+') || this.isPunctuation('-') || this.isKeyword('NOT')) {
      this.enter();
      this.advance();
      const operand = this.unary();
      this.depth--;
      if (token.text === '+') return operand;
      if (token.text === '-') return { kind: 'negate', offset: token.offset, operand };
      return { kind: 'not', offset: token.offset, operand: this.toCondition(operand) };
    }
    return this.primary();
  }

  private primary(): Node {
    const token = this.token;
    if (token.kind === 'punctuation' && token.value === '(') {
      this.enter();
      this.advance();
      const inner = this.or();
      this.expectPunctuation(')', `")" to close the "(" at ${positionText(this.expression, token.offset)}`);
      this.depth--;
      return { ...inner, offset: token.offset };
    }
    if (token.kind === 'identifier') {
      this.advance();
      return { kind: 'property', offset: token.offset, name: token.value };
    }
    const value = this.literal(token);
    if (value === undefined) throw this.unexpected('a value');
    this.advance();
    return { kind: 'literal', offset: token.offset, value };
  }

  /** A literal token's value, refusing what RocketMQ's ConstantExpression refuses; undefined if not a literal. */
  private literal(token: Token): Sql92Value | undefined {
    if (token.kind === 'string') return token.value;
    if (token.kind === 'integer') {
      const value = integerLiteral(token.value);
      if (!value) throw this.error(token, `integer literal ${token.value} is beyond the Long range`);
      return value;
    }
    if (token.kind === 'float') {
      const value = Number(token.value);
      if (value === Number.POSITIVE_INFINITY) {
        throw this.error(token, `float literal ${token.value} is greater than Double.MAX_VALUE`);
      }
      if (value < Number.MIN_VALUE) {
        // RocketMQ's createFloat compares with Double.MIN_VALUE, the smallest positive double, so 0.0 is refused.
        throw this.error(token, `float literal ${token.value} is below Double.MIN_VALUE`, 'write 0 for zero');
      }
      return { type: 'double', value };
    }
    if (this.isKeyword('TRUE', token)) return true;
    if (this.isKeyword('FALSE', token)) return false;
    if (this.isKeyword('NULL', token)) return null;
    return undefined;
  }
}

const nullLiteral = { kind: 'literal', offset: 0, value: null } as const;

/** Parses a whole filter into a condition tree; a malformed expression throws ILLEGAL_FILTER_EXPRESSION. */
export function parse(expression: string, tokens: Token[]): Node {
  return new Parser(expression, tokens).parse();
}
