/**
 * `mqdrill load <scenario> --endpoint HOST:PORT [--driver node|go|java|java-remoting] [--out DIR]`: runs a k6-style
 * scenario module against a running broker. Credentials, TLS and the name server (for java-remoting) come from the
 * environment (MQDRILL_ACCESS_KEY, MQDRILL_SECRET_KEY, MQDRILL_NAMESPACE, MQDRILL_TLS=1, MQDRILL_NAMESRV), so they
 * stay out of shell history. Prints the description before anything
 * runs, a progress line on stderr, and the k6-style summary on stdout; returns the exit code (99: a threshold failed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { specExports } from '../drill/load-spec.ts';
import { LiveWatch } from '../live/watch.ts';
import type { DriverName } from './driver-names.ts';
import { isPlan, runLoad } from './engine.ts';
import { launcherFor } from './launchers.ts';
import type { MetricsDelta } from './metrics.ts';
import type { LoadPlan } from './options.ts';
import { describe, validateOptions } from './options.ts';
import type { TargetEndpoint } from './protocol.ts';
import { formatSummary } from './summary.ts';
import { coordinatedStart, parseWorkerSpec, runWorkers } from './workers.ts';

export interface LoadCommandOptions {
  endpoint: string;
  driver?: DriverName;
  out?: string;
  /** Start a Prometheus scraping the endpoint's /metrics and the engine's for the run (data in <out>/prometheus). */
  prometheus?: boolean;
  /** Split the plan across N local worker processes. */
  workers?: string;
  /** Run as worker K of N (what --workers and the Kubernetes pods start). */
  worker?: string;
  /** The shared folder of the workers' coordinated start. */
  barrier?: string;
  /** Write a Kubernetes Job for --workers pods into this folder instead of running. */
  emitK8s?: string;
}

function resolveScenario(scenario: string): string {
  for (const candidate of [scenario, join('scenarios', scenario), join('scenarios', `${scenario}.ts`)]) {
    if (existsSync(candidate)) return resolve(candidate);
  }
  throw new CliError(`scenario ${scenario} not found (a path, or a name in scenarios/)`, ExitCode.INVALID_SPEC);
}

async function loadOptions(path: string): Promise<unknown> {
  let mod: Record<string, unknown>;
  try {
    // tsImport loads the module as ESM wherever it lives (a .ts outside a "type": "module" package included).
    mod = (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`cannot load scenario ${path}: ${(err as Error).message}`, ExitCode.INVALID_SPEC);
  }
  const { options } = specExports(mod);
  if (options === undefined) throw new CliError(`scenario ${path} does not export \`options\``, ExitCode.INVALID_SPEC);
  return options;
}

export function targetFromEnvironment(endpoint: string, env = process.env): TargetEndpoint {
  if (!/^[^:;\s]+:\d+(;[^:;\s]+:\d+)*$/.test(endpoint)) {
    throw new CliError(`--endpoint ${endpoint}: expected HOST:PORT`, ExitCode.USAGE);
  }
  return {
    endpoint,
    tls: env.MQDRILL_TLS === '1' || env.MQDRILL_TLS === 'true',
    namespace: env.MQDRILL_NAMESPACE ?? '',
    ...(env.MQDRILL_ACCESS_KEY ? { accessKey: env.MQDRILL_ACCESS_KEY } : {}),
    ...(env.MQDRILL_SECRET_KEY ? { secretKey: env.MQDRILL_SECRET_KEY } : {}),
    ...(env.MQDRILL_NAMESRV ? { namesrv: env.MQDRILL_NAMESRV } : {}),
  };
}

/** A progress reporter: rewrites one line on a TTY, prints a line every 10 s otherwise. */
function progressPrinter(stream: NodeJS.WriteStream): { print: (line: string) => void; end: () => void } {
  if (stream.isTTY) {
    return {
      print: (line) => stream.write(`\r\u001b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`),
      end: () => stream.write('\r\u001b[2K'),
    };
  }
  let lastMs = 0;
  return {
    print: (line) => {
      if (Date.now() - lastMs < 10_000) return;
      lastMs = Date.now();
      stream.write(`${line}\n`);
    },
    end: () => {},
  };
}

/** A scenario module's options, or a plan.json (a resolved plan, as --workers and --emit-k8s write it). */
async function planOf(path: string): Promise<LoadPlan | undefined> {
  if (path.endsWith('.json')) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new CliError(`cannot read plan ${path}: ${(err as Error).message}`, ExitCode.INVALID_SPEC);
    }
    if (isPlan(data)) return data;
    const { plan, errors } = validateOptions(data);
    if (plan) return plan;
    return invalid(path, errors);
  }
  const { plan, errors } = validateOptions(await loadOptions(path));
  return plan ?? invalid(path, errors);
}

function invalid(path: string, errors: string[]): undefined {
  process.stderr.write(`invalid scenario ${path} (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n`);
  for (const e of errors) process.stderr.write(`  ${e}\n`);
  return undefined;
}

function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`${flag} ${text}: expected a whole number >= 1`, ExitCode.USAGE);
  return n;
}

