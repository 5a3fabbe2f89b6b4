import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BrokerError } from '../../errors.ts';
import { compileSql92, compileSql92Evaluator, Sql92EvaluationError } from './index.ts';

const property = fc.constantFrom('a', 'b', 'c');
const number = fc.constantFrom('1', '2.5', '-3', '10L', '1E1', '+2');
const string = fc.constantFrom("'1'", "'x'", "''", "'true'", "'it''s'");

/** One condition of every kind, always accepted by the parser. */
const leaf: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(property, fc.constantFrom('=', '<>'), fc.oneof(number, string, property)).map((t) => t.join(' ')),
  fc.tuple(property, fc.constantFrom('>', '>=', '<', '<='), fc.oneof(number, property)).map((t) => t.join(' ')),
  fc.tuple(property, fc.constantFrom('BETWEEN', 'NOT BETWEEN')).map(([p, k]) => `${p} ${k} -1 AND 2.5`),
  fc.tuple(property, fc.constantFrom('IN', 'NOT IN')).map(([p, k]) => `${p} ${k} ('1', 'x')`),
  fc.tuple(property, fc.constantFrom('IS NULL', 'IS NOT NULL')).map((t) => t.join(' ')),
  fc
    .tuple(property, fc.constantFrom('', 'NOT '), fc.constantFrom('CONTAINS', 'STARTSWITH', 'ENDSWITH'), string)
    .map(([p, not, op, s]) => `${p} ${not}${op} ${s}`),
  fc.constantFrom('TRUE', 'FALSE', 'NULL', 'a', 'b'),
);

const { expression } = fc.letrec<{ expression: string }>((tie) => ({
  expression: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(tie('expression'), fc.constantFrom('AND', 'OR', 'and', 'Or'), tie('expression')).map((t) => t.join(' ')),
    tie('expression').map((e) => `NOT (${e})`),
    tie('expression').map((e) => `(${e})`),
  ),
}));

const properties = fc.record(
  { a: fc.constantFrom('1', '2.5', 'x', '', 'true', ' 1'), b: fc.constantFrom('1', 'x'), c: fc.constantFrom('-3') },
  { requiredKeys: [] },
);

function outcome(text: string, props: Record<string, string>): boolean | null | 'error' {
  try {
    return compileSql92Evaluator(text)(props);
  } catch (error) {
    if (error instanceof Sql92EvaluationError) return 'error';
    throw error;
  }
}

describe('sql92 properties (fast-check)', () => {
  test('well-formed expressions compile, and their filters never throw: a match is exactly a TRUE result', () => {
    fc.assert(
      fc.property(expression, properties, (text, props) => {
        const matched = compileSql92(text)({ messageId: 'm', messageType: 'NORMAL', userProperties: props });
        expect(matched).toBe(outcome(text, props) === true);
      }),
      { numRuns: 2000 },
    );
  });

  test('NOT (e) negates e when e is boolean; null and evaluation failures pass through unchanged', () => {
    fc.assert(
      fc.property(expression, properties, (text, props) => {
        const plain = outcome(text, props);
        const negated = outcome(`NOT (${text})`, props);
        expect(negated).toBe(typeof plain === 'boolean' ? !plain : plain);
      }),
      { numRuns: 2000 },
    );
  });

  test('arbitrary token soup either compiles or is ILLEGAL_FILTER_EXPRESSION, never another exception', () => {
    const token = fc.constantFrom(
      ...['a', '(', ')', '=', '<>', '>', 'AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'IS', 'NULL', 'TRUE', ',', '-', '+'],
      ...["'x'", "'", '1', '0.0', '1e5', 'CONTAINS', '!=', '--', '/*', '\n', '007', '9999999999999999999'],
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), (tokens) => {
        try {
          compileSql92(tokens.join(' '))({ messageId: 'm', messageType: 'NORMAL', userProperties: { a: '1' } });
        } catch (error) {
          expect(error).toBeInstanceOf(BrokerError);
          expect((error as BrokerError).code).toBe('ILLEGAL_FILTER_EXPRESSION');
        }
      }),
      { numRuns: 3000 },
    );
  });
});
