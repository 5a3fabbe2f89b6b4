/**
 * Messages/s one load process sustains, for each driver (node: rocketmq-client-nodejs in a worker thread; go: the
 * mqdrill-go-driver process on the official Go client), against the bundled broker and against the null gRPC
 * server (bench/null-server.ts: answers route, heartbeat, telemetry and SendMessage, stores nothing), with the
 * ledger off and on, all in one run; 1 KiB messages, one driver worker.
 *
 *   node --import tsx bench/load.ts [--duration 10] [--rate-node 6000] [--rate-go 20000] [--drivers node,go]
 *
 * The arrival rate is set above what the stack can do, so the achieved rate is the ceiling and the rest shows up as
 * dropped iterations; maxVUs bounds the sends in flight. CPU columns are cores used on average during the run:
 * "load" is the load process (engine + node driver threads, or engine + Go driver process), "server" the broker or
 * null server; "µs/msg" the CPU each spends per acked message. The machine's cores are shared by all of them (and
 * by anything else running), so compare ratios within one run, not absolutes across runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad } from '../harness/load/engine.ts';
import { type DriverLauncher, goDriverLauncher, nodeWorkerLauncher } from '../harness/load/launchers.ts';
import { startNullServer } from './bundled-target.ts';
import { cpuSeconds } from './proc.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    'rate-node': { type: 'string', default: '6000' },
    'rate-go': { type: 'string', default: '20000' },
    drivers: { type: 'string', default: 'node,go' },
  },
});
const durationS = Number(values.duration);
const rates: Record<string, number> = { node: Number(values['rate-node']), go: Number(values['rate-go']) };
const drivers = String(values.drivers).split(',') as Array<'node' | 'go'>;
const here = import.meta.dirname;
const cli = resolve(here, '../bin/mqdrill.mjs');

interface Server {
  name: string;
  endpoint: string;
  child: ChildProcess;
}

/** Children of this process named like the Go driver (comm is cut to 15 characters). */
function goDriverPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return stat.includes('(mqdrill-go-driv)') && Number(stat.split(') ')[1]?.split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The Go driver launcher, sampling its CPU every 200 ms (the last sample before it exits counts). */
function trackedGoLauncher(): { launcher: DriverLauncher; cpu: () => number; stop: () => void } {
  const seen = new Map<number, number>();
  const timer = setInterval(() => {
    for (const pid of goDriverPids()) seen.set(pid, Math.max(seen.get(pid) ?? 0, cpuSeconds(pid)));
  }, 200);
  const inner = goDriverLauncher();
  return {
    launcher: inner,
    cpu: () => [...seen.values()].reduce((a, b) => a + b, 0),
    stop: () => clearInterval(timer),
  };
}

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 50));
}

