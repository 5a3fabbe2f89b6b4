import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { queueRegistry } from '../../lib/bounded-queue.ts';

/** What the metrics read from the store at each scrape. */
export interface StoreSnapshot {
  quarantinedRecords: number;
  quarantineEntries: number;
  diskFullRejected: number;
  writable: boolean;
}

/**
 * Prometheus metrics, named as RocketMQ 5 names them where a name exists (rocketmq_messages_in_total, ...), plus
 * mqdrill_* for what RocketMQ has no name for (bounded queue lengths, store flushes).
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  readonly messagesIn: Counter<'topic' | 'message_type'>;
  readonly throughputIn: Counter<'topic'>;
  readonly messagesOut: Counter<'topic' | 'consumer_group'>;
  readonly sendToDlq: Counter<'topic' | 'consumer_group'>;
  readonly rpcLatency: Histogram<'protocol_type' | 'request_code' | 'response_code'>;
  readonly consumerLag: Gauge<'topic' | 'consumer_group'>;
  readonly consumerInflight: Gauge<'topic' | 'consumer_group'>;
  readonly consumerReady: Gauge<'topic' | 'consumer_group'>;
  readonly queueLength: Gauge<'queue'>;
  readonly queueRejected: Gauge<'queue'>;
  readonly clients: Gauge<'client_type'>;
  readonly memory: Gauge<'kind'>;
  readonly timerLateness: Histogram<string>;
  readonly storeGauges: Gauge[];

  constructor(
    snapshot: () => {
      backlog: Array<{ topic: string; group: string; ready: number; inflight: number }>;
      clients: Record<string, number>;
      store?: StoreSnapshot;
    },
  ) {
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    this.messagesIn = counter('rocketmq_messages_in_total', 'Messages stored, by topic', ['topic', 'message_type']);
    this.throughputIn = counter('rocketmq_throughput_in_total', 'Message body bytes stored, by topic', ['topic']);
    this.messagesOut = counter(
      'rocketmq_messages_out_total',
      'Messages delivered to consumers (including redeliveries)',
      ['topic', 'consumer_group'],
    );
    this.sendToDlq = counter('rocketmq_send_to_dlq_messages_total', 'Messages moved to a dead-letter topic', [
      'topic',
      'consumer_group',
    ]);
    this.rpcLatency = new Histogram({
      name: 'rocketmq_rpc_latency',
      help: 'gRPC request latency in milliseconds',
      labelNames: ['protocol_type', 'request_code', 'response_code'],
      buckets: [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 3000, 10000, 30000],
      registers,
    });
    const backlogGauge = (name: string, help: string, field: 'ready' | 'inflight' | 'lag') =>
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'consumer_group'],
        registers,
        collect() {
          this.reset();
          for (const b of snapshot().backlog) {
            const value = field === 'lag' ? b.ready + b.inflight : b[field];
            this.set({ topic: b.topic, consumer_group: b.group }, value);
          }
        },
      });
    this.timerLateness = new Histogram({
      name: 'mqdrill_timer_lateness_ms',
      help: 'How late delayed messages reached their topic, in ms after their delivery time',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
      registers,
    });
    this.consumerLag = backlogGauge('rocketmq_consumer_lag_messages', 'Messages not yet acknowledged', 'lag');
    this.consumerInflight = backlogGauge('rocketmq_consumer_inflight_messages', 'Delivered, not acked', 'inflight');
    this.consumerReady = backlogGauge('rocketmq_consumer_ready_messages', 'Ready to be delivered', 'ready');
    this.queueLength = queueGauge(
      registers,
      'mqdrill_queue_length',
      'Length of every bounded in-memory queue',
      (q) => q.length,
    );
    this.queueRejected = queueGauge(
      registers,
      'mqdrill_queue_rejected_total',
      'Items refused because a bounded queue was full',
      (q) => q.rejectedTotal,
    );
    this.storeGauges = storeGauges(registers, () => snapshot().store);
    this.clients = new Gauge({
      name: 'rocketmq_active_clients',
      help: 'Connected clients by type',
      labelNames: ['client_type'],
      registers,
      collect() {
        this.reset();
        for (const [type, n] of Object.entries(snapshot().clients)) this.set({ client_type: type }, n);
      },
    });
    this.memory = memoryGauge(registers);
  }
}

/** The process's memory at each scrape (process.memoryUsage()), by kind. */
function memoryGauge(registers: Registry[]): Gauge<'kind'> {
  return new Gauge({
    name: 'mqdrill_process_memory_bytes',
    help: 'Memory of this broker process at the scrape (process.memoryUsage()): rss, heap_total, heap_used, external',
    labelNames: ['kind'],
    registers,
    collect() {
      const m = process.memoryUsage();
      this.set({ kind: 'rss' }, m.rss);
      this.set({ kind: 'heap_total' }, m.heapTotal);
      this.set({ kind: 'heap_used' }, m.heapUsed);
      this.set({ kind: 'external' }, m.external);
      this.set({ kind: 'array_buffers' }, m.arrayBuffers);
    },
  });
}

function storeGauges(registers: Registry[], snapshot: () => StoreSnapshot | undefined): Gauge[] {
  const storeGauge = (name: string, help: string, value: (s: StoreSnapshot) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const store = snapshot();
        if (store) this.set(value(store));
      },
    });
  return [
    storeGauge(
      'mqdrill_store_quarantined_records_total',
      'Records skipped for delivery because they could not be read (listed by GET /quarantine)',
      (s) => s.quarantinedRecords,
    ),
    storeGauge(
      'mqdrill_store_quarantine_entries',
      'Entries in the store quarantine: bad log ranges, cut tails, unreadable records',
      (s) => s.quarantineEntries,
    ),
    storeGauge(
      'mqdrill_store_disk_full_rejected_total',
      'Appends refused because the disk was full or over diskUsedRatioMax',
      (s) => s.diskFullRejected,
    ),
    storeGauge('mqdrill_store_writable', '1 while the store accepts appends, 0 while it refuses them', (s) =>
      s.writable ? 1 : 0,
    ),
  ];
}

function queueGauge(
  registers: Registry[],
  name: string,
  help: string,
  value: (q: { length: number; rejectedTotal: number }) => number,
): Gauge<'queue'> {
  return new Gauge({
    name,
    help,
    labelNames: ['queue'],
    registers,
    collect() {
      this.reset();
      for (const q of queueRegistry) this.set({ queue: q.name }, value(q));
    },
  });
}
