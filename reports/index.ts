import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { REPORT_SCHEMA, REPORT_VERSION, type Report } from './schema.ts';

export { renderHtml } from './html.ts';
export { renderJunit } from './junit.ts';
export { renderMarkdown } from './markdown.ts';
export * from './schema.ts';

export const REPORT_FILES = ['report.json', 'junit.xml', 'summary.md', 'report.html'] as const;

/**
 * The report with every file path relative to the report's folder (ledgers, examples, the spec), so the four files
 * can be attached to a ticket or moved with their folder and show no machine's absolute paths.
 */
export function withRelativePaths(report: Report, dir: string): Report {
  const rel = (path: string) => (isAbsolute(path) ? relative(dir, path) || '.' : path);
  const meta = { ...report.run.meta };
  if (typeof meta.source === 'string') meta.source = rel(meta.source);
  return {
    ...report,
    run: { ...report.run, meta },
    inputs: {
      ledgers: report.inputs.ledgers.map((l) => ({ ...l, path: rel(l.path) })),
      malformedExamples: report.inputs.malformedExamples.map((m) => ({ ...m, file: rel(m.file) })),
    },
    anomalies: report.anomalies.map((a) => ({ ...a, examples: a.examples.map((e) => ({ ...e, file: rel(e.file) })) })),
  };
}

/** Writes report.json, junit.xml, summary.md and report.html into dir (paths relative to it); returns their paths. */
export async function writeReports(given: Report, dir: string, options: { json?: boolean } = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const report = withRelativePaths(given, resolve(dir));
  const outputs: [string, string][] = [
    ['junit.xml', renderJunit(report)],
    ['summary.md', renderMarkdown(report)],
    ['report.html', renderHtml(report)],
  ];
  if (options.json !== false) outputs.unshift(['report.json', `${JSON.stringify(report, null, 1)}\n`]);
  const paths: string[] = [];
  for (const [name, text] of outputs) {
    const path = join(dir, name);
    await writeFile(path, text);
    paths.push(path);
  }
  return paths;
}

/** Checks that a parsed JSON document is a report this version can render; returns the problems. */
export function reportProblems(value: unknown): string[] {
  const r = value as Partial<Report> | null;
  if (typeof r !== 'object' || r === null) return ['not a JSON object'];
  if (r.schema !== REPORT_SCHEMA) return [`"schema" must be "${REPORT_SCHEMA}" (is ${JSON.stringify(r.schema)})`];
  if (r.version !== REPORT_VERSION) return [`report version ${r.version} is not supported (this mqdrill renders 1)`];
  const problems: string[] = [];
  for (const key of ['anomalies', 'gates', 'faults', 'phases'] as const) {
    if (!Array.isArray(r[key])) problems.push(`"${key}" must be a list`);
  }
  for (const key of ['timeline', 'run', 'counts', 'latencies', 'inputs', 'checkStats'] as const) {
    if (typeof r[key] !== 'object' || r[key] === null) problems.push(`"${key}" must be an object`);
  }
  return problems;
}
