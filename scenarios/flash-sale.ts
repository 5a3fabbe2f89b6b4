/**
 * Flash sale: orders arrive at 200/s, burst to 10x (2,000/s) for a few seconds, and fall back. The fulfilment
 * consumers are bounded like a database (four clients, 2 ms of work per order), so a backlog builds during the burst
 * and must drain within the SLO once it ends. One network fault (latency on the broker) lands in the burst.
 * Gates: nothing lost, the drain within 30 s, send p99 under 2 s (under the fault).
 *
 * At most 64 sends are in flight, like a web tier with bounded concurrency (2,000/s at 30 ms each): when sends
 * slow down (the fault) or the load generator cannot keep the rate (a busy machine: the official Node.js client
 * spends about 250 us of CPU per send), the arrivals it cannot start are counted as dropped iterations in the report
 * instead of queueing inside the client and inflating send latency.
 *
 *   mqdrill drill flash-sale                  # the short form, about 30 s in all
 *   mqdrill drill flash-sale --duration 5m    # the same shape stretched to 5 minutes
 */
import { consumer, defineDrill, faults, producer } from 'mqdrill';

const baseRate = 200;
const burstRate = baseRate * 10;

export default defineDrill({
  options: {
    scenarios: {
      orders: producer.burst({
        baseRate,
        peakRate: burstRate,
        before: '3s',
        rampUp: '1s',
        hold: '3s',
        rampDown: '1s',
        after: '2s',
        preAllocatedVUs: 32,
        maxVUs: 64,
        message: {
          type: 'NORMAL',
          topic: 'orders',
          tags: ['web', 'app'],
          keys: { count: 5000, distribution: 'zipf', exponent: 1.1, prefix: 'customer-' },
          bodySizeBytes: { distribution: 'uniform', min: 256, max: 2048 },
        },
      }),
      fulfilment: consumer({
        group: 'fulfilment',
        topic: 'orders',
        vus: 4,
        duration: '10s',
        processingTime: '2ms',
        awaitDuration: '1s',
        invisibleDuration: '10s',
      }),
    },
    thresholds: { send_duration: ['p(99)<2000'] },
    drain: { idle: '3s', timeout: '60s' },
    seed: 7,
  },
  drill: {
    description: 'a burst of orders from 200/s to 2,000/s against consumers bounded like a database.',
    target: { nodes: 1 },
    warmUp: '2s',
    faults: [faults.latency('any', { latencyMs: 50, jitterMs: 10, at: '3s', duration: '3s' })],
    gates: ['lost == 0', 'drain < 30s', 'send_duration: p(99)<2s'],
    drain: { deadline: '60s', slo: '30s' },
    guarantee: 'at-least-once',
  },
});
