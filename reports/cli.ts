import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExitCode } from '../lib/exit-codes.ts';
import { reportProblems, writeReports } from './index.ts';
import type { Report } from './schema.ts';

/** `mqdrill report report.json [--out DIR]`: renders junit.xml, summary.md and report.html again. */
export async function runReportCommand(reportJson: string, opts: { out?: string }): Promise<number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(reportJson, 'utf8'));
  } catch (err) {
    process.stderr.write(`mqdrill report: cannot read ${reportJson}: ${(err as Error).message}\n`);
    return ExitCode.INVALID_SPEC;
  }
  const problems = reportProblems(parsed);
  if (problems.length > 0) {
    process.stderr.write(
      `mqdrill report: ${reportJson} is not a report.json:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    return ExitCode.INVALID_SPEC;
  }
  const out = opts.out ?? dirname(reportJson);
  const paths = await writeReports(parsed as Report, out, {
    json: opts.out !== undefined && out !== dirname(reportJson),
  });
  process.stdout.write(`${paths.join('\n')}\n`);
  return ExitCode.OK;
}
