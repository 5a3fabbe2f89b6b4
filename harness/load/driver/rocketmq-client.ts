/**
 * The ClientFactory over the official rocketmq-client-nodejs (Apache-2.0). The only file that imports the client,
 * so its quirks stay here: it is CommonJS, logs through egg-logger into ~/logs unless given a logger, takes
 * properties as a Map, and resolves transactions through a TransactionChecker.
 */
import { createRequire } from 'node:module';
import type { MessageView } from 'rocketmq-client-nodejs';
import rocketmq from 'rocketmq-client-nodejs';
import type { TargetEndpoint } from '../protocol.ts';
import type {
  ClientFactory,
  ConsumerSpec,
  Delivery,
  OutgoingMessage,
  ProducerClient,
  PushConsumerClient,
  PushListener,
  SimpleConsumerClient,
  TransactionDecision,
} from './client.ts';

const { Producer, SimpleConsumer, PushConsumer, FilterExpression, ConsumeResult } = rocketmq;
const clientVersion = (createRequire(import.meta.url)('rocketmq-client-nodejs/package.json') as { version: string })
  .version;

/** proto apache.rocketmq.v2: FilterType.TAG = 1, SQL = 2; TransactionResolution.COMMIT = 1, ROLLBACK = 2. */
const FILTER_TYPE = { TAG: 1, SQL92: 2 } as const;
/** TransactionResolution values; 0 (unspecified) makes the client send no EndTransaction: the broker asks again. */
const RESOLUTION = { commit: 1, rollback: 2, unknown: 0 } as const;

type Log = (level: 'warn' | 'error', message: string) => void;

function clientLogger(log: Log) {
  let warnings = 0;
  const emit = (level: 'warn' | 'error', args: unknown[]) => {
    // The client is chatty while a broker restarts; pass on the first few, then one in a hundred.
    if (warnings++ < 20 || warnings % 100 === 0) log(level, `rocketmq-client: ${args.map(String).join(' ')}`);
  };
  return {
    info: () => {},
    debug: () => {},
    warn: (...args: unknown[]) => emit('warn', args),
    error: (...args: unknown[]) => emit('error', args),
  };
}

/**
 * RocketMQ's proxy long-polls at least 5 s and refuses a receive whose deadline (the client's request timeout plus
 * its awaitDuration) leaves less, so a shorter awaitDuration would receive nothing there; the bundled broker does
 * the same by default. Shorter settings are raised to this, so one scenario works on every target.
 */
export const proxyLongPollMinMs = 5_000;

function baseOptions(target: TargetEndpoint, log: Log) {
  return {
    endpoints: target.endpoint,
    namespace: target.namespace,
    sslEnabled: target.tls,
    ...(target.accessKey && target.secretKey
      ? { sessionCredentials: { accessKey: target.accessKey, accessSecret: target.secretKey } }
      : {}),
    logger: clientLogger(log),
  };
}

function toMessageOptions(m: OutgoingMessage) {
  return {
    topic: m.topic,
    body: m.body,
    keys: m.keys,
    properties: new Map(Object.entries(m.properties)),
    ...(m.tag !== undefined ? { tag: m.tag } : {}),
    ...(m.messageGroup !== undefined ? { messageGroup: m.messageGroup } : {}),
    ...(m.deliveryTimestampMs !== undefined ? { deliveryTimestamp: new Date(m.deliveryTimestampMs) } : {}),
  };
}

function toDelivery(view: MessageView): Delivery & { view: MessageView } {
  return {
    view,
    messageId: view.messageId,
    topic: view.topic,
    properties: Object.fromEntries(view.properties),
    deliveryAttempt: view.deliveryAttempt ?? 1,
    ...(view.tag ? { tag: view.tag } : {}),
    ...(view.messageGroup ? { messageGroup: view.messageGroup } : {}),
    ...(view.deliveryTimestamp ? { deliveryTimestampMs: view.deliveryTimestamp.getTime() } : {}),
  };
}

function viewOf(d: Delivery): MessageView {
  return (d as Delivery & { view: MessageView }).view;
}

function subscriptions(spec: ConsumerSpec) {
  return new Map([[spec.topic, new FilterExpression(spec.filter.expression, FILTER_TYPE[spec.filter.type])]]);
}

export class RocketmqClientFactory implements ClientFactory {
  readonly clientName = `rocketmq-client-nodejs@${clientVersion}`;

  constructor(private readonly log: Log = () => {}) {}

  async producer(
    target: TargetEndpoint,
    topic: string,
    checkBack: (properties: Record<string, string>) => TransactionDecision,
  ): Promise<ProducerClient> {
    const producer = new Producer({
      ...baseOptions(target, this.log),
      topics: [topic],
      checker: {
        check: async (view: MessageView) => RESOLUTION[checkBack(Object.fromEntries(view.properties))],
      },
    });
    await producer.startup();
    return {
      send: async (m) => ({ messageId: (await producer.send(toMessageOptions(m))).messageId }),
      sendHalf: async (m) => {
        const tx = producer.beginTransaction();
        const receipt = await producer.send(toMessageOptions(m), tx);
        return { messageId: receipt.messageId, commit: () => tx.commit(), rollback: () => tx.rollback() };
      },
      close: () => producer.shutdown(),
    };
  }

  async simpleConsumer(target: TargetEndpoint, spec: ConsumerSpec): Promise<SimpleConsumerClient> {
    const consumer = new SimpleConsumer({
      ...baseOptions(target, this.log),
      consumerGroup: spec.group,
      subscriptions: subscriptions(spec),
      awaitDuration: Math.max(spec.awaitDurationMs, proxyLongPollMinMs),
    });
    await consumer.startup();
    return {
      receive: async (max, invisibleMs) => (await consumer.receive(max, invisibleMs)).map(toDelivery),
      ack: (d) => consumer.ack(viewOf(d)),
      nack: async (d, invisibleMs) => {
        await consumer.changeInvisibleDuration(viewOf(d), Math.max(1000, invisibleMs));
      },
      close: () => consumer.shutdown(),
    };
  }

  async pushConsumer(target: TargetEndpoint, spec: ConsumerSpec, listener: PushListener): Promise<PushConsumerClient> {
    const consumer = new PushConsumer({
      ...baseOptions(target, this.log),
      consumerGroup: spec.group,
      subscriptions: subscriptions(spec),
      messageListener: {
        consume: async (view: MessageView) => {
          const ok = await listener(toDelivery(view)).catch(() => false);
          return ok ? ConsumeResult.SUCCESS : ConsumeResult.FAILURE;
        },
      },
    });
    await consumer.startup();
    return { close: () => consumer.shutdown() };
  }
}
