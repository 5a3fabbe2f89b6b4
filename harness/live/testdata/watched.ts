/**
 * A short drill for the live-watching test: sends with a few poison messages (so the broker dead-letters some),
 * consumers with two attempts, and one latency fault in the middle of the load.
 */
import { consumer, defineDrill, faults, producer } from 'mqdrill';

export default defineDrill({
  options: {
    scenarios: {
      orders: producer.rate({
        rate: 40,
        duration: '8s',
        preAllocatedVUs: 8,
        maxVUs: 16,
        message: { type: 'NORMAL', topic: 'orders', bodySizeBytes: 256, poisonShare: 0.05 },
      }),
      billing: consumer({
        group: 'billing',
        topic: 'orders',
        vus: 2,
        duration: '8s',
        maxAttempts: 2,
        retryDelay: '300ms',
        deadLetterScanGroup: 'billing-dlq-scan',
        awaitDuration: '1s',
      }),
    },
    drain: { idle: '3s', timeout: '60s' },
    seed: 5,
  },
  drill: {
    description: 'live watching: load, a latency fault, dead letters',
    target: { nodes: 1 },
    warmUp: '2s',
    faults: [faults.latency('any', { latencyMs: 20, at: '1s', duration: '4s' })],
    gates: ['lost == 0'],
    drain: { deadline: '60s' },
    guarantee: 'at-least-once',
  },
});
