import type { Subscription } from '../ledger/index.ts';

/**
 * Whether a subscription's filter selects a message. TAG filters (`*`, `a`, `a || b`) are evaluated here; SQL92
 * filters are not (returns undefined: "cannot tell"), and the checks that need them say so in their notes.
 * TODO(#5): evaluate SQL92 filters with the broker's evaluator once broker/filters exists (issue #4).
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
