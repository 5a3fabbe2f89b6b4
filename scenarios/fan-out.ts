/**
 * Fan-out: an audit stream read by three consumer groups, each with its own filter: everything (TAG *), security
 * events only (TAG login || admin), and one region (SQL92 on a user property). Two producers write the two regions.
 * Every group must get exactly what its filter selects (none lost, nothing filtered wrongly) while the network to
 * both broker nodes is slow for a moment.
 */
import { type ConsumerBehaviour, consumer, defineDrill, faults, producer } from 'mqdrill';

const audit = (region: string) =>
  producer.rate({
    rate: 25,
    duration: '8s',
    message: {
      type: 'NORMAL',
      topic: 'audit',
      tags: ['login', 'payment', 'admin'],
      properties: { region },
      bodySizeBytes: 256,
    },
  });

const group = (name: string, filter?: ConsumerBehaviour['filter']) =>
  consumer({ group: name, topic: 'audit', duration: '8s', awaitDuration: '1s', ...(filter ? { filter } : {}) });

export default defineDrill({
  options: {
    scenarios: {
      'audit-eu': audit('eu'),
      'audit-us': audit('us'),
      archive: group('audit-archive'),
      security: group('audit-security', { type: 'TAG', expression: 'login || admin' }),
      'eu-compliance': group('audit-eu-compliance', { type: 'SQL92', expression: "region = 'eu'" }),
    },
    drain: { idle: '4s', timeout: '60s' },
    seed: 23,
  },
  drill: {
    description: 'one audit stream fanned out to three groups with TAG and SQL92 filters, across two broker nodes.',
    target: { nodes: 2 },
    warmUp: '2s',
    faults: [faults.latency('*', { latencyMs: 50, jitterMs: 10, at: '1s', duration: '3s' })],
    gates: ['lost == 0', 'filter == 0', 'unexpected == 0'],
    drain: { deadline: '60s' },
    guarantee: 'at-least-once',
  },
});
