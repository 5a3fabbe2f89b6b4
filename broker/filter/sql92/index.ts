/**
 * RocketMQ's SQL92 message filter (`FilterType.SQL`; the grammar of apache/rocketmq
 * `filter/.../parser/SelectorParser.jj`): a tokenizer (lexer.ts), a
 * recursive-descent parser to a syntax tree (parser.ts) and a compiled evaluator with three-valued logic over
 * Java-typed values (evaluate.ts, values.ts).
 *
 * Hand-written rather than built on a generic parser library: the grammar is small, and RocketMQ's exact semantics
 * (string-to-number conversion, null handling, the checks it makes while building its tree, which evaluation
 * failures mean "no match") are easier to control, and to point at in error messages, in code we own.
 *
 * Importing this module registers the compiler with broker/filter (the broker enables SQL92 filters that way).
 */
import { BrokerError } from '../../errors.ts';
import { filterProperties, type MessageFilter, registerSqlCompiler } from '../index.ts';
import { compileNode, type Sql92Properties } from './evaluate.ts';
import { EXPRESSION_LENGTH_MAX, tokenize } from './lexer.ts';
import { type Node, parse } from './parser.ts';
import { Sql92EvaluationError, type Sql92Value } from './values.ts';

export type { Sql92Properties } from './evaluate.ts';
export { EXPRESSION_LENGTH_MAX } from './lexer.ts';
export { NESTING_DEPTH_MAX } from './parser.ts';
export { Sql92EvaluationError, type Sql92Value } from './values.ts';

/** Parses an expression (length-checked first); a malformed one throws ILLEGAL_FILTER_EXPRESSION. */
export function parseSql92(expression: string): Node {
  if (expression.length > EXPRESSION_LENGTH_MAX) {
    const problem = `is ${expression.length} characters long; the limit is ${EXPRESSION_LENGTH_MAX}`;
    throw new BrokerError('ILLEGAL_FILTER_EXPRESSION', `SQL92 filter "${expression.slice(0, 40)}…" ${problem}`);
  }
  return parse(expression, tokenize(expression));
}

/**
 * The raw three-valued evaluator: TRUE, FALSE or null (unknown), or an Sql92EvaluationError thrown where RocketMQ
 * throws. compileSql92 is what the broker uses; this is for tests and diagnostics.
 */
export function compileSql92Evaluator(expression: string): (properties: Sql92Properties) => boolean | null {
  const evaluate = compileNode(parseSql92(expression));
  return (properties) => evaluate(properties) as boolean | null;
}

/**
 * Compiles a filter over a message's properties (user properties plus TAGS, KEYS, UNIQ_KEY). A message matches only
 * when the expression is TRUE: null (a missing property) and evaluation failures (a property that does not parse as
 * the number it is compared with) are not matches, as in RocketMQ's ExpressionMessageFilter.
 */
export function compileSql92(expression: string): MessageFilter {
  const evaluate = compileNode(parseSql92(expression));
  return (props) => {
    let result: Sql92Value;
    try {
      result = evaluate(filterProperties(props));
    } catch (error) {
      if (error instanceof Sql92EvaluationError) return false;
      throw error;
    }
    return result === true;
  };
}

registerSqlCompiler(compileSql92);
