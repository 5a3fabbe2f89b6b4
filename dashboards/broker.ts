import type { Dashboard } from '@grafana/schema';
import { faultAnnotations, faultSeriesAnnotation, type PanelSpec, panelsOf, withDashboardDefaults } from './panels.ts';

/**
 * The broker dashboard as typed TypeScript (@grafana/schema), rendered to JSON by `mqdrill dashboards`. Every panel
 * queries the metric names the bundled broker exports (RocketMQ 5's names where one exists, mqdrill_* otherwise), so
 * the same dashboard works for a drill's bundled brokers and, for the rocketmq_* panels, a real RocketMQ 5 cluster.
 * Fault windows of a drill come in as annotations (tag `mqdrill-fault`), written by the drill as Grafana annotations.
 */
export const brokerPanels: PanelSpec[] = [
  {
    title: 'Messages in / s by topic',
    description: 'Messages stored (rocketmq_messages_in_total).',
    unit: 'ops',
    queries: [{ expr: 'sum by (topic) (rate(rocketmq_messages_in_total[1m]))', legend: '{{topic}}' }],
  },
  {
    title: 'Messages out / s by group',
    description: 'Deliveries to consumers, redeliveries included (rocketmq_messages_out_total).',
    unit: 'ops',
    queries: [
      { expr: 'sum by (consumer_group) (rate(rocketmq_messages_out_total[1m]))', legend: '{{consumer_group}}' },
    ],
  },
  {
    title: 'Consumer lag by group',
    description: 'Messages not yet acknowledged: ready plus in flight. A drill drains until this is zero.',
    unit: 'short',
    queries: [
      { expr: 'sum by (consumer_group) (rocketmq_consumer_lag_messages)', legend: '{{consumer_group}} lag' },
      { expr: 'sum by (consumer_group) (rocketmq_consumer_inflight_messages)', legend: '{{consumer_group}} in flight' },
    ],
  },
  {
    title: 'Dead-lettered / s by group',
    description: 'Messages moved to %DLQ%<group> after their max attempts (rocketmq_send_to_dlq_messages_total).',
    unit: 'ops',
    queries: [
      { expr: 'sum by (consumer_group) (rate(rocketmq_send_to_dlq_messages_total[1m]))', legend: '{{consumer_group}}' },
    ],
  },
  {
    title: 'RPC latency p99 by request',
    description: 'gRPC request latency in ms, 99th percentile (rocketmq_rpc_latency).',
    unit: 'ms',
    queries: [
      {
        expr: 'histogram_quantile(0.99, sum by (le, request_code) (rate(rocketmq_rpc_latency_bucket[1m])))',
        legend: '{{request_code}}',
      },
    ],
  },
  {
    title: 'Bounded queues',
    description: 'Length of every bounded in-memory queue of the broker, and items refused because one was full.',
    unit: 'short',
    queries: [
      { expr: 'max by (queue) (mqdrill_queue_length)', legend: '{{queue}}' },
      { expr: 'max by (queue) (mqdrill_queue_rejected_total)', legend: '{{queue}} refused' },
    ],
  },
  {
    title: 'Delay timer lateness p99',
    description: 'How late delayed messages reached their topic, in ms after their delivery time.',
    unit: 'ms',
    queries: [
      { expr: 'histogram_quantile(0.99, sum by (le) (rate(mqdrill_timer_lateness_ms_bucket[1m])))', legend: 'p99' },
    ],
  },
];

export function brokerDashboard(): Dashboard {
  return {
    ...withDashboardDefaults({
      uid: 'mqdrill-broker',
      title: 'mqdrill · RocketMQ broker',
      description: 'Throughput, lag, dead letters, latency and backpressure of RocketMQ 5 brokers under a drill.',
      tags: ['mqdrill', 'rocketmq'],
    }),
    annotations: { list: [faultAnnotations, faultSeriesAnnotation] },
    panels: panelsOf(brokerPanels),
  };
}
