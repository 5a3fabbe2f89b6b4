import { compileSql92Evaluator } from '../../broker/filter/sql92/index.ts';
import type { Subscription } from '../ledger/index.ts';

/**
 * Whether a subscription's filter selects a message, by its tag. TAG filters (`*`, `a`, `a || b`) are decided here;
 * SQL92 filters need the message's properties, so they are evaluated once per message when its send is read (see
 * `compileSqlFilter`) and this matcher answers undefined ("cannot tell from the tag").
 */
export type FilterMatcher = (tag: string | undefined) => boolean | undefined;

export function compileFilter(subscription: Subscription): FilterMatcher {
  const expression = (subscription.filter ?? '*').trim();
  if (subscription.filterType === 'SQL92') {
    return expression === '' || expression.toUpperCase() === 'TRUE' ? () => true : () => undefined;
  }
  if (expression === '' || expression === '*') return () => true;
  const tags = new Set(
    expression
      .split('||')
      .map((t) => t.trim())
      .filter((t) => t !== ''),
  );
  if (tags.has('*')) return () => true;
  return (tag) => tag !== undefined && tags.has(tag);
}

/** A SQL92 filter evaluated with the broker's own evaluator (RocketMQ semantics); a null result does not match. */
export type SqlFilter = (properties: Record<string, string>) => boolean;

/** The SQL92 evaluator for a subscription, or undefined when it is not SQL92 or the expression is malformed. */
export function compileSqlFilter(subscription: Subscription): SqlFilter | undefined {
  const expression = (subscription.filter ?? '').trim();
  if (subscription.filterType !== 'SQL92' || expression === '' || expression.toUpperCase() === 'TRUE') return undefined;
  try {
    const evaluate = compileSql92Evaluator(expression);
    return (properties) => evaluate(properties) === true;
  } catch {
    return undefined; // the broker rejects it too (ILLEGAL_FILTER_EXPRESSION): nothing can be expected
  }
}
