/**
 * A small client for the bundled broker's admin HTTP API (the same port as gRPC), shared by the bundled target and
 * by an external target that is given an admin endpoint. Every request is bounded by a timeout.
 */
import type { Backlog, GroupSpec, TopicSpec } from './types.ts';

export const adminTimeoutMsDefault = 10_000;

/** The counters the reconcile check reads, as the broker names them in Prometheus. */
export const counterNames = [
  'rocketmq_messages_in_total',
  'rocketmq_messages_out_total',
  'rocketmq_send_to_dlq_messages_total',
] as const;

export interface AdminClient {
  /** A label for errors: the node name. */
  readonly name: string;
  /** `http://host:port` (or https), no trailing slash. */
  readonly baseUrl: string;
  readonly authorization?: string;
  readonly timeoutMs?: number;
}

/** `host:port` or a full `http(s)://` URL to a base URL without a trailing slash. */
export function adminBaseUrl(endpoint: string): string {
  const base = /^https?:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
  return base.replace(/\/+$/, '');
}

export function basicAuthorization(accessKey: string, secretKey: string): string {
  return `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString('base64')}`;
}

async function request(admin: AdminClient, method: string, route: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (admin.authorization) headers.authorization = admin.authorization;
  const timeoutMs = admin.timeoutMs ?? adminTimeoutMsDefault;
  try {
    return await fetch(`${admin.baseUrl}${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message;
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause ?? String(err));
    throw new Error(`${admin.name}: ${method} ${admin.baseUrl}${route} failed: ${why}`);
  }
}

/** A JSON request; a non-2xx answer throws with the node name, route, status and the broker's error. */
export async function adminJson<T = unknown>(
  admin: AdminClient,
  method: string,
  route: string,
  body?: unknown,
): Promise<T> {
  const res = await request(admin, method, route, body);
  const text = await res.text();
  if (!res.ok) throw new Error(`${admin.name}: ${method} ${route} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

export async function adminText(admin: AdminClient, route: string): Promise<string> {
  const res = await request(admin, 'GET', route);
  const text = await res.text();
  if (!res.ok) throw new Error(`${admin.name}: GET ${route} answered ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

/** Creates (or updates) topics and groups on one node; POST is an upsert, so this is idempotent. */
export async function provisionNode(admin: AdminClient, topics: TopicSpec[], groups: GroupSpec[]): Promise<void> {
  for (const t of topics) await adminJson(admin, 'POST', '/topics', t);
  for (const g of groups) await adminJson(admin, 'POST', '/groups', g);
}

/** GET /groups/:g/backlog for each group on one node. */
export async function nodeBacklog(admin: AdminClient, groups: string[]): Promise<Backlog[]> {
  const out: Backlog[] = [];
  for (const g of groups) {
    const body = await adminJson<{ topics: Backlog[] }>(admin, 'GET', `/groups/${encodeURIComponent(g)}/backlog`);
    out.push(...body.topics);
  }
  return out;
}

/** Sums backlog rows by (topic, group), in first-seen order; an unknown in-flight count (null) makes the sum's null. */
export function sumBacklogs(perNode: Backlog[][]): Backlog[] {
  const byKey = new Map<string, Backlog>();
  for (const rows of perNode) {
    for (const r of rows) {
      const key = `${r.topic}\u0000${r.group}`;
      const sum = byKey.get(key);
      if (!sum) byKey.set(key, { ...r });
      else {
        sum.ready += r.ready;
        sum.inflight = sum.inflight === null || r.inflight === null ? null : sum.inflight + r.inflight;
        sum.retry += r.retry;
        sum.dlq += r.dlq;
      }
    }
  }
  return [...byKey.values()];
}

/**
 * Reads the named counters from Prometheus text. The result has, for each name, its total over all label sets
 * (`rocketmq_messages_in_total`) and each series as Prometheus writes it (`rocketmq_messages_in_total{topic="a",...}`).
 * Names that do not appear are 0.
 */
export function parsePrometheusCounters(text: string, names: readonly string[] = counterNames): Record<string, number> {
  const wanted = new Set(names);
  const out: Record<string, number> = {};
  for (const n of names) out[n] = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const name = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)?.[0];
    if (!name || !wanted.has(name)) continue;
    const close = line.lastIndexOf('}');
    const seriesEnd = close >= 0 ? close + 1 : name.length;
    const value = Number(line.slice(seriesEnd).trim().split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    const series = line.slice(0, seriesEnd);
    out[name] = (out[name] ?? 0) + value;
    if (series !== name) out[series] = (out[series] ?? 0) + value;
  }
  return out;
}

/** Adds counter records key by key. */
export function sumCounters(records: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export async function nodeCounters(admin: AdminClient): Promise<Record<string, number>> {
  return parsePrometheusCounters(await adminText(admin, '/metrics'));
}
