/**
 * Delay timer throughput and lateness with many messages pending (issue #4), on the real file store and clock.
 *
 *   npx tsx bench/delay.ts [--pending 100000] [--spread-ms 10000]
 *
 * Schedules `pending` DELAY messages due uniformly over `spread-ms` (starting 2 s from now, so all are pending before
 * the first falls due), then reports how many moves per second the timer made and how late each message reached its
 * real topic (p50/p99/max), measured by the timer on the broker clock. Compared side by side: sync and async flush.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { defaultBrokerConfig, startBroker } from '../broker/server.ts';

const { values } = parseArgs({
  options: { pending: { type: 'string', default: '100000' }, 'spread-ms': { type: 'string', default: '10000' } },
});
const pending = Number(values.pending);
const spreadMs = Number(values['spread-ms']);

async function run(flush: 'sync' | 'async') {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `mqdrill-delay-bench-${flush}-`));
  const b = await startBroker({
    ...defaultBrokerConfig,
    dataDir,
    port: 0,
    flush,
    topics: [{ name: 'later', queues: 8, type: 'DELAY' }],
  });
  const firstDueMs = Date.now() + 2_000 + pending / 10; // room to schedule everything before the first is due
  const body = Buffer.alloc(256, 'd');
  const lateness = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000 });
  const t0 = performance.now();
  for (let i = 0; i < pending; i += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, pending - i) }, (_, j) =>
        b.broker.send({
          topic: 'later',
          body,
          props: {
            messageId: `d${i + j}`,
            messageType: 'DELAY',
            deliveryTimestampMs: firstDueMs + ((i + j) * spreadMs) / pending,
          },
        }),
      ),
    );
  }
  const scheduleS = (performance.now() - t0) / 1000;
  const pendingAtFirstDue = b.broker.delayTimer.pendingCount;
  let seen = 0;
  b.broker.onDelayLateness = (ms) => {
    lateness.recordValue(Math.max(1, Math.round(ms)));
    seen++;
  };
  const deadline = Date.now() + firstDueMs - Date.now() + spreadMs + 120_000;
  while (seen < pending && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await b.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return {
    flush,
    pendingAtFirstDue,
    schedulePerSec: Math.round(pending / scheduleS),
    movePerSec: Math.round(pending / (spreadMs / 1000)),
    p50Ms: lateness.getValueAtPercentile(50),
    p99Ms: lateness.getValueAtPercentile(99),
    maxMs: lateness.maxValue,
    samples: seen,
  };
}

const rows = [await run('sync'), await run('async')];
console.log(`\n${pending} DELAY messages due over ${spreadMs} ms, 256-byte bodies, ${os.cpus().length} cores\n`);
console.log('| flush | pending at first due | schedule msg/s | due msg/s | lateness p50 ms | p99 ms | max ms |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${[r.flush, r.pendingAtFirstDue, r.schedulePerSec, r.movePerSec, r.p50Ms, r.p99Ms, r.maxMs].join(' | ')} |`,
  );
}
console.log(`\nreproduce: npx tsx bench/delay.ts --pending ${pending} --spread-ms ${spreadMs}`);
