/**
 * Load beyond one process: a plan split across N worker processes (`mqdrill load PLAN --workers N` locally, or N
 * pods of a Kubernetes Job from --emit-k8s). Each worker runs `mqdrill load plan.json --worker K/N --barrier DIR`:
 * its share of every scenario (the schedule and key space divided across all drivers of all workers), its own
 * ledgers and metrics in its own folder. The coordinated start is a barrier of files in a shared folder: a worker
 * whose drivers are ready writes ready-K.json (its wall time), waits until all N are there, and every worker starts
 * at the same wall time, the latest ready time plus a lead. The coordinator (local) merges the workers' metrics
 * exactly (HDR histograms) into one summary; the checkers read every worker's ledgers together.
 */

import { spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { ExitCode } from '../../lib/exit-codes.ts';
import { sleep } from './driver/timeout.ts';
import type { DriverName } from './driver-names.ts';
import { METRICS_FILE } from './engine.ts';
import type { ExecutorResult } from './executors/index.ts';
import { MetricRegistry, type MetricsDelta } from './metrics.ts';
import type { LoadPlan } from './options.ts';
import { buildSummary, type LoadSummary } from './summary.ts';

/** From the last worker ready to the common start: time for every worker to see the last ready file. */
export const START_LEAD_MS = 2000;
const POLL_MS = 100;

/** `K/N` with 0 <= K < N. */
export function parseWorkerSpec(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) {
    throw new Error(`--worker ${text}: expected K/N with 0 <= K < N (this worker's index of N), e.g. 0/3`);
  }
  return { index, count };
}

/**
 * Writes this worker's ready file, waits (at most timeoutMs) until all `count` are there, then until the common
 * start (the latest ready time + START_LEAD_MS); returns that start, epoch ms. Clocks of different machines must be
 * synchronised (NTP) to well under the lead.
 */
export async function coordinatedStart(
  dir: string,
  worker: { index: number; count: number },
  timeoutMs: number,
  clock: Clock = systemClock,
): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `ready-${worker.index}.json`);
  await writeFile(`${file}.tmp`, JSON.stringify({ index: worker.index, readyMs: clock.wallMs() }));
  renameSync(`${file}.tmp`, file);
  const deadline = clock.monotonicMs() + timeoutMs;
  let ready: number[] = [];
  for (;;) {
    ready = readdirSync(dir)
      .filter((f) => /^ready-\d+\.json$/.test(f))
      .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { readyMs: number }).readyMs);
    if (ready.length >= worker.count) break;
    if (clock.monotonicMs() >= deadline) {
      throw new Error(
        `${ready.length} of ${worker.count} workers ready in ${dir} after ${timeoutMs} ms: ` +
          'a worker failed to start or cannot reach the broker; see its log',
      );
    }
    await sleep(clock, POLL_MS);
  }
  const startMs = Math.max(...ready) + START_LEAD_MS;
  while (clock.wallMs() < startMs) await sleep(clock, Math.min(POLL_MS, startMs - clock.wallMs()));
  return startMs;
}

export interface WorkerRunOptions {
  plan: LoadPlan;
  /** host:port; credentials, TLS and namespace go to the workers through the environment (MQDRILL_*). */
  endpoint: string;
  count: number;
  out: string;
  driver?: DriverName;
  /** Every metrics delta from every worker, as they come (live metrics, progress). */
  onDelta?: (delta: MetricsDelta) => void;
  /** Called once, at the common start time. */
  onStart?: (startWallMs: number) => void;
  onLog?: (line: string) => void;
  /** Stops every worker (SIGINT: each heals nothing, writes its summary and ends). */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export interface WorkerRunResult {
  summary: LoadSummary;
  exitCode: number;
  summaryPath: string;
  workerExitCodes: number[];
  failure: string | undefined;
}

const CLI = fileURLToPath(new URL('../../bin/mqdrill.mjs', import.meta.url));

/** The command a worker runs (locally here; in a pod the same with the pod's paths). */
export function workerArgs(o: {
  plan: string;
  endpoint: string;
  worker: string;
  barrier: string;
  out: string;
  driver?: DriverName;
}): string[] {
  const args = ['load', o.plan, '--endpoint', o.endpoint, '--worker', o.worker, '--barrier', o.barrier];
  return [...args, '--out', o.out, ...(o.driver ? ['--driver', o.driver] : [])];
}

/** The longest a worker may run: its load, drain deadline, start and shutdown bounds. */
function workerTimeoutMs(plan: LoadPlan): number {
  const loadMs = Math.max(
    0,
    ...plan.scenarios.map((s) => s.schedule.startTimeMs + ('durationMs' in s.schedule ? s.schedule.durationMs : 0)),
  );
  return loadMs + plan.drainTimeoutMs + 180_000;
}

export async function runWorkers(o: WorkerRunOptions): Promise<WorkerRunResult> {
  mkdirSync(o.out, { recursive: true });
  const planPath = join(o.out, 'plan.json');
  await writeFile(planPath, `${JSON.stringify(o.plan, null, 2)}\n`);
  const barrier = join(o.out, 'barrier');
  rmSync(barrier, { recursive: true, force: true });
  let started = false;
  const runs = Array.from({ length: o.count }, (_, k) =>
    runWorker(
      o,
      k,
      workerArgs({ ...o, plan: planPath, worker: `${k}/${o.count}`, barrier, out: workerDir(o.out, k) }),
      {
        onStarted: (ms) => {
          if (!started) o.onStart?.(ms);
          started = true;
        },
      },
    ),
  );
  const codes = await Promise.all(runs);
  return mergeWorkers(o.plan, o.out, codes);
}

export function workerDir(out: string, k: number): string {
  return join(out, `worker-${k}`);
}

/** One worker process; its stdout carries NDJSON (metrics deltas, the start), its stderr goes to worker-K.log. */
function runWorker(
  o: WorkerRunOptions,
  k: number,
  args: string[],
  hooks: { onStarted: (ms: number) => void },
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...o.env },
    });
    const log = createWriteStream(join(o.out, `worker-${k}.log`));
    child.stderr.pipe(log);
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        onWorkerLine(o, k, buffered.slice(0, nl), hooks);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
      }
    });
    const onAbort = () => child.kill('SIGINT');
    o.signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(() => {
      o.onLog?.(`worker ${k} ran past its bound: killing it`);
      child.kill('SIGKILL');
    }, workerTimeoutMs(o.plan));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      log.end();
      if (code !== 0) o.onLog?.(`worker ${k} ended with ${code ?? signal}: see ${join(o.out, `worker-${k}.log`)}`);
      resolve(code ?? ExitCode.INTERNAL);
    });
  });
}

