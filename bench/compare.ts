/**
 * The bundled broker against Apache RocketMQ 5.3.3 (name server + broker with the gRPC proxy in LOCAL mode, from its
 * Maven Central jars: `mqdrill setup --only rocketmq`), the same load on the official Go client (the
 * mqdrill-go-driver process) in one run, alternating targets for each flush policy:
 *
 *   node --import tsx bench/compare.ts [--duration 15] [--warmup 5] [--rate 20000] [--cases a,b] [--smoke]
 *     [--bundled-shards N]
 *
 * Cases: normal-sync and normal-async (1 KiB NORMAL sends, sync / async flush), fifo (1 KiB FIFO sends over 100
 * message groups, sync flush), consume (a producer at --consume-rate while 4 simple consumers receive and ack, sync
 * flush, its own topic, so nothing sent earlier is in the backlog). Sends use an arrival rate above both ceilings
 * with at most 256 in flight, so acked/s is the ceiling.
 * Figures: acked/s (consumed/s for consume), send p50/p99/p999, end-to-end p99 (consume), the broker's CPU seconds
 * per 1,000 messages (user + system from /proc/PID/stat of every broker process: the node process, or the name
 * server and broker JVMs) and its RSS at the end (VmRSS). The machine is shared: compare ratios within one run.
 * `--smoke` (3 s cases, 1 s warm-up, cases normal-sync and consume unless --cases says otherwise; about 2.5 minutes
 * here, most of it JVM start) is a CI smoke test: it exits 1 when a target acknowledges nothing in a case.
 * `--bundled-shards N` runs the bundled broker as `mqdrill broker --shards N` (docs/broker-cores.md); default 1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad } from '../harness/load/engine.ts';
import { goDriverLauncher } from '../harness/load/launchers.ts';
import { cpuSeconds, rssMiB } from './proc.ts';
import { ROCKETMQ_VERSION, startBenchRocketMq } from './rocketmq.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    rate: { type: 'string', default: '20000' },
    'consume-rate': { type: 'string', default: '3000' },
    cases: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'bundled-shards': { type: 'string', default: '1' },
  },
});
const smoke = values.smoke === true;
const durationS = smoke ? 3 : Number(values.duration);
const warmupS = smoke ? 1 : Number(values.warmup);
const rate = Number(values.rate);
const consumeRate = Number(values['consume-rate']);
const bundledShards = String(values['bundled-shards']);
const allCases = 'normal-sync,normal-async,fifo,consume';
// The smoke test keeps to sync flush by default: one start of each target instead of two.
const cases = String(values.cases ?? (smoke ? 'normal-sync,consume' : allCases)).split(',') as CaseName[];
for (const c of cases) {
  if (!allCases.split(',').includes(c)) throw new Error(`--cases: unknown case ${c}; known: ${allCases}`);
}
const cli = resolve(import.meta.dirname, '../bin/mqdrill.mjs');

type CaseName = 'normal-sync' | 'normal-async' | 'fifo' | 'consume';
const flushOf = (c: CaseName): 'sync' | 'async' => (c === 'normal-async' ? 'async' : 'sync');

interface Target {
  name: 'bundled' | 'rocketmq';
  endpoint: string;
  pids(): number[];
  stop(): Promise<void>;
}

interface Figures {
  ackedPerS: number;
  sendP50Ms: number;
  sendP99Ms: number;
  sendP999Ms: number;
  e2eP99Ms: number | undefined;
  cpuSPer1000: number;
  rssMiB: number;
}

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 50));
}

async function startBundled(dir: string, flush: 'sync' | 'async'): Promise<Target> {
  const readyFile = join(dir, 'ready.json');
  const args = ['broker', '--data', join(dir, 'data'), '--port', '0', '--admin-port', '0', '--ready-file', readyFile];
  args.push('--shards', bundledShards);
  const child: ChildProcess = spawn(process.execPath, [cli, ...args, '--flush', flush], { stdio: 'ignore' });
  await waitForFile(readyFile, 60_000);
  const ready = JSON.parse(readFileSync(readyFile, 'utf8')) as { grpcPort: number; adminPort: number };
  const { grpcPort, adminPort } = ready;
  // A sharded broker's shard processes count too (its ready file lists them).
  const shardPids = ((ready as { shards?: Array<{ pid: number }> }).shards ?? []).map((s) => s.pid);
  for (const { name, type } of benchTopics) {
    const res = await fetch(`http://127.0.0.1:${adminPort}/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, queues: 8, type }),
    });
    if (!res.ok) throw new Error(`bundled broker: create topic ${name}: HTTP ${res.status}`);
  }
  return {
    name: 'bundled',
    endpoint: `127.0.0.1:${grpcPort}`,
    pids: () => (child.exitCode === null && child.pid ? [child.pid, ...shardPids] : []),
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const benchTopics = [
  { name: 'bench-normal', type: 'NORMAL' },
  { name: 'bench-fifo', type: 'FIFO' },
  { name: 'bench-consume', type: 'NORMAL' },
] as const;

async function startReal(dir: string, flush: 'sync' | 'async'): Promise<Target> {
  mkdirSync(dir, { recursive: true });
  const r = await startBenchRocketMq(dir, flush, [...benchTopics]);
  return { name: 'rocketmq', endpoint: r.endpoint, pids: r.pids, stop: r.stop };
}

function scenarios(c: CaseName, seconds: number, group: string): Record<string, unknown> {
  const send = (topic: string, type: string, perS: number) => ({
    executor: 'constant-arrival-rate',
    rate: perS,
    duration: `${seconds}s`,
    preAllocatedVUs: 128,
    maxVUs: 256,
    gracefulStop: '5s',
    role: 'producer',
    message: { type, topic, bodySizeBytes: 1024, ...(type === 'FIFO' ? { keys: { count: 100 } } : {}) },
  });
  if (c === 'fifo') return { fifo: send('bench-fifo', 'FIFO', rate) };
  if (c !== 'consume') return { normal: send('bench-normal', 'NORMAL', rate) };
  return {
    produce: send('bench-consume', 'NORMAL', consumeRate),
    consume: {
      executor: 'constant-vus',
      vus: 4,
      duration: `${seconds}s`,
      role: 'consumer',
      consumer: { group, topic: 'bench-consume', kind: 'simple', awaitDuration: '5s', receiveBatchSize: 32 },
    },
  };
}

async function measure(target: Target, c: CaseName, seconds: number, out: string): Promise<Figures> {
  const pids = target.pids();
  const cpu0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
  // A fresh group per run: nothing left over from the warm-up is counted.
  const group = `bench-g-${Date.now().toString(36)}`;
  const result = await runLoad(
    { scenarios: scenarios(c, seconds, group), ledger: false },
    { endpoint: target.endpoint, tls: false, namespace: '' },
    { launcher: goDriverLauncher(), out },
  );
  const cpuS = pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0;
  const v = (name: string) => result.summary.metrics[name]?.values ?? {};
  const r2 = (x: number | undefined) => +(x ?? 0).toFixed(2);
  const count = (c === 'consume' ? v('messages_consumed').count : v('messages_acked').count) ?? 0;
  return {
    ackedPerS: Math.round(count / seconds),
    sendP50Ms: r2(v('send_duration').med),
    sendP99Ms: r2(v('send_duration')['p(99)']),
    sendP999Ms: r2(v('send_duration')['p(99.9)']),
    e2eP99Ms: c === 'consume' ? r2(v('e2e_latency')['p(99)']) : undefined,
    cpuSPer1000: +((cpuS * 1000) / Math.max(1, count)).toFixed(3),
    rssMiB: Math.round(pids.reduce((a, p) => a + rssMiB(p), 0)),
  };
}

const figureNames: Array<[keyof Figures, string, boolean]> = [
  ['ackedPerS', 'acked/s', true],
  ['sendP50Ms', 'send p50 ms', false],
  ['sendP99Ms', 'send p99 ms', false],
  ['sendP999Ms', 'send p999 ms', false],
  ['e2eP99Ms', 'end-to-end p99 ms', false],
  ['cpuSPer1000', 'broker CPU s / 1,000 msgs', false],
  ['rssMiB', 'broker RSS MiB', false],
];

function table(results: Map<string, Figures>): string {
  const lines = [
    `| case | figure | bundled | RocketMQ ${ROCKETMQ_VERSION} | bundled / RocketMQ | reproduce |`,
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of cases) {
    const b = results.get(`${c}/bundled`);
    const r = results.get(`${c}/rocketmq`);
    const shardsArg = bundledShards === '1' ? '' : ` --bundled-shards ${bundledShards}`;
    const args = `--cases ${c} --duration ${durationS} --warmup ${warmupS}${shardsArg}`;
    const cmd = `\`node --import tsx bench/compare.ts ${args}\``;
    for (const [key, label] of figureNames) {
      const bv = b?.[key];
      const rv = r?.[key];
      if (bv === undefined && rv === undefined) continue;
      const ratio = typeof bv === 'number' && typeof rv === 'number' && rv > 0 ? (bv / rv).toFixed(2) : '-';
      if (c === 'consume' && key === 'ackedPerS') {
        lines.push(`| ${c} | consumed/s | ${bv ?? '-'} | ${rv ?? '-'} | ${ratio} | ${cmd} |`);
      } else lines.push(`| ${c} | ${label} | ${bv ?? '-'} | ${rv ?? '-'} | ${ratio} | ${cmd} |`);
    }
  }
  return lines.join('\n');
}

const root = mkdtempSync(join(tmpdir(), 'mqdrill-bench-compare-'));
const results = new Map<string, Figures>();
let failed = false;
try {
  const flushes = [...new Set(cases.map(flushOf))];
  let round = 0;
  for (const flush of flushes) {
    // Alternate which target goes first, so neither always gets the quieter half of the machine.
    const order = round++ % 2 === 0 ? (['bundled', 'rocketmq'] as const) : (['rocketmq', 'bundled'] as const);
    for (const name of order) {
      const dir = join(root, `${name}-${flush}`);
      const target = name === 'bundled' ? await startBundled(dir, flush) : await startReal(dir, flush);
      try {
        await measure(target, 'normal-sync', warmupS, join(dir, 'warmup')); // JIT and page cache warm-up
        for (const c of cases.filter((x) => flushOf(x) === flush)) {
          const f = await measure(target, c, durationS, join(dir, c));
          process.stderr.write(`${c} ${name}: ${JSON.stringify(f)}\n`);
          results.set(`${c}/${name}`, f);
          if (f.ackedPerS === 0) failed = true;
        }
      } finally {
        await target.stop();
      }
    }
  }
  console.log(
    `\nbundled broker vs Apache RocketMQ ${ROCKETMQ_VERSION}, Go driver (official Go client), 1 KiB messages, ` +
      `${durationS} s per case after a ${warmupS} s warm-up, ${cpus().length} cores\n`,
  );
  console.log(table(results));
  console.log(`\nreproduce: node --import tsx bench/compare.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
} finally {
  rmSync(root, { recursive: true, force: true });
}
if (smoke && failed) {
  console.error('compare smoke: a target acknowledged nothing in a case (see the table)');
  process.exitCode = 1;
}
