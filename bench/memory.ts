/**
 * The bundled broker's memory with a deep backlog: N queued 1 KiB messages (default 1,000,000, 8 queues of one
 * topic), then its RSS (VmRSS) idle after start and at its peak while 4 simple consumers (Go driver, official Go
 * client) receive and ack from that backlog, and while producers send at the compare's rate on top.
 *
 *   node --import tsx bench/memory.ts [--messages 1000000] [--consume-s 15] [--flush sync]
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
  },
});
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

/** Samples the broker's RSS every 250 ms while `work` runs; the peak. */
async function peakRss(target: BenchTarget, work: () => Promise<unknown>): Promise<number> {
  const pid = target.pids()[0] ?? 0;
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 250);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssMiB(pid));
}

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
  const target = await startBundledBroker(root, flush, cli, [{ name: topic, type: 'NORMAL' }]);
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const idle = rssMiB(target.pids()[0] ?? 0);
    const conn = { endpoint: target.endpoint, tls: false, namespace: '' };
    let consumed = 0;
    const consuming = await peakRss(target, async () => {
      const r = await runLoad({ scenarios: consumeScenarios(false), ledger: false }, conn, {
        launcher: goDriverLauncher(),
        out: join(root, 'consume'),
      });
      consumed = r.summary.metrics.messages_consumed?.values.count ?? 0;
    });
    const loaded = await peakRss(target, () =>
      runLoad({ scenarios: consumeScenarios(true), ledger: false }, conn, {
        launcher: goDriverLauncher(),
        out: join(root, 'consume-produce'),
      }),
    );
    console.log(
      `bundled broker, ${messages} queued 1 KiB messages (written in ${fillS.toFixed(0)} s), flush ${flush}, ` +
        `load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}\n`,
    );
    console.log('| state | broker RSS MiB |\n| --- | --- |');
    console.log(`| idle after start with the backlog | ${idle.toFixed(0)} |`);
    console.log(
      `| peak, 4 consumers on the backlog for ${consumeS} s (${consumed} consumed) | ${consuming.toFixed(0)} |`,
    );
    console.log(`| peak, the same plus producers at 20,000/s offered | ${loaded.toFixed(0)} |`);
    console.log(`\nreproduce: node --import tsx bench/memory.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
  } finally {
    await target.stop();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
