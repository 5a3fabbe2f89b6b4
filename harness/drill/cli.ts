/**
 * `mqdrill drill [scenario | spec file] [--target bundled|rocketmq|external] [--seed N] [--duration D]
 * [--rate-scale F] [--vus N] [--body-size SIZE] [--faults none|FILE] [--out DIR] [--list] [--dry-run]`.
 * Validates the spec before anything boots (every problem at once, exit 3), prints what will run, shows progress on
 * stderr, and ends on stdout with the verdict, the gate table and the path of report.html. The exit code is the
 * verdict (lib/exit-codes.ts). Ctrl-C heals every fault, stops the target and exits 130.
 */
import { join } from 'node:path';
import { systemClock } from '../../lib/clock.ts';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { formatMs } from '../../reports/format.ts';
import { LiveWatch } from '../live/watch.ts';
import type { DriverName } from '../load/driver-names.ts';
import { launcherFor } from '../load/launchers.ts';
import { describeDrill } from './describe.ts';
import { DEFAULT_SCENARIO, loadDrillModule, resolveDrill } from './load-spec.ts';
import { formatDryRun, listScenarios, loadFaultsOption } from './plan-view.ts';
import { type DrillResult, runDrill } from './run.ts';
import { type DrillOverrides, type DrillSpec, validateDrill } from './spec.ts';
import { formatGateTable } from './verdict.ts';

export interface DrillCommandOptions extends Omit<DrillOverrides, 'faults'> {
  out?: string;
  /** `none` (no faults) or a JSON file holding a `drill.faults` list; replaces the spec's faults. */
  faults?: string;
  /** Print the built-in scenarios and exit. */
  list?: boolean;
  /** Validate, print the resolved plan and fault schedule, boot nothing. */
  dryRun?: boolean;
  /**
   * Which official client drives the load: node (worker threads), go, java (the 5.x gRPC Java client) or
   * java-remoting (the 4.x-API Java client over the name server and broker TCP); the last three are programs
   * `mqdrill setup` builds.
   */
  driver?: DriverName;
  /** Start a Prometheus scraping the brokers and the harness for the run (data in <out>/prometheus). */
  prometheus?: boolean;
  /** Run the load in N worker processes. */
  workers?: string;
}

/** Loads and validates a drill; prints every problem and returns undefined when it is invalid. */
export async function prepareDrill(
  nameOrPath: string,
  opts: DrillCommandOptions,
  write: (text: string) => void,
): Promise<DrillSpec | undefined> {
  const { name, path } = resolveDrill(nameOrPath);
  const module = await loadDrillModule(path);
  const {
    faults,
    list: _list,
    dryRun: _dryRun,
    out: _out,
    driver: _driver,
    prometheus: _prom,
    workers: _w,
    ...rest
  } = opts;
  const overrides: DrillOverrides = { ...rest, ...(faults === undefined ? {} : { faults: loadFaultsOption(faults) }) };
  const { spec, errors } = validateDrill(name, path, module, overrides);
  if (spec) return spec;
  write(`invalid drill ${path} (${errors.length} problem${errors.length === 1 ? '' : 's'}; nothing was started):\n`);
  for (const e of errors) write(`  - ${e}\n`);
  return undefined;
}

