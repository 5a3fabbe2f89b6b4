/**
 * Promo orders: 10,000 msg/s of 4 KiB FIFO messages over 1,000 message groups for 5 minutes, with a 30 s partition
 * of one broker of three. The final spec of docs/writing-scenarios.md (harness/authoring/guide.test.ts validates it
 * and checks that the guide shows this file as it is).
 *
 *   mqdrill drill docs/examples/promo-orders.ts --driver go
 */
import { consumer, defineDrill, faults, producer } from 'mqdrill';

const rate = 10_000;
const duration = '5m';

export default defineDrill({
  options: {
    scenarios: {
      orders: producer.rate({
        rate,
        duration,
        workers: 4,
        maxVUs: 4000,
        message: {
          type: 'FIFO',
          topic: 'promo-orders',
          keys: { count: 1000, prefix: 'order-' },
          bodySizeBytes: 4096,
          sendTimeout: '3s',
        },
      }),
      fulfilment: consumer({
        group: 'fulfilment',
        topic: 'promo-orders',
        vus: 16,
        workers: 4,
        duration,
        processingTime: '1ms',
        receiveBatchSize: 32,
        awaitDuration: '1s',
      }),
    },
    thresholds: { send_duration: ['p(99)<500'] },
    drain: { idle: '15s', timeout: '5m' },
    seed: 2026,
  },
  drill: {
    description: '10k msg/s of 4 KiB FIFO orders over 1,000 groups for 5 minutes, one broker partitioned for 30 s.',
    target: { nodes: 3 },
    queues: 8,
    warmUp: '30s',
    faults: [faults.partition('broker-1', { at: '2m', duration: '30s' })],
    gates: ['lost == 0', 'order == 0', 'drain < 2m', 'send_duration: p(99)<1s'],
    drain: { deadline: '5m', slo: '2m' },
    guarantee: 'at-least-once',
  },
});
