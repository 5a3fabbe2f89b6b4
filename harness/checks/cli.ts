import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock } from '../../lib/clock.ts';
import { ExitCode } from '../../lib/exit-codes.ts';
import { writeReports } from '../../reports/index.ts';
import { type CounterSnapshot, LedgerFormatError, LedgerWriter } from '../ledger/index.ts';
import { checkLedgers } from './engine.ts';
import { evaluateGates, type Gate, parseGates } from './gates.ts';
import { buildReport } from './report.ts';

/**
 * `mqdrill check LEDGER... [--gates FILE] [--out DIR]`. A LEDGER argument may also be a JSON file of broker
 * counter snapshots (`{"type":"counters","ts":...,"src":...,"in":{...}}` or a list of them) for `reconcile`.
 */
export async function runCheckCommand(ledgers: string[], opts: { gates?: string; out: string }): Promise<number> {
  const say = (text: string) => process.stderr.write(`mqdrill check: ${text}\n`);
  let gates: Gate[] = [];
  if (opts.gates !== undefined) {
    const parsed = await loadGates(opts.gates);
    if (parsed.errors.length > 0) {
      say(`invalid gates file ${opts.gates}:\n${parsed.errors.map((e) => `  - ${e}`).join('\n')}`);
      return ExitCode.INVALID_SPEC;
    }
    gates = parsed.gates;
  }
  let files: string[];
  try {
    files = await withCounterFiles(ledgers, opts.out);
  } catch (err) {
    say((err as Error).message);
    return ExitCode.INVALID_SPEC;
  }
  let result: Awaited<ReturnType<typeof checkLedgers>>;
  try {
    result = await checkLedgers(files, { onProgress: progressLine() });
  } catch (err) {
    if (err instanceof LedgerFormatError || (err as NodeJS.ErrnoException).code === 'ENOENT') {
      say((err as Error).message);
      return ExitCode.INVALID_SPEC;
    }
    throw err;
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  for (const d of result.malformedExamples) {
    say(`${d.file}:${d.line}: ${d.torn ? 'torn last line tolerated' : 'line skipped'}: ${d.problem}`);
  }
  const skipped = result.inputs.reduce((n, l) => n + l.malformed, 0);
  if (skipped > result.malformedExamples.length) {
    say(`${skipped - result.malformedExamples.length} more defective ledger lines (see report.json)`);
  }
  const report = buildReport(result, evaluateGates(gates, result), systemClock.wallMs());
  const paths = await writeReports(report, opts.out);
  // Every checker says how many it judged: "0 of 0" is never a pass on its own (see the notes in summary.md).
  const line = (a: { name: string; verdict: string; count: number; checked: number; allowed: boolean }) =>
    `  ${a.verdict.padEnd(7)} ${a.name.padEnd(12)} ${String(a.count).padStart(8)} of ${a.checked}` +
    (a.allowed ? '  (allowed)' : '');
  process.stdout.write(
    [
      ...report.anomalies.map(line),
      ...report.gates.map((g) => `  ${g.status.padEnd(7)} gate ${g.source}  (actual ${g.actual ?? 'none'})`),
      `${report.verdict.toUpperCase()}: ${report.exitReason}`,
      `reports: ${paths.join(' ')}`,
      '',
    ].join('\n'),
  );
  return report.exitCode;
}

/** A live "records read" line on stderr, only on a terminal (no noise in CI logs). */
function progressLine(): ((records: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let lastMs = 0;
  return (records) => {
    const nowMs = systemClock.monotonicMs();
    if (nowMs - lastMs < 1000) return;
    lastMs = nowMs;
    process.stderr.write(`\rmqdrill check: ${records.toLocaleString('en-US')} records read`);
  };
}

async function loadGates(path: string): Promise<{ gates: Gate[]; errors: string[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { gates: [], errors: [`cannot read it: ${(err as Error).message}`] };
  }
  try {
    return parseGates(JSON.parse(text));
  } catch (err) {
    return { gates: [], errors: [`not JSON: ${(err as Error).message}`] };
  }
}

/** Replaces counter-snapshot JSON files by a small ledger written into the output folder. */
async function withCounterFiles(paths: string[], outDir: string): Promise<string[]> {
  const files: string[] = [];
  const snapshots: CounterSnapshot[] = [];
  for (const path of paths) {
    const head = await firstBytes(path, 512);
    // Only a file that says it holds counters is read as one; anything else is a ledger, and the ledger reader names
    // the file and what is wrong with its first line.
    if (!/^\s*[[{]/.test(head) || !/^\s*\[?\s*\{\s*"type"\s*:\s*"counters"/.test(head)) {
      files.push(path);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new Error(`${path}: a counter snapshot file that is not valid JSON: ${(err as Error).message}`);
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    for (const item of list as Record<string, unknown>[]) {
      if (item?.type !== 'counters' || typeof item.ts !== 'number' || typeof item.src !== 'string') {
        throw new Error(`${path}: neither a ledger nor counter snapshots ({"type":"counters","ts":...,"src":...})`);
      }
      const { type: _type, ...rest } = item;
      snapshots.push({ ...(rest as Omit<CounterSnapshot, 't'>), t: 'ctr' });
    }
  }
  if (snapshots.length > 0) {
    const path = join(outDir, 'counters.ndjson');
    const writer = new LedgerWriter(path, { process: 'counters', role: 'monitor', startedMs: snapshots[0]?.ts ?? 0 });
    for (const s of snapshots.sort((a, b) => a.ts - b.ts)) writer.write(s);
    await writer.close();
    files.push(path);
  }
  return files;
}

async function firstBytes(path: string, count: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
