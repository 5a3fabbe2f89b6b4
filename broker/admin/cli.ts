import { CliError, ExitCode } from '../../lib/exit-codes.ts';

/**
 * `mqdrill admin ...`: a thin client of the admin HTTP API. The broker serves the API on its gRPC port too (the
 * first bytes of a connection tell HTTP/1.1 from HTTP/2), so `--broker` is simply the address the broker listens on.
 */
interface BrokerOpt {
  broker: string;
}

const requestTimeoutMs = 10_000;

async function call(broker: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = `http://${broker}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...credentialsHeader() },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
  } catch (err) {
    throw new CliError(
      `cannot reach the broker admin API at ${broker}: ${(err as Error).message}` +
        ' (is `mqdrill broker` running there?)',
      ExitCode.TARGET_FAILED,
    );
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const err = (json as { error?: { code: string; message: string } }).error;
    throw new CliError(`${err?.code ?? res.status}: ${err?.message ?? text}`, ExitCode.INVALID_SPEC);
  }
  return json;
}

/** With auth on, admin calls use an admin account's keys from MQDRILL_ACCESS_KEY / MQDRILL_SECRET_KEY. */
function credentialsHeader(): Record<string, string> {
  const ak = process.env.MQDRILL_ACCESS_KEY;
  const sk = process.env.MQDRILL_SECRET_KEY;
  return ak && sk ? { authorization: `Basic ${Buffer.from(`${ak}:${sk}`).toString('base64')}` } : {};
}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

export async function topicCreate(name: string, opts: BrokerOpt & { queues: string; type: string }) {
  const queues = Number(opts.queues);
  if (!Number.isInteger(queues) || queues < 1)
    throw new CliError(`--queues ${opts.queues} must be a positive integer`, ExitCode.USAGE);
  print(await call(opts.broker, 'POST', '/topics', { name, queues, type: opts.type }));
  return ExitCode.OK;
}

export async function topicList(opts: BrokerOpt) {
  const { topics } = (await call(opts.broker, 'GET', '/topics')) as { topics: Array<Record<string, unknown>> };
  console.table(topics);
  return ExitCode.OK;
}

export async function topicDelete(name: string, opts: BrokerOpt) {
  print(await call(opts.broker, 'DELETE', `/topics/${encodeURIComponent(name)}`));
  return ExitCode.OK;
}

export async function groupCreate(
  name: string,
  opts: BrokerOpt & { fifo: boolean; maxAttempts: string; retry: string },
) {
  const maxAttempts = Number(opts.maxAttempts);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new CliError(`--max-attempts ${opts.maxAttempts} must be a positive integer`, ExitCode.USAGE);
  }
  print(await call(opts.broker, 'POST', '/groups', { name, fifo: opts.fifo, maxAttempts, retryPolicy: opts.retry }));
  return ExitCode.OK;
}

export async function groupList(opts: BrokerOpt) {
  const { groups } = (await call(opts.broker, 'GET', '/groups')) as { groups: Array<Record<string, unknown>> };
  console.table(groups);
  return ExitCode.OK;
}

export async function groupBacklog(name: string, opts: BrokerOpt) {
  const res = (await call(opts.broker, 'GET', `/groups/${encodeURIComponent(name)}/backlog`)) as {
    topics: Array<Record<string, unknown>>;
  };
  console.table(res.topics);
  return ExitCode.OK;
}

export async function groupResetOffset(name: string, opts: BrokerOpt & { topic: string; timestamp: string }) {
  const timestamp = /^\d+$/.test(opts.timestamp) ? Number(opts.timestamp) : opts.timestamp;
  print(
    await call(opts.broker, 'POST', `/groups/${encodeURIComponent(name)}/reset-offset`, {
      topic: opts.topic,
      timestamp,
    }),
  );
  return ExitCode.OK;
}
