/**
 * One capacity step: what the ledgers of a constant-arrival-rate run say about its measured window (the warm-up
 * discarded), and whether it held the SLO. A step that breaks says why, telling apart the load generator falling
 * behind (dropped iterations with sends still fast, sends started late, the generator's CPU) from the target's
 * limits (errors, latency, backlog growth), so a saturated generator is never reported as the broker's limit.
 */
import { type LedgerEvent, mergeLedgers, openLedgers } from '../ledger/index.ts';
import type { CapacitySlo } from './slo.ts';

/** A generator whose sends start this late (p99) against their schedule is behind (as the drill's report says). */
export const SEND_DELAY_BEHIND_MS = 100;
/** Dropped iterations over scheduled ones above this share mean the generator could not keep the rate. */
export const DROPPED_SHARE_MAX = 0.01;
/**
 * Messages either side of a window's edges (a send started just before its end, a delivery just after) are not a
 * shortfall or a backlog: at low rates one message is a large share.
 */
export const EDGE_SLACK = 2;
/** A generator using this share of the machine's cores is saturated. */
export const GENERATOR_CPU_SHARE_MAX = 0.9;

export type BreakKind = 'generator' | 'errors' | 'latency' | 'throughput' | 'backlog';

export interface BreakReason {
  kind: BreakKind;
  detail: string;
}

/** What the ledgers and the generator's counters measured in one step's window. */
export interface StepMeasure {
  /** Arrival rate asked for, messages per second. */
  rate: number;
  windowMs: number;
  sends: number;
  sendsOk: number;
  sendsFail: number;
  sendsUnknown: number;
  /** Latency of ok sends, ms (undefined without ok sends). */
  sendP50Ms: number | undefined;
  sendP99Ms: number | undefined;
  sendP999Ms: number | undefined;
  /** How late sends started against their schedule, p99 ms (undefined without intended times). */
  sendDelayP99Ms: number | undefined;
  /** First deliveries in the window. */
  received: number;
  /** Ok sends that completed within the window (whenever they started): what the target acknowledged. */
  completedOk: number;
  /** Sends the schedule asked to start in the window, and how many of those did not start (no free VU). */
  scheduled: number;
  dropped: number;
  /** Cores the load generator used during the window, and the machine's core count. */
  generatorCpuCores: number;
  cpus: number;
}

export interface StepResult extends StepMeasure {
  /** Ok sends and first deliveries per second over the window. */
  sendRate: number;
  receiveRate: number;
  /** (fail + unknown) / sends; 1 when nothing completed. */
  errorShare: number;
  droppedShare: number;
  /** Sent ok minus delivered over the window, and that over the ok sends. */
  backlogGrowth: number;
  backlogGrowthShare: number;
  pass: boolean;
  /**
   * Every SLO the step broke; the first is the step's limit. The generator comes first when it was saturated or when
   * the target held every SLO; otherwise the target's reasons come first (it broke under no more load than asked).
   */
  reasons: BreakReason[];
  /** Where the step's folder is, relative to the report. */
  dir?: string;
}

const fmt = (n: number | undefined, digits = 1) => (n === undefined ? 'n/a' : n.toFixed(digits));
const pct = (share: number) => `${(share * 100).toFixed(share < 0.01 ? 2 : 1)}%`;

