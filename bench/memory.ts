/**
 * The bundled broker's memory with a deep backlog: N queued 1 KiB messages (default 1,000,000, 8 queues of one
 * topic), then its RSS (VmRSS) idle after start and at its peak while 4 simple consumers (Go driver, official Go
 * client) receive and ack from that backlog, and while producers send at the compare's rate on top.
 *
 *   node --import tsx bench/memory.ts [--messages 1000000] [--consume-s 15] [--flush sync] [--node-args=ARGS]
 *
 * Each state's row splits the RSS as the broker sees it (its mqdrill_process_memory_bytes gauge, sampled every 500 ms
 * on its admin port): V8's heap, memory outside it (Buffers: records read and written, socket data), and the rest
 * (code, thread stacks, the tsx loader thread, the allocator's free pages).
 *
 * The backlog is written straight into the broker's store directory (FileMessageStore, the broker's own store
 * code, records shaped as the broker stores a send) while the broker is stopped: sending 1M through gRPC would take
 * minutes and measure nothing more about memory. The broker then starts on it as after any restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FileMessageStore } from '../broker/store/file/file-store.ts';
import type { MessageRecord } from '../broker/store/types.ts';
import { runLoad } from '../harness/load/engine.ts';
import { goDriverLauncher } from '../harness/load/launchers.ts';
import { type BenchTarget, startBundledBroker } from './bundled-target.ts';
import { rssMiB } from './proc.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    'consume-s': { type: 'string', default: '15' },
    flush: { type: 'string', default: 'sync' },
    'node-args': { type: 'string', default: '' },
  },
});
/** Extra node options for the broker process, e.g. `--node-args=--max-semi-space-size=8` (V8 young generation). */
const nodeArgs = String(values['node-args'])
  .split(' ')
  .filter((a) => a !== '');
const messages = Number(values.messages);
const consumeS = Number(values['consume-s']);
const flush = values.flush === 'async' ? 'async' : 'sync';
const cli = resolve(import.meta.dirname, '../bin/mqdrill.mjs');
const topic = 'bench-queued';
const body = Buffer.alloc(1024, 'm');

async function fillStore(storeDir: string): Promise<number> {
  const store = new FileMessageStore({
    dataDir: storeDir,
    flush: 'async',
    flushIntervalMs: 100,
    segmentBytesMax: 1 << 30,
  });
  await store.open();
  const t0 = Date.now();
  const batch = 500;
  const record = (n: number): MessageRecord => ({
    topic,
    queueId: n % 8,
    body,
    props: { messageId: `01MEMBENCH${n.toString(16).padStart(16, '0')}`, messageType: 'NORMAL', bornHost: '127.0.0.1' },
  });
  for (let n = 0; n < messages; n += batch * 8) {
    const calls = [];
    for (let k = 0; k < 8 && n + k * batch < messages; k++) {
      const from = n + k * batch;
      calls.push(store.append(Array.from({ length: Math.min(batch, messages - from) }, (_, i) => record(from + i))));
    }
    await Promise.all(calls);
  }
  await store.close();
  return (Date.now() - t0) / 1000;
}

/** The broker's own view of its memory (MiB), from its mqdrill_process_memory_bytes gauge. */
interface Breakdown {
  rss: number;
  heap_total: number;
  heap_used: number;
  external: number;
  array_buffers: number;
}

async function breakdown(target: BenchTarget): Promise<Breakdown | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${target.adminPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^mqdrill_process_memory_bytes\{kind="(\w+)"\} (\d+)/gm)) {
      out[m[1] as string] = Number(m[2]) / 2 ** 20;
    }
    return out.rss === undefined ? undefined : (out as unknown as Breakdown);
  } catch {
    return undefined; // a scrape slower than 5 s on a busy machine: this sample is skipped
  }
}

/** Samples the broker's memory every 500 ms while `work` runs; the sample with the highest RSS. */
async function peakMemory(target: BenchTarget, work: () => Promise<unknown>): Promise<Breakdown> {
  let peak: Breakdown = (await breakdown(target)) ?? {
    rss: 0,
    heap_total: 0,
    heap_used: 0,
    external: 0,
    array_buffers: 0,
  };
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const b = await breakdown(target);
      if (b && b.rss > peak.rss) peak = b;
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    await work();
  } finally {
    done = true;
    await sampler;
  }
  return peak;
}

const row = (state: string, b: Breakdown) => {
  const other = b.rss - b.heap_total - b.external;
  const cells = [b.rss, b.heap_total, b.heap_used, b.external, b.array_buffers, other].map((x) => x.toFixed(0));
  return `| ${state} | ${cells.join(' | ')} |`;
};

function consumeScenarios(withProducer: boolean): Record<string, unknown> {
  const consume = {
    executor: 'constant-vus',
    vus: 4,
    duration: `${consumeS}s`,
    role: 'consumer',
    consumer: {
      group: `mem-g-${Date.now().toString(36)}`,
      topic,
      kind: 'simple',
      awaitDuration: '5s',
      receiveBatchSize: 32,
    },
  };
  if (!withProducer) return { consume };
  const produce = {
    executor: 'constant-arrival-rate',
    rate: 20000,
    duration: `${consumeS}s`,
    preAllocatedVUs: 128,
    maxVUs: 256,
    gracefulStop: '5s',
    role: 'producer',
    message: { type: 'NORMAL', topic, bodySizeBytes: 1024 },
  };
  return { produce, consume };
}

const root = mkdtempSync(join(tmpdir(), 'mqdrill-bench-memory-'));
try {
  // A first start creates the topic (the broker's metadata); the backlog is written while it is stopped.
  await (await startBundledBroker(root, flush, cli, [{ name: topic, type: 'NORMAL' }])).stop();
  const fillS = await fillStore(join(root, 'data', 'store'));
  const target = await startBundledBroker(root, flush, cli, [{ name: topic, type: 'NORMAL' }], nodeArgs);
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const idle = (await breakdown(target)) ?? {
      rss: rssMiB(target.pids()[0] ?? 0),
      heap_total: 0,
      heap_used: 0,
      external: 0,
      array_buffers: 0,
    };
    const conn = { endpoint: target.endpoint, tls: false, namespace: '' };
    let consumed = 0;
    let acked = 0;
    const consuming = await peakMemory(target, async () => {
      const r = await runLoad({ scenarios: consumeScenarios(false), ledger: false }, conn, {
        launcher: goDriverLauncher(),
        out: join(root, 'consume'),
      });
      consumed = r.summary.metrics.messages_consumed?.values.count ?? 0;
    });
    const loaded = await peakMemory(target, async () => {
      const r = await runLoad({ scenarios: consumeScenarios(true), ledger: false }, conn, {
        launcher: goDriverLauncher(),
        out: join(root, 'consume-produce'),
      });
      acked = r.summary.metrics.messages_acked?.values.count ?? 0;
    });
    console.log(
      `bundled broker, ${messages} queued 1 KiB messages (written in ${fillS.toFixed(0)} s), flush ${flush}, ` +
        `load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}\n`,
    );
    console.log('| state | RSS MiB | V8 heap total | heap used | external | array buffers | RSS - heap - external |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    console.log(row('idle after start with the backlog', idle));
    console.log(row(`peak, 4 consumers on the backlog for ${consumeS} s (${consumed} consumed)`, consuming));
    console.log(row(`peak, the same plus producers at 20,000/s offered (${acked} acked)`, loaded));
    console.log("\n(every column but RSS is the broker's process.memoryUsage() at the sample of highest RSS)");
    console.log(`\nreproduce: node --import tsx bench/memory.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
  } finally {
    await target.stop();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
