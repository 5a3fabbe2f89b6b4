import { describe, expect, test } from 'vitest';
import { compileSql92, compileSql92Evaluator, Sql92EvaluationError } from './index.ts';

function outcome(expression: string, properties: Record<string, string>): boolean | null | 'error' {
  try {
    return compileSql92Evaluator(expression)(properties);
  } catch (error) {
    if (error instanceof Sql92EvaluationError) return 'error';
    throw error;
  }
}

describe('sql92: String properties against numbers convert like Java (convertStringExpressions on)', () => {
  test.each([
    // Integer literal: Integer.valueOf on the property.
    ['a = 10', '10', true],
    ['a = 10', '010', true],
    ['a = 10', '+10', true],
    ['a = 10', '11', false],
    ['a = 10', '10.0', 'error'],
    ['a = 10', ' 10', 'error'],
    ['a = 10', 'abc', 'error'],
    ['a = 10', '3000000000', 'error'],
    ['a > 10', '10.5', 'error'],
    ['a > 2', '10', true],
    // Long literal: Long.valueOf.
    ['a = 10L', '10', true],
    ['a = 3000000000', '3000000000', true],
    // Double literal: Double.valueOf, which trims and takes NaN, Infinity and f/d suffixes.
    ['a = 10.0', '10', true],
    ['a = 10.0', ' 10 ', true],
    ['a = 10.0', '1e1', true],
    ['a = 10.0', '10d', true],
    ['a > 10.0', '10.5', true],
    ['a > 1.5', 'NaN', true],
    ['a < 1.5', '-Infinity', true],
    ['a = 10.0', 'ten', 'error'],
    // Boolean literal: Boolean.valueOf (case-insensitive "true").
    ['a = TRUE', 'TRUE', true],
    ['a = TRUE', 'yes', false],
    ['a = FALSE', 'yes', true],
  ] as const)('%s with a = %j is %s', (expression, value, expected) => {
    expect(outcome(expression, { a: value })).toBe(expected);
    expect(compileSql92(expression)({ messageId: 'm', messageType: 'NORMAL', userProperties: { a: value } })).toBe(
      expected === true,
    );
  });

  test('two String properties order as Doubles (not lexicographically) and are equal only as Strings', () => {
    expect(outcome('a > b', { a: '10', b: '9' })).toBe(true);
    expect(outcome('a < b', { a: '10', b: '9.5' })).toBe(false);
    expect(outcome('a > b', { a: 'x', b: '1' })).toBe('error');
    expect(outcome('a = b', { a: '10', b: '10.0' })).toBe(false);
    expect(outcome('a = b', { a: 'x', b: 'x' })).toBe(true);
  });

  test('a conversion failure fails the whole filter unless an earlier OR branch already decided it', () => {
    expect(outcome("a = 'abc' OR a = 1", { a: 'abc' })).toBe(true);
    expect(outcome("a = 1 OR a = 'abc'", { a: 'abc' })).toBe('error');
    expect(outcome("NOT (a = 1 OR a = 'abc')", { a: 'abc' })).toBe('error');
  });

  test('unary minus negates numbers only; a negated property is null', () => {
    expect(outcome('a = -2147483648', { a: '-2147483648' })).toBe(true);
    expect(outcome('-a IS NULL', { a: '5' })).toBe(true);
    expect(outcome('a > -b', { a: '5', b: '1' })).toBe(null);
  });
});

describe('sql92: precedence is NOT, then AND, then OR', () => {
  test.each([
    ['TRUE OR TRUE AND FALSE', true],
    ['FALSE AND FALSE OR TRUE', true],
    ['(TRUE OR TRUE) AND FALSE', false],
    ['NOT FALSE AND FALSE', false],
    ['NOT (FALSE AND FALSE)', true],
    ['NOT TRUE OR TRUE', true],
    ['NOT NOT TRUE', true],
    ["a = '1' OR b = '1' AND c = '1'", true],
    ["(a = '1' OR b = '1') AND c = '1'", false],
  ] as const)('%s is %s', (expression, expected) => {
    expect(outcome(expression, { a: '1', b: '0', c: '0' })).toBe(expected);
  });

  test('as in RocketMQ, a leading NOT binds tighter than a comparison: NOT a = 1 is (NOT a) = 1', () => {
    expect(outcome('NOT a = 1', { a: '2' })).toBe(false);
    expect(outcome("NOT a = 'x'", { a: 'y' })).toBe('error');
    expect(outcome("NOT (a = 'x')", { a: 'y' })).toBe(true);
  });
});
