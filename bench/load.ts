/**
 * How many messages/s one load process (node driver, rocketmq-client-nodejs in worker threads) sustains against the
 * bundled broker, 1 KiB messages, with the ledger off and on in the same run, printing the ratio.
 *
 *   node --import tsx bench/load.ts [durationS=10] [rate=3000] [workers=1]
 *
 * The arrival rate is set above what the stack can do, so the achieved rate is the ceiling and the rest shows up
 * as dropped iterations; maxVUs bounds the sends in flight.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runLoad } from '../harness/load/engine.ts';
import { nodeWorkerLauncher } from '../harness/load/launchers.ts';

const [durationS = 10, rate = 3000, workers = 1] = process.argv.slice(2).map(Number);
const cli = resolve(import.meta.dirname, '../bin/mqdrill.mjs');

async function startBroker(dir: string): Promise<{ child: ChildProcess; grpcPort: number; adminPort: number }> {
  const readyFile = join(dir, 'ready.json');
  const args = [
    cli,
    'broker',
    '--data',
    join(dir, 'data'),
    '--port',
    '0',
    '--admin-port',
    '0',
    '--ready-file',
    readyFile,
  ];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  while (!existsSync(readyFile)) {
    if (Date.now() > deadline) throw new Error('broker did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 50));
  return { child, ...(JSON.parse(readFileSync(readyFile, 'utf8')) as { grpcPort: number; adminPort: number }) };
}

async function measure(endpoint: string, topic: string, ledger: boolean, out: string) {
  const result = await runLoad(
    {
      scenarios: {
        bench: {
          executor: 'constant-arrival-rate',
          rate,
          duration: `${durationS}s`,
          preAllocatedVUs: 128,
          maxVUs: 256,
          gracefulStop: '5s',
          workers,
          role: 'producer',
          message: { topic, bodySizeBytes: 1024 },
        },
      },
      ledger,
    },
    { endpoint, tls: false, namespace: '' },
    { launcher: nodeWorkerLauncher(), out },
  );
  const v = (name: string) => result.summary.metrics[name]?.values ?? {};
  return {
    ledger: ledger ? 'on' : 'off',
    ackedPerS: Math.round((v('messages_acked').count ?? 0) / durationS),
    dropped: v('dropped_iterations').count ?? 0,
    sendMedMs: +(v('send_duration').med ?? 0).toFixed(2),
    sendP99Ms: +(v('send_duration')['p(99)'] ?? 0).toFixed(2),
    sendDelayP99Ms: +(v('send_delay')['p(99)'] ?? 0).toFixed(2),
    failed: (v('messages_failed').count ?? 0) + (v('messages_unknown').count ?? 0),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-bench-load-'));
const broker = await startBroker(dir);
try {
  await fetch(`http://127.0.0.1:${broker.adminPort}/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', queues: 8, type: 'NORMAL' }),
  });
  const endpoint = `127.0.0.1:${broker.grpcPort}`;
  const off = await measure(endpoint, 'bench', false, join(dir, 'off'));
  const on = await measure(endpoint, 'bench', true, join(dir, 'on'));
  console.log(`node driver -> bundled broker, 1 KiB, ${durationS}s at ${rate}/s offered, ${workers} worker(s)`);
  console.table([off, on]);
  console.log(`ledger on/off throughput ratio: ${(on.ackedPerS / Math.max(1, off.ackedPerS)).toFixed(2)}`);
} finally {
  broker.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
