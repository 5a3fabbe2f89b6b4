/**
 * Store benchmark: appends of 1 KiB records at concurrency 1/16/64 under flush sync and async, printing records/s,
 * p50/p99 append latency and commit log fsyncs per second; then open times (empty dir, a store of N messages after a
 * clean close, and the same store after its index was deleted).
 *
 *   npx tsx bench/store.ts [--duration-ms 3000] [--open-messages 1000000] [--dir /path/on/the/disk/to/test]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FileMessageStore } from '../broker/store/file/file-store.ts';
import type { FlushPolicy, MessageRecord, StoreOptions } from '../broker/store/types.ts';
import { systemClock } from '../lib/clock.ts';

const { values } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '3000' },
    'open-messages': { type: 'string', default: '1000000' },
    dir: { type: 'string', default: tmpdir() },
  },
});
const durationMs = Number(values['duration-ms']);
const openMessages = Number(values['open-messages']);
const baseDir = values.dir;

const BODY = Buffer.alloc(1024, 'x');

function record(queueId: number, n: number): MessageRecord {
  return { topic: 'bench', queueId, body: BODY, props: { messageId: `m-${queueId}-${n}`, messageType: 'NORMAL' } };
}

function options(dataDir: string, flush: FlushPolicy): StoreOptions {
  return { dataDir, flush, flushIntervalMs: 10, segmentBytesMax: 256 * 1024 * 1024 };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface AppendResultRow {
  flush: FlushPolicy;
  concurrency: number;
  recordsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  fsyncsPerSecond: number;
  recordsPerFsync: number;
}

async function benchAppends(flush: FlushPolicy, concurrency: number): Promise<AppendResultRow> {
  const dataDir = mkdtempSync(join(baseDir, 'mqdrill-bench-store-'));
  const store = new FileMessageStore(options(dataDir, flush));
  await store.open();
  const latenciesMs: number[] = [];
  const startedMs = systemClock.monotonicMs();
  const deadlineMs = startedMs + durationMs;
  const worker = async (id: number) => {
    for (let n = 0; systemClock.monotonicMs() < deadlineMs; n++) {
      const t0 = systemClock.monotonicMs();
      await store.append([record(id % 8, n)]);
      latenciesMs.push(systemClock.monotonicMs() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, id) => worker(id)));
  const elapsedS = (systemClock.monotonicMs() - startedMs) / 1000;
  const { flushCount } = store.stats();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    flush,
    concurrency,
    recordsPerSecond: latenciesMs.length / elapsedS,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    fsyncsPerSecond: flushCount / elapsedS,
    recordsPerFsync: flushCount > 0 ? latenciesMs.length / flushCount : Number.NaN,
  };
}

async function timeOpen(dataDir: string): Promise<{ ms: number; scannedBytes: number; cases: string }> {
  const store = new FileMessageStore(options(dataDir, 'async'));
  const t0 = systemClock.monotonicMs();
  const report = await store.open();
  const ms = systemClock.monotonicMs() - t0;
  await store.close();
  const cases = [...new Set(report.actions.map((a) => a.case))].join(',');
  return { ms, scannedBytes: report.logBytesScanned ?? 0, cases };
}

async function benchOpen(): Promise<void> {
  const emptyDir = mkdtempSync(join(baseDir, 'mqdrill-bench-open-'));
  const empty = await timeOpen(emptyDir);
  console.log(`open, empty data dir: ${empty.ms.toFixed(1)} ms`);
  const again = await timeOpen(emptyDir);
  console.log(`open, empty store (second open): ${again.ms.toFixed(1)} ms`);
  rmSync(emptyDir, { recursive: true, force: true });
  if (openMessages <= 0) return;
  const dataDir = mkdtempSync(join(baseDir, 'mqdrill-bench-open-'));
  const store = new FileMessageStore({ ...options(dataDir, 'async'), segmentBytesMax: 1024 * 1024 * 1024 });
  await store.open();
  const small = Buffer.alloc(100, 'y');
  const t0 = systemClock.monotonicMs();
  for (let n = 0; n < openMessages; n += 1000) {
    const batch = Array.from({ length: Math.min(1000, openMessages - n) }, (_, i) => ({
      ...record((n + i) % 8, n + i),
      body: small,
    }));
    await store.append(batch);
  }
  const fillS = (systemClock.monotonicMs() - t0) / 1000;
  const logMiB = store.stats().commitLogBytes / 1024 / 1024;
  await store.close();
  console.log(
    `filled ${openMessages} messages (100 B bodies, 8 queues, ${logMiB.toFixed(0)} MiB log) ` +
      `in ${fillS.toFixed(1)} s, batches of 1000`,
  );
  const clean = await timeOpen(dataDir);
  console.log(`open, ${openMessages} messages, clean: ${clean.ms.toFixed(1)} ms, read ${clean.scannedBytes} log bytes`);
  rmSync(join(dataDir, 'index'), { recursive: true });
  const rebuilt = await timeOpen(dataDir);
  const scannedMiB = (rebuilt.scannedBytes / 1024 / 1024).toFixed(0);
  const what = `${rebuilt.cases}, ${scannedMiB} MiB read`;
  console.log(`open, ${openMessages} messages, index deleted: ${rebuilt.ms.toFixed(0)} ms (${what})`);
  rmSync(dataDir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  console.log(`store bench: node ${process.version}, ${cpus().length} CPUs, dir ${baseDir}, ${durationMs} ms per case`);
  console.log('reproduce: npx tsx bench/store.ts --duration-ms 3000 --open-messages 1000000\n');
  const header = ['flush', 'concurrency', 'records/s', 'p50 ms', 'p99 ms', 'fsyncs/s', 'records/fsync'];
  const rows: string[][] = [];
  for (const flush of ['sync', 'async'] as const) {
    for (const concurrency of [1, 16, 64]) {
      const r = await benchAppends(flush, concurrency);
      rows.push([
        r.flush,
        String(r.concurrency),
        r.recordsPerSecond.toFixed(0),
        r.p50Ms.toFixed(3),
        r.p99Ms.toFixed(3),
        r.fsyncsPerSecond.toFixed(0),
        Number.isNaN(r.recordsPerFsync) ? '-' : r.recordsPerFsync.toFixed(1),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log('');
  await benchOpen();
}

await main();