function onWorkerLine(o: WorkerRunOptions, k: number, line: string, hooks: { onStarted: (ms: number) => void }): void {
  if (line.trim() === '') return;
  let msg: { t?: string; delta?: MetricsDelta; startMs?: number };
  try {
    msg = JSON.parse(line) as typeof msg;
  } catch {
    o.onLog?.(`worker ${k}: ${line}`);
    return;
  }
  if (msg.t === 'metrics' && msg.delta) o.onDelta?.(msg.delta);
  if (msg.t === 'start' && typeof msg.startMs === 'number') hooks.onStarted(msg.startMs);
}

/** The workers' metrics merged into one summary (out/summary.json); the exit code of the whole run. */
export function mergeWorkers(plan: LoadPlan, out: string, codes: number[]): WorkerRunResult {
  const registry = new MetricRegistry();
  const scenarios: LoadSummary['scenarios'] = {};
  let startedMs = Number.POSITIVE_INFINITY;
  let elapsedMs = 0;
  const missing: number[] = [];
  codes.forEach((_, k) => {
    const dir = workerDir(out, k);
    if (!existsSync(join(dir, METRICS_FILE)) || !existsSync(join(dir, 'summary.json'))) {
      missing.push(k);
      return;
    }
    registry.merge(JSON.parse(readFileSync(join(dir, METRICS_FILE), 'utf8')) as MetricsDelta);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as LoadSummary;
    startedMs = Math.min(startedMs, s.state.startedMs);
    elapsedMs = Math.max(elapsedMs, s.state.testRunDurationMs);
    for (const [name, r] of Object.entries(s.scenarios)) scenarios[name] = addResults(scenarios[name], r);
  });
  const crashed = codes.flatMap((c, k) =>
    c === ExitCode.OK || c === ExitCode.THRESHOLDS_FAILED ? [] : [`worker ${k} ended with exit code ${c}`],
  );
  const failure =
    missing.length > 0
      ? `worker ${missing.join(', ')} wrote no metrics (see worker-K.log)`
      : crashed.length > 0
        ? `${crashed.join('; ')} (see worker-K.log)`
        : undefined;
  const summary = buildSummary({
    registry,
    thresholds: plan.thresholds,
    startedMs: Number.isFinite(startedMs) ? startedMs : 0,
    elapsedMs,
    scenarios,
    ...(failure ? { aborted: failure } : {}),
  });
  const summaryPath = join(out, 'summary.json');
  writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  const firstBad = codes.find((c) => c !== ExitCode.OK && c !== ExitCode.THRESHOLDS_FAILED);
  const exitCode =
    firstBad ?? (failure ? ExitCode.TARGET_FAILED : summary.ok ? ExitCode.OK : ExitCode.THRESHOLDS_FAILED);
  return { summary, exitCode, summaryPath, workerExitCodes: codes, failure };
}

function addResults(
  a: (ExecutorResult & { role: string }) | undefined,
  b: ExecutorResult & { role: string },
): ExecutorResult & { role: string } {
  if (!a) return { ...b };
  const sum = { ...a };
  for (const key of Object.keys(b) as Array<keyof ExecutorResult>) {
    if (typeof b[key] === 'number') sum[key] = a[key] + b[key];
  }
  return sum;
}