async function startBroker(dir: string): Promise<Server> {
  const readyFile = join(dir, 'ready.json');
  const args = ['broker', '--data', join(dir, 'data'), '--port', '0', '--admin-port', '0', '--ready-file', readyFile];
  const child = spawn(process.execPath, [cli, ...args], { stdio: 'ignore' });
  await waitForFile(readyFile, 20_000);
  const { grpcPort, adminPort } = JSON.parse(readFileSync(readyFile, 'utf8')) as Record<string, number>;
  const res = await fetch(`http://127.0.0.1:${adminPort}/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', queues: 8, type: 'NORMAL' }),
  });
  if (!res.ok) throw new Error(`create topic: ${res.status}`);
  return { name: 'bundled broker', endpoint: `127.0.0.1:${grpcPort}`, child };
}

async function startNull(): Promise<Server> {
  const { endpoint, child } = await startNullServer(join(here, 'null-server.ts'));
  return { name: 'null gRPC server', endpoint, child };
}

interface Row {
  driver: string;
  target: string;
  ledger: 'off' | 'on';
  offeredPerS: number;
  ackedPerS: number;
  dropped: number;
  failed: number;
  sendMedMs: number;
  sendP99Ms: number;
  delayP99Ms: number;
  loadCpu: number;
  serverCpu: number;
  /** CPU microseconds per acked message: what each side spends on one message. */
  loadUsPerMsg: number;
  /** go: the Go driver process alone (the rest of loadUsPerMsg is the engine); node: in the load process. */
  goProcUsPerMsg: number | '-';
  serverUsPerMsg: number;
}

async function measure(driver: 'node' | 'go', server: Server, ledger: boolean, out: string): Promise<Row> {
  const tracked = driver === 'go' ? trackedGoLauncher() : undefined;
  const launcher = tracked?.launcher ?? nodeWorkerLauncher();
  const cpu0 = process.cpuUsage();
  const server0 = cpuSeconds(server.child.pid ?? 0);
  const t0 = Date.now();
  const message = { topic: 'bench', bodySizeBytes: 1024 };
  const scenario = { executor: 'constant-arrival-rate', rate: rates[driver], duration: `${durationS}s` };
  const result = await runLoad(
    {
      scenarios: {
        bench: { ...scenario, preAllocatedVUs: 128, maxVUs: 256, gracefulStop: '5s', role: 'producer', message },
      },
      ledger,
    },
    { endpoint: server.endpoint, tls: false, namespace: '' },
    { launcher, out },
  );
  tracked?.stop();
  const wallS = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const v = (name: string) => result.summary.metrics[name]?.values ?? {};
  const round = (x: number | undefined) => +(x ?? 0).toFixed(2);
  const acked = Math.max(1, v('messages_acked').count ?? 0);
  const loadCpuS = (cpu.user + cpu.system) / 1e6 + (tracked?.cpu() ?? 0);
  const serverCpuS = cpuSeconds(server.child.pid ?? 0) - server0;
  return {
    driver,
    target: server.name,
    ledger: ledger ? 'on' : 'off',
    offeredPerS: rates[driver] ?? 0,
    ackedPerS: Math.round((v('messages_acked').count ?? 0) / durationS),
    dropped: v('dropped_iterations').count ?? 0,
    failed: (v('messages_failed').count ?? 0) + (v('messages_unknown').count ?? 0),
    sendMedMs: round(v('send_duration').med),
    sendP99Ms: round(v('send_duration')['p(99)']),
    delayP99Ms: round(v('send_delay')['p(99)']),
    loadCpu: round(loadCpuS / wallS),
    serverCpu: round(serverCpuS / wallS),
    loadUsPerMsg: Math.round((loadCpuS * 1e6) / acked),
    goProcUsPerMsg: tracked ? Math.round((tracked.cpu() * 1e6) / acked) : '-',
    serverUsPerMsg: Math.round((serverCpuS * 1e6) / acked),
  };
}

function ratio(a: Row | undefined, b: Row | undefined): string {
  return a && b && b.ackedPerS > 0 ? (a.ackedPerS / b.ackedPerS).toFixed(2) : '-';
}

function printRatios(rows: Row[]): void {
  const find = (driver: string, target: string, ledger: string) =>
    rows.find((r) => r.driver === driver && r.target === target && r.ledger === ledger);
  const lines: string[] = [];
  for (const driver of drivers) {
    for (const ledger of ['off', 'on']) {
      const broker = find(driver, 'bundled broker', ledger);
      const ceiling = find(driver, 'null gRPC server', ledger);
      lines.push(`${driver}, ledger ${ledger}: bundled broker / null server = ${ratio(broker, ceiling)}`);
    }
    for (const target of ['bundled broker', 'null gRPC server']) {
      const on = find(driver, target, 'on');
      lines.push(`${driver} -> ${target}: ledger on / off = ${ratio(on, find(driver, target, 'off'))}`);
    }
  }
  for (const target of ['bundled broker', 'null gRPC server']) {
    lines.push(`${target}, ledger on: go / node = ${ratio(find('go', target, 'on'), find('node', target, 'on'))}`);
  }
  console.log(lines.join('\n'));
}

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-bench-load-'));
const servers = [await startBroker(dir), await startNull()];
const rows: Row[] = [];
try {
  for (const server of servers) {
    for (const driver of drivers) {
      for (const ledger of [false, true]) {
        const row = await measure(driver, server, ledger, join(dir, `${driver}-${rows.length}`));
        process.stderr.write(`${JSON.stringify(row)}\n`);
        rows.push(row);
      }
    }
  }
  console.log(`\nload bench: 1 KiB NORMAL messages, ${durationS}s per row, one driver worker, ${cpus().length} cores`);
  console.table(rows);
  printRatios(rows);
  console.log(`\nreproduce: node --import tsx bench/load.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
} finally {
  for (const s of servers) s.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
