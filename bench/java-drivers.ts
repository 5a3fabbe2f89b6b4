/**
 * The Java drivers side by side with the Go driver against Apache RocketMQ 5.3.3 (name server + broker with its
 * gRPC proxy, `mqdrill setup --only rocketmq`), one RocketMQ for the whole run, async flush:
 *
 *   node --import tsx bench/java-drivers.ts [--duration 15] [--warmup 5] [--rate 40000]
 *     [--drivers go,java,java-remoting] [--rocketmq-benchmark]
 *
 * Each driver sends 1 KiB NORMAL messages at an arrival rate above every ceiling with at most 256 in flight (so
 * acked/s is the driver's ceiling against this broker), after a warm-up run of its own (JIT, connections). The gRPC
 * drivers go through the proxy; java-remoting goes to the broker's remoting port directly. Figures: acked/s, send
 * p50 / p99, and the driver's CPU seconds per 1,000 acked messages (user + system of the driver processes, from
 * /proc). `--rocketmq-benchmark` also runs RocketMQ's own benchmark producer (org.apache.rocketmq.example.benchmark
 * .Producer from rocketmq-example 5.5.0 on Maven Central, 64 threads, 1 KiB; 5.3.3 is not published) for the same
 * time and prints the remoting driver's ratio to it. The machine is shared: compare ratios within one run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DriverName } from '../harness/load/driver-names.ts';
import { runLoad } from '../harness/load/engine.ts';
import { launcherFor } from '../harness/load/launchers.ts';
import type { TargetEndpoint } from '../harness/load/protocol.ts';
import { ensureMavenArtifacts, toolsMavenDir } from '../harness/setup/index.ts';
import { rocketmqClasspath } from '../harness/setup/rocketmq.ts';
import { cpuSeconds } from './proc.ts';
import { type BenchRocketMq, ROCKETMQ_VERSION, startBenchRocketMq } from './rocketmq.ts';
import { sendFigures, sendScenario } from './send-load.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    rate: { type: 'string', default: '40000' },
    drivers: { type: 'string', default: 'go,java,java-remoting' },
    'rocketmq-benchmark': { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
const rate = Number(values.rate);
const drivers = String(values.drivers).split(',') as DriverName[];
const TOPIC = 'bench-normal';

interface Row {
  driver: string;
  ackedPerS: number;
  p50Ms: number;
  p99Ms: number;
  cpuSPer1000: number;
}

/** Direct children of this process (the driver processes the engine spawned), from /proc. */
function childPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      if (Number(fields[1]) === process.pid) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/**
 * Samples the CPU of this process's children every 200 ms (the last sample before each exits counts), but for the
 * excluded ones (the RocketMQ JVMs, also children of this process).
 */
function cpuTracker(exclude: number[]): { cpu: () => number; stop: () => void } {
  const seen = new Map<number, number>();
  const timer = setInterval(() => {
    for (const pid of childPids()) {
      if (!exclude.includes(pid)) seen.set(pid, Math.max(seen.get(pid) ?? 0, cpuSeconds(pid)));
    }
  }, 200);
  return { cpu: () => [...seen.values()].reduce((a, b) => a + b, 0), stop: () => clearInterval(timer) };
}

function endpointOf(mq: BenchRocketMq): TargetEndpoint {
  return { endpoint: mq.endpoint, tls: false, namespace: '', namesrv: mq.namesrv };
}

async function measure(driver: DriverName, mq: BenchRocketMq, seconds: number, out: string): Promise<Row> {
  const scenarios = { send: sendScenario(TOPIC, 'NORMAL', rate, seconds) };
  const tracker = cpuTracker(mq.pids());
  try {
    const result = await runLoad({ scenarios, ledger: false }, endpointOf(mq), { launcher: launcherFor(driver), out });
    const f = sendFigures(result, seconds);
    return {
      driver,
      ackedPerS: f.ackedPerS,
      p50Ms: f.sendP50Ms,
      p99Ms: f.sendP99Ms,
      cpuSPer1000: +((tracker.cpu() * 1000) / Math.max(1, f.acked)).toFixed(3),
    };
  } finally {
    tracker.stop();
  }
}

