import type http from 'node:http';
import type { Authenticator } from '../auth/index.ts';
import type { Broker } from '../broker.ts';
import { BrokerError } from '../errors.ts';
import type { BrokerMetrics } from '../metrics/index.ts';

export interface AdminOperation {
  method: string;
  path: string;
  status: number;
  remote?: string;
  accessKey?: string;
  error?: string;
}

const bodyBytesMax = 1024 * 1024;
const httpStatusOf: Record<string, number> = {
  TOPIC_NOT_FOUND: 404,
  CONSUMER_GROUP_NOT_FOUND: 404,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
};

export interface AdminContext {
  broker: Broker;
  metrics: BrokerMetrics;
  startedWallMs: number;
  auth?: Authenticator;
  /** Called after every control-plane change attempt, allowed or not (the audit log). */
  onAdminOperation?: (op: AdminOperation) => void;
}

/**
 * The admin HTTP API (JSON). Routes:
 *   GET /health · GET /metrics (Prometheus) · GET|POST /topics · DELETE /topics/:name · GET|POST /groups
 *   GET /groups/:name/backlog · GET /backlog · POST /groups/:name/reset-offset {topic, timestamp}
 */
export function createAdminHandler(ctx: AdminContext): http.RequestListener {
  return (req, res) => {
    let accessKey: string | undefined;
    const audit = (status: number, error?: string) => {
      if (req.method === 'GET') return;
      ctx.onAdminOperation?.({
        method: req.method ?? '',
        path: req.url ?? '',
        status,
        remote: req.socket.remoteAddress,
        accessKey,
        error,
      });
    };
    const open = req.method === 'GET' && (req.url === '/health' || req.url === '/metrics');
    Promise.resolve()
      .then(() => {
        if (!open && ctx.auth?.enabled) {
          accessKey = claimedAccessKey(req.headers.authorization); // recorded in the audit log even when refused
          ctx.auth.authenticateAdmin(req.headers.authorization);
        }
        return handle(ctx, req);
      })
      .then(({ status, body, contentType }) => {
        res.writeHead(status, { 'content-type': contentType ?? 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body, null, 2));
        audit(status);
      })
      .catch((err: unknown) => {
        const code = err instanceof BrokerError ? err.code : 'INTERNAL_ERROR';
        const status = err instanceof BrokerError ? (httpStatusOf[code] ?? 400) : 500;
        res.writeHead(status, { 'content-type': 'application/json' });
        const message = err instanceof Error ? err.message : String(err);
        res.end(JSON.stringify({ error: { code, message } }));
        audit(status, message);
      });
  };
}

interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

async function handle(ctx: AdminContext, req: http.IncomingMessage): Promise<Reply> {
  const { broker } = ctx;
  const url = new URL(req.url ?? '/', 'http://admin');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const route = `${req.method} /${parts.map((p, i) => (i % 2 === 1 ? ':x' : p)).join('/')}`;
  switch (route) {
    case 'GET /health':
      return {
        status: 200,
        body: { status: 'ok', uptimeMs: Date.now() - ctx.startedWallMs, store: broker.store.stats() },
      };
    case 'GET /metrics':
      return { status: 200, body: await ctx.metrics.registry.metrics(), contentType: ctx.metrics.registry.contentType };
    case 'GET /topics':
      return {
        status: 200,
        body: { topics: broker.metadata.listTopics().map((t) => ({ ...t, ...topicCounts(ctx, t.name, t.queues) })) },
      };
    case 'POST /topics':
      return { status: 201, body: broker.metadata.upsertTopic(await readJson(req)) };
    case 'DELETE /topics/:x':
      if (!broker.metadata.deleteTopic(parts[1] as string))
        throw new BrokerError('TOPIC_NOT_FOUND', `no topic ${parts[1]}`);
      return { status: 200, body: { deleted: parts[1] } };
    case 'GET /groups':
      return { status: 200, body: { groups: broker.metadata.listGroups() } };
    case 'POST /groups':
      return { status: 201, body: broker.metadata.upsertGroup(await readJson(req)) };
    case 'GET /backlog':
      return { status: 200, body: { backlog: broker.backlog() } };
    case 'GET /groups/:x/backlog': {
      const group = broker.requireGroup(parts[1] as string);
      return { status: 200, body: { group: group.name, topics: broker.backlog(group.name) } };
    }
    case 'POST /groups/:x/reset-offset': {
      const body = await readJson(req);
      const ts = typeof body.timestamp === 'number' ? body.timestamp : Date.parse(String(body.timestamp));
      if (!Number.isFinite(ts)) throw new BrokerError('BAD_REQUEST', `timestamp "${body.timestamp}" is not a time`);
      return { status: 200, body: { queues: broker.resetOffset(parts[1] as string, String(body.topic), ts) } };
    }
    default:
      throw new BrokerError('NOT_FOUND', `no route ${req.method} ${url.pathname} (see GET /health, /topics, /groups)`);
  }
}

function topicCounts(ctx: AdminContext, topic: string, queues: number): { messages: number } {
  let messages = 0;
  for (let q = 0; q < queues; q++) {
    const r = ctx.broker.store.queueRange(topic, q);
    messages += r.maxOffset - r.minOffset;
  }
  return { messages };
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON is validated by the metadata layer.
async function readJson(req: http.IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > bodyBytesMax) throw new BrokerError('BAD_REQUEST', `request body over ${bodyBytesMax} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const value = JSON.parse(text || '{}');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch (err) {
    throw new BrokerError('BAD_REQUEST', `request body is not a JSON object: ${(err as Error).message}`);
  }
}

function claimedAccessKey(authorization: string | undefined): string | undefined {
  const m = /^Basic\s+(.+)$/i.exec(authorization ?? '');
  return m
    ? Buffer.from(m[1] as string, 'base64')
        .toString('utf8')
        .split(':')[0]
    : undefined;
}
