/**
 * The admin view of a sharded broker (`mqdrill broker --shards N --admin-port P`): the same routes as one broker's
 * admin API (broker/admin/http.ts), answered from every shard. Each shard authenticates and audits the request itself
 * (the Authorization header is passed on), so this view holds no keys.
 *   - changes (POST, DELETE): sent to every shard in turn; the answer is shard 0's when every shard agreed, else 502
 *     naming each shard that refused and why (a retry is safe: POST is an upsert, DELETE of a missing topic is 404);
 *   - GET /health: `ok` only when every shard is; GET /topics, /groups: shard 0's list (every shard has the same
 *     metadata) with message counts summed; GET /backlog, /groups/:g/backlog: rows summed by (topic, group);
 *   - GET /metrics: every shard's series with a `shard` label, one HELP/TYPE per metric family;
 *   - GET /shards: the shards and their admin ports (credentials as for GET /topics); ANY /shards/I/<route>: that
 *     route on shard I alone.
 * Every shard's shared gRPC+admin port forwards its admin requests here (adminViewProxy), so `mqdrill admin
 * --broker HOST:PORT` with any shard's address sees the whole broker; each shard's own --admin-port stays its own.
 */
import http from 'node:http';
import type net from 'node:net';

const bodyBytesMax = 1024 * 1024;
const shardTimeoutMs = 10_000;

export interface ShardAdmin {
  port: number;
  close(): Promise<void>;
}

type Targets = () => Array<{ name: string; port: number | undefined }>;
type Peer = { name: string; port: number | undefined; host?: string };

/** Where to reach a server listening on `host`: loopback when it listens on every address. */
const connectHost = (host: string) => (host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host);

interface Answer {
  status: number;
  text: string;
  contentType: string;
}

