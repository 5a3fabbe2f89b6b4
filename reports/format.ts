/**
 * How every output states a figure: the console's gate table, summary.md, report.html and junit.xml all format a
 * value with these functions, from the one value in report.json, so one run never states two numbers for one thing.
 */
import { formatDurationMs } from '../lib/duration.ts';
import type { GateReport, Report } from './schema.ts';

/** A duration in ms: 0.42 ms, 7.10 ms, 166 ms, 1.9 s, 2m5s. */
export function formatMs(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return '—';
  if (value === 0) return '0 ms';
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${+(value / 1000).toFixed(2)} s`;
  return formatDurationMs(value);
}

/** A share as a percentage: 0%, 0.13%, 60.5%. */
export function formatShare(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return '—';
  return `${+(value * 100).toFixed(2)}%`;
}

const TIMED_METRICS = new Set(['send_duration', 'e2e_latency', 'send_delay', 'ack_duration', 'drain', 'recovery']);
const SHARE_METRICS = new Set(['send_unknown_share']);

function metricOf(gate: Pick<GateReport, 'metric'>): string {
  return gate.metric.replace(/\{.*$/, '');
}

function isTimed(gate: Pick<GateReport, 'metric' | 'expression'>): boolean {
  return TIMED_METRICS.has(metricOf(gate)) && !/^count\b/.test(gate.expression);
}

function formatValueOf(gate: Pick<GateReport, 'metric' | 'expression'>, value: number): string {
  const metric = metricOf(gate);
  if (metric === 'drain_ended') return value === 1 ? 'yes' : 'no';
  if (SHARE_METRICS.has(metric)) return formatShare(value);
  if (isTimed(gate)) return formatMs(value);
  return String(+value.toFixed(4));
}

/** A gate's measured value with its unit (durations in ms / s, shares in %, counts as numbers; none: "none"). */
export function formatGateValue(gate: Pick<GateReport, 'actual' | 'metric' | 'expression'>): string {
  return gate.actual === undefined ? 'none' : formatValueOf(gate, gate.actual);
}

/** A gate's bound with its unit: `p(99) < 2 s`, `< 10 s`, `== 0`, `< 20%`. */
export function formatGateBound(gate: Pick<GateReport, 'metric' | 'expression'>): string {
  const m = /^([a-z]+(?:\([\d.]+\))?)\s*(<=|>=|==|!=|<|>)\s*(-?[\d.]+(?:e[+-]?\d+)?)$/i.exec(gate.expression.trim());
  if (!m) return gate.expression || '—';
  const [, aggregation, op, raw] = m as unknown as [string, string, string, string];
  const prefix = aggregation === 'value' || aggregation === 'rate' ? '' : `${aggregation} `;
  const value = aggregation === 'count' ? raw : formatValueOf(gate, Number(raw));
  return `${prefix}${op} ${value}`;
}

/** What report.json's run.meta.drill holds when a drill (not `mqdrill check`) wrote it. */
export interface DrillMeta {
  scenario?: string;
  description?: string | null;
  seed?: number;
  target?: string;
  nodes?: number;
  durationMs?: number;
  drainRounds?: number;
  retryAmplification?: number | null;
  environment?: {
    mqdrillVersion?: string;
    gitCommit?: string | null;
    target?: string;
    targetVersion?: string;
    machine?: string;
    node?: string;
    seed?: number;
    command?: string | null;
  };
  loadGenerator?: {
    droppedIterations: number;
    sendDelayP99Ms: number | null;
    sendDelayMaxMs: number | null;
    behind: boolean;
    warning: string | null;
  };
  errorsByStatus?: Array<{ operation: string; outcome: string; status: string; count: number; example: string }>;
}

export function drillMeta(report: Report): DrillMeta | undefined {
  const meta = report.run.meta.drill;
  return typeof meta === 'object' && meta !== null ? (meta as DrillMeta) : undefined;
}

/** "mqdrill drill flash-sale on bundled" for a drill, "mqdrill check" for a check of ledgers. */
export function runTitle(report: Report): string {
  const drill = drillMeta(report);
  if (!drill?.scenario) return 'mqdrill check';
  return `mqdrill drill ${drill.scenario}${drill.target ? ` on ${drill.target}` : ''}`;
}

/** The verdict's one-line reason, as the banner and the summaries state it. */
export function verdictLine(report: Report): string {
  return `${report.verdict.toUpperCase()}: ${report.exitReason} (exit code ${report.exitCode})`;
}
