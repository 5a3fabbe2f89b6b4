/**
 * The kill -9 soak: mixed load (NORMAL and FIFO sends, two consumer groups receiving and acking) through the
 * official Node.js client against a broker process under sync flush, killed with SIGKILL at random intervals and
 * restarted on the same port; then a drain. Every acknowledged send must be delivered to its group at least once.
 * Used by bench/soak.ts (`--minutes N`) and, shortened, by soak.test.ts in CI.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import type { Random } from '../../lib/random.ts';
import {
  type BrokerProcess,
  freePort,
  shutdownAll,
  spawnBroker,
  startProducer,
  startSimpleConsumer,
  waitForExit,
} from '../../test/kit/index.ts';

export interface SoakOptions {
  dataDir: string;
  durationMs: number;
  /** A kill comes a random time in [min, max] ms after the previous restart. */
  killEveryMs: [number, number];
  random: Random;
  /** Concurrent senders per topic (NORMAL, FIFO). */
  sendersPerTopic?: number;
  /** Pause between two sends of one sender (keeps a shared machine usable). */
  sendPauseMs?: number;
  /** Give up the drain after this long without a new delivery. */
  drainIdleMs?: number;
  progress?: (line: string) => void;
  /** Test-only broker canary: acknowledge but drop one send in N (proves the soak notices a loss). */
  canaryDropAckedOneIn?: number;
}

export interface SoakResult {
  durationMs: number;
  kills: number;
  acked: number;
  sendFailures: number;
  delivered: number;
  redeliveries: number;
  /** Acknowledged sends never delivered: must be empty. */
  lost: string[];
  /** Stages that did not finish in time (client shutdown, senders, receivers): must be empty. */
  stuck: string[];
  brokerLogTail: string;
}

const TOPICS = [
  { name: 'soak-normal', queues: 4, type: 'NORMAL', group: 'soak-normal-g', fifo: false },
  { name: 'soak-fifo', queues: 2, type: 'FIFO', group: 'soak-fifo-g', fifo: true },
] as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits for work at most timeoutMs; says what did not finish instead of hanging the soak. */
async function bounded(what: string, work: Promise<unknown>, timeoutMs: number, stuck: string[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      stuck.push(`${what} did not finish within ${timeoutMs} ms`);
      resolve();
    }, timeoutMs);
  });
  await Promise.race([work.then(() => undefined), timeout]);
  clearTimeout(timer);
}

class Soak {
  broker: BrokerProcess | undefined;
  readonly acked = new Map<string, string>();
  readonly delivered = new Map<string, number>();
  sendFailures = 0;
  kills = 0;
  stopSending = false;
  stopReceiving = false;
  private serial = 0;
  private readonly logs: string[] = [];

  constructor(
    readonly options: SoakOptions,
    readonly port: number,
    readonly configFile: string,
  ) {}

  async startBroker(): Promise<void> {
    this.broker = await spawnBroker(this.options.dataDir, ['--config', this.configFile, '--port', String(this.port)]);
    this.broker.child.on('exit', () => this.logs.push(...(this.broker?.logs.slice(-20) ?? [])));
  }

  async kill(): Promise<void> {
    const broker = this.broker;
    if (!broker) return;
    broker.child.kill('SIGKILL');
    await waitForExit(broker.child);
    this.kills++;
  }

  async sender(producer: Producer, topic: (typeof TOPICS)[number], lane: number): Promise<void> {
    while (!this.stopSending) {
      const n = this.serial++;
      const body = Buffer.from(`${topic.name}-${n}-`.padEnd(this.options.random.int(16, 512), 'x'));
      try {
        const receipt = await producer.send({
          topic: topic.name,
          body,
          ...(topic.fifo ? { messageGroup: `order-${lane}-${n % 7}` } : {}),
        });
        this.acked.set(receipt.messageId, topic.name);
      } catch {
        this.sendFailures++; // not acknowledged, so not owed (the broker may be down)
      }
      await sleep(this.options.sendPauseMs ?? 5);
    }
  }

