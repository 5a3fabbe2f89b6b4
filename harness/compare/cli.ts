/**
 * `mqdrill compare BASELINE.json CURRENT.json [--tolerance FILE] [--markdown FILE]` and
 * `mqdrill compare --history DIR [--out FILE]`. Exit 0: nothing regressed; 8: something regressed or is missing from
 * the current report (named on stdout); 6: nothing regressed but something cannot be judged (unknown in a report);
 * 3: a file is not a report, the two are of different kinds, or the tolerance file is invalid; 2: bad command line.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { type Comparison, compareFigures, formatMarkdown, formatText, NotComparableError } from './compare.ts';
import { figuresOf, NotAReportError, type ReportFigures } from './figures.ts';
import { readHistory, renderHistoryHtml, spreads } from './history.ts';
import { loadTolerances } from './tolerance.ts';

export interface CompareCommandOptions {
  tolerance?: string;
  markdown?: string;
  history?: string;
  out?: string;
}

function readReport(file: string): ReportFigures {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`${file}: cannot read it as JSON: ${(err as Error).message}`, ExitCode.INVALID_SPEC);
  }
  try {
    return figuresOf(value, file);
  } catch (err) {
    if (err instanceof NotAReportError) throw new CliError(err.message, ExitCode.INVALID_SPEC);
    throw err;
  }
}

function runHistory(dir: string, out: string | undefined): number {
  const { reports, skipped } = readHistory(dir);
  for (const s of skipped) process.stderr.write(`skipped ${s}\n`);
  if (reports.length === 0) {
    throw new CliError(`--history ${dir}: no report.json found under it (give the folder nightly runs are kept in)`, 3);
  }
  const file = out ?? join(dir, 'trend.html');
  writeFileSync(file, renderHistoryHtml(reports));
  const lines = spreads(reports).map((s) => {
    const ratio = Number.isFinite(s.ratio) ? s.ratio.toFixed(2) : 'inf';
    return `  ${s.name.padEnd(44)} ${String(s.runs).padStart(3)} runs  max/min ${ratio}`;
  });
  process.stdout.write(`${reports.length} reports; spread per figure:\n${lines.join('\n')}\ntrend: ${file}\n`);
  return ExitCode.OK;
}

export async function runCompareCommand(
  baseline: string | undefined,
  current: string | undefined,
  opts: CompareCommandOptions,
): Promise<number> {
  if (opts.history !== undefined) {
    if (baseline !== undefined) throw new CliError('--history takes a folder and no report files', ExitCode.USAGE);
    return runHistory(opts.history, opts.out);
  }
  if (baseline === undefined || current === undefined) {
    throw new CliError('give BASELINE.json and CURRENT.json (or --history DIR)', ExitCode.USAGE);
  }
  const overrides = loadTolerances(opts.tolerance);
  let comparison: Comparison;
  try {
    comparison = compareFigures(readReport(baseline), readReport(current), overrides);
  } catch (err) {
    if (err instanceof NotComparableError) throw new CliError(err.message, ExitCode.INVALID_SPEC);
    throw err;
  }
  process.stdout.write(formatText(comparison));
  const markdown = formatMarkdown(comparison);
  if (opts.markdown) writeFileSync(opts.markdown, markdown);
  // GitHub Actions shows what a step appends to this file as the job summary.
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (!opts.markdown && summary) appendFileSync(summary, markdown);
  if (comparison.regressions.length > 0) return ExitCode.REGRESSED;
  return comparison.unknowns.length > 0 ? ExitCode.CHECK_UNKNOWN : ExitCode.OK;
}