export function judgeStep(m: StepMeasure, slo: CapacitySlo): StepResult {
  const seconds = Math.max(1e-3, m.windowMs / 1000);
  const errorShare = m.sends === 0 ? 1 : (m.sendsFail + m.sendsUnknown) / m.sends;
  const droppedShare = m.scheduled === 0 ? 0 : m.dropped / m.scheduled;
  const backlogGrowth = Math.max(0, m.completedOk - m.received);
  const backlogGrowthShare = m.completedOk === 0 ? 0 : backlogGrowth / m.completedOk;
  const latencyOk = m.sendP99Ms !== undefined && m.sendP99Ms < slo.sendP99Ms;
  const target = targetReasons(m, slo, { errorShare, droppedShare, backlogGrowth, backlogGrowthShare, latencyOk });
  const generator = generatorReasons(m, droppedShare, latencyOk);
  // A saturated generator's CPU inflates the latency it measures: nothing the target did can be told, so the
  // generator comes first. A generator that only started sends late or dropped some still loaded the target with
  // no more than asked; if the target broke an SLO anyway, that is the target's limit.
  const saturated = generator.some((g) => g.saturated);
  const reasons = saturated || target.length === 0 ? [...generator, ...target] : [...target, ...generator];
  return {
    ...m,
    sendRate: m.completedOk / seconds,
    receiveRate: m.received / seconds,
    errorShare,
    droppedShare,
    backlogGrowth,
    backlogGrowthShare,
    pass: reasons.length === 0,
    reasons: reasons.map(({ kind, detail }) => ({ kind, detail })),
  };
}

function targetReasons(
  m: StepMeasure,
  slo: CapacitySlo,
  f: {
    errorShare: number;
    droppedShare: number;
    backlogGrowth: number;
    backlogGrowthShare: number;
    latencyOk: boolean;
  },
): BreakReason[] {
  const seconds = Math.max(1e-3, m.windowMs / 1000);
  const reasons: BreakReason[] = [];
  if (m.sends === 0) reasons.push({ kind: 'errors', detail: 'no send completed in the window' });
  else if (f.errorShare > slo.errorShareMax) {
    reasons.push({
      kind: 'errors',
      detail: `${pct(f.errorShare)} of sends failed or timed out (SLO <= ${pct(slo.errorShareMax)})`,
    });
  }
  if (m.sendP99Ms !== undefined && !f.latencyOk) {
    const dropped = f.droppedShare > DROPPED_SHARE_MAX ? `; ${pct(f.droppedShare)} of iterations dropped waiting` : '';
    reasons.push({ kind: 'latency', detail: `send p99 ${fmt(m.sendP99Ms)} ms >= ${slo.sendP99Ms} ms${dropped}` });
  }
  // Sends that started but did not complete in the window: the target acknowledges slower than it is sent to.
  const shortfall = m.sends === 0 ? 0 : 1 - m.completedOk / m.sends;
  if (m.sends > 0 && shortfall > slo.throughputShortfallMax && m.sends - m.completedOk > EDGE_SLACK) {
    reasons.push({
      kind: 'throughput',
      detail:
        `the target acknowledged ${fmt(m.completedOk / seconds, 0)}/s while ${fmt(m.sends / seconds, 0)}/s were ` +
        `sent (${pct(shortfall)} short, SLO <= ${pct(slo.throughputShortfallMax)})`,
    });
  }
  if (m.completedOk > 0 && f.backlogGrowthShare > slo.backlogGrowthShareMax && f.backlogGrowth > EDGE_SLACK) {
    reasons.push({
      kind: 'backlog',
      detail:
        `backlog grew by ${f.backlogGrowth} (${pct(f.backlogGrowthShare)} of ${m.completedOk} sent): consumers ` +
        `received ${fmt(m.received / seconds, 0)}/s of ${fmt(m.completedOk / seconds, 0)}/s`,
    });
  }
  return reasons;
}

/**
 * The generator fell behind when it dropped iterations while sends were still fast (too few VUs: the target was not
 * the cause), started sends late (its event loop or CPU could not keep up), or used nearly every core.
 */
