/** A small produce-and-consume scenario used by the integration test and `mqdrill load` smoke runs. */
export const options = {
  scenarios: {
    orders: {
      executor: 'constant-arrival-rate',
      rate: 200,
      duration: '5s',
      preAllocatedVUs: 50,
      role: 'producer',
      message: { type: 'NORMAL', topic: 'orders', tags: ['paid'], keys: { count: 100 }, bodySizeBytes: 1024 },
    },
    billing: {
      executor: 'constant-vus',
      vus: 2,
      duration: '5s',
      role: 'consumer',
      consumer: { group: 'billing', topic: 'orders', kind: 'simple', awaitDuration: '1s' },
    },
  },
  drain: { idle: '3s', timeout: '60s' },
  thresholds: {
    send_duration: ['p(99)<500'],
    'messages_failed{scenario:orders}': ['count==0'],
    e2e_latency: ['p(95)<2000'],
  },
};
