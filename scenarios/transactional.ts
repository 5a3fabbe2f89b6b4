/**
 * Transactional: an order service writes its order and sends a half message in one local transaction; 70% commit,
 * 20% roll back and 10% leave the outcome open so the broker's check-back decides (the producer answers commit).
 * No rolled-back message may be delivered, no message before its commit, and every committed one must arrive, while
 * the broker's network is slow for a few seconds.
 */
import { consumer, defineDrill, faults, producer } from 'mqdrill';

export default defineDrill({
  options: {
    scenarios: {
      checkout: producer.rate({
        rate: 30,
        duration: '8s',
        message: {
          type: 'TRANSACTION',
          topic: 'order-tx',
          transaction: { commit: 0.7, rollback: 0.2, unknown: 0.1 },
          bodySizeBytes: 512,
        },
      }),
      ledger: consumer({ group: 'ledger-service', topic: 'order-tx', vus: 2, duration: '8s', awaitDuration: '1s' }),
    },
    drain: { idle: '5s', timeout: '90s' },
    seed: 19,
  },
  drill: {
    description: 'half messages committed, rolled back or left to the check-back, under latency on the broker.',
    target: { nodes: 1 },
    warmUp: '2s',
    faults: [faults.latency('any', { latencyMs: 60, jitterMs: 20, at: '1s', duration: '3s' })],
    gates: ['transaction == 0', 'lost == 0'],
    drain: { deadline: '90s' },
    guarantee: 'at-least-once',
  },
});