export async function runLoadCommand(scenario: string, opts: LoadCommandOptions): Promise<number> {
  const path = resolveScenario(scenario);
  const plan = await planOf(path);
  if (!plan) return ExitCode.INVALID_SPEC;
  const target = targetFromEnvironment(opts.endpoint);
  const workers = positiveInt(opts.workers, '--workers') ?? 1;
  const name = basename(path).replace(/\.[mc]?[tj]s(on)?$/, '');
  const out = opts.out ?? join('runs', `load-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  if (opts.emitK8s !== undefined) {
    const { emitK8s } = await import('./k8s.ts');
    return emitK8s({ plan, name, workers, dir: opts.emitK8s, endpoint: target.endpoint, driver: opts.driver });
  }
  if (opts.worker !== undefined) return runAsWorker(plan, target, out, opts);
  process.stderr.write(`${describe(plan)}\nendpoint ${target.endpoint}, driver ${opts.driver ?? 'node'}, out ${out}\n`);
  const live = opts.prometheus
    ? await LiveWatch.start({ out, say: (line) => process.stderr.write(`load: ${line}\n`) })
    : undefined;
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    // A bundled broker serves /metrics on its access port; another broker's port just shows as down in Prometheus.
    await live?.watch(target.endpoint.split(';'));
    if (workers > 1) return await runAsCoordinator(plan, target, out, workers, opts, controller.signal, live);
    const progress = progressPrinter(process.stderr);
    const result = await runLoad(plan, target, {
      launcher: launcherFor(opts.driver ?? 'node'),
      out,
      runId: `${name}-${Date.now()}`,
      onProgress: progress.print,
      onLog: (line) => {
        progress.end();
        process.stderr.write(`${line}\n`);
      },
      signal: controller.signal,
      ...(live ? { live: live.metrics } : {}),
    });
    progress.end();
    process.stdout.write(`\n${formatSummary(result.summary, { color: Boolean(process.stdout.isTTY) })}\n\n`);
    process.stderr.write(`summary: ${result.summaryPath}\nledgers: ${result.ledgerPaths.join(' ')}\n`);
    if (result.failure) process.stderr.write(`load failed: ${result.failure}\n`);
    return result.exitCode;
  } finally {
    await live?.stop();
    process.off('SIGINT', onSigint);
  }
}

/** --workers N: N worker processes, each its share; their metrics merged into one summary. */
async function runAsCoordinator(
  plan: LoadPlan,
  target: TargetEndpoint,
  out: string,
  count: number,
  opts: LoadCommandOptions,
  signal: AbortSignal,
  live: LiveWatch | undefined,
): Promise<number> {
  process.stderr.write(`${count} worker processes, each ${out}/worker-K (ledgers, metrics, log worker-K.log)\n`);
  live?.metrics.setPlan(plan);
  const result = await runWorkers({
    plan,
    endpoint: target.endpoint,
    count,
    out,
    ...(opts.driver ? { driver: opts.driver } : {}),
    onStart: (ms) => process.stderr.write(`workers started together at ${new Date(ms).toISOString()}\n`),
    onLog: (line) => process.stderr.write(`${line}\n`),
    ...(live ? { onDelta: (d: MetricsDelta) => live.metrics.addDelta(d) } : {}),
    signal,
  });
  process.stdout.write(`\n${formatSummary(result.summary, { color: Boolean(process.stdout.isTTY) })}\n\n`);
  process.stderr.write(`summary (merged): ${result.summaryPath}; worker exit codes ${result.workerExitCodes}\n`);
  if (result.failure) process.stderr.write(`load failed: ${result.failure}\n`);
  return result.exitCode;
}

/**
 * --worker K/N [--barrier DIR]: this process's share; stdout carries NDJSON for the coordinator ({"t":"start"} at
 * the common start, {"t":"metrics"} deltas), the summary goes to stderr.
 */
async function runAsWorker(plan: LoadPlan, target: TargetEndpoint, out: string, opts: LoadCommandOptions) {
  let segment: { index: number; count: number };
  try {
    segment = parseWorkerSpec(opts.worker ?? '');
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.USAGE);
  }
  const emit = (m: unknown) => process.stdout.write(`${JSON.stringify(m)}\n`);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const barrier = opts.barrier;
    const result = await runLoad(plan, target, {
      launcher: launcherFor(opts.driver ?? 'node'),
      out,
      runId: `worker-${segment.index}-of-${segment.count}`,
      segment,
      startGate: async () => {
        const startMs = barrier ? await coordinatedStart(barrier, segment, BARRIER_TIMEOUT_MS) : Date.now();
        emit({ t: 'start', startMs });
      },
      onDelta: (delta) => emit({ t: 'metrics', delta }),
      onLog: (line) => process.stderr.write(`${line}\n`),
      signal: controller.signal,
    });
    process.stderr.write(`\n${formatSummary(result.summary, { color: false })}\n`);
    if (result.failure) process.stderr.write(`load failed: ${result.failure}\n`);
    return result.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** How long a worker waits for the others at the start barrier (pods may be scheduled minutes apart). */
const BARRIER_TIMEOUT_MS = 300_000;
