/**
 * Delayed: reminders scheduled 1 to 3 seconds ahead. None may be delivered before its delivery time, none later
 * than the tolerance (10 s), and none lost, while the network to the broker is slow for a moment.
 */
import { consumer, defineDrill, faults, producer } from 'mqdrill';

export default defineDrill({
  options: {
    scenarios: {
      reminders: producer.rate({
        rate: 40,
        duration: '8s',
        message: {
          type: 'DELAY',
          topic: 'reminders',
          delay: { distribution: 'uniform', min: '1s', max: '3s' },
          bodySizeBytes: 256,
        },
      }),
      notifier: consumer({ group: 'notifier', topic: 'reminders', vus: 2, duration: '8s', awaitDuration: '1s' }),
    },
    drain: { idle: '4s', timeout: '60s' },
    seed: 17,
  },
  drill: {
    description: 'reminders delayed 1-3 s, none early, none late, none lost, under latency on the broker.',
    target: { nodes: 1 },
    warmUp: '2s',
    faults: [faults.latency('any', { latencyMs: 80, jitterMs: 20, at: '1s', duration: '3s' })],
    gates: ['delay == 0', 'lost == 0'],
    drain: { deadline: '60s' },
    guarantee: 'at-least-once',
  },
});
