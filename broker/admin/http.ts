import type http from 'node:http';
import type { Authenticator } from '../auth/index.ts';
import type { Broker } from '../broker.ts';
import { BrokerError, DeniedError } from '../errors.ts';
import type { BrokerMetrics } from '../metrics/index.ts';

export interface AdminOperation {
  method: string;
  path: string;
  status: number;
  remote?: string;
  accessKey?: string;
  error?: string;
  /** Set on refusals (401, 403): what was asked for and why it was refused. */
  resource?: string;
  reason?: string;
}

export const adminBodyBytesMax = 1024 * 1024;

/** An admin answer with its own HTTP status (413, 400 for a bad URL). */
class HttpError extends BrokerError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('BAD_REQUEST', message);
  }
}

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
 *   GET /quarantine (what the store kept aside: bad log ranges, cut tails, unreadable records)
 */
export function createAdminHandler(ctx: AdminContext): http.RequestListener {
  return (req, res) => {
    // Read once, now: after an error the socket may be destroyed and req.socket gone.
    const remote = req.socket?.remoteAddress;
    const method = req.method ?? '';
    const url = req.url ?? '';
    let accessKey: string | undefined;
    const audit = (status: number, err?: unknown) => {
      const denied = err instanceof DeniedError ? err : undefined;
      if (method === 'GET' && !denied) return; // reads are audited only when refused
      ctx.onAdminOperation?.({
        method,
        path: url.slice(0, 2048),
        status,
        remote,
        accessKey: accessKey ?? denied?.accessKey,
        error: err === undefined ? undefined : err instanceof Error ? err.message : String(err),
        ...(denied ? { resource: denied.resource, reason: denied.message } : {}),
      });
    };
    const open = method === 'GET' && (url === '/health' || url === '/metrics');
    Promise.resolve()
      .then(() => {
        if (!open && ctx.auth?.enabled) {
          accessKey = claimedAccessKey(req.headers.authorization); // recorded in the audit log even when refused
          ctx.auth.authenticateAdmin(req.headers.authorization, `admin:${method} ${url.slice(0, 256)}`);
        }
        return handle(ctx, req);
      })
      .then(({ status, body, contentType }) => {
        if (!res.writableEnded && !res.destroyed) {
          res.writeHead(status, { 'content-type': contentType ?? 'application/json' });
          res.end(typeof body === 'string' ? body : JSON.stringify(body, null, 2));
        }
        audit(status);
      })
      .catch((err: unknown) => {
        const status = httpStatusFor(err);
        const code = err instanceof BrokerError ? err.code : 'INTERNAL_ERROR';
        const message = err instanceof Error ? err.message : String(err);
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code, message } }));
        }
        audit(status, err);
      })
      .catch(() => {
        // The audit sink never throws (AuditLog catches its own write errors); nothing left to answer here.
      });
  };
}

function httpStatusFor(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof BrokerError) return httpStatusOf[err.code] ?? 400;
  return 500;
}

interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

async function handle(ctx: AdminContext, req: http.IncomingMessage): Promise<Reply> {
  const { broker } = ctx;
  const { url, parts } = parseAdminUrl(req.url ?? '/');
  const route = `${req.method} /${parts.map((p, i) => (i % 2 === 1 ? ':x' : p)).join('/')}`;
  switch (route) {
    case 'GET /health': {
      // 200 either way (the process serves reads and acks); `status` and `write` say whether sends are accepted.
      const write = broker.store.writeState();
      const status = write.writable ? 'ok' : 'read-only';
      return {
        status: 200,
        body: { status, write, uptimeMs: Date.now() - ctx.startedWallMs, store: broker.store.stats() },
      };
    }
    case 'GET /quarantine':
      return { status: 200, body: { quarantined: broker.store.quarantined() } };
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

/** The path split into its segments, each percent-decoded; a malformed URL or escape is a 400, not a 500. */
function parseAdminUrl(raw: string): { url: URL; parts: string[] } {
  let url: URL;
  try {
    url = new URL(raw, 'http://admin');
  } catch {
    throw new HttpError(400, `request URL "${raw.slice(0, 200)}" is not a valid path`);
  }
  const parts = url.pathname
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw new HttpError(400, `URL path segment "${p.slice(0, 200)}" has a bad percent escape (use %XX with hex)`);
      }
    });
  return { url, parts };
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON is validated by the metadata layer.
async function readJson(req: http.IncomingMessage): Promise<any> {
  const chunks = await readBody(req);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const value = JSON.parse(text || '{}');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch (err) {
    throw new BrokerError('BAD_REQUEST', `request body is not a JSON object: ${(err as Error).message}`);
  }
}

/**
 * The request body, at most adminBodyBytesMax bytes, else a 413. Past the limit the rest is read and dropped, not
 * kept: closing a socket with unread bytes makes the kernel send a reset, which would destroy the 413 the client has
 * not read yet. The connection's deadline (connections.handshakeTimeoutMs after the answer) bounds the draining.
 */
function readBody(req: http.IncomingMessage): Promise<Buffer[]> {
  const tooLarge = () =>
    new HttpError(413, `request body is over ${adminBodyBytesMax} bytes; admin requests are small JSON objects`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > adminBodyBytesMax) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size <= adminBodyBytesMax) chunks.push(chunk);
      else {
        settled = true;
        chunks.length = 0;
        reject(tooLarge());
      }
    });
    req.on('end', () => {
      if (!settled) resolve(chunks);
      settled = true;
    });
    req.on('error', (err) => {
      if (!settled) reject(new HttpError(400, `request body could not be read: ${err.message}`));
      settled = true;
    });
  });
}

function claimedAccessKey(authorization: string | undefined): string | undefined {
  const m = /^Basic\s+(.+)$/i.exec(authorization ?? '');
  return m
    ? Buffer.from(m[1] as string, 'base64')
        .toString('utf8')
        .split(':')[0]
    : undefined;
}
