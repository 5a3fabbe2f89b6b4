import { CliError, ExitCode, type ExitCodeValue } from '../../lib/exit-codes.ts';
import { type CheckRow, type Component, componentAliases, components, prerequisiteRow } from './components.ts';
import { checkDebianPackage, type DebianPackage, installDebianPackages } from './debian-packages.ts';
import { displayPath, toolsDir } from './paths.ts';
import type { PrerequisiteName } from './prerequisites.ts';
import { consoleLog, type Log } from './shell.ts';

export interface SetupOptions {
  check?: boolean;
  only?: string;
}

/** `mqdrill setup [--check] [--only a,b]`: install (or only check) what the harness needs into .tools/. */
export async function runSetupCommand(opts: SetupOptions = {}): Promise<ExitCodeValue> {
  const selected = selectComponents(opts.only);
  return opts.check ? runCheck(selected) : runInstall(selected, consoleLog);
}

/** Resolves `--only`; unknown names are a usage error that lists the known ones. */
export function selectComponents(only: string | undefined): Component[] {
  if (only === undefined) return [...components];
  const names = only
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const known = new Set(components.map((c) => c.name));
  const unknown = names.filter((name) => !known.has(name) && componentAliases[name] === undefined);
  if (names.length === 0 || unknown.length > 0) {
    const choices = [...known, ...Object.keys(componentAliases)].join(', ');
    const what = names.length === 0 ? '--only needs at least one name' : `unknown tool(s) for --only: ${unknown}`;
    throw new CliError(`${what} (known: ${choices})`, ExitCode.USAGE);
  }
  const wanted = new Set(names.flatMap((name) => componentAliases[name] ?? [name]));
  return components.filter((c) => wanted.has(c.name));
}

async function runCheck(selected: readonly Component[]): Promise<ExitCodeValue> {
  const prerequisites = [...new Set(selected.flatMap((c) => c.prerequisites))] as PrerequisiteName[];
  const rows: CheckRow[] = [];
  for (const name of prerequisites) rows.push(await prerequisiteRow(name));
  for (const component of selected) rows.push(...(await component.check()));
  process.stdout.write(formatTable(rows));
  const missing = rows.filter((row) => row.status === 'missing' || row.status === 'stale');
  if (missing.length === 0) {
    process.stdout.write(`all ${rows.length} tools are in place (cache: ${displayPath(toolsDir())})\n`);
    return ExitCode.OK;
  }
  for (const row of missing) process.stderr.write(`mqdrill setup: ${row.tool} is ${row.status}: ${row.hint ?? ''}\n`);
  return ExitCode.SETUP_MISSING;
}

export function formatTable(rows: readonly CheckRow[]): string {
  const header = { tool: 'tool', version: 'version', path: 'path', status: 'status' };
  const cells = [header, ...rows].map((row) => [row.tool, row.version, row.path, row.status]);
  const widths = [0, 1, 2].map((column) => Math.max(...cells.map((line) => line[column]!.length)));
  const lines = cells.map((line) =>
    line.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell)).join('  '),
  );
  return `${lines.join('\n')}\n`;
}

async function runInstall(selected: readonly Component[], log: Log): Promise<ExitCodeValue> {
  const startedMs = Date.now();
  log(`installing into ${toolsDir()}: ${selected.map((c) => c.name).join(', ')}`);
  const problems: string[] = [];
  const attempt = async (name: string, step: () => Promise<void>) => {
    const stepStartedMs = Date.now();
    try {
      await step();
    } catch (err) {
      problems.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      log(`${name}: FAILED (see the summary below)`);
    }
    const tookMs = Date.now() - stepStartedMs;
    if (tookMs >= 1000) log(`${name}: took ${(tookMs / 1000).toFixed(1)}s`);
  };
  for (const component of selected) {
    if (component.install) await attempt(component.name, () => component.install!(log));
  }
  const debian = selected.flatMap((c) => (c.debianPackage ? [c.debianPackage] : []));
  if (debian.length > 0) await attempt('debian packages', () => installMissingDebianPackages(debian, log));
  const tookSeconds = ((Date.now() - startedMs) / 1000).toFixed(1);
  if (problems.length === 0) {
    log(`done in ${tookSeconds}s; \`mqdrill setup --check\` shows what is installed`);
    return ExitCode.OK;
  }
  process.stderr.write(`mqdrill setup: ${problems.length} problem(s) after ${tookSeconds}s:\n`);
  for (const problem of problems) process.stderr.write(`  - ${problem}\n`);
  return ExitCode.SETUP_MISSING;
}

async function installMissingDebianPackages(packages: readonly DebianPackage[], log: Log): Promise<void> {
  const missing: DebianPackage[] = [];
  for (const pkg of packages) {
    const status = await checkDebianPackage(pkg);
    if (status.path === undefined) missing.push(pkg);
    else log(`${pkg.packageName} ${status.version}: already installed (${status.path})`);
  }
  await installDebianPackages(missing, log);
}
