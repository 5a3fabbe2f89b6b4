/**
 * Facts the drill adds to report.json (run.meta.drill) for the reports an SRE attaches to a ticket: the environment
 * and the command that reproduces the run, the load generator's health, errors by status code, and the scheduled
 * send rate the liveness check compares recovery against.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import type { Report, TimeWindow } from '../../reports/schema.ts';
import { type LedgerEvent, mergeLedgers, openLedgers } from '../ledger/index.ts';
import { statusOf } from '../load/error-status.ts';
import type { LoadPlan } from '../load/options.ts';
import { scheduledRate } from '../load/scheduled-rate.ts';
import type { LoadSummary } from '../load/summary.ts';
import type { DrillSpec } from './spec.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface Environment {
  mqdrillVersion: string;
  gitCommit: string | null;
  target: string;
  targetVersion: string;
  machine: string;
  node: string;
  seed: number;
  command: string | null;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

/** The checkout's commit (with "+changes" when the work tree differs from it); null outside a git checkout. */
function gitCommit(): string | null {
  try {
    const run = (args: string[]) =>
      execFileSync('git', args, {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5000,
      });
    const sha = run(['rev-parse', '--short=12', 'HEAD']).trim();
    const dirty = run(['status', '--porcelain', '--untracked-files=no']).trim() !== '';
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return null;
  }
}

export function environmentOf(spec: DrillSpec, command: string | undefined): Environment {
  const version = packageVersion();
  const cpus = os.cpus();
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  const target =
    spec.target.kind === 'bundled'
      ? `bundled broker, ${spec.target.nodes} node${spec.target.nodes === 1 ? '' : 's'}`
      : `external ${'endpoint' in spec.target.spec ? String(spec.target.spec.endpoint) : ''}`.trim();
  return {
    mqdrillVersion: version,
    gitCommit: gitCommit(),
    target,
    // The bundled broker ships with mqdrill; an external cluster does not tell its version over the client API.
    targetVersion: spec.target.kind === 'bundled' ? `mqdrill broker ${version}` : 'not reported by the target',
    machine:
      `${os.hostname()}: ${os.platform()} ${os.release()} ${os.arch()}, ` +
      `${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${gib} GiB`,
    node: process.version,
    seed: spec.plan.seed,
    command: command ?? null,
  };
}

export interface LoadGeneratorHealth {
  droppedIterations: number;
  /** How late sends started against their schedule (the checker's send_delay), ms. */
  sendDelayP99Ms: number | null;
  sendDelayMaxMs: number | null;
  /** True when the generator fell behind: dropped iterations, or sends started over 100 ms late at p99. */
  behind: boolean;
  warning: string | null;
}

export const SEND_DELAY_BEHIND_MS = 100;

export function loadGeneratorHealth(summary: LoadSummary | undefined, report: Report): LoadGeneratorHealth {
  const dropped = summary?.metrics.dropped_iterations?.values.count ?? 0;
  const delay = report.latencies.send_delay;
  const p99 = delay?.p99 ?? null;
  const reasons: string[] = [];
  if (dropped > 0) reasons.push(`${dropped} iterations dropped (no free VU at their start time)`);
  if (p99 !== null && p99 > SEND_DELAY_BEHIND_MS) reasons.push(`sends started ${Math.round(p99)} ms late at p99`);
  const warning = reasons.length
    ? `the load generator fell behind its schedule: ${reasons.join('; ')}. The target saw less load than planned; ` +
      'raise maxVUs, lower the rate (--rate-scale) or give the generator more CPU.'
    : null;
  return {
    droppedIterations: dropped,
    sendDelayP99Ms: p99,
    sendDelayMaxMs: delay?.max ?? null,
    behind: !!warning,
    warning,
  };
}

export interface ErrorRow {
  operation: 'send' | 'receive' | 'ack';
  outcome: 'fail' | 'unknown';
  status: string;
  count: number;
  example: string;
}

const OPS: Record<string, ErrorRow['operation']> = { sc: 'send', rc: 'receive', ac: 'ack' };

/** Failed and unknown operations by status, from every ledger of the run, most frequent first (at most 20 rows). */
export async function errorsByStatus(files: readonly string[]): Promise<ErrorRow[]> {
  const rows = new Map<string, ErrorRow>();
  const cursors = await openLedgers(files);
  for await (const batch of mergeLedgers(cursors)) {
    for (let i = 0; i < batch.length; i++) {
      const e = batch.records[i] as LedgerEvent & { r?: string; e?: string };
      const operation = OPS[e.t];
      if (!operation || (e.r !== 'fail' && e.r !== 'unknown')) continue;
      const text = typeof e.e === 'string' ? e.e : '';
      const status = text ? statusOf(text) : 'no error text';
      const key = `${operation}|${e.r}|${status}`;
      const row = rows.get(key) ?? { operation, outcome: e.r, status, count: 0, example: text.slice(0, 160) };
      row.count++;
      rows.set(key, row);
    }
  }
  return [...rows.values()].sort((a, b) => b.count - a.count).slice(0, 20);
}

/**
 * The plan's scheduled send rate at a wall time, counted from the load engine's first `load` phase; undefined when a
 * producer is VU-driven (closed model: its rate is whatever the target allows, so there is no schedule to compare).
 */
export function scheduledRateOf(
  plan: LoadPlan,
  phases: readonly TimeWindow[],
): ((wallMs: number) => number | undefined) | undefined {
  const load = phases.find((p) => p.name === 'load');
  const producers = plan.scenarios.filter((s) => s.role === 'producer');
  if (!load || producers.length === 0) return undefined;
  return (wallMs) => {
    let total = 0;
    for (const s of producers) {
      const r = scheduledRate(s.schedule, wallMs - load.startMs);
      if (r === undefined) return undefined;
      total += r;
    }
    return total;
  };
}
