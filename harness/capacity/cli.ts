/**
 * `mqdrill capacity <scenario> [--target ...] [--slo FILE] ...`: loads the scenario as a drill would (its topics,
 * groups, messages and consumers; its faults are not used), runs the search (run.ts), prints the curve and the
 * verdict, and writes report.json and report.html. Exit: 0 found, 6 limited by the load generator (the target's limit
 * is unknown), 1 lost messages, 3 invalid input, 4 the target failed, 130 interrupted.
 */
import { join } from 'node:path';
import { systemClock } from '../../lib/clock.ts';
import { parseDurationMs } from '../../lib/duration.ts';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { checkDriverFitsTarget, prepareDrill } from '../drill/cli.ts';
import { DEFAULT_SCENARIO } from '../drill/load-spec.ts';
import { type DrillSpec, withRunSuffix } from '../drill/spec.ts';
import { LiveWatch } from '../live/watch.ts';
import type { DriverName } from '../load/driver-names.ts';
import { launcherFor } from '../load/launchers.ts';
import { formatCapacity } from './report.ts';
import { CapacityRun } from './run.ts';
import { DEFAULT_SEARCH, type SearchOptions } from './search.ts';
import { describeSlo, loadSloFile } from './slo.ts';

export interface CapacityCommandOptions {
  target?: string;
  seed?: string;
  flush?: 'sync' | 'async';
  slo?: string;
  startRate?: string;
  factor?: string;
  maxRate?: string;
  precision?: string;
  maxSteps?: string;
  /** commander's --no-confirm. */
  confirm?: boolean;
  step?: string;
  warmUp?: string;
  vus?: string;
  consumers?: string;
  backlog?: string;
  drainWithin?: string;
  driver?: DriverName;
  out?: string;
  testOnlySendDelayMs?: string;
  /** Start a Prometheus scraping the brokers and the harness for the whole search (data in <out>/prometheus). */
  prometheus?: boolean;
}

export const CAPACITY_DEFAULTS = { step: '5s', warmUp: '2s', backlog: '1000000', drainWithin: '10m' };

function num(flag: string, value: string | undefined, rule: { min?: number; integer?: boolean }): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (rule.integer && !Number.isInteger(n)) || (rule.min !== undefined && n < rule.min)) {
    const what = rule.integer ? 'a whole number' : 'a number';
    throw new CliError(`${flag} ${value}: expected ${what}${rule.min !== undefined ? ` >= ${rule.min}` : ''}`, 2);
  }
  return n;
}

function duration(flag: string, value: string): number {
  try {
    return parseDurationMs(value);
  } catch (err) {
    throw new CliError(`${flag}: ${(err as Error).message}`, ExitCode.USAGE);
  }
}

export function searchOptions(opts: CapacityCommandOptions): SearchOptions {
  const s: SearchOptions = {
    startRate: num('--start-rate', opts.startRate, { min: 1 }) ?? DEFAULT_SEARCH.startRate,
    factor: num('--factor', opts.factor, { min: 1.1 }) ?? DEFAULT_SEARCH.factor,
    maxRate: num('--max-rate', opts.maxRate, { min: 1 }) ?? DEFAULT_SEARCH.maxRate,
    precision: num('--precision', opts.precision, { min: 0.01 }) ?? DEFAULT_SEARCH.precision,
    stepsMax: num('--max-steps', opts.maxSteps, { min: 1, integer: true }) ?? DEFAULT_SEARCH.stepsMax,
    minRate: DEFAULT_SEARCH.minRate,
    confirmBreaks: opts.confirm !== false,
  };
  if (s.maxRate < s.startRate) throw new CliError(`--max-rate ${s.maxRate} is below --start-rate ${s.startRate}`, 2);
  return s;
}

/**
 * As a drill does: on a broker that outlives the run (rocketmq keeps its store in the run folder, external is
 * someone else's), group names, and topic names where the target can create topics, get a run suffix so nothing of
 * an earlier run reaches this one.
 */
function withSuffix(spec: DrillSpec, say: (line: string) => void): DrillSpec {
  // Bundled and containers brokers start on fresh data every run: nothing of an earlier run can reach this one.
  if (spec.target.kind === 'bundled' || spec.target.kind === 'containers') return spec;
  const suffix = `-r${(systemClock.wallMs() % 36 ** 6).toString(36)}`;
  const t = spec.target.spec;
  const topics = t.kind === 'rocketmq' || (t.kind === 'external' && (!!t.namesrv || !!t.adminEndpoint));
  say(`run suffix ${suffix} on group${topics ? ' and topic' : ''} names\n`);
  return withRunSuffix(spec, suffix, { topics });
}

function withFlush(spec: DrillSpec, flush: 'sync' | 'async' | undefined): DrillSpec {
  if (flush === undefined) return spec;
  if (spec.target.spec.kind === 'external') {
    throw new CliError('--flush applies to the bundled and rocketmq targets, not to external', ExitCode.USAGE);
  }
  return { ...spec, target: { ...spec.target, spec: { ...spec.target.spec, flush } } };
}

