/**
 * The bundled broker against Apache RocketMQ 5.3.3 (name server + broker with the gRPC proxy in LOCAL mode, from its
 * Maven Central jars: `mqdrill setup --only rocketmq`), the same load on the official Go client (the
 * mqdrill-go-driver process) in one run, alternating targets for each flush policy:
 *
 *   node --import tsx bench/compare.ts [--duration 15] [--warmup 5] [--rate 20000] [--cases a,b] [--smoke]
 *     [--targets bundled,rocketmq] [--baseline WORKTREE] [--rounds 1] [--profile DIR] [--json FILE]
 *     [--bundled-shards N] [--pin-servers CPUS]
 *
 * Cases: normal-sync and normal-async (1 KiB NORMAL sends, sync / async flush), fifo (1 KiB FIFO sends over 100
 * message groups, sync flush), consume (a producer at --consume-rate while 4 simple consumers receive and ack, sync
 * flush, its own topic, so nothing sent earlier is in the backlog). Sends use an arrival rate above both ceilings
 * with at most 256 in flight, so acked/s is the ceiling.
 * Targets (the first is the one every ratio is taken of): bundled (this checkout's broker), rocketmq, null (the grpc-js
 * null server, bench/null-server.ts: the ceiling of the gRPC stack; normal-* cases only, it stores nothing), raw-null
 * (the same answers on node:http2 without grpc-js, bench/raw-null-server.ts: the ceiling of node's http2) and
 * baseline (the broker of another checkout, `--baseline DIR`, e.g. a `git worktree` of the previous commit: A/B of a
 * change in one run). `--rounds N` repeats the alternation N times and reports each figure's median.
 * Figures: acked/s (consumed/s for consume), send p50/p99/p999, end-to-end p99 (consume), the broker's CPU seconds
 * per 1,000 messages (user + system from /proc/PID/stat of every broker process: the node process, or the name
 * server and broker JVMs) and its RSS at the end (VmRSS). The machine is shared: compare ratios within one run.
 * `--profile DIR` starts the node brokers and null servers with --cpu-prof and keeps their .cpuprofile files in
 * DIR/TARGET-FLUSH-ROUND (summarise them with bench/profile-summary.ts). `--json FILE` writes every measurement as
 * JSON.
 * `--pin-servers CPUS` pins every target process (all threads) to CPUS with taskset once started; run the whole
 * command under `taskset -c OTHER` to keep the load generator (the Go driver is a child of this process) off them.
 * `--bundled-shards N` runs the bundled broker as `mqdrill broker --shards N` (docs/broker-cores.md); default 1.
 * `--smoke` (3 s cases, 1 s warm-up, cases normal-sync and consume unless --cases says otherwise; about 2.5 minutes
 * here, most of it JVM start) is a CI smoke test: it exits 1 when a target acknowledges nothing in a case.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { runLoad } from '../harness/load/engine.ts';
import { goDriverLauncher } from '../harness/load/launchers.ts';
import { startBundledBroker, startNullServer, type BenchTarget as Target } from './bundled-target.ts';
import { cpuSeconds, rssMiB } from './proc.ts';
import { ROCKETMQ_VERSION, startBenchRocketMq } from './rocketmq.ts';
import { type SendType, sendFigures, sendScenario } from './send-load.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    rate: { type: 'string', default: '20000' },
    'consume-rate': { type: 'string', default: '3000' },
    cases: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    targets: { type: 'string', default: 'bundled,rocketmq' },
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    profile: { type: 'string' },
    'bundled-shards': { type: 'string', default: '1' },
    json: { type: 'string' },
    'pin-servers': { type: 'string' },
  },
});
const smoke = values.smoke === true;
const durationS = smoke ? 3 : Number(values.duration);
const warmupS = smoke ? 1 : Number(values.warmup);
const rate = Number(values.rate);
const consumeRate = Number(values['consume-rate']);
const rounds = Number(values.rounds);
const allCases = 'normal-sync,normal-async,fifo,consume';
// The smoke test keeps to sync flush by default: one start of each target instead of two.
const cases = String(values.cases ?? (smoke ? 'normal-sync,consume' : allCases)).split(',') as CaseName[];
for (const c of cases) {
  if (!allCases.split(',').includes(c)) throw new Error(`--cases: unknown case ${c}; known: ${allCases}`);
}
const allTargets = ['bundled', 'rocketmq', 'null', 'raw-null', 'baseline'] as const;
type TargetName = (typeof allTargets)[number];
const targetNames = String(values.targets).split(',') as TargetName[];
for (const t of targetNames) {
  if (!allTargets.includes(t)) throw new Error(`--targets: unknown target ${t}; known: ${allTargets.join(',')}`);
}
if (targetNames.includes('baseline') && !values.baseline) {
  throw new Error('--targets baseline needs --baseline DIR: a checkout (e.g. a git worktree) of the broker to compare');
}
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: want a whole number >= 1, got ${rounds}`);
const cli = resolve(import.meta.dirname, '../bin/mqdrill.mjs');
const execFileP = promisify(execFile);
const profileDir = values.profile ? resolve(values.profile) : undefined;
const bundledShards = String(values['bundled-shards']);
const shardArgs = bundledShards === '1' ? [] : ['--shards', bundledShards];

type CaseName = 'normal-sync' | 'normal-async' | 'fifo' | 'consume';
const flushOf = (c: CaseName): 'sync' | 'async' => (c === 'normal-async' ? 'async' : 'sync');
/** The null servers answer sends and store nothing: they have no FIFO or consumption to measure. */
const runs = (t: TargetName, c: CaseName): boolean => !t.endsWith('null') || c.startsWith('normal-');

