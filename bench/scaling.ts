/**
 * How the bundled broker's throughput grows with cores: compare.ts's normal-sync and normal-async cases (1 KiB NORMAL
 * sends from the official Go client, an arrival rate above every ceiling, at most 256 in flight, ledger off) against
 * targets pinned to CPU sets with `taskset -a -p` (every thread of every broker process, shards restarted later
 * inherit it), all in one run so the ratios share the machine's noise:
 *
 *   node --import tsx bench/scaling.ts [--duration 15] [--warmup 5] [--rate 20000] [--cases normal-sync,normal-async]
 *     [--targets bundled:1@0,bundled:1@0-1,bundled:2@0-1]  (add rocketmq@0,rocketmq@0-1 for Apache RocketMQ 5.3.3)
 *
 * A target is KIND[:SHARDS]@CPUS: `bundled:2@0-1` is `mqdrill broker --shards 2` on cores 0 and 1. The load
 * generator is not pinned (it runs wherever the scheduler puts it, as in compare.ts). Figures per case and target:
 * acked/s, send p50/p99, the broker's CPU seconds per 1,000 messages (every broker process, /proc/PID/stat), and
 * acked/s as a ratio to the first target. The machine is shared: read ratios, never absolute rates, and name targets
 * twice (A,B,A,B) to see the drift.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { runLoad } from '../harness/load/engine.ts';
import { goDriverLauncher } from '../harness/load/launchers.ts';
import { cpuSeconds } from './proc.ts';
import { startBenchRocketMq } from './rocketmq.ts';
import { sendFigures, sendScenario } from './send-load.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    rate: { type: 'string', default: '20000' },
    cases: { type: 'string', default: 'normal-sync,normal-async' },
    targets: { type: 'string', default: 'bundled:1@0,bundled:1@0-1,bundled:2@0-1' },
  },
});
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
const rate = Number(values.rate);
const cases = String(values.cases).split(',');
for (const c of cases) {
  if (c !== 'normal-sync' && c !== 'normal-async') throw new Error(`--cases: ${c}; known: normal-sync, normal-async`);
}
const cli = resolve(import.meta.dirname, '../bin/mqdrill.mjs');
const execFileP = promisify(execFile);

interface Spec {
  label: string;
  kind: 'bundled' | 'rocketmq';
  shards: number;
  cpus: string;
}

function parseTarget(t: string): Spec {
  const m = /^(bundled|rocketmq)(?::(\d+))?@([0-9,-]+)$/.exec(t);
  if (!m) throw new Error(`--targets: ${t} is not KIND[:SHARDS]@CPUS (e.g. bundled:2@0-1, rocketmq@0)`);
  const kind = m[1] as Spec['kind'];
  if (kind === 'rocketmq' && m[2]) throw new Error(`--targets: ${t}: shards apply to the bundled broker only`);
  return { label: t, kind, shards: Number(m[2] ?? 1), cpus: m[3] as string };
}
// A target may be named twice (A,B,A,B interleaves them against drift in the machine's load): later ones get #2, #3.
const specs = String(values.targets)
  .split(',')
  .map(parseTarget)
  .map((s, i, all) => {
    const n = all.slice(0, i).filter((o) => o.label === s.label).length;
    return n === 0 ? s : { ...s, label: `${s.label}#${n + 1}` };
  });

interface Running {
  endpoint: string;
  pids(): number[];
  stop(): Promise<void>;
}

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startBundled(dir: string, flush: string, shards: number): Promise<Running> {
  const readyFile = join(dir, 'ready.json');
  const args = ['broker', '--data', join(dir, 'data'), '--port', '0', '--admin-port', '0', '--ready-file', readyFile];
  args.push('--flush', flush, '--shards', String(shards));
  const child: ChildProcess = spawn(process.execPath, [cli, ...args], { stdio: 'ignore' });
  await waitForFile(readyFile, 90_000);
  const ready = JSON.parse(readFileSync(readyFile, 'utf8')) as {
    grpcPort: number;
    adminPort: number;
    shards?: Array<{ pid: number }>;
  };
  const res = await fetch(`http://127.0.0.1:${ready.adminPort}/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench-normal', queues: 8, type: 'NORMAL' }),
  });
  if (!res.ok) throw new Error(`bundled broker: create topic bench-normal: HTTP ${res.status} ${await res.text()}`);
  const pids = [child.pid as number, ...(ready.shards ?? []).map((s) => s.pid)];
  return {
    endpoint: `127.0.0.1:${ready.grpcPort}`,
    pids: () => (child.exitCode === null ? pids : []),
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function start(spec: Spec, dir: string, flush: 'sync' | 'async'): Promise<Running> {
  mkdirSync(dir, { recursive: true });
  const running =
    spec.kind === 'bundled'
      ? await startBundled(dir, flush, spec.shards)
      : await startBenchRocketMq(dir, flush, [{ name: 'bench-normal', type: 'NORMAL' }]);
  for (const pid of running.pids()) await execFileP('taskset', ['-a', '-p', '-c', spec.cpus, String(pid)]);
  return running;
}

interface Figures {
  ackedPerS: number;
  sendP50Ms: number;
  sendP99Ms: number;
  cpuSPer1000: number;
}

async function measure(target: Running, seconds: number, out: string): Promise<Figures> {
  const pids = target.pids();
  const cpu0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
  const result = await runLoad(
    { scenarios: { normal: sendScenario('bench-normal', 'NORMAL', rate, seconds) }, ledger: false },
    { endpoint: target.endpoint, tls: false, namespace: '' },
    { launcher: goDriverLauncher(), out },
  );
  const cpuS = pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0;
  const f = sendFigures(result, seconds);
  return {
    ackedPerS: f.ackedPerS,
    sendP50Ms: f.sendP50Ms,
    sendP99Ms: f.sendP99Ms,
    cpuSPer1000: +((cpuS * 1000) / Math.max(1, f.acked)).toFixed(3),
  };
}

function table(results: Map<string, Figures>): string {
  const lines = [
    '| case | target (kind:shards@cpus) | acked/s | x first target | send p50 ms | send p99 ms | CPU s / 1,000 |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of cases) {
    const base = results.get(`${c}/${specs[0]?.label}`)?.ackedPerS ?? 0;
    for (const s of specs) {
      const f = results.get(`${c}/${s.label}`);
      if (!f) continue;
      const ratio = base > 0 ? (f.ackedPerS / base).toFixed(2) : '-';
      lines.push(
        `| ${c} | ${s.label} | ${f.ackedPerS} | ${ratio} | ${f.sendP50Ms} | ${f.sendP99Ms} | ${f.cpuSPer1000} |`,
      );
    }
  }
  return lines.join('\n');
}

const root = mkdtempSync(join(tmpdir(), 'mqdrill-bench-scaling-'));
const results = new Map<string, Figures>();
const load0 = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
try {
  for (const c of cases) {
    const flush = c === 'normal-async' ? 'async' : 'sync';
    for (const spec of specs) {
      const dir = join(root, `${spec.label.replace(/[^a-z0-9]/gi, '_')}-${flush}`);
      const target = await start(spec, dir, flush);
      try {
        await measure(target, warmupS, join(dir, 'warmup')); // JIT and page cache warm-up
        const f = await measure(target, durationS, join(dir, c));
        process.stderr.write(`${c} ${spec.label}: ${JSON.stringify(f)}\n`);
        results.set(`${c}/${spec.label}`, f);
      } finally {
        await target.stop();
      }
    }
  }
  console.log(`\nbroker scaling with cores, Go driver, 1 KiB NORMAL sends, ${durationS} s per case after ${warmupS} s`);
  console.log(
    `load average at start ${load0}, at end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}\n`,
  );
  console.log(table(results));
  console.log(`\nreproduce: node --import tsx bench/scaling.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
} finally {
  rmSync(root, { recursive: true, force: true });
}
