/**
 * The partition fault against real parts: two bundled broker processes, each behind its own proxy in a real
 * toxiproxy-server, and the official Node.js client. While broker-1 is partitioned a client that can reach only
 * broker-1 cannot start (its requests get no answer until its own timeout), while broker-0 keeps serving; after the
 * heal a client reaches broker-1 again and sends through it. No assertion on how fast anything happens.
 */
import { Buffer } from 'node:buffer';
import type { Producer } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { shutdownAll, startProducer } from '../../test/kit/index.ts';
import { type BundledTarget, startBundledTarget } from '../deploy/bundled.ts';
import { NetworkFaults, ToxiproxyServer } from './index.ts';
import type { NetworkFault } from './model.ts';

let server: ToxiproxyServer;
let network: NetworkFaults;
let target: BundledTarget;
const producers: Producer[] = [];

beforeAll(async () => {
  server = await ToxiproxyServer.start();
  network = new NetworkFaults(server);
  target = await startBundledTarget({
    nodes: 2,
    proxied: async (name, direct) => (await network.createProxy({ name, upstream: direct })).listen,
  });
  await target.provision([{ name: 'cut', queues: 2, type: 'NORMAL' }], []);
}, 90_000);

afterAll(async () => {
  await shutdownAll(...producers);
  await network?.healAll().catch(() => undefined);
  await target?.stop();
  await network?.removeProxies().catch(() => undefined);
  await server?.close();
}, 60_000);

/** Starts a producer on one node's client-facing address; resolves with it or with the error that stopped it. */
async function producerOn(node: string): Promise<Producer | Error> {
  const endpoint = target.nodes.find((n) => n.name === node)?.endpoint as string;
  try {
    const producer = await startProducer(endpoint, ['cut']);
    producers.push(producer);
    return producer;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

describe('partition on a bundled broker node through toxiproxy', () => {
  test('clients cannot reach the partitioned node, the other keeps serving, and the heal restores it', async () => {
    const partition: NetworkFault = { kind: 'partition', target: 'broker-1' };
    await network.inject(partition, 1);
    const [cutOff, reachable] = await Promise.all([producerOn('broker-1'), producerOn('broker-0')]);
    expect(cutOff).toBeInstanceOf(Error);
    expect(reachable).not.toBeInstanceOf(Error);
    await network.heal(partition, 1);
    // The clients' gRPC connections to broker-1 were closed at the heal and reconnect with backoff: retry, bounded.
    const deadline = Date.now() + 60_000;
    let back = await producerOn('broker-1');
    while (back instanceof Error && Date.now() < deadline) back = await producerOn('broker-1');
    expect(back).not.toBeInstanceOf(Error);
    const receipt = await (back as Producer).send({ topic: 'cut', body: Buffer.from('after the heal') });
    expect(receipt.messageId).toBeTruthy();
  }, 90_000);
});
