/**
 * report.json of `mqdrill capacity` (schema `mqdrill-capacity`, version 1): the SLO, the search, every step (the
 * curve), the sustainable send and receive rates, where and why the search broke, the consumer plan and the lost
 * check. docs/capacity.md describes each field; html.ts draws the curve from this alone.
 */
import type { Environment } from '../drill/report-facts.ts';
import type { SearchOptions } from './search.ts';
import type { CapacitySlo } from './slo.ts';
import type { BreakKind, StepResult } from './step.ts';

export const CAPACITY_SCHEMA = 'mqdrill-capacity';
export const CAPACITY_VERSION = 1;

/** What limited the search: the target (by the SLO it broke), the generator, or nothing up to the ceiling. */
export type LimitedBy = BreakKind | 'ceiling' | 'unknown';

export interface DrainProbe {
  /** Messages left waiting (producers alone at the probe rate), then drained by the scenario's consumers alone. */
  backlog: number;
  consumers: number;
  /** First deliveries per second while draining, over all consumers and per consumer. */
  receiveRate: number;
  perConsumerRate: number;
  drainMs: number;
  note: string | null;
}

export interface ConsumerPlan {
  backlog: number;
  withinMs: number;
  /** Consumers to drain `backlog` within `withinMs` at the measured per-consumer rate: producers idle / still sending
   *  at the sustainable rate. */
  needed: number | null;
  neededWhileSending: number | null;
}

export interface CapacityReport {
  schema: typeof CAPACITY_SCHEMA;
  version: typeof CAPACITY_VERSION;
  generatedMs: number;
  scenario: string;
  seed: number;
  target: string;
  flush: string | null;
  slo: CapacitySlo;
  search: SearchOptions & { stepMs: number; warmUpMs: number; vus: number | null; consumers: number | null };
  steps: StepResult[];
  result: {
    /** Ok sends per second measured at the highest rate that held (null: none held). */
    sustainableSendRate: number | null;
    /** The arrival rate of that step. */
    sustainableRate: number | null;
    /** First deliveries per second: the drain probe's when it ran, else the held step's. */
    sustainableReceiveRate: number | null;
    /** The lowest rate that broke above it. */
    breakingRate: number | null;
    limitedBy: LimitedBy;
    /** Why, in words: which SLO broke at the breaking rate. */
    why: string;
    converged: boolean;
  };
  drainProbe: DrainProbe | null;
  consumerPlan: ConsumerPlan | null;
  lost: { count: number; checked: number; verdict: string };
  environment: Environment;
  exitCode: number;
  exitReason: string;
  durationMs: number;
}

export function consumerPlan(
  probe: DrainProbe | null,
  sendRate: number | null,
  backlog: number,
  withinMs: number,
): ConsumerPlan | null {
  if (!probe || probe.perConsumerRate <= 0 || withinMs <= 0) return null;
  const perS = backlog / (withinMs / 1000);
  return {
    backlog,
    withinMs,
    needed: Math.max(1, Math.ceil(perS / probe.perConsumerRate)),
    neededWhileSending: Math.max(1, Math.ceil((perS + (sendRate ?? 0)) / probe.perConsumerRate)),
  };
}

const r0 = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : Math.round(n).toLocaleString('en-US');
const ms1 = (n: number | undefined) => (n === undefined ? '—' : `${n.toFixed(1)}`);

/** The curve as a text table, one line per step in rate order. */
export function formatCurve(steps: readonly StepResult[]): string {
  const head = ['rate/s', 'sent/s', 'recv/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'dropped', 'gen cpu', 'result'];
  const rows = [...steps]
    .sort((a, b) => a.rate - b.rate)
    .map((s) => [
      r0(s.rate),
      r0(s.sendRate),
      r0(s.receiveRate),
      ms1(s.sendP50Ms),
      ms1(s.sendP99Ms),
      ms1(s.sendP999Ms),
      `${(s.errorShare * 100).toFixed(2)}%`,
      `${(s.droppedShare * 100).toFixed(1)}%`,
      `${s.generatorCpuCores.toFixed(2)}/${s.cpus}`,
      s.pass ? 'held' : `broke: ${s.reasons.map((r) => r.kind).join(', ')}`,
    ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function formatCapacity(report: CapacityReport): string {
  const r = report.result;
  const lines = [
    '',
    formatCurve(report.steps),
    '',
    `sustainable send rate: ${r0(r.sustainableSendRate)}/s (arrival rate ${r0(r.sustainableRate)}/s held the SLO)`,
    `sustainable receive rate: ${r0(r.sustainableReceiveRate)}/s`,
    `broke at: ${r0(r.breakingRate)}/s; limited by ${r.limitedBy}: ${r.why}`,
  ];
  const p = report.drainProbe;
  if (p) {
    lines.push(
      `consumers: ${p.consumers} drained ${p.backlog} messages at ${r0(p.receiveRate)}/s ` +
        `(${r0(p.perConsumerRate)}/s per consumer)${p.note ? `; ${p.note}` : ''}`,
    );
  }
  const c = report.consumerPlan;
  if (c) {
    lines.push(
      `to drain ${c.backlog.toLocaleString('en-US')} messages within ${Math.round(c.withinMs / 1000)} s: ` +
        `${c.needed} consumers (${c.neededWhileSending} while producers keep sending at the sustainable rate)`,
    );
  }
  lines.push(`lost: ${report.lost.count} of ${report.lost.checked} checked (${report.lost.verdict})`);
  if (report.environment.command) lines.push(`reproduce: ${report.environment.command}`);
  lines.push(`${report.exitReason}`, `exit code ${report.exitCode}`, '');
  return lines.join('\n');
}