interface Figures {
  ackedPerS: number;
  sendP50Ms: number;
  sendP99Ms: number;
  sendP999Ms: number;
  e2eP99Ms: number | undefined;
  cpuSPer1000: number;
  rssMiB: number;
}

const benchTopics = [
  { name: 'bench-normal', type: 'NORMAL' },
  { name: 'bench-fifo', type: 'FIFO' },
  { name: 'bench-consume', type: 'NORMAL' },
] as const;

async function startReal(dir: string, flush: 'sync' | 'async'): Promise<Target> {
  mkdirSync(dir, { recursive: true });
  const r = await startBenchRocketMq(dir, flush, [...benchTopics]);
  return { endpoint: r.endpoint, pids: r.pids, stop: r.stop };
}

function startTarget(name: TargetName, dir: string, flush: 'sync' | 'async', round: number): Promise<Target> {
  const prof = profileDir ? join(profileDir, `${name}-${flush}-${round}`) : undefined;
  const nodeArgs = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
  if (name === 'bundled') return startBundledBroker(dir, flush, cli, benchTopics, nodeArgs, shardArgs);
  if (name === 'baseline') {
    const bin = resolve(String(values.baseline), 'bin/mqdrill.mjs');
    return startBundledBroker(dir, flush, bin, benchTopics, nodeArgs);
  }
  if (name === 'null') return startNullServer(resolve(import.meta.dirname, 'null-server.ts'), ['8'], nodeArgs);
  if (name === 'raw-null') {
    return startNullServer(resolve(import.meta.dirname, 'raw-null-server.ts'), ['8'], nodeArgs);
  }
  return startReal(dir, flush);
}

const pinServers = values['pin-servers'];
if (pinServers !== undefined && !/^[0-9][0-9,-]*$/.test(pinServers)) {
  throw new Error(`--pin-servers: want a CPU list such as 1 or 0-1, got ${pinServers}`);
}

/** --pin-servers CPUS: every thread of every target process onto those CPUs (taskset -a -p). */
async function pin(target: Target): Promise<void> {
  if (pinServers === undefined) return;
  for (const pid of target.pids()) await execFileP('taskset', ['-a', '-p', '-c', pinServers, String(pid)]);
}

function scenarios(c: CaseName, seconds: number, group: string): Record<string, unknown> {
  const send = (topic: string, type: SendType, perS: number) => sendScenario(topic, type, perS, seconds);
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
  const f = sendFigures(result, seconds);
  const count = c === 'consume' ? (v('messages_consumed').count ?? 0) : f.acked;
  return {
    ackedPerS: Math.round(count / seconds),
    sendP50Ms: f.sendP50Ms,
    sendP99Ms: f.sendP99Ms,
    sendP999Ms: f.sendP999Ms,
    e2eP99Ms: c === 'consume' ? +(v('e2e_latency')['p(99)'] ?? 0).toFixed(2) : undefined,
    cpuSPer1000: +((cpuS * 1000) / Math.max(1, count)).toFixed(3),
    rssMiB: Math.round(pids.reduce((a, p) => a + rssMiB(p), 0)),
  };
}

