/**
 * Broker send throughput against the gRPC ceiling, side by side in one run (issue #3).
 *
 *   npx tsx bench/broker.ts [--duration-ms 5000] [--concurrency 1,16,64]
 *
 * For each target (null gRPC server; broker with sync flush; broker with async flush), each in its own process, a
 * load generator in another process sends 1 KiB SendMessage requests at each concurrency. Prints messages/s, p50/p99
 * send latency and the broker/ceiling ratio. Numbers depend on the machine; compare ratios, not absolutes.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.join(here, '..', 'bin', 'mqdrill.mjs');
const { values } = parseArgs({
  options: { 'duration-ms': { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '1,16,64' } },
});
const durationMs = Number(values['duration-ms']);
const concurrencies = String(values.concurrency).split(',').map(Number);

interface Target {
  name: string;
  port: number;
  child: ChildProcess;
}

async function firstJsonLine(child: ChildProcess, timeoutMs: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('no ready line in time')), timeoutMs);
    child.stdout?.on('data', (d) => {
      buf += String(d);
      for (const line of buf.split('\n')) {
        if (line.startsWith('{"port"')) {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        }
      }
    });
  });
}

async function startNull(): Promise<Target> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'null-server.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { port } = await firstJsonLine(child, 15_000);
  return { name: 'null gRPC server (ceiling)', port: port as number, child };
}

async function startBroker(flush: 'sync' | 'async'): Promise<Target> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `mqdrill-bench-${flush}-`));
  const readyFile = path.join(dataDir, 'ready.json');
  const config = path.join(dataDir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      topics: [
        { name: 'bench', queues: 8 },
        { name: 'bench-fifo', queues: 8, type: 'FIFO' },
      ],
    }),
  );
  const child = spawn(
    process.execPath,
    [cli, 'broker', '--data', dataDir, '--port', '0', '--flush', flush, '--config', config, '--ready-file', readyFile],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const deadline = Date.now() + 20_000;
  while (!fs.existsSync(readyFile)) {
    if (Date.now() > deadline) throw new Error('broker did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const { port } = JSON.parse(fs.readFileSync(readyFile, 'utf8'));
  return { name: `broker, ${flush} flush`, port, child };
}

function load(port: number, concurrency: number, topic = 'bench', groups = 0): Record<string, number> {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(here, 'send-loadgen.ts'),
      `127.0.0.1:${port}`,
      topic,
      String(concurrency),
      String(durationMs),
      String(groups),
    ],
    { encoding: 'utf8', timeout: durationMs + 60_000 },
  );
  return JSON.parse(out.trim().split('\n').at(-1) as string);
}

const rows: Array<{
  target: string;
  concurrency: number;
  ratePerSec: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}> = [];
for (const start of [startNull, () => startBroker('sync'), () => startBroker('async')]) {
  const target = await start();
  try {
    load(target.port, 4); // warm-up: JIT, connections, first segment
    const cells: Array<[string, number, string, number]> = concurrencies.map((c) => [target.name, c, 'bench', 0]);
    // FIFO sends over 100 message groups at the highest concurrency (the null server stores nothing either way).
    if (!target.name.startsWith('null'))
      cells.push([`${target.name}, FIFO 100 groups`, Math.max(...concurrencies), 'bench-fifo', 100]);
    for (const [name, c, topic, groups] of cells) {
      const r = load(target.port, c, topic, groups);
      rows.push({
        target: name,
        concurrency: c,
        ratePerSec: r.ratePerSec as number,
        p50Ms: r.p50Ms as number,
        p99Ms: r.p99Ms as number,
        failed: r.failed as number,
      });
      process.stderr.write(`${name} c=${c}: ${r.ratePerSec} msg/s\n`);
    }
  } finally {
    target.child.kill('SIGTERM');
  }
}
const ceiling = new Map(rows.filter((r) => r.target.startsWith('null')).map((r) => [r.concurrency, r.ratePerSec]));
console.log(`\n1 KiB SendMessage, ${durationMs} ms per cell, ${os.cpus().length} cores, node ${process.version}\n`);
console.log('| target | concurrency | msg/s | p50 ms | p99 ms | failed | vs ceiling |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  const ratio = r.ratePerSec / (ceiling.get(r.concurrency) ?? Number.NaN);
  console.log(
    [
      r.target,
      r.concurrency,
      r.ratePerSec,
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      r.failed,
      `${(ratio * 100).toFixed(0)}%`,
    ]
      .join(' | ')
      .replace(/^/, '| ')
      .concat(' |'),
  );
}
console.log(
  `\nreproduce: npx tsx bench/broker.ts --duration-ms ${durationMs} --concurrency ${concurrencies.join(',')}`,
);