function generatorReasons(
  m: StepMeasure,
  droppedShare: number,
  latencyOk: boolean,
): Array<BreakReason & { saturated: boolean }> {
  const out: string[] = [];
  if (droppedShare > DROPPED_SHARE_MAX && latencyOk) {
    out.push(
      `${pct(droppedShare)} of iterations dropped with send p99 ${fmt(m.sendP99Ms)} ms (no free VU; raise --vus)`,
    );
  }
  if (m.sendDelayP99Ms !== undefined && m.sendDelayP99Ms > SEND_DELAY_BEHIND_MS) {
    out.push(`sends started ${fmt(m.sendDelayP99Ms, 0)} ms late at p99 (> ${SEND_DELAY_BEHIND_MS} ms)`);
  }
  const cpuShare = m.cpus > 0 ? m.generatorCpuCores / m.cpus : 0;
  if (cpuShare >= GENERATOR_CPU_SHARE_MAX) {
    out.push(`the generator used ${fmt(m.generatorCpuCores, 2)} of ${m.cpus} cores`);
  }
  const saturated = cpuShare >= GENERATOR_CPU_SHARE_MAX;
  return out.length ? [{ kind: 'generator', detail: `load generator behind: ${out.join('; ')}`, saturated }] : [];
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export interface LedgerWindowFigures {
  /** Sends invoked in the window, and ok sends completed in it (whenever invoked). */
  sends: number;
  completedOk: number;
  sendsOk: number;
  sendsFail: number;
  sendsUnknown: number;
  sendLatencies: number[];
  sendDelays: number[];
  received: number;
  /** First and last first-delivery times, and the first receive call, epoch ms. */
  firstReceiveMs: number | undefined;
  firstReceiveCallMs: number | undefined;
  lastReceiveMs: number | undefined;
}

/**
 * Reads a step's ledgers: sends invoked within [fromMs, toMs) with their outcome and latency, how late they started
 * (ts - it), and first deliveries within the window.
 */
export async function readWindow(files: readonly string[], fromMs: number, toMs: number): Promise<LedgerWindowFigures> {
  const out: LedgerWindowFigures = {
    sends: 0,
    completedOk: 0,
    sendsOk: 0,
    sendsFail: 0,
    sendsUnknown: 0,
    sendLatencies: [],
    sendDelays: [],
    received: 0,
    firstReceiveMs: undefined,
    firstReceiveCallMs: undefined,
    lastReceiveMs: undefined,
  };
  const invokes = new Map<string, number>();
  const inWindow = (ts: number) => ts >= fromMs && ts < toMs;
  for await (const batch of mergeLedgers(await openLedgers(files))) {
    for (let i = 0; i < batch.length; i++) {
      const e = batch.records[i] as LedgerEvent;
      if (e.t === 'si') {
        if (!inWindow(e.ts)) continue;
        invokes.set(`${batch.fileIndexes[i]}:${e.o}`, e.ts);
        if (e.it !== undefined) out.sendDelays.push(Math.max(0, e.ts - e.it));
      } else if (e.t === 'sc') {
        if (e.r === 'ok' && inWindow(e.ts)) out.completedOk++;
        const key = `${batch.fileIndexes[i]}:${e.o}`;
        if (!invokes.delete(key)) continue;
        out.sends++;
        if (e.r === 'ok') {
          out.sendsOk++;
          out.sendLatencies.push(e.d);
        } else if (e.r === 'fail') out.sendsFail++;
        else out.sendsUnknown++;
      } else if (e.t === 'ri') {
        out.firstReceiveCallMs = Math.min(out.firstReceiveCallMs ?? e.ts, e.ts);
      } else if (e.t === 'rm' && e.a === 1) {
        out.firstReceiveMs = Math.min(out.firstReceiveMs ?? e.ts, e.ts);
        out.lastReceiveMs = Math.max(out.lastReceiveMs ?? e.ts, e.ts);
        if (inWindow(e.ts)) out.received++;
      }
    }
  }
  // A send invoked in the window that never completed (cut off by the end of the step) counts as unknown.
  out.sends += invokes.size;
  out.sendsUnknown += invokes.size;
  out.sendLatencies.sort((a, b) => a - b);
  out.sendDelays.sort((a, b) => a - b);
  return out;
}