/** A progress reporter: rewrites one line on a TTY, prints a line every 5 s otherwise. */
function progressPrinter(stream: NodeJS.WriteStream) {
  let lastMs = Number.NEGATIVE_INFINITY;
  let shown = false;
  return {
    print(line: string) {
      if (stream.isTTY) {
        stream.write(`\r\u001b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
        shown = true;
        return;
      }
      const nowMs = systemClock.monotonicMs();
      if (nowMs - lastMs < 5000) return;
      lastMs = nowMs;
      stream.write(`${line}\n`);
    },
    clear() {
      if (shown) stream.write('\r\u001b[2K');
      shown = false;
    },
  };
}

export async function runDrillCommand(scenario: string | undefined, opts: DrillCommandOptions): Promise<number> {
  const err = process.stderr;
  if (opts.list) {
    if (scenario !== undefined) throw new CliError('--list takes no scenario: it lists them all', ExitCode.USAGE);
    process.stdout.write(await listScenarios());
    return ExitCode.OK;
  }
  const spec = await prepareDrill(scenario ?? DEFAULT_SCENARIO, opts, (t) => err.write(t));
  if (!spec) return ExitCode.INVALID_SPEC;
  checkDriverFitsTarget(spec, opts.driver ?? 'node');
  if (opts.dryRun) {
    process.stdout.write(formatDryRun(spec));
    return ExitCode.OK;
  }
  const stamp = new Date(systemClock.wallMs()).toISOString().replace(/[:.]/g, '-');
  const out = opts.out ?? join('runs', `${spec.name}-${stamp}`);
  err.write(`${describeDrill(spec)}\nout: ${out}\n`);
  const progress = progressPrinter(err);
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(ExitCode.INTERRUPTED);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const say = (line: string) => {
    progress.clear();
    err.write(`drill: ${line}\n`);
  };
  let result: DrillResult;
  const live = opts.prometheus ? await LiveWatch.start({ out, say }) : undefined;
  try {
    result = await runDrill({
      spec,
      out,
      launcher: launcherFor(opts.driver ?? 'node'),
      driver: opts.driver ?? 'node',
      signal: controller.signal,
      say,
      progress: (line) => progress.print(line),
      command: reproduceCommand(spec, opts),
      ...(live ? { live } : {}),
      ...workersOf(opts),
    });
  } finally {
    await live?.stop();
    progress.clear();
    process.off('SIGINT', onSigint);
  }
  process.stdout.write(formatResult(result));
  return result.exitCode;
}

/**
 * `--driver java-remoting` speaks RocketMQ's remoting protocol (name server + broker TCP): the bundled broker serves
 * only gRPC, and an external target needs a name server. Refused before anything boots (exit 2, USAGE).
 */
export function checkDriverFitsTarget(spec: DrillSpec, driver: DriverName): void {
  if (driver !== 'java-remoting') return;
  const t = spec.target.spec;
  if (t.kind === 'bundled') {
    throw new CliError(
      "--driver java-remoting speaks RocketMQ's remoting protocol (name server + broker TCP), which the bundled " +
        'broker does not serve (it speaks gRPC only): use --target rocketmq, or --target external with ' +
        'MQDRILL_NAMESRV, or drive the bundled broker with --driver node, go or java',
      ExitCode.USAGE,
    );
  }
  if (t.kind === 'external' && !t.namesrv) {
    throw new CliError(
      '--driver java-remoting needs the name server of the external target: set MQDRILL_NAMESRV=host:port',
      ExitCode.USAGE,
    );
  }
}

function workersOf(opts: DrillCommandOptions): { workers?: number } {
  if (opts.workers === undefined) return {};
  const workers = Number(opts.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new CliError(`--workers ${opts.workers}: expected a whole number >= 1`, ExitCode.USAGE);
  }
  return { workers };
}

/** The command that runs this drill again: the scenario, the seed it used and every override given. */
export function reproduceCommand(spec: DrillSpec, opts: DrillCommandOptions): string {
  const quote = (v: string) => (/^[\w./:=@%+-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  const parts = [
    'npx',
    'mqdrill',
    'drill',
    quote(spec.source.endsWith(`scenarios/${spec.name}.ts`) ? spec.name : spec.source),
  ];
  parts.push('--seed', String(spec.plan.seed), '--target', spec.target.kind);
  const flags: Array<[string, string | number | undefined]> = [
    ['--broker', spec.target.broker],
    ['--nodes', opts.nodes],
    ['--duration', opts.duration],
    ['--rate-scale', opts.rateScale],
    ['--vus', opts.vus],
    ['--body-size', opts.bodySize],
    ['--faults', opts.faults],
    ['--driver', opts.driver === undefined || opts.driver === 'node' ? undefined : opts.driver],
    ['--workers', opts.workers],
  ];
  if (opts.prometheus) parts.push('--prometheus');
  for (const [flag, value] of flags) if (value !== undefined) parts.push(flag, quote(String(value)));
  return parts.join(' ');
}

export function formatResult(result: DrillResult): string {
  const lines: string[] = [''];
  const report = result.report;
  if (report) {
    lines.push(`${report.verdict.toUpperCase()}: ${report.exitReason}`, formatGateTable(report));
  } else {
    lines.push(`NO VERDICT: the drill ended before its check (exit ${result.exitCode})`);
  }
  // The drain time is the report's (report.drainMs), the same figure the gate table and every report file show.
  const took = result.drainMs === undefined ? '' : ` in ${formatMs(result.drainMs)} (last ack after the drain start)`;
  const drain = result.drained ? `drained${took}` : `not drained before the deadline (consumed${took})`;
  lines.push(`drill took ${formatMs(result.durationMs)}; ${drain}`);
  const html = result.reportPaths.find((p) => p.endsWith('report.html'));
  if (html) lines.push(`report: ${html}`);
  lines.push(`exit code ${result.exitCode}`, '');
  return lines.join('\n');
}
