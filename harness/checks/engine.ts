import type {
  AnomalyReport,
  LatencySummary,
  LedgerDefect,
  LedgerInput,
  Timeline,
  TimeWindow,
} from '../../reports/schema.ts';
import {
  type GuaranteeLevel,
  type LedgerEvent,
  type LedgerFileCursor,
  type LedgerHeader,
  mergeLedgers,
  openLedgers,
} from '../ledger/index.ts';
import { ALLOWED_ANOMALIES, ANOMALY_DESCRIPTIONS, GUARANTEE_LEVELS, type Verdict } from './anomalies.ts';
import { EventApplier } from './apply.ts';
import {
  addSubscription,
  type CheckContext,
  type Checker,
  CLOCK_TOLERANCE_MS_BASE,
  DELAY_LATE_TOLERANCE_MS_DEFAULT,
  Findings,
  makeGroupInfo,
} from './context.ts';
import {
  duplicateChecker,
  lostChecker,
  makeDelayChecker,
  makeUnexpectedChecker,
  recoveredChecker,
} from './delivery-checkers.ts';
import {
  deadLetterChecker,
  drainChecker,
  makeFilterChecker,
  makeTransactionChecker,
  reconcileChecker,
} from './lifecycle-checkers.ts';
import { Interner, MessageTable } from './message-table.ts';
import { makeOrderChecker } from './order-checker.ts';
import { LatencyRecorder, TimelineBuilder } from './stats.ts';

export interface CheckOptions {
  /** Overrides the guarantee level declared in the ledger headers. */
  guarantee?: GuaranteeLevel;
  /** Examples kept per anomaly (default 10). */
  examplesMax?: number;
  /** Extra checkers, or replacements by name (tests use this to inject a crashing checker). */
  checkers?: Checker[];
  /** Called about every 64k records with the records read so far (progress on long checks). */
  onProgress?: (records: number) => void;
}

/** What one pass over the ledgers decided and measured; the report adds gates and the exit code. */
export interface CheckResult {
  guarantee: GuaranteeLevel;
  anomalies: AnomalyReport[];
  counts: Record<string, number>;
  latencies: Record<string, LatencySummary>;
  /** The histograms behind `latencies`, for gates on any percentile. */
  latencyRecorders: Record<string, LatencyRecorder>;
  drainMs: number | undefined;
  faults: TimeWindow[];
  phases: TimeWindow[];
  timeline: Timeline;
  inputs: LedgerInput[];
  malformedExamples: LedgerDefect[];
  run: { id?: string; startMs: number; endMs: number; meta: Record<string, unknown> };
  stats: { durationMs: number; records: number; messages: number; rssBytesMax: number };
  /** Per anomaly, the value gates read as `<name>.rate`: count / checked. */
  headers: LedgerHeader[];
}

export function defaultCheckers(): Checker[] {
  return [
    lostChecker,
    makeUnexpectedChecker(),
    duplicateChecker,
    recoveredChecker,
    makeOrderChecker(),
    makeDelayChecker(),
    makeTransactionChecker(),
    makeFilterChecker(),
    deadLetterChecker,
    drainChecker,
    reconcileChecker,
  ];
}

