import { describe, expect, test } from 'vitest';
import { parsePrometheusCounters, sumBacklogs } from './admin.ts';
import { startTarget, type TargetSpec, validateTargetSpec } from './index.ts';

describe('target spec: validated before anything boots, every error at once', () => {
  test('valid bundled and external specs have no errors', () => {
    expect(validateTargetSpec({ kind: 'bundled' })).toEqual([]);
    expect(validateTargetSpec({ kind: 'bundled', nodes: 3, flush: 'async' })).toEqual([]);
    expect(validateTargetSpec({ kind: 'external', endpoint: 'mq:8081', accessKey: 'a', secretKey: 's' })).toEqual([]);
    expect(validateTargetSpec({ kind: 'external', endpoint: '[::1]:8081', adminEndpoint: 'https://x/admin' })).toEqual(
      [],
    );
  });

  test('a bundled spec with a bad node count, a bad flush and an unknown key lists all three', () => {
    expect(validateTargetSpec({ kind: 'bundled', nodes: 0, flush: 'never', endpoint: 'x:1' })).toEqual([
      'target.endpoint: unknown key for a bundled target (known: kind, nodes, flush, flushIntervalMs, shards)',
      'target.nodes: must be an integer from 1 to 16, not 0',
      'target.flush: must be sync or async, not "never"',
    ]);
    expect(validateTargetSpec({ kind: 'bundled', shards: 1.5 })).toEqual([
      'target.shards: must be an integer from 1 to 64, not 1.5',
    ]);
  });

  test('an external spec without a usable endpoint, with half the credentials and a bad admin address', () => {
    expect(validateTargetSpec({ kind: 'external', endpoint: 'no-port', accessKey: 'a', adminEndpoint: 'x' })).toEqual([
      'target.endpoint "no-port" is not host:port',
      'target.accessKey, target.secretKey: give both or neither',
      'target.adminEndpoint "x" is not host:port',
    ]);
    expect(validateTargetSpec({ kind: 'external', tls: 'yes' })).toEqual([
      'target.endpoint is required (host:port)',
      'target.tls: must be true or false',
    ]);
  });

  test('an unknown kind is named; a containers spec is checked key by key', () => {
    expect(validateTargetSpec({ kind: 'k8s' })).toEqual([
      'target.kind: must be bundled, rocketmq, containers or external, not "k8s"',
    ]);
    expect(validateTargetSpec({ kind: 'containers', broker: 'rocketmq', nodes: 2 })).toEqual([]);
    expect(validateTargetSpec({ kind: 'containers', broker: 'kafka', nodes: 9, flush: 'x', endpoint: 'h:1' })).toEqual([
      'target.endpoint: unknown key for a containers target (known: kind, broker, nodes, flush)',
      'target.broker: must be bundled or rocketmq, not "kafka"',
      'target.nodes: must be an integer from 1 to 8, not 9',
      'target.flush: must be sync or async, not "x"',
    ]);
    expect(validateTargetSpec(undefined)).toEqual(['target: must be an object']);
  });

  test('startTarget rejects an invalid spec with exit code 3 and every error, starting nothing', async () => {
    const spec = { kind: 'bundled', nodes: 99, flush: 'x' } as unknown as TargetSpec;
    await expect(startTarget(spec)).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(/target\.nodes[\s\S]*target\.flush/),
    });
  });
});

describe('broker counters and backlog summed over nodes', () => {
  test('Prometheus text: totals per name and per series; other metrics and comments ignored', () => {
    const text = [
      '# HELP rocketmq_messages_in_total Messages stored, by topic',
      '# TYPE rocketmq_messages_in_total counter',
      'rocketmq_messages_in_total{topic="a",message_type="NORMAL"} 3',
      'rocketmq_messages_in_total{topic="b",message_type="FIFO"} 4',
      'rocketmq_throughput_in_total{topic="a"} 999',
      'rocketmq_send_to_dlq_messages_total{topic="a",consumer_group="g"} 1',
      '',
    ].join('\n');
    expect(parsePrometheusCounters(text)).toEqual({
      rocketmq_messages_in_total: 7,
      'rocketmq_messages_in_total{topic="a",message_type="NORMAL"}': 3,
      'rocketmq_messages_in_total{topic="b",message_type="FIFO"}': 4,
      rocketmq_messages_out_total: 0,
      rocketmq_send_to_dlq_messages_total: 1,
      'rocketmq_send_to_dlq_messages_total{topic="a",consumer_group="g"}': 1,
    });
  });

  test('backlog rows of the same topic and group add up across nodes', () => {
    const row = (topic: string, ready: number) => ({ topic, group: 'g', ready, inflight: 1, retry: 0, dlq: 2 });
    expect(sumBacklogs([[row('a', 1)], [row('a', 2), row('b', 5)], []])).toEqual([
      { topic: 'a', group: 'g', ready: 3, inflight: 2, retry: 0, dlq: 4 },
      { topic: 'b', group: 'g', ready: 5, inflight: 1, retry: 0, dlq: 2 },
    ]);
  });

  test('an unknown in-flight count (null) stays unknown in the sum, never 0', () => {
    const row = (inflight: number | null) => ({ topic: 'a', group: 'g', ready: 1, inflight, retry: 0, dlq: 0 });
    expect(sumBacklogs([[row(2)], [row(null)], [row(3)]])).toEqual([
      { topic: 'a', group: 'g', ready: 3, inflight: null, retry: 0, dlq: 0 },
    ]);
    expect(sumBacklogs([[row(null)], [row(1)]])[0]?.inflight).toBeNull();
  });
});