export async function startShardAdmin(host: string, port: number, targets: Targets): Promise<ShardAdmin> {
  const server = http.createServer((req, res) => {
    readBody(req)
      .then(
        (body) => route(targets, req, body),
        (err: Error) => json(413, { error: err.message }),
      )
      .then(
        (a) => res.writeHead(a.status, { 'content-type': a.contentType }).end(a.text),
        (err: Error) => {
          const a = json(500, { error: `admin view: ${err.message}` });
          res.writeHead(a.status, { 'content-type': a.contentType }).end(a.text);
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A shard's admin handler on its shared port: every request is answered by the admin view at host:viewPort. */
export function adminViewProxy(host: string, viewPort: number): http.RequestListener {
  const view = { name: 'the sharded broker admin view', host: connectHost(host), port: viewPort };
  return (req, res) => {
    readBody(req)
      .then(
        (body) => ask(view, req.method ?? 'GET', req.url ?? '/', req, body),
        (err: Error) => json(413, { error: err.message }),
      )
      .then((a) => res.writeHead(a.status, { 'content-type': a.contentType }).end(a.text));
  };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > bodyBytesMax) {
        reject(new Error(`request body over ${bodyBytesMax} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const json = (status: number, body: unknown): Answer => ({
  status,
  text: JSON.stringify(body),
  contentType: 'application/json',
});

async function route(targets: () => Peer[], req: http.IncomingMessage, body: Buffer): Promise<Answer> {
  const shards = targets();
  if (shards.length === 0) return json(503, { error: 'the shards are starting; ask again in a few seconds' });
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://admin').pathname;
  const one = /^\/shards\/(\d+)(\/.*)$/.exec(path);
  if (one) {
    const shard = shards[Number(one[1])];
    if (!shard) return json(404, { error: `no shard ${one[1]} (shards 0..${shards.length - 1}; see GET /shards)` });
    return ask(shard, method, (one[2] as string) + search(req), req, body);
  }
  if (method === 'GET' && path === '/shards') {
    // The shard list names pids and ports: as closed as the admin routes. Shard 0 judges the credentials (this view
    // holds no keys), on a read-only route that needs them.
    const probe = await ask(shards[0] as Peer, 'GET', '/topics', req, Buffer.alloc(0));
    return probe.status === 401 || probe.status === 403 ? probe : json(200, { shards });
  }
  const answers = await Promise.all(shards.map((s) => ask(s, method, path + search(req), req, body)));
  if (method !== 'GET') return agreed(shards, answers);
  if (path === '/health') return health(shards, answers);
  if (path === '/metrics') return metrics(shards, answers);
  const failed = answers.findIndex((a) => a.status >= 300);
  if (failed >= 0) return answers[failed] as Answer;
  const bodies = answers.map((a) => JSON.parse(a.text) as Record<string, unknown>);
  if (path === '/topics') return json(200, { topics: sumBy(bodies, 'topics', ['name'], ['messages']) });
  if (path === '/backlog') return json(200, { backlog: sumBy(bodies, 'backlog', ['topic', 'group'], counts) });
  if (/^\/groups\/[^/]+\/backlog$/.test(path))
    return json(200, { ...bodies[0], topics: sumBy(bodies, 'topics', ['topic', 'group'], counts) });
  return answers[0] as Answer;
}

const counts = ['ready', 'inflight', 'retry', 'dlq'];
const search = (req: http.IncomingMessage) => new URL(req.url ?? '/', 'http://admin').search;

async function ask(
  shard: Peer,
  method: string,
  path: string,
  req: http.IncomingMessage,
  body: Buffer,
): Promise<Answer> {
  if (shard.port === undefined) return json(503, { error: `${shard.name} is not serving (starting or restarting)` });
  const headers: Record<string, string> = {};
  for (const h of ['authorization', 'content-type']) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  try {
    const where = shard.host ?? '127.0.0.1';
    const res = await fetch(`http://${where.includes(':') ? `[${where}]` : where}:${shard.port}${path}`, {
      method,
      headers,
      body: method === 'GET' || method === 'HEAD' ? undefined : body,
      signal: AbortSignal.timeout(shardTimeoutMs),
    });
    return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') ?? 'text/plain' };
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${shardTimeoutMs} ms` : String(err);
    return json(502, { error: `${shard.name}: ${method} ${path} failed: ${why}` });
  }
}

function agreed(shards: Array<{ name: string }>, answers: Answer[]): Answer {
  const refused = answers.flatMap((a, i) => (a.status >= 300 ? [{ shard: shards[i]?.name, status: a.status }] : []));
  if (refused.length === 0) return answers[0] as Answer;
  if (refused.length === answers.length) return answers[0] as Answer; // all refused alike (e.g. 404, 401)
  const detail = answers.map((a, i) => ({ shard: shards[i]?.name, status: a.status, answer: a.text.slice(0, 500) }));
  return json(502, {
    error:
      `shards disagree: ${refused.map((r) => `${r.shard} answered ${r.status}`).join(', ')}; ` +
      'fix the cause and send the same request again (every shard applies it idempotently)',
    shards: detail,
  });
}

function health(shards: Array<{ name: string }>, answers: Answer[]): Answer {
  const per = answers.map((a, i) => {
    let status = `http ${a.status}`;
    try {
      status = String((JSON.parse(a.text) as { status?: string }).status ?? status);
    } catch {
      // not JSON: the shard's error text is kept below
    }
    return { name: shards[i]?.name, status, ...(a.status >= 300 ? { error: a.text.slice(0, 500) } : {}) };
  });
  const status = per.every((p) => p.status === 'ok') ? 'ok' : (per.find((p) => p.status !== 'ok')?.status ?? 'ok');
  return json(200, { status, shards: per });
}

/** Rows of `key` in every body, merged by the `by` fields, with the `sum` fields added (null stays null). */
function sumBy(bodies: Array<Record<string, unknown>>, key: string, by: string[], sum: string[]): unknown[] {
  const merged = new Map<string, Record<string, unknown>>();
  for (const body of bodies) {
    for (const row of (body[key] as Array<Record<string, unknown>> | undefined) ?? []) {
      const k = by.map((f) => String(row[f])).join('\u0000');
      const into = merged.get(k);
      if (!into) {
        merged.set(k, { ...row });
        continue;
      }
      for (const f of sum) {
        const a = into[f];
        const b = row[f];
        into[f] = typeof a === 'number' && typeof b === 'number' ? a + b : null;
      }
    }
  }
  return [...merged.values()];
}

/** Prometheus text of every shard, each sample labelled shard="NAME", grouped by family under one HELP/TYPE. */
function metrics(shards: Array<{ name: string }>, answers: Answer[]): Answer {
  const failed = answers.findIndex((a) => a.status >= 300);
  if (failed >= 0) return answers[failed] as Answer;
  const families = new Map<string, { head: string[]; samples: string[] }>();
  answers.forEach((a, i) => {
    const label = `shard="${shards[i]?.name}"`;
    let family = { head: [] as string[], samples: [] as string[] };
    for (const line of a.text.split('\n')) {
      const head = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (head) {
        const known = families.get(head[2] as string);
        family = known ?? { head: [], samples: [] };
        if (!known) families.set(head[2] as string, family);
        if (family.head.length < 2 && !family.head.some((h) => h.startsWith(`# ${head[1]} `))) family.head.push(line);
        continue;
      }
      if (!line.trim() || line.startsWith('#')) continue;
      family.samples.push(withLabel(line, label));
    }
  });
  const text = [...families.values()].map((f) => [...f.head, ...f.samples].join('\n')).join('\n');
  return { status: 200, text: `${text}\n`, contentType: answers[0]?.contentType ?? 'text/plain' };
}

function withLabel(sample: string, label: string): string {
  const name = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(sample)?.[0] ?? '';
  const rest = sample.slice(name.length);
  if (rest.startsWith('{}')) return `${name}{${label}}${rest.slice(2)}`;
  if (rest.startsWith('{')) return `${name}{${label},${rest.slice(1)}`;
  return `${name}{${label}}${rest}`;
}