/** Reads the ledgers once, in merged time order, and runs every checker (one that throws yields unknown). */
export async function checkLedgers(files: readonly string[], options: CheckOptions = {}): Promise<CheckResult> {
  const startedMs = performance.now();
  const cursors = await openLedgers(files);
  const headers = cursors.map((c) => c.header as LedgerHeader);
  const ctx = makeContext(files, headers, cursors, options);
  const checkers = mergeCheckers(defaultCheckers(), options.checkers ?? []);
  const findings = checkers.map((c) => new Findings(c.name, options.examplesMax ?? 10, files));
  const errors: (string | undefined)[] = checkers.map(() => undefined);
  const applier = new EventApplier(ctx);
  let records = 0;
  let endMs = ctx.timeline.startMs;
  let rssBytesMax = process.memoryUsage.rss();
  let batches = 0;
  const recordsPerFile = files.map(() => 0);
  for await (const batch of mergeLedgers(cursors)) {
    for (let r = 0; r < batch.length; r++) {
      const event = batch.records[r] as LedgerEvent;
      const fileIndex = batch.fileIndexes[r] as number;
      const line = batch.lines[r] as number;
      for (let c = 0; c < checkers.length; c++) {
        const checker = checkers[c] as Checker;
        if (checker.observe === undefined || errors[c] !== undefined) continue;
        try {
          checker.observe(event, fileIndex, line, ctx, findings[c] as Findings);
        } catch (err) {
          errors[c] = `${describeError(err)} (at ${files[fileIndex]}:${line})`;
        }
      }
      applier.apply(event, fileIndex, line);
      recordsPerFile[fileIndex] = (recordsPerFile[fileIndex] as number) + 1;
      if (event.ts > endMs) endMs = event.ts;
    }
    records += batch.length;
    if (++batches % 8 === 0) options.onProgress?.(records);
    if (batches % 32 === 0) rssBytesMax = Math.max(rssBytesMax, process.memoryUsage.rss());
  }
  checkers.forEach((checker, c) => {
    if (errors[c] !== undefined) return;
    try {
      checker.finish(ctx, findings[c] as Findings);
    } catch (err) {
      errors[c] = describeError(err);
    }
  });
  rssBytesMax = Math.max(rssBytesMax, process.memoryUsage.rss());
  const malformed = cursors.flatMap((c) => c.malformed);
  const malformedHard = cursors.reduce((n, c) => n + c.malformedCount, 0) - malformed.filter((m) => m.torn).length;
  const anomalies = checkers.map((checker, c) =>
    anomalyReport(ctx, findings[c] as Findings, errors[c], malformedHard, checker.name),
  );
  return {
    guarantee: ctx.guarantee,
    anomalies,
    counts: { ...publicCounts(ctx.counts), messages: ctx.table.size, groups: ctx.groups.length },
    latencies: latencySummaries(ctx),
    latencyRecorders: ctx.latencies,
    drainMs: drainMsOf(ctx),
    faults: ctx.faults.map((f) => (f.endMs === undefined ? { ...f, endMs } : f)),
    phases: ctx.phases,
    timeline: ctx.timeline.build(),
    inputs: cursors.map((c, index) => ({
      path: c.file,
      process: c.header?.process ?? '?',
      ...(c.header?.role !== undefined ? { role: c.header.role } : {}),
      records: recordsPerFile[index] ?? 0,
      malformed: c.malformedCount,
    })),
    malformedExamples: malformed.map(({ file, line, problem, torn }) => ({
      file,
      line,
      problem,
      ...(torn ? { torn } : {}),
    })),
    run: runInfo(headers, ctx.timeline.startMs, endMs),
    stats: { durationMs: performance.now() - startedMs, records, messages: ctx.table.size, rssBytesMax },
    headers,
  };
}

