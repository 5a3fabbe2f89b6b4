import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { AdjustableClock } from '../../lib/clock.ts';
import { type BrokerConfig, defaultBrokerConfig, type RunningBroker, startBroker } from '../server.ts';

export interface TestBroker extends RunningBroker {
  clock: AdjustableClock;
  endpoints: string;
  dataDir: string;
}

/** An in-process broker on a free loopback port, with a clock the test can jump forward. */
export async function startTestBroker(overrides: Partial<BrokerConfig> = {}): Promise<TestBroker> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-broker-'));
  const clock = new AdjustableClock();
  const running = await startBroker({ ...defaultBrokerConfig, dataDir, port: 0, ...overrides }, clock);
  return { ...running, clock, dataDir, endpoints: `127.0.0.1:${running.port}` };
}

export async function stopTestBroker(b: TestBroker | undefined): Promise<void> {
  if (!b) return;
  await b.close();
  fs.rmSync(b.dataDir, { recursive: true, force: true });
}

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

/** Polls until pred() holds, at most timeoutMs of real time; returns whether it held. Bounded, never infinite. */
export async function eventually(pred: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return pred();
}