  async receiver(consumer: SimpleConsumer): Promise<void> {
    while (!this.stopReceiving) {
      try {
        const batch = await consumer.receive(32, 20_000);
        for (const m of batch) {
          this.delivered.set(m.messageId, (this.delivered.get(m.messageId) ?? 0) + 1);
          await consumer.ack(m).catch(() => {}); // an ack lost in a kill means a redelivery, not a loss
        }
        if (batch.length === 0) await sleep(50);
      } catch {
        await sleep(200); // broker down or restarting
      }
    }
  }

  lost(): string[] {
    return [...this.acked.keys()].filter((id) => !this.delivered.has(id));
  }

  logTail(): string {
    return [...this.logs, ...(this.broker?.logs.slice(-20) ?? [])].join('').slice(-4000);
  }
}

/** Runs the soak; the caller owns dataDir (created here if missing, not removed). */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const say = options.progress ?? (() => {});
  fs.mkdirSync(options.dataDir, { recursive: true });
  const configFile = path.join(options.dataDir, 'soak-config.json');
  const topics = TOPICS.map(({ name, queues, type }) => ({ name, queues, type }));
  const groups = TOPICS.map(({ group, fifo }) => ({ name: group, fifo }));
  const canary = options.canaryDropAckedOneIn ? { dropAckedOneIn: options.canaryDropAckedOneIn } : undefined;
  fs.writeFileSync(configFile, JSON.stringify({ flush: 'sync', topics, groups, canary }));
  const soak = new Soak(options, await freePort(), configFile);
  const t0 = Date.now();
  const stuck: string[] = [];
  await soak.startBroker();
  const endpoints = `127.0.0.1:${soak.port}`;
  const names = TOPICS.map((t) => t.name);
  const producers = await Promise.all(TOPICS.map(() => startProducer(endpoints, names)));
  const consumers = await Promise.all(
    TOPICS.map((t) => startSimpleConsumer(endpoints, t.group, { [t.name]: '*' }, 2000)),
  );
  try {
    const lanes = options.sendersPerTopic ?? 4;
    const senders = TOPICS.flatMap((topic, i) =>
      Array.from({ length: lanes }, (_, lane) => soak.sender(producers[i]!, topic, lane)),
    );
    const receivers = consumers.map((c) => soak.receiver(c));
    while (Date.now() - t0 < options.durationMs) {
      const waitMs = options.random.int(...options.killEveryMs);
      await sleep(Math.min(waitMs, Math.max(0, options.durationMs - (Date.now() - t0))));
      if (Date.now() - t0 >= options.durationMs) break;
      await soak.kill();
      say(`kill ${soak.kills} at ${Math.round((Date.now() - t0) / 1000)} s: acked ${soak.acked.size}`);
      await soak.startBroker();
    }
    soak.stopSending = true;
    await bounded('senders', Promise.all(senders), 60_000, stuck);
    say(`load stopped: acked ${soak.acked.size}, send failures ${soak.sendFailures}; draining`);
    let lastDelivered = -1;
    let idleSinceMs = Date.now();
    while (soak.lost().length > 0 && Date.now() - idleSinceMs < (options.drainIdleMs ?? 30_000)) {
      if (soak.delivered.size !== lastDelivered) {
        lastDelivered = soak.delivered.size;
        idleSinceMs = Date.now();
      }
      await sleep(500);
    }
    soak.stopReceiving = true;
    await bounded('receivers', Promise.all(receivers), 60_000, stuck);
  } finally {
    await bounded('client shutdown', shutdownAll(...producers, ...consumers), 15_000, stuck);
    soak.broker?.child.kill('SIGKILL');
    if (soak.broker) await waitForExit(soak.broker.child).catch(() => null);
  }
  const deliveries = [...soak.delivered.values()].reduce((a, b) => a + b, 0);
  return {
    durationMs: Date.now() - t0,
    kills: soak.kills,
    acked: soak.acked.size,
    sendFailures: soak.sendFailures,
    delivered: soak.delivered.size,
    redeliveries: deliveries - soak.delivered.size,
    lost: soak.lost(),
    stuck,
    brokerLogTail: soak.logTail(),
  };
}