function mergeCheckers(defaults: Checker[], extra: Checker[]): Checker[] {
  const replaced = defaults.map((d) => extra.find((e) => e.name === d.name) ?? d);
  return [...replaced, ...extra.filter((e) => !defaults.some((d) => d.name === e.name))];
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function makeContext(
  files: readonly string[],
  headers: LedgerHeader[],
  cursors: LedgerFileCursor[],
  options: CheckOptions,
): CheckContext {
  const firstTs = Math.min(...cursors.filter((c) => c.hasRecord).map((c) => (c.records[0] as LedgerEvent).ts));
  const startMs = Number.isFinite(firstTs) ? firstTs : Math.min(...headers.map((h) => h.startedMs));
  const declared = headers.map((h) => h.guarantee).find((g) => g !== undefined);
  const guarantee = options.guarantee ?? declared ?? 'at-least-once';
  if (!GUARANTEE_LEVELS.includes(guarantee)) throw new Error(`unknown guarantee level "${guarantee}"`);
  const ctx: CheckContext = {
    table: new MessageTable(),
    files,
    headers,
    guarantee,
    topics: new Interner(),
    tags: new Interner(),
    orderKeys: new Interner(),
    groups: [],
    groupByName: new Map(),
    groupsByTopic: [],
    sqlSubscriptions: [],
    delayLateToleranceMs:
      headers.map((h) => h.delayLateToleranceMs).find((v) => v !== undefined) ?? DELAY_LATE_TOLERANCE_MS_DEFAULT,
    drainSloMs: headers.map((h) => h.drainSloMs).find((v) => v !== undefined),
    phases: [],
    faults: [],
    counters: new Map(),
    latencies: {
      send_duration: new LatencyRecorder(),
      e2e_latency: new LatencyRecorder(),
      send_delay: new LatencyRecorder(),
      ack_duration: new LatencyRecorder(),
    },
    timeline: new TimelineBuilder(Number.isFinite(startMs) ? startMs : 0),
    counts: {},
    foreignDeliveries: 0,
    drainStartMs: undefined,
    drainEndMs: undefined,
    drainEndOk: undefined,
    lastConsumeMs: undefined,
    backlogTotal: 0,
    brokerBacklogByGroup: new Map(),
    deadLetterObservations: 0,
    deadLetterScanned: false,
    consumerGroupsSeen: new Set(),
    clock: { toleranceMs: CLOCK_TOLERANCE_MS_BASE, measuredFiles: new Set() },
    backlogEntered: 0,
  };
  for (const header of headers) {
    const consumer = header.role === 'consumer' || header.role === 'both';
    for (const sub of header.subscriptions ?? []) {
      if (consumer) ctx.consumerGroupsSeen.add(sub.group);
      const group = ctx.groupByName.get(sub.group) ?? makeGroupInfo(ctx, sub.group, true);
      addSubscription(ctx, group, sub);
    }
  }
  return ctx;
}

function anomalyReport(
  ctx: CheckContext,
  findings: Findings,
  error: string | undefined,
  malformedLines: number,
  name: Checker['name'],
): AnomalyReport {
  const allowed = ALLOWED_ANOMALIES[ctx.guarantee].has(name);
  const notes = [...findings.notes];
  let verdict: Verdict;
  if (error !== undefined) verdict = 'unknown';
  else if (findings.count > 0 && !allowed && !findings.undecided) verdict = 'fail';
  else if (findings.undecided && (findings.count > 0 || findings.unjudged) && !allowed) verdict = 'unknown';
  else verdict = 'pass';
  if (verdict === 'pass' && malformedLines > 0) {
    verdict = 'unknown';
    notes.push(`${malformedLines} malformed ledger lines were skipped, so this pass cannot be trusted`);
  }
  const report: AnomalyReport = {
    name,
    description: ANOMALY_DESCRIPTIONS[name] ?? name,
    verdict,
    allowed: allowed && findings.count > 0,
    applicable: findings.applicable || findings.count > 0,
    count: findings.count,
    checked: findings.checked,
    rate: findings.checked > 0 ? findings.count / findings.checked : 0,
    examples: findings.examples,
    notes,
  };
  if (error !== undefined) report.error = error;
  return report;
}

function publicCounts(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([k]) => !k.includes('@')));
}

function latencySummaries(ctx: CheckContext): Record<string, LatencySummary> {
  const out: Record<string, LatencySummary> = {};
  for (const [name, recorder] of Object.entries(ctx.latencies)) {
    const summary = recorder.summary();
    if (summary !== undefined) out[name] = summary;
  }
  return out;
}

function drainMsOf(ctx: CheckContext): number | undefined {
  if (ctx.drainStartMs === undefined) return undefined;
  return ctx.lastConsumeMs === undefined ? 0 : ctx.lastConsumeMs - ctx.drainStartMs;
}

function runInfo(headers: LedgerHeader[], startMs: number, endMs: number): CheckResult['run'] {
  const id = headers.map((h) => h.run).find((r) => r !== undefined);
  const meta = Object.assign({}, ...headers.map((h) => h.meta ?? {}));
  return { ...(id !== undefined ? { id } : {}), startMs, endMs, meta };
}
