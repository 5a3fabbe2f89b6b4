/**
 * Compiles a parsed filter into nested closures, each node evaluated as RocketMQ's expression classes evaluate it
 * (`FL/expression/*`): three-valued AND/OR/NOT, null from comparisons with a missing property, and an
 * Sql92EvaluationError where RocketMQ throws.
 */
import type { Node, Ordering, StringMatch } from './parser.ts';
import { compareAsDoubles, isNumber, javaCompare, negate, type Sql92Value } from './values.ts';

/** Property name => value, as `filterProperties` builds it. */
export type Sql92Properties = Readonly<Record<string, string>>;
export type Evaluator = (properties: Sql92Properties) => Sql92Value;

type Condition = (properties: Sql92Properties) => boolean | null;

const asCondition = (evaluate: Evaluator): Condition => evaluate as Condition;

function lookup(name: string): Evaluator {
  // Own properties only: a message property called "constructor" must not find Object.prototype's.
  return (properties) => (Object.hasOwn(properties, name) ? (properties[name] as string) : null);
}

/** LogicExpression.createOR / createAND: decided by one side when it can be, else null if either side is. */
function logic(kind: 'and' | 'or', left: Condition, right: Condition): Evaluator {
  const decisive = kind === 'or';
  return (properties) => {
    const lv = left(properties);
    if (lv === decisive) return decisive;
    const rv = right(properties);
    if (rv === decisive) return decisive;
    return lv === null || rv === null ? null : !decisive;
  };
}

/** doCreateEqual: a null left side gives null, a null right side false, both null true (that is IS NULL). */
function equal(left: Evaluator, right: Evaluator): Evaluator {
  return (properties) => {
    const lv = left(properties);
    const rv = right(properties);
    if (lv === null || rv === null) return lv === rv ? true : lv === null ? null : false;
    return javaCompare(lv, rv) === 0;
  };
}

const orderingHolds: Record<Ordering, (c: number) => boolean> = {
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
};

/** ComparisonExpression.evaluate: null if either side is; two Strings are compared as Doubles or throw. */
function compare(operator: Ordering, left: Evaluator, right: Evaluator): Evaluator {
  const holds = orderingHolds[operator];
  return (properties) => {
    const lv = left(properties);
    if (lv === null) return null;
    const rv = right(properties);
    if (rv === null) return null;
    if (typeof lv === 'string' && typeof rv === 'string') {
      return holds(compareAsDoubles(lv, rv));
    }
    return holds(javaCompare(lv, rv));
  };
}

const stringTests: Record<StringMatch, (value: string, search: string) => boolean> = {
  CONTAINS: (value, search) => value.includes(search),
  STARTSWITH: (value, search) => value.startsWith(search),
  ENDSWITH: (value, search) => value.endsWith(search),
};

/** Contains/StartsWith/EndsWith: false (never null) for a missing or non-String value or an empty search. */
function match(operator: StringMatch, operand: Evaluator, search: string, negated: boolean): Evaluator {
  const test = stringTests[operator];
  if (search === '') return () => false;
  return (properties) => {
    const value = operand(properties);
    if (typeof value !== 'string') return false;
    return test(value, search) !== negated;
  };
}

export function compileNode(node: Node): Evaluator {
  switch (node.kind) {
    case 'literal': {
      const value = node.value;
      return () => value;
    }
    case 'property':
      return lookup(node.name);
    case 'negate': {
      const operand = compileNode(node.operand);
      return (properties) => {
        const value = operand(properties);
        return isNumber(value) ? negate(value) : null;
      };
    }
    case 'not': {
      const operand = asCondition(compileNode(node.operand));
      return (properties) => {
        const value = operand(properties);
        return value === null ? null : !value;
      };
    }
    case 'booleanCast': {
      const operand = compileNode(node.operand);
      return (properties) => {
        const value = operand(properties);
        return value === null ? null : value === true;
      };
    }
    case 'and':
    case 'or':
      return logic(node.kind, asCondition(compileNode(node.left)), asCondition(compileNode(node.right)));
    case 'equal':
      return equal(compileNode(node.left), compileNode(node.right));
    case 'compare':
      return compare(node.operator, compileNode(node.left), compileNode(node.right));
    case 'in': {
      const operand = compileNode(node.operand);
      const { values, negated } = node;
      return (properties) => {
        const value = operand(properties);
        return typeof value === 'string' ? values.has(value) !== negated : null;
      };
    }
    case 'match':
      return match(node.operator, compileNode(node.operand), node.search, node.negated);
  }
}