/**
 * RocketMQ's own benchmark producer for `seconds` + 16 s (JVM start included). It prints "Send TPS" every 10 s over
 * its last 9 s; the last print is the figure, and its CPU per 1,000 messages is the CPU between the last two prints
 * over the messages between them.
 */
async function rocketmqBenchmark(mq: BenchRocketMq, seconds: number): Promise<{ tps: number; cpuSPer1000: number }> {
  const dir = join(toolsMavenDir(), 'rocketmq-example-5.5.0');
  const example = { groupId: 'org.apache.rocketmq', artifactId: 'rocketmq-example', version: '5.5.0' };
  await ensureMavenArtifacts([example], dir, { transitive: false });
  const cp = `${join(dir, 'rocketmq-example-5.5.0.jar')}:${rocketmqClasspath()}`;
  const args = ['-Xmx512m', '-cp', cp, 'org.apache.rocketmq.example.benchmark.Producer'];
  args.push('-n', mq.namesrv, '-t', TOPIC, '-w', '64', '-s', '1024');
  const child: ChildProcess = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const prints: Array<{ tps: number; cpuS: number; atMs: number }> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const m of chunk.toString().matchAll(/Send TPS: ?(\d+)/g)) {
      prints.push({ tps: Number(m[1]), cpuS: child.pid ? cpuSeconds(child.pid) : 0, atMs: Date.now() });
    }
  });
  await new Promise((r) => setTimeout(r, (Math.max(10, seconds) + 16) * 1000));
  child.kill('SIGKILL');
  const last = prints.at(-1);
  const before = prints.at(-2);
  if (last === undefined) return { tps: 0, cpuSPer1000: 0 };
  const sent = before ? (last.tps * (last.atMs - before.atMs)) / 1000 : 0;
  const cpuS = before ? last.cpuS - before.cpuS : 0;
  return { tps: last.tps, cpuSPer1000: sent > 0 ? +((cpuS * 1000) / sent).toFixed(3) : 0 };
}

const root = mkdtempSync(join(tmpdir(), 'mqdrill-bench-java-'));
const rows: Row[] = [];
let mq: BenchRocketMq | undefined;
try {
  mq = await startBenchRocketMq(join(root, 'rocketmq'), 'async', [{ name: TOPIC, type: 'NORMAL' }]);
  for (const driver of drivers) {
    await measure(driver, mq, warmupS, join(root, `${driver}-warmup`));
    const row = await measure(driver, mq, durationS, join(root, driver));
    process.stderr.write(`${JSON.stringify(row)}\n`);
    rows.push(row);
  }
  const go = rows.find((r) => r.driver === 'go');
  const lines = [
    `\nJava drivers vs the Go driver against Apache RocketMQ ${ROCKETMQ_VERSION} (async flush), 1 KiB NORMAL, ` +
      `${durationS} s after a ${warmupS} s warm-up each, ${cpus().length} cores`,
    '',
    '| driver | acked/s | send p50 ms | send p99 ms | driver CPU s / 1,000 msgs | acked/s vs go | CPU vs go |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  const ratio = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) : '-');
  for (const r of rows) {
    lines.push(
      `| ${r.driver} | ${r.ackedPerS} | ${r.p50Ms} | ${r.p99Ms} | ${r.cpuSPer1000} | ` +
        `${ratio(r.ackedPerS, go?.ackedPerS)} | ${ratio(r.cpuSPer1000, go?.cpuSPer1000)} |`,
    );
  }
  if (values['rocketmq-benchmark']) {
    const own = await rocketmqBenchmark(mq, durationS);
    const remoting = rows.find((r) => r.driver === 'java-remoting');
    lines.push(
      `| RocketMQ benchmark Producer (remoting, 64 threads) | ${own.tps} | - | - | ${own.cpuSPer1000} | ` +
        `${ratio(own.tps, go?.ackedPerS)} | ${ratio(own.cpuSPer1000, go?.cpuSPer1000)} |`,
      '',
      `java-remoting / RocketMQ benchmark Producer: ${ratio(remoting?.ackedPerS ?? 0, own.tps)} of its msg/s`,
    );
  }
  console.log(lines.join('\n'));
  console.log(`\nreproduce: node --import tsx bench/java-drivers.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
} finally {
  await mq?.stop();
  rmSync(root, { recursive: true, force: true });
}
