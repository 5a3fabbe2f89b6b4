import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';

/**
 * The client's default logger (egg-logger on one shared file) is closed by the first client that shuts down, and
 * every later shutdown() then throws before closing its streams. A quiet logger per client avoids that.
 */
export const quietLogger = { info() {}, warn() {}, error() {}, debug() {}, close() {} };
const clientDefaults = { namespace: '', requestTimeout: 5000, logger: quietLogger };

export async function startProducer(endpoints: string, topics: string[]): Promise<Producer> {
  const p = new Producer({ ...clientDefaults, endpoints, topics, maxAttempts: 3 });
  await p.startup();
  return p;
}

export async function startSimpleConsumer(
  endpoints: string,
  group: string,
  subscriptions: Record<string, string>,
  awaitDurationMs = 2000,
): Promise<SimpleConsumer> {
  const c = new SimpleConsumer({
    ...clientDefaults,
    endpoints,
    consumerGroup: group,
    subscriptions: new Map(Object.entries(subscriptions)),
    awaitDuration: awaitDurationMs,
  });
  await c.startup();
  return c;
}

/** Shuts clients down, ignoring the client library's own logger complaints on shutdown. */
export async function shutdownAll(...clients: Array<{ shutdown(): Promise<unknown> } | undefined>): Promise<void> {
  for (const c of clients) await c?.shutdown().catch(() => {});
}
