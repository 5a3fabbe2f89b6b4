/**
 * Target processes for benchmarks: a bundled broker (bench/compare.ts, bench/memory.ts: started, topics created,
 * stopped) and the null servers (bench/null-server.ts, bench/raw-null-server.ts: a MessagingService that stores
 * nothing).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchTarget {
  endpoint: string;
  /** The bundled broker's admin port (/metrics, /topics); absent for other targets. */
  adminPort?: number;
  pids(): number[];
  stop(): Promise<void>;
}

export interface BenchTopic {
  name: string;
  type: 'NORMAL' | 'FIFO';
}

export async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 50));
}

/** SIGTERM, then SIGKILL after 20 s; resolves once the process has exited. */
export function stopChild(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
}

/**
 * Starts `node [nodeArgs] BIN broker` on DIR/data with a ready file, and creates the topics (8 queues each) through
 * its admin API. bin is a checkout's bin/mqdrill.mjs (this one, or a baseline's).
 */
export async function startBundledBroker(
  dir: string,
  flush: 'sync' | 'async',
  bin: string,
  topics: readonly BenchTopic[],
  nodeArgs: string[] = [],
  brokerArgs: string[] = [],
): Promise<BenchTarget> {
  const readyFile = join(dir, 'ready.json');
  rmSync(readyFile, { force: true }); // a previous start's file names that start's ports
  const args = ['broker', '--data', join(dir, 'data'), '--port', '0', '--admin-port', '0', '--ready-file', readyFile];
  args.push(...brokerArgs);
  const child = spawn(process.execPath, [...nodeArgs, bin, ...args, '--flush', flush], { stdio: 'ignore' });
  const stop = stopChild(child);
  try {
    await waitForFile(readyFile, 30_000);
    const ready = JSON.parse(readFileSync(readyFile, 'utf8')) as {
      grpcPort: number;
      adminPort: number;
      shards?: Array<{ pid: number }>;
    };
    const { grpcPort, adminPort } = ready;
    // A sharded broker (`--shards N`) lists its shard processes in the ready file; their CPU and RSS count too.
    const shardPids = (ready.shards ?? []).map((s) => s.pid);
    for (const { name, type } of topics) {
      const res = await fetch(`http://127.0.0.1:${adminPort}/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, queues: 8, type }),
      });
      if (!res.ok && res.status !== 409) throw new Error(`bundled broker: create topic ${name}: HTTP ${res.status}`);
    }
    return {
      endpoint: `127.0.0.1:${grpcPort}`,
      adminPort,
      pids: () => (child.exitCode === null && child.pid ? [child.pid, ...shardPids] : []),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Starts a null server, `node [nodeArgs] --import tsx SCRIPT [args]`, and waits (at most 30 s) for the `{"port":N}`
 * line it prints on stdout.
 */
export async function startNullServer(
  script: string,
  args: string[] = [],
  nodeArgs: string[] = [],
): Promise<BenchTarget & { child: ChildProcess }> {
  const argv = [...nodeArgs, '--import', 'tsx', script, ...args];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = stopChild(child);
  try {
    const port = await new Promise<number>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`${script}: no {"port":N} line within 30 s`)), 30_000);
      let buf = '';
      child.stdout?.on('data', (d) => {
        buf += String(d);
        const m = /\{"port":(\d+)\}/.exec(buf);
        if (m) {
          clearTimeout(timer);
          ok(Number(m[1]));
        }
      });
      child.once('exit', (code, signal) =>
        fail(new Error(`${script} exited (${signal ?? `code ${code}`}) before serving`)),
      );
    });
    return {
      child,
      endpoint: `127.0.0.1:${port}`,
      pids: () => (child.exitCode === null && child.pid ? [child.pid] : []),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