const figureNames: Array<[keyof Figures, string]> = [
  ['ackedPerS', 'acked/s'],
  ['sendP50Ms', 'send p50 ms'],
  ['sendP99Ms', 'send p99 ms'],
  ['sendP999Ms', 'send p999 ms'],
  ['e2eP99Ms', 'end-to-end p99 ms'],
  ['cpuSPer1000', 'broker CPU s / 1,000 msgs'],
  ['rssMiB', 'broker RSS MiB'],
];

const label = (t: TargetName): string => (t === 'rocketmq' ? `RocketMQ ${ROCKETMQ_VERSION}` : t);

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : +(((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2).toFixed(3);
}

/** Each figure's median over the rounds of one case and target. */
function figureOf(results: Map<string, Figures[]>, c: CaseName, t: TargetName, key: keyof Figures) {
  return median((results.get(`${c}/${t}`) ?? []).map((f) => f[key]).filter((x): x is number => x !== undefined));
}

function table(results: Map<string, Figures[]>): string {
  const [first, ...others] = targetNames as [TargetName, ...TargetName[]];
  const head = ['case', 'figure', ...targetNames.map(label), ...others.map((o) => `${first} / ${label(o)}`)];
  const lines = [`| ${head.join(' | ')} | reproduce (add to the command) |`, `|${' --- |'.repeat(head.length + 1)}`];
  for (const c of cases) {
    for (const [key, name] of figureNames) {
      const vals = targetNames.map((t) => figureOf(results, c, t, key));
      if (vals.every((x) => x === undefined)) continue;
      const ratios = others.map((_, i) => {
        const [a, b] = [vals[0], vals[i + 1]];
        return a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : '-';
      });
      const row = [c, c === 'consume' && key === 'ackedPerS' ? 'consumed/s' : name, ...vals.map((x) => x ?? '-')];
      lines.push(`| ${[...row, ...ratios].join(' | ')} | \`--cases ${c}\` |`);
    }
  }
  return lines.join('\n');
}

async function runRound(root: string, flush: 'sync' | 'async', round: number, results: Map<string, Figures[]>) {
  // Rotate which target goes first, so none always gets the quieter part of the machine.
  const k = round % targetNames.length;
  const order = [...targetNames.slice(k), ...targetNames.slice(0, k)];
  let failed = false;
  for (const name of order) {
    const todo = cases.filter((x) => flushOf(x) === flush && runs(name, x));
    if (todo.length === 0) continue;
    const dir = join(root, `${name}-${flush}-${round}`);
    mkdirSync(dir, { recursive: true });
    const target = await startTarget(name, dir, flush, round);
    try {
      await pin(target);
      await measure(target, 'normal-sync', warmupS, join(dir, 'warmup')); // JIT and page cache warm-up
      for (const c of todo) {
        const f = await measure(target, c, durationS, join(dir, c));
        process.stderr.write(`${c} ${name} round ${round}: ${JSON.stringify(f)}\n`);
        results.set(`${c}/${name}`, [...(results.get(`${c}/${name}`) ?? []), f]);
        if (f.ackedPerS === 0) failed = true;
      }
    } finally {
      await target.stop();
    }
  }
  return failed;
}

const root = mkdtempSync(join(tmpdir(), 'mqdrill-bench-compare-'));
const results = new Map<string, Figures[]>();
const load0 = loadavg();
let failed = false;
try {
  const flushes = [...new Set(cases.map(flushOf))];
  let round = 0;
  for (let r = 0; r < rounds; r++) {
    for (const flush of flushes) failed = (await runRound(root, flush, round++, results)) || failed;
  }
  const load = loadavg().map((x) => x.toFixed(2));
  console.log(
    `\n${targetNames.map(label).join(' vs ')}, Go driver (official Go client), 1 KiB messages, ${durationS} s per ` +
      `case after a ${warmupS} s warm-up, ${rounds} round(s) (medians), ${cpus().length} cores, load average ` +
      `${load0[0]?.toFixed(2)} at the start, ${load.join(' ')} at the end\n`,
  );
  console.log(table(results));
  console.log(`\nreproduce: node --import tsx bench/compare.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
  if (values.json) {
    const all = Object.fromEntries(results);
    writeFileSync(values.json, JSON.stringify({ targets: targetNames, loadavg: [load0, loadavg()], results: all }));
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
if (smoke && failed) {
  console.error('compare smoke: a target acknowledged nothing in a case (see the table)');
  process.exitCode = 1;
}