/** The command that runs this search again: every option given, and the seed used. */
export function capacityCommand(scenario: string, spec: DrillSpec, opts: CapacityCommandOptions): string {
  const quote = (v: string) => (/^[\w./:=@%+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  const parts = ['npx', 'mqdrill', 'capacity', quote(scenario), '--seed', String(spec.plan.seed)];
  parts.push('--target', spec.target.kind);
  const flags: Array<[string, string | undefined]> = [
    ['--flush', opts.flush],
    ['--slo', opts.slo],
    ['--start-rate', opts.startRate],
    ['--factor', opts.factor],
    ['--max-rate', opts.maxRate],
    ['--precision', opts.precision],
    ['--max-steps', opts.maxSteps],
    ['--step', opts.step],
    ['--warm-up', opts.warmUp],
    ['--vus', opts.vus],
    ['--consumers', opts.consumers],
    ['--backlog', opts.backlog],
    ['--drain-within', opts.drainWithin],
    ['--driver', opts.driver !== undefined && opts.driver !== 'node' ? opts.driver : undefined],
    ['--no-confirm', opts.confirm === false ? '' : undefined],
    ['--test-only-send-delay-ms', opts.testOnlySendDelayMs],
  ];
  for (const [flag, value] of flags) {
    if (value === '') parts.push(flag);
    else if (value !== undefined) parts.push(flag, quote(value));
  }
  if (opts.prometheus) parts.push('--prometheus');
  return parts.join(' ');
}

export async function runCapacityCommand(scenario: string | undefined, opts: CapacityCommandOptions): Promise<number> {
  const err = process.stderr;
  const name = scenario ?? DEFAULT_SCENARIO;
  const slo = loadSloFile(opts.slo);
  const search = searchOptions(opts);
  const stepMs = duration('--step', opts.step ?? CAPACITY_DEFAULTS.step);
  const warmUpMs = duration('--warm-up', opts.warmUp ?? CAPACITY_DEFAULTS.warmUp);
  if (stepMs < 500) throw new CliError(`--step ${opts.step}: at least 500ms, to measure a p99`, ExitCode.USAGE);
  const delay = num('--test-only-send-delay-ms', opts.testOnlySendDelayMs, { min: 0 });
  const prepared = await prepareDrill(
    name,
    { ...(opts.target ? { target: opts.target } : {}), ...(opts.seed ? { seed: opts.seed } : {}), faults: 'none' },
    (t) => err.write(t),
  );
  if (!prepared) return ExitCode.INVALID_SPEC;
  const spec = withSuffix(withFlush(prepared, opts.flush), (t) => err.write(t));
  checkDriverFitsTarget(spec, opts.driver ?? 'node');
  if (delay && spec.target.kind !== 'bundled') {
    throw new CliError('--test-only-send-delay-ms slows the bundled broker only', ExitCode.USAGE);
  }
  const stamp = new Date(systemClock.wallMs()).toISOString().replace(/[:.]/g, '-');
  const out = opts.out ?? join('runs', `capacity-${spec.name}-${stamp}`);
  const command = capacityCommand(name, spec, opts);
  err.write(`capacity of ${spec.name} on ${spec.target.kind}; SLO: ${describeSlo(slo)}\nout: ${out}\n`);
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(ExitCode.INTERRUPTED);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  // SIGTERM (a CI timeout, a test's spawnSync timeout) stops the search like Ctrl-C, so the target it booted (broker
  // processes, toxiproxy, Prometheus) stops with it instead of outliving the command.
  process.on('SIGTERM', onSigint);
  const say = (line: string) => err.write(`capacity: ${line}\n`);
  // Started before the boot, so a missing prometheus binary fails at once (exit 5); it watches from the boot.
  const live = opts.prometheus ? await LiveWatch.start({ out, say }) : undefined;
  try {
    const report = await new CapacityRun({
      spec,
      out,
      slo,
      search,
      stepMs,
      warmUpMs,
      vus: num('--vus', opts.vus, { min: 1, integer: true }),
      consumers: num('--consumers', opts.consumers, { min: 1, integer: true }),
      planBacklog: num('--backlog', opts.backlog ?? CAPACITY_DEFAULTS.backlog, { min: 1, integer: true }) ?? 1,
      planWithinMs: duration('--drain-within', opts.drainWithin ?? CAPACITY_DEFAULTS.drainWithin),
      launcher: launcherFor(opts.driver ?? 'node'),
      ...(delay ? { brokerConfig: { testOnlySendDelayMs: delay } } : {}),
      signal: controller.signal,
      say,
      command,
      ...(live ? { live } : {}),
    }).execute();
    process.stdout.write(formatCapacity(report));
    process.stdout.write(`report: ${join(out, 'report.html')}\n`);
    return report.exitCode;
  } catch (e) {
    if (controller.signal.aborted) return ExitCode.INTERRUPTED;
    throw e;
  } finally {
    await live?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
