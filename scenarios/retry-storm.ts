/**
 * Retry storm: the payment consumers fail 20% of deliveries transiently (a flaky downstream) and 1% of messages are
 * poison (they fail on every attempt). Every poison message must reach the dead-letter queue after its max attempts,
 * every transiently failed one must be processed in the end, sends must stay fast during the storm, and the retry
 * amplification (deliveries per message) is reported. A latency fault on the broker lands in the storm.
 */
import { consumer, defineDrill, faults, producer } from 'mqdrill';

export default defineDrill({
  options: {
    scenarios: {
      payments: producer.rate({
        rate: 60,
        duration: '10s',
        preAllocatedVUs: 32,
        maxVUs: 64,
        message: { type: 'NORMAL', topic: 'payments', tags: ['card', 'wallet'], bodySizeBytes: 512, poisonShare: 0.01 },
      }),
      'payment-service': consumer({
        group: 'payment-service',
        topic: 'payments',
        vus: 2,
        duration: '10s',
        failureShare: 0.2,
        retryDelay: '500ms',
        maxAttempts: 3,
        deadLetterScanGroup: 'payment-service-dlq-scan',
        awaitDuration: '1s',
      }),
    },
    thresholds: { send_duration: ['p(99)<1000'] },
    drain: { idle: '4s', timeout: '90s' },
    seed: 13,
  },
  drill: {
    description: 'consumers failing 20% of deliveries once and 1% poison messages, with latency on the broker.',
    target: { nodes: 1 },
    warmUp: '2s',
    faults: [faults.latency('any', { latencyMs: 30, jitterMs: 10, at: '2s', duration: '4s' })],
    gates: ['dead-letter == 0', 'lost == 0', 'send_duration: p(99)<1s', 'redeliveries > 0'],
    // Real RocketMQ redelivers a failed message 3-21 s later (median 4.7 s, docs/differences.md), so three attempts of
    // the last poison message can take a minute: the SLO leaves room for that; the bundled broker drains far sooner.
    drain: { deadline: '90s', slo: '75s' },
    guarantee: 'at-least-once',
  },
});
