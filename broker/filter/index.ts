import { fail } from '../errors.ts';
import type { MessageProps } from '../store/types.ts';

export type FilterKind = 'TAG' | 'SQL92';
export type MessageFilter = (props: MessageProps) => boolean;

export const matchAll: MessageFilter = () => true;

/** TAG expressions as RocketMQ parses them: empty or `*` matches all; else `a || b` is a set of exact tags. */
export function compileTagFilter(expression: string): MessageFilter {
  const text = expression.trim();
  if (text === '' || text === '*') return matchAll;
  const tags = new Set(
    text
      .split('||')
      .map((t) => t.trim())
      .filter((t) => t !== ''),
  );
  if (tags.size === 0) return matchAll;
  return (props) => props.tag !== undefined && tags.has(props.tag);
}

const sqlCompilers: { compile?: (expression: string) => MessageFilter } = {};

/** Lets the SQL92 module register itself without a hard import cycle. */
export function registerSqlCompiler(compile: (expression: string) => MessageFilter): void {
  sqlCompilers.compile = compile;
}

const cache = new Map<string, MessageFilter>();
const cacheSizeMax = 1024;

/** Compiles (and caches) a filter; a malformed expression is ILLEGAL_FILTER_EXPRESSION naming the problem. */
export function compileFilter(kind: FilterKind, expression: string): MessageFilter {
  const cacheKey = `${kind}\u0000${expression}`;
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  let filter: MessageFilter;
  if (kind === 'TAG') {
    if (expression.includes('|') && !/^[^|]*(\|\|[^|]*)*$/.test(expression)) {
      fail('ILLEGAL_FILTER_EXPRESSION', `tag expression "${expression}": tags are separated by "||"`);
    }
    filter = compileTagFilter(expression);
  } else {
    if (!sqlCompilers.compile) return fail('ILLEGAL_FILTER_EXPRESSION', 'SQL92 filters are not enabled on this broker');
    filter = sqlCompilers.compile(expression);
  }
  if (cache.size >= cacheSizeMax) cache.clear();
  cache.set(cacheKey, filter);
  return filter;
}

/** The property map SQL92 filters evaluate: user properties plus RocketMQ's system keys (TAGS, KEYS, UNIQ_KEY). */
export function filterProperties(props: MessageProps): Record<string, string> {
  const out: Record<string, string> = { ...props.userProperties };
  if (props.tag !== undefined) out.TAGS = props.tag;
  if (props.keys?.length) out.KEYS = props.keys.join(' ');
  out.UNIQ_KEY = props.messageId;
  return out;
}
