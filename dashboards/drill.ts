import type { Dashboard } from '@grafana/schema';
import { faultAnnotations, faultSeriesAnnotation, type PanelSpec, panelsOf, withDashboardDefaults } from './panels.ts';

/**
 * The drill dashboard: the load the harness drives (from its own /metrics, `mqdrill drill --prometheus`), the fault
 * windows (panel and annotations, from mqdrill_fault_active), the drill's phase, the broker backlog, and the gates of
 * the verdict once the check has run.
 */
export const drillPanels: PanelSpec[] = [
  {
    title: 'Sends / s: scheduled, started, acknowledged',
    description: 'The plan asks for the scheduled rate; a gap to started means the load generator fell behind.',
    unit: 'ops',
    wide: true,
    queries: [
      { expr: 'sum by (scenario) (mqdrill_load_scheduled_rate)', legend: '{{scenario}} scheduled' },
      { expr: 'sum by (scenario) (rate(mqdrill_load_messages_sent_total[1m]))', legend: '{{scenario}} started' },
      { expr: 'sum by (scenario) (rate(mqdrill_load_messages_acked_total[1m]))', legend: '{{scenario}} acked' },
    ],
  },
  {
    title: 'Receives / s',
    description: 'Deliveries to the scenario consumers; redeliveries and dead-lettered deliveries apart.',
    unit: 'ops',
    queries: [
      { expr: 'sum by (scenario) (rate(mqdrill_load_messages_received_total[1m]))', legend: '{{scenario}} received' },
      {
        expr: 'sum by (scenario) (rate(mqdrill_load_messages_redelivered_total[1m]))',
        legend: '{{scenario}} redelivered',
      },
      {
        expr: 'sum by (scenario) (rate(mqdrill_load_messages_dead_lettered_total[1m]))',
        legend: '{{scenario}} dead-lettered',
      },
    ],
  },
  {
    title: 'Send errors / s by status',
    description:
      'Sends that ended fail (refused) or unknown (no answer in time), by status: a RocketMQ code, a gRPC status, ' +
      'timeout (status none: the zero line before any error).',
    unit: 'ops',
    queries: [
      {
        expr: 'sum by (scenario, outcome, status) (rate(mqdrill_load_send_errors_total[1m]))',
        legend: '{{scenario}} {{outcome}} {{status}}',
      },
    ],
  },
  {
    title: 'Send latency p50 / p99',
    description: 'Send call to its result, in ms (mqdrill_load_send_duration_ms).',
    unit: 'ms',
    queries: [
      {
        expr: 'histogram_quantile(0.5, sum by (le) (rate(mqdrill_load_send_duration_ms_bucket[1m])))',
        legend: 'p50',
      },
      {
        expr: 'histogram_quantile(0.99, sum by (le) (rate(mqdrill_load_send_duration_ms_bucket[1m])))',
        legend: 'p99',
      },
    ],
  },
  {
    title: 'End-to-end latency p99',
    description: 'Receive time minus send time, one clock, in ms (mqdrill_load_e2e_latency_ms).',
    unit: 'ms',
    queries: [
      {
        expr: 'histogram_quantile(0.99, sum by (le) (rate(mqdrill_load_e2e_latency_ms_bucket[1m])))',
        legend: 'p99',
      },
    ],
  },
  {
    title: 'Dropped iterations and VUs',
    description: 'Arrivals the generator could not start (every VU busy) and iterations in flight.',
    unit: 'short',
    queries: [
      {
        expr: 'sum by (scenario) (increase(mqdrill_load_dropped_iterations_total[1m]))',
        legend: '{{scenario}} dropped',
      },
      { expr: 'sum by (scenario) (mqdrill_load_vus)', legend: '{{scenario}} VUs' },
    ],
  },
  {
    title: 'Broker backlog by group',
    description: 'Messages not yet acknowledged on the brokers; the drain waits for zero.',
    unit: 'short',
    queries: [{ expr: 'sum by (consumer_group) (rocketmq_consumer_lag_messages)', legend: '{{consumer_group}}' }],
  },
  {
    title: 'Faults in force',
    description: 'mqdrill_fault_active: 1 during the fault window, 0 otherwise (also drawn as annotations).',
    unit: 'short',
    type: 'state-timeline',
    queries: [{ expr: 'max by (fault, target) (mqdrill_fault_active)', legend: '{{fault}} on {{target}}' }],
  },
  {
    title: 'Drill phase',
    description: 'The phase the drill is in: boot, provision, warm-up, faults, heal, drain-wait, check, report, stop.',
    unit: 'short',
    type: 'state-timeline',
    queries: [{ expr: 'max by (phase) (mqdrill_drill_phase)', legend: '{{phase}}' }],
  },
  {
    title: 'Gates by status',
    description: 'How many gates of the verdict passed, failed or could not be decided (after the check).',
    unit: 'short',
    type: 'stat',
    queries: [{ expr: 'sum by (status) (mqdrill_drill_gate)', legend: '{{status}}' }],
  },
];

export function drillDashboard(): Dashboard {
  return {
    ...withDashboardDefaults({
      uid: 'mqdrill-drill',
      title: 'mqdrill · drill',
      description: 'The load a drill drives, its fault windows, phases, backlog and gates, live from Prometheus.',
      tags: ['mqdrill', 'drill'],
    }),
    annotations: { list: [faultSeriesAnnotation, faultAnnotations] },
    panels: panelsOf(drillPanels),
  };
}
