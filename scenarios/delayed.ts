/**
 * Delayed: reminders scheduled 1 to 3 seconds ahead. None may be delivered before its delivery time, none later
 * than the tolerance (10 s), and none lost, while the proxy in front of the broker resets connections for a moment.
 */
export const options = {
  scenarios: {
    reminders: {
      executor: 'constant-arrival-rate',
      rate: 40,
      timeUnit: '1s',
      duration: '8s',
      preAllocatedVUs: 16,
      maxVUs: 64,
      role: 'producer',
      message: {
        type: 'DELAY',
        topic: 'reminders',
        delay: { distribution: 'uniform', min: '1s', max: '3s' },
        bodySizeBytes: 256,
      },
    },
    notifier: {
      executor: 'constant-vus',
      vus: 2,
      duration: '8s',
      role: 'consumer',
      consumer: { group: 'notifier', topic: 'reminders', receiveBatchSize: 16, awaitDuration: '1s' },
    },
  },
  drain: { idle: '4s', timeout: '60s' },
  seed: 17,
};

export const drill = {
  description: 'reminders delayed 1-3 s, none early, none late, none lost, under latency on the broker.',
  target: { nodes: 1 },
  warmUp: '2s',
  faults: [{ kind: 'latency', target: 'broker-0', latencyMs: 80, jitterMs: 20, at: '1s', duration: '3s' }],
  gates: ['delay == 0', 'lost == 0'],
  drain: { deadline: '60s' },
  guarantee: 'at-least-once',
};
