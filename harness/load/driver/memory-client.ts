/**
 * An in-memory broker behind the ClientFactory interface, for testing the engine and drivers without a broker
 * (Jepsen's "simulate"): every group gets every message of its topic (TAG filters only), a received message is
 * invisible for its invisible duration, a nack makes it visible after the given delay with attempt + 1, and after
 * maxAttempts failed deliveries it goes to the group's dead-letter list. Time comes from the injected clock.
 */
import type { Clock } from '../../../lib/clock.ts';
import type {
  ClientFactory,
  ConsumerSpec,
  Delivery,
  OutgoingMessage,
  ProducerClient,
  PushConsumerClient,
  PushListener,
  SimpleConsumerClient,
} from './client.ts';
import { sleep } from './timeout.ts';

interface Stored {
  messageId: string;
  message: OutgoingMessage;
  visible: boolean;
}

interface Pending {
  stored: Stored;
  attempt: number;
  visibleAtMs: number;
  handle: number;
}

class GroupState {
  readonly pending: Pending[] = [];
  readonly deadLetters: string[] = [];
  acked = 0;
  constructor(readonly spec: ConsumerSpec) {}
}

export class MemoryBroker implements ClientFactory {
  readonly clientName = 'memory-broker';
  private readonly groups = new Map<string, GroupState>();
  private sequence = 0;
  private handles = 0;
  /** Messages stored per topic (committed, visible or not). */
  readonly stored: Stored[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly options: { maxAttempts: number; sendLatencyMs?: number } = { maxAttempts: 16 },
  ) {}

  group(name: string): GroupState | undefined {
    return this.groups.get(name);
  }

  private ensureGroup(spec: ConsumerSpec): GroupState {
    let g = this.groups.get(spec.group);
    if (!g) {
      g = new GroupState(spec);
      this.groups.set(spec.group, g);
      for (const s of this.stored) if (s.visible) this.offer(g, s);
    }
    return g;
  }

  private offer(g: GroupState, s: Stored): void {
    if (s.message.topic !== g.spec.topic) return;
    const expr = g.spec.filter.expression;
    if (
      expr !== '*' &&
      !expr
        .split('||')
        .map((t) => t.trim())
        .includes(s.message.tag ?? '')
    )
      return;
    const visibleAtMs = Math.max(this.clock.wallMs(), s.message.deliveryTimestampMs ?? 0);
    g.pending.push({ stored: s, attempt: 1, visibleAtMs, handle: ++this.handles });
  }

  private store(message: OutgoingMessage, visible: boolean): Stored {
    const s = { messageId: `M${++this.sequence}`, message, visible };
    this.stored.push(s);
    if (visible) for (const g of this.groups.values()) this.offer(g, s);
    return s;
  }

  async producer(): Promise<ProducerClient> {
    const latency = this.options.sendLatencyMs ?? 0;
    return {
      send: async (message) => {
        await sleep(this.clock, latency);
        return { messageId: this.store(message, true).messageId };
      },
      sendHalf: async (message) => {
        await sleep(this.clock, latency);
        const s = this.store(message, false);
        return {
          messageId: s.messageId,
          commit: async () => {
            s.visible = true;
            for (const g of this.groups.values()) this.offer(g, s);
          },
          rollback: async () => {},
        };
      },
      close: async () => {},
    };
  }

  private take(g: GroupState, max: number, invisibleMs: number): Delivery[] {
    const now = this.clock.wallMs();
    const out: Delivery[] = [];
    for (const p of g.pending) {
      if (out.length >= max) break;
      if (p.visibleAtMs > now) continue;
      p.visibleAtMs = now + invisibleMs;
      const delivery: Delivery & { handle?: number } = {
        messageId: p.stored.messageId,
        topic: p.stored.message.topic,
        properties: p.stored.message.properties,
        deliveryAttempt: p.attempt,
        ...(p.stored.message.tag !== undefined ? { tag: p.stored.message.tag } : {}),
      };
      delivery.handle = p.handle;
      out.push(delivery);
      // The next delivery after this one (expiry or nack) is a new attempt.
      p.attempt++;
    }
    return out;
  }

  private settle(g: GroupState, d: Delivery, ok: boolean, delayMs: number): void {
    const handle = (d as { handle?: number }).handle;
    const i = g.pending.findIndex((p) => p.handle === handle);
    if (i < 0) return;
    const p = g.pending[i] as Pending;
    if (ok) {
      g.pending.splice(i, 1);
      g.acked++;
    } else if (p.attempt > this.options.maxAttempts) {
      g.pending.splice(i, 1);
      g.deadLetters.push(p.stored.messageId);
    } else {
      p.visibleAtMs = this.clock.wallMs() + delayMs;
    }
  }

  async simpleConsumer(_target: unknown, spec: ConsumerSpec): Promise<SimpleConsumerClient> {
    const g = this.ensureGroup(spec);
    return {
      receive: async (max, invisibleMs) => {
        const deadline = this.clock.wallMs() + spec.awaitDurationMs;
        for (;;) {
          const got = this.take(g, max, invisibleMs);
          if (got.length > 0 || this.clock.wallMs() >= deadline) return got;
          await sleep(this.clock, 5);
        }
      },
      ack: async (d) => this.settle(g, d, true, 0),
      nack: async (d, delayMs) => this.settle(g, d, false, delayMs),
      close: async () => {},
    };
  }

  async pushConsumer(_target: unknown, spec: ConsumerSpec, listener: PushListener): Promise<PushConsumerClient> {
    const consumer = await this.simpleConsumer(_target, { ...spec, awaitDurationMs: 50 });
    let open = true;
    const loop = async () => {
      while (open) {
        for (const d of await consumer.receive(8, 30_000)) {
          const ok = await listener(d).catch(() => false);
          await (ok ? consumer.ack(d) : consumer.nack(d, 1000));
        }
      }
    };
    const running = loop();
    return {
      close: async () => {
        open = false;
        await running;
      },
    };
  }
}
