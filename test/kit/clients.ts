import { type MessageView, Producer, SimpleConsumer } from 'rocketmq-client-nodejs';

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

/**
 * Receives (up to 32 a call, 15 s invisible) and acks until `enough(got)` holds or `rounds` receives ran; every
 * receive is bounded. A failed receive is tried again in the next round after 500 ms: after a broker restart at the
 * same ports, a connection grpc-js shares between the clients of one process may still be in its reconnect backoff.
 */
export async function receiveUntil(
  consumer: SimpleConsumer,
  enough: (got: MessageView[]) => boolean,
  rounds = 300,
): Promise<MessageView[]> {
  const got: MessageView[] = [];
  for (let round = 0; round < rounds && !enough(got); round++) {
    const batch = await consumer.receive(32, 15_000).catch(async () => {
      await new Promise((r) => setTimeout(r, 500));
      return [];
    });
    for (const m of batch) {
      got.push(m);
      await consumer.ack(m);
    }
  }
  return got;
}
