import type { Dashboard } from '@grafana/schema';
import { faultSeriesAnnotation, type PanelSpec, panelsOf, withDashboardDefaults } from './panels.ts';

/**
 * The capacity dashboard: the rate steps of a capacity search (scheduled against achieved), latency against the
 * achieved rate, the error share, backlog growth per step, and the load generator's own health, so a generator that
 * falls behind is seen apart from a broker at its limit. It reads the same harness series as the drill dashboard
 * (any command that runs the load engine with --prometheus exports them).
 */
const ACHIEVED = 'sum(rate(mqdrill_load_messages_acked_total[30s]))';

export const capacityPanels: PanelSpec[] = [
  {
    title: 'Rate steps: scheduled and achieved sends / s',
    description: 'The arrival rate each step asks for, and the acknowledged sends per second the target gave.',
    unit: 'ops',
    wide: true,
    queries: [
      { expr: 'sum(mqdrill_load_scheduled_rate)', legend: 'scheduled' },
      { expr: ACHIEVED, legend: 'achieved (acked)' },
      { expr: 'sum(rate(mqdrill_load_messages_received_total[30s]))', legend: 'received' },
    ],
  },
  {
    title: 'Send latency p50 / p99 / p99.9 against the achieved rate',
    description: 'Latency quantiles (left axis, ms) with the achieved rate (right axis): where latency bends.',
    unit: 'ms',
    wide: true,
    rightAxis: { legend: 'achieved sends / s', unit: 'ops' },
    queries: [
      {
        expr: 'histogram_quantile(0.5, sum by (le) (rate(mqdrill_load_send_duration_ms_bucket[30s])))',
        legend: 'p50',
      },
      {
        expr: 'histogram_quantile(0.99, sum by (le) (rate(mqdrill_load_send_duration_ms_bucket[30s])))',
        legend: 'p99',
      },
      {
        expr: 'histogram_quantile(0.999, sum by (le) (rate(mqdrill_load_send_duration_ms_bucket[30s])))',
        legend: 'p99.9',
      },
      { expr: ACHIEVED, legend: 'achieved sends / s' },
    ],
  },
  {
    title: 'Error share',
    description: 'Sends not ok (fail or unknown) over sends started, per 30 s.',
    unit: 'percentunit',
    queries: [
      {
        expr:
          'sum(rate(mqdrill_load_send_errors_total[30s]))' +
          ' / clamp_min(sum(rate(mqdrill_load_messages_sent_total[30s])), 1e-9)',
        legend: 'error share',
      },
    ],
  },
  {
    title: 'Backlog and its growth',
    description: 'Broker backlog, and its growth per second: a step the consumers cannot keep up with grows it.',
    unit: 'short',
    queries: [
      { expr: 'sum(rocketmq_consumer_lag_messages)', legend: 'backlog' },
      { expr: 'sum(deriv(rocketmq_consumer_lag_messages[30s]))', legend: 'growth / s' },
    ],
  },
  {
    title: 'Load generator health',
    description:
      'Dropped iterations and send delay p99 (actual - intended start): when these rise, the generator, not the ' +
      'broker, is the limit.',
    unit: 'short',
    rightAxis: { legend: 'send delay p99 (ms)', unit: 'ms' },
    queries: [
      { expr: 'sum(increase(mqdrill_load_dropped_iterations_total[30s]))', legend: 'dropped per 30 s' },
      {
        expr: 'histogram_quantile(0.99, sum by (le) (rate(mqdrill_load_send_delay_ms_bucket[30s])))',
        legend: 'send delay p99 (ms)',
      },
    ],
  },
  {
    title: 'Broker RPC latency p99 against messages in / s',
    description: 'The broker side of the curve: its own request latency with the rate it stores.',
    unit: 'ms',
    rightAxis: { legend: 'messages in / s', unit: 'ops' },
    queries: [
      {
        expr: 'histogram_quantile(0.99, sum by (le) (rate(rocketmq_rpc_latency_bucket[30s])))',
        legend: 'RPC p99',
      },
      { expr: 'sum(rate(rocketmq_messages_in_total[30s]))', legend: 'messages in / s' },
    ],
  },
];

export function capacityDashboard(): Dashboard {
  return {
    ...withDashboardDefaults({
      uid: 'mqdrill-capacity',
      title: 'mqdrill · capacity',
      description: 'Rate steps, latency against rate, errors, backlog growth and generator health of a capacity run.',
      tags: ['mqdrill', 'capacity'],
    }),
    annotations: { list: [faultSeriesAnnotation] },
    panels: panelsOf(capacityPanels),
  };
}
