import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cliPath = path.join(repoRoot, 'bin/mqdrill.mjs');

export interface BrokerProcess {
  child: ChildProcess;
  port: number;
  endpoints: string;
  logs: string[];
  /** The ready file: a sharded broker (--shards N) also names its admin view port and its shard processes. */
  ready: ReadyFile;
}

export interface ReadyFile {
  port: number;
  adminPort: number;
  pid: number;
  shards?: Array<{ name: string; grpcPort: number; adminPort: number; pid: number; dataDir: string }>;
}

/** Starts `mqdrill broker` as a child process and waits (bounded) for its ready file. */
export async function spawnBroker(
  dataDir: string,
  args: string[] = [],
  readyTimeoutMs = 15_000,
): Promise<BrokerProcess> {
  const readyFile = path.join(dataDir, `ready-${Date.now()}.json`);
  fs.mkdirSync(dataDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [cliPath, 'broker', '--data', dataDir, '--port', '0', '--ready-file', readyFile, ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  child.stdout?.on('data', (d) => logs.push(String(d)));
  child.stderr?.on('data', (d) => logs.push(String(d)));
  const deadline = Date.now() + readyTimeoutMs;
  while (!fs.existsSync(readyFile)) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}:\n${logs.join('')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`broker not ready after ${readyTimeoutMs} ms:\n${logs.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const ready = JSON.parse(fs.readFileSync(readyFile, 'utf8')) as ReadyFile;
  return { child, port: ready.port, endpoints: `127.0.0.1:${ready.port}`, logs, ready };
}

export function waitForExit(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`process ${child.pid} still running after ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

export async function admin(endpoints: string, method: string, route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://${endpoints}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Whether a process with this pid exists (signal 0). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids whose command line mentions `text` (Linux /proc; none where there is no /proc). */
export function processesMentioning(text: string): number[] {
  if (!fs.existsSync('/proc/self/cmdline')) return [];
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}
