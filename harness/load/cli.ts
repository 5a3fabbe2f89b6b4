/**
 * `mqdrill load <scenario> --endpoint HOST:PORT [--driver node|go|java|java-remoting] [--out DIR]`: runs a k6-style
 * scenario module against a running broker. Credentials, TLS and the name server (for java-remoting) come from the
 * environment (MQDRILL_ACCESS_KEY, MQDRILL_SECRET_KEY, MQDRILL_NAMESPACE, MQDRILL_TLS=1, MQDRILL_NAMESRV), so they
 * stay out of shell history. Prints the description before anything
 * runs, a progress line on stderr, and the k6-style summary on stdout; returns the exit code (99: a threshold failed).
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { specExports } from '../drill/load-spec.ts';
import { LiveWatch } from '../live/watch.ts';
import type { DriverName } from './driver-names.ts';
import { runLoad } from './engine.ts';
import { launcherFor } from './launchers.ts';
import { describe, validateOptions } from './options.ts';
import type { TargetEndpoint } from './protocol.ts';
import { formatSummary } from './summary.ts';

export interface LoadCommandOptions {
  endpoint: string;
  driver?: DriverName;
  out?: string;
  /** Start a Prometheus scraping the endpoint's /metrics and the engine's for the run (data in <out>/prometheus). */
  prometheus?: boolean;
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

export async function runLoadCommand(scenario: string, opts: LoadCommandOptions): Promise<number> {
  const path = resolveScenario(scenario);
  const options = await loadOptions(path);
  const { plan, errors } = validateOptions(options);
  if (!plan) {
    process.stderr.write(`invalid scenario ${path} (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n`);
    for (const e of errors) process.stderr.write(`  ${e}\n`);
    return ExitCode.INVALID_SPEC;
  }
  const target = targetFromEnvironment(opts.endpoint);
  const launcher = launcherFor(opts.driver ?? 'node');
  const name = basename(path).replace(/\.[mc]?[tj]s$/, '');
  const out = opts.out ?? join('runs', `load-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  process.stderr.write(`${describe(plan)}\nendpoint ${target.endpoint}, driver ${opts.driver ?? 'node'}, out ${out}\n`);
  const progress = progressPrinter(process.stderr);
  const live = opts.prometheus
    ? await LiveWatch.start({ out, say: (line) => process.stderr.write(`load: ${line}\n`) })
    : undefined;
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    // A bundled broker serves /metrics on its access port; another broker's port just shows as down in Prometheus.
    await live?.watch(target.endpoint.split(';'));
    const result = await runLoad(plan, target, {
      launcher,
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
