/**
 * Benchmark of `mqdrill check`: generates ledgers of N client operations (send, receive, ack: one message is three
 * operations and five ledger lines) in four files (2 producers, 2 consumers), checks them in a child process, and
 * prints time, peak RSS and operations per second. Goal (issue #5): 10M operations in < 60 s and < 2 GiB, linear.
 *
 *   npx tsx bench/checks.ts                  # 1M and 10M operations
 *   npx tsx bench/checks.ts --ops 1e6,3e6    # other sizes
 *   npx tsx bench/checks.ts --keep           # keep the generated ledgers in test-artifacts/bench-checks
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '1e6,1e7' },
    dir: { type: 'string', default: 'test-artifacts/bench-checks' },
    keep: { type: 'boolean', default: false },
    child: { type: 'string' },
  },
});

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((r) => stream.once('drain', () => r()));
}

async function close(stream: WriteStream): Promise<void> {
  await new Promise<void>((r) => stream.end(r));
}

/** Writes ledgers with `messages` messages; returns the files. Deterministic: message i is sent at t0 + i * 50 µs. */
async function generate(dir: string, messages: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const names = ['producer-1', 'producer-2', 'consumer-1', 'consumer-2'];
  const files = names.map((n) => join(dir, `${n}.ndjson`));
  const streams = files.map((f) => createWriteStream(f, { highWaterMark: 1 << 20 }));
  const t0 = 1_700_000_000_000;
  const subscriptions = [{ group: 'orders-cg', topic: 'orders', fifo: true }];
  for (const [k, s] of streams.entries()) {
    const header = { type: 'header', version: 1, process: names[k], startedMs: t0, subscriptions, drainSloMs: 600_000 };
    await write(s, `${JSON.stringify(header)}\n`);
  }
  const chunks: string[][] = names.map(() => []);
  const flush = async () => {
    for (const [k, s] of streams.entries()) {
      await write(s, (chunks[k] as string[]).join(''));
      chunks[k] = [];
    }
  };
  const seq = new Int32Array(1000);
  for (let i = 0; i < messages; i++) {
    const p = i & 1;
    const ts = t0 + i * 0.05;
    const key = i % 1000;
    const q = (seq[key] as number) + 1;
    seq[key] = q;
    const id = `p${p}-${i}`;
    const tag = i % 3 === 0 ? 'paid' : 'cart';
    const send = `{"t":"si","ts":${ts},"o":${i},"id":"${id}","tp":"orders","g":"k${key}","q":${q},"tg":"${tag}"}\n`;
    const done = `{"t":"sc","ts":${ts + 1.5},"o":${i},"id":"${id}","r":"ok","d":1.5,"bid":"B${i.toString(16)}"}\n`;
    const c = 2 + p;
    const bid = `B${i.toString(16)}`;
    const recv = `{"t":"rm","ts":${ts + 3},"cg":"orders-cg","c":"c${p}","id":"${id}","bid":"${bid}","a":1}\n`;
    const ack = `{"t":"ai","ts":${ts + 4},"o":${i},"cg":"orders-cg","c":"c${p}","id":"${id}"}\n`;
    const acked = `{"t":"ac","ts":${ts + 4.6},"o":${i},"id":"${id}","r":"ok","d":0.6}\n`;
    (chunks[p] as string[]).push(send, done);
    (chunks[c] as string[]).push(recv, ack, acked);
    if ((i & 0x3fff) === 0x3fff) await flush();
  }
  const endTs = t0 + messages * 0.05 + 10;
  (chunks[0] as string[]).push(`{"t":"ph","ts":${endTs},"n":"drain","s":"start"}\n`);
  (chunks[0] as string[]).push(`{"t":"ph","ts":${endTs + 1},"n":"drain","s":"end"}\n`);
  await flush();
  await Promise.all(streams.map(close));
  return files;
}

/** In the child: check and print one JSON line with the result and the true peak RSS. */
async function child(files: string[]): Promise<void> {
  const { checkLedgers } = await import('../harness/checks/engine.ts');
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const result = await checkLedgers(files);
  const durationMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const failed = result.anomalies.filter((a) => a.verdict !== 'pass').map((a) => `${a.name}:${a.verdict}`);
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    `${JSON.stringify({ durationMs, cpuMs, maxRssBytes, records: result.stats.records, failed })}\n`,
  );
}

async function main(): Promise<void> {
  if (values.child !== undefined) return child(values.child.split(','));
  const sizes = (values.ops as string).split(',').map(Number);
  const dir = resolve(values.dir as string);
  const rows: { ops: number; seconds: number; opsPerSecond: number; rssMiB: number }[] = [];
  for (const ops of sizes) {
    const messages = Math.round(ops / 3);
    const runDir = join(dir, `ops-${ops}`);
    const genStart = performance.now();
    const files = await generate(runDir, messages);
    const genSeconds = (performance.now() - genStart) / 1000;
    const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/checks.ts', '--child', files.join(',')], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    if (run.status !== 0) throw new Error(`check failed: ${run.stderr}`);
    const r = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
    const seconds = r.durationMs / 1000;
    const rssMiB = r.maxRssBytes / 2 ** 20;
    const cpuSeconds = r.cpuMs / 1000;
    rows.push({ ops, seconds, opsPerSecond: ops / seconds, rssMiB });
    process.stdout.write(
      `${ops.toExponential(0)} ops (${messages} messages, ${r.records} records, ` +
        `${(bytes / 2 ** 20).toFixed(0)} MiB): ` +
        `generated in ${genSeconds.toFixed(1)} s; checked in ${seconds.toFixed(1)} s = ` +
        `${Math.round(ops / seconds).toLocaleString('en-US')} ops/s (CPU ${cpuSeconds.toFixed(1)} s, ` +
        `${Math.round(ops / cpuSeconds).toLocaleString('en-US')} ops per CPU-second), ` +
        `peak RSS ${rssMiB.toFixed(0)} MiB; ` +
        `verdicts ${r.failed.length === 0 ? 'all pass' : r.failed.join(' ')}\n`,
    );
    if (!values.keep) rmSync(runDir, { recursive: true, force: true });
  }
  if (rows.length > 1) {
    const [a, b] = [rows[0], rows.at(-1)] as [(typeof rows)[0], (typeof rows)[0]];
    process.stdout.write(
      `scaling ${a.ops.toExponential(0)} -> ${b.ops.toExponential(0)}: time x${(b.seconds / a.seconds).toFixed(1)} ` +
        `for x${(b.ops / a.ops).toFixed(0)} operations (ops/s ratio ${(b.opsPerSecond / a.opsPerSecond).toFixed(2)})\n`,
    );
  }
  process.stdout.write(`reproduce: npx tsx bench/checks.ts --ops ${sizes.join(',')}\n`);
}

await main();
