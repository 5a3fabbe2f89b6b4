import { describe, expect, test } from 'vitest';
import type { MessageProps } from '../../store/types.ts';
import { compileFilter } from '../index.ts';
import { compileSql92, compileSql92Evaluator, Sql92EvaluationError } from './index.ts';

const message = (userProperties: Record<string, string>, extra: Partial<MessageProps> = {}): MessageProps => ({
  messageId: 'm-1',
  messageType: 'NORMAL',
  userProperties,
  ...extra,
});

const matches = (expression: string, properties: Record<string, string>) =>
  compileSql92(expression)(message(properties));

/** The raw three-valued result, with RocketMQ's evaluation exceptions shown as 'error'. */
function outcome(expression: string, properties: Record<string, string>): boolean | null | 'error' {
  try {
    return compileSql92Evaluator(expression)(properties);
  } catch (error) {
    if (error instanceof Sql92EvaluationError) return 'error';
    throw error;
  }
}

describe('sql92: every operator matches and fails where it should', () => {
  test.each([
    ["a = 'x'", { a: 'x' }, { a: 'y' }],
    ["a <> 'x'", { a: 'y' }, { a: 'x' }],
    ['a > 5', { a: '6' }, { a: '5' }],
    ['a >= 5', { a: '5' }, { a: '4' }],
    ['a < 5', { a: '4' }, { a: '5' }],
    ['a <= 5', { a: '5' }, { a: '6' }],
    ['a BETWEEN 1 AND 5', { a: '5' }, { a: '6' }],
    ['a BETWEEN 1 AND 5', { a: '1' }, { a: '0' }],
    ['a NOT BETWEEN 1 AND 5', { a: '6' }, { a: '3' }],
    ["a IN ('x', 'y')", { a: 'y' }, { a: 'z' }],
    ["a NOT IN ('x', 'y')", { a: 'z' }, { a: 'x' }],
    ['a IS NULL', {}, { a: '' }],
    ['a IS NOT NULL', { a: '' }, {}],
    ["a CONTAINS 'bc'", { a: 'abcd' }, { a: 'acbd' }],
    ["a NOT CONTAINS 'bc'", { a: 'acbd' }, { a: 'abcd' }],
    ["a STARTSWITH 'ab'", { a: 'abc' }, { a: 'cab' }],
    ["a NOT STARTSWITH 'ab'", { a: 'cab' }, { a: 'abc' }],
    ["a ENDSWITH 'bc'", { a: 'abc' }, { a: 'bca' }],
    ["a NOT ENDSWITH 'bc'", { a: 'bca' }, { a: 'abc' }],
    ["a = '1' AND b = '2'", { a: '1', b: '2' }, { a: '1', b: '3' }],
    ["a = '1' OR b = '2'", { a: '0', b: '2' }, { a: '0', b: '3' }],
    ["NOT (a = '1')", { a: '2' }, { a: '1' }],
    ["((a = '1'))", { a: '1' }, { a: '2' }],
    ['a = -5', { a: '-5' }, { a: '5' }],
    ['a = +5', { a: '5' }, { a: '-5' }],
    ['a = - -5', { a: '5' }, { a: '-5' }],
    ['TRUE', {}, null],
    ['FALSE', null, {}],
    ['NULL', null, {}],
    ['a = 5L', { a: '5' }, { a: '6' }],
    ['a = 3000000000', { a: '3000000000' }, { a: '3000000001' }],
    ['a = 1.5E3', { a: '1500' }, { a: '1.5' }],
    ['a = 2.5e-1', { a: '0.25' }, { a: '2.5' }],
    ['a = .5', { a: '0.5' }, { a: '5' }],
    ['a = 5.', { a: '5' }, { a: '0.5' }],
    ["a = 'it''s'", { a: "it's" }, { a: 'its' }],
    ["a = 'x' and not (b is null) Or FALSE", { a: 'x', b: '' }, { a: 'x' }],
    ["a_1$ = 'x'", { a_1$: 'x' }, { A_1$: 'x' }],
    ["a = 'x' -- a comment\n", { a: 'x' }, { a: 'y' }],
    ["/* a comment */ a = 'x'", { a: 'x' }, { a: 'y' }],
  ])('%s', (expression, passing, failing) => {
    if (passing) expect(matches(expression, passing)).toBe(true);
    if (failing) expect(matches(expression, failing)).toBe(false);
  });

  test('TAGS, KEYS and UNIQ_KEY come from the message, and compileFilter(SQL92) uses this compiler', () => {
    const tagged = message({}, { tag: 'A', keys: ['k1', 'k2'] });
    expect(compileSql92("TAGS = 'A'")(tagged)).toBe(true);
    expect(compileSql92("TAGS = 'B'")(tagged)).toBe(false);
    expect(compileSql92("TAGS = 'A'")(message({}))).toBe(false);
    expect(compileSql92("KEYS CONTAINS 'k2' AND UNIQ_KEY = 'm-1'")(tagged)).toBe(true);
    expect(compileFilter('SQL92', "TAGS IN ('A', 'C')")(tagged)).toBe(true);
  });
});

describe('sql92: missing properties and three-valued logic', () => {
  test.each([
    ["a = 'x'", null],
    ["'x' = a", false],
    ["a <> 'x'", null],
    ["'x' <> a", true],
    ['a > 1', null],
    ['a BETWEEN 1 AND 2', null],
    ["a IN ('x')", null],
    ["a NOT IN ('x')", null],
    ["a CONTAINS 'x'", false],
    ["a NOT CONTAINS 'x'", false],
    ["a STARTSWITH 'x'", false],
    ['a IS NULL', true],
    ['a IS NOT NULL', false],
    ['a = b', true],
    ["a = 'x' OR TRUE", true],
    ["a = 'x' OR FALSE", null],
    ["a = 'x' AND FALSE", false],
    ["a = 'x' AND TRUE", null],
    ["NOT (a = 'x')", null],
    ['a', null],
    ['NULL', null],
    ["constructor = 'x'", null],
    ['toString IS NULL', true],
  ] as const)('%s with no properties is %s', (expression, expected) => {
    expect(outcome(expression, {})).toBe(expected);
    expect(matches(expression, {})).toBe(expected === true);
  });

  test('a bare property is cast: a present String is FALSE, never TRUE', () => {
    expect(outcome('a', { a: 'true' })).toBe(false);
    expect(outcome('a OR b', { a: 'true' })).toBe(null);
  });
});
