import { describe, expect, test } from 'vitest';
import { BrokerError } from '../../errors.ts';
import { compileFilter } from '../index.ts';
import { compileSql92, EXPRESSION_LENGTH_MAX, NESTING_DEPTH_MAX } from './index.ts';

function errorOf(expression: string): BrokerError {
  try {
    compileSql92(expression);
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('ILLEGAL_FILTER_EXPRESSION');
    return error as BrokerError;
  }
  throw new Error(`expected ${JSON.stringify(expression)} to be refused`);
}

describe('sql92: malformed expressions are ILLEGAL_FILTER_EXPRESSION naming the problem and its column', () => {
  test.each([
    ['a >> 1', 'unexpected ">" at column 4; expected a value'],
    ['a != 1', 'unexpected "!=" at column 3; SQL92 spells not-equal "<>"'],
    ['a == 1', 'unexpected "==" at column 3; SQL92 spells equality "="'],
    ["a = 'x", "unterminated string literal starting at column 5; close it with ' (write '' for a quote)"],
    [
      'a IN (1)',
      `unexpected "1" at column 7; expected a string literal; IN lists hold string literals only: IN ('a', 'b')`,
    ],
    ["a IN ('x' 'y')", `unexpected string 'y' at column 11; expected "," or ")"`],
    ['a = 1 b', 'unexpected identifier "b" at column 7; expected an operator, AND, OR or the end of the expression'],
    ["a = 'x')", 'unexpected ")" at column 8; expected an operator, AND, OR or the end of the expression'],
    ['', "unexpected end of expression at column 1; expected a condition such as TAGS = 'A'"],
    ['   ', "unexpected end of expression at column 4; expected a condition such as TAGS = 'A'"],
    ['a =', 'unexpected end of expression at column 4; expected a value'],
    ['((a = 1)', 'unexpected end of expression at column 9; expected ")" to close the "(" at column 1'],
    ['a = NULL', 'NULL cannot be compared with "=" at column 5; use IS NULL or IS NOT NULL'],
    ['a IS 1', 'unexpected "1" at column 6; expected NULL or NOT NULL'],
    ["a > 'x'", `'x' cannot be compared with ">" at column 5; only numbers can`],
    ['(a = 1) > 2', 'a condition cannot be compared with ">" at column 1; only numbers can'],
    ["TRUE = 'x'", `TRUE cannot be compared with 'x' at column 1`],
    ['a BETWEEN 5 AND 1', 'BETWEEN 5 AND 1 is empty at column 11; the lower bound comes first'],
    ['a BETWEEN 1 OR 5', 'unexpected "OR" at column 13; expected AND between the BETWEEN bounds'],
    ["'x' IN ('x')", `IN needs a property on its left, not 'x' at column 5`],
    ['a CONTAINS 1', 'unexpected "1" at column 12; expected a string literal after CONTAINS'],
    ['1 AND a = 1', '1 is not a condition at column 1; AND, OR, NOT and the filter need conditions'],
    ["'x'", `'x' is not a condition at column 1; AND, OR, NOT and the filter need conditions`],
    ['a = 007', 'integer literal 007 has a leading zero at column 5; octal literals are not supported'],
    ['a = 9223372036854775808', 'integer literal 9223372036854775808 is beyond the Long range at column 5'],
    ['a = 0.0', 'float literal 0.0 is below Double.MIN_VALUE at column 5; write 0 for zero'],
    ['a = 1e999', 'float literal 1e999 is greater than Double.MAX_VALUE at column 5'],
    ['a && b', 'unexpected character "&" at column 3; use AND'],
    ['a = "x"', `unexpected character "\\"" at column 5; string literals use single quotes: 'text'`],
    ['a NOT = 1', 'unexpected "NOT" at column 3; expected an operator, AND, OR or the end of the expression'],
    ['/* open', 'unterminated comment starting at column 1'],
  ])('%j', (expression, problem) => {
    expect(errorOf(expression).message).toBe(`SQL92 filter ${JSON.stringify(expression)}: ${problem}`);
  });

  test('a multi-line expression is located by line and column', () => {
    expect(errorOf("a = 'x'\n  AND b >> 1").message).toBe(
      `SQL92 filter "a = 'x'\\n  AND b >> 1": unexpected ">" at line 2, column 10; expected a value`,
    );
  });

  test('compileFilter(SQL92) reports the same error', () => {
    expect(() => compileFilter('SQL92', 'a != 1')).toThrow(/SQL92 filter "a != 1": unexpected "!="/);
  });
});

describe('sql92: the work is bounded by expression length and nesting depth', () => {
  test(`an expression of ${EXPRESSION_LENGTH_MAX} characters compiles; one more is refused before parsing`, () => {
    const fits = `a = '${'x'.repeat(EXPRESSION_LENGTH_MAX - 6)}'`;
    expect(fits.length).toBe(EXPRESSION_LENGTH_MAX);
    expect(compileSql92(fits)({ messageId: 'm', messageType: 'NORMAL' })).toBe(false);
    const message = errorOf(`${fits} `).message;
    expect(message).toMatch(/^SQL92 filter "a = 'x+…" is 4097 characters long; the limit is 4096$/);
  });

  test(`${NESTING_DEPTH_MAX} levels of parentheses or NOT compile; one more is refused at its position`, () => {
    const parens = (n: number) => `${'('.repeat(n)}TRUE${')'.repeat(n)}`;
    expect(compileSql92(parens(NESTING_DEPTH_MAX))({ messageId: 'm', messageType: 'NORMAL' })).toBe(true);
    expect(errorOf(parens(NESTING_DEPTH_MAX + 1)).message).toMatch(
      /: nesting deeper than 100 levels at column 101; simplify the expression$/,
    );
    const nots = (n: number) => `${'NOT '.repeat(n)}FALSE`;
    expect(compileSql92(nots(NESTING_DEPTH_MAX - 1))({ messageId: 'm', messageType: 'NORMAL' })).toBe(true);
    expect(errorOf(nots(NESTING_DEPTH_MAX + 1)).message).toMatch(/nesting deeper than 100 levels at column 401/);
  });

  test('a long expression is quoted as an excerpt around the error', () => {
    const message = errorOf(`${"a = 'x' AND ".repeat(20)}b >> 1`).message;
    expect(message).toBe(
      `SQL92 filter "… a = 'x' AND a = 'x' AND a = 'x' AND b >> 1" (246 characters): unexpected ">" at column 244; ` +
        'expected a value',
    );
  });
});
