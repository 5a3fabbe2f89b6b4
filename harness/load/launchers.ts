/**
 * How the engine starts a driver and talks to it. Three transports carry the same protocol messages:
 * - inline: a DriverRuntime in this thread (tests, with the in-memory broker);
 * - node: a worker thread running the node driver (rocketmq-client-nodejs), messages via postMessage;
 * - process: a child process (the Go driver) speaking NDJSON on stdin/stdout, logs on stderr.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Clock } from '../../lib/clock.ts';
import { toolPath } from '../setup/index.ts';
import type { ClientFactory } from './driver/client.ts';
import { DriverRuntime } from './driver/runtime.ts';
import type { DriverName } from './driver-names.ts';
import { type DriverToEngine, decodeDriverLine, type EngineToDriver, encodeLine, lineSplitter } from './protocol.ts';

export interface DriverConnection {
  send(message: EngineToDriver): void;
  /** Set once by the engine. */
  onMessage: (message: DriverToEngine) => void;
  /** Called when the driver ends, with an error if it crashed. */
  onExit: (error?: Error) => void;
  terminate(): Promise<void>;
}

export type DriverLauncher = (driverId: string) => DriverConnection;

function connection(send: (m: EngineToDriver) => void, terminate: () => Promise<void>): DriverConnection {
  return { send, terminate, onMessage: () => {}, onExit: () => {} };
}

/** A driver in this thread over the given client factory (the in-memory broker in tests). */
export function inlineLauncher(clock: Clock, factory: ClientFactory): DriverLauncher {
  return () => {
    let runtime: DriverRuntime | undefined;
    const conn = connection(
      (m) => {
        // Decouple like a real transport: deliver on a later tick, as a copy.
        const copy = JSON.parse(JSON.stringify(m)) as EngineToDriver;
        queueMicrotask(() => void runtime?.handle(copy));
      },
      async () => {},
    );
    runtime = new DriverRuntime(clock, factory, (m) => conn.onMessage(JSON.parse(JSON.stringify(m))));
    return conn;
  };
}

/** The node driver: one worker thread per driver, booted through tsx by node-worker.mjs. */
export function nodeWorkerLauncher(): DriverLauncher {
  const bootstrap = new URL('./driver/node-worker.mjs', import.meta.url);
  return (driverId) => {
    const worker = new Worker(bootstrap, { name: `mqdrill-driver-${driverId}`, stdout: false, stderr: false });
    const conn = connection(
      (m) => worker.postMessage(m),
      async () => {
        await worker.terminate();
      },
    );
    worker.on('message', (m: DriverToEngine) => conn.onMessage(m));
    worker.on('error', (err) => conn.onExit(err));
    worker.on('exit', (code) =>
      conn.onExit(code === 0 ? undefined : new Error(`driver ${driverId} exited with ${code}`)),
    );
    return conn;
  };
}

/** The program `mqdrill setup` builds from drivers/go/cmd/mqdrill-go-driver (.tools/bin). */
export const GO_DRIVER_PROGRAM = 'mqdrill-go-driver';

/**
 * The Go driver (drivers/go/cmd/mqdrill-go-driver on the official Go client), found through toolPath: throws a
 * CliError with exit code 5 (SETUP_MISSING) naming `mqdrill setup --only go-driver` when it is not built.
 */
export function goDriverLauncher(): DriverLauncher {
  return processLauncher(toolPath(GO_DRIVER_PROGRAM));
}

/** The program `mqdrill setup` builds from drivers/java (.tools/bin, a launcher of the JVM). */
export const JAVA_DRIVER_PROGRAM = 'mqdrill-java-driver';

/**
 * The Java driver (drivers/java): `java` on rocketmq-client-java (the 5.x gRPC client), `java-remoting` on
 * rocketmq-client (the 4.x API over the name server and broker TCP). Throws a CliError with exit code 5
 * (SETUP_MISSING) naming `mqdrill setup --only java-driver` when it is not built.
 */
export function javaDriverLauncher(family: 'grpc' | 'remoting'): DriverLauncher {
  return processLauncher(toolPath(JAVA_DRIVER_PROGRAM), ['--family', family]);
}

/** The launcher of a driver by name; the process drivers are looked up (and may throw SETUP_MISSING) here. */
export function launcherFor(driver: DriverName): DriverLauncher {
  switch (driver) {
    case 'node':
      return nodeWorkerLauncher();
    case 'go':
      return goDriverLauncher();
    case 'java':
      return javaDriverLauncher('grpc');
    case 'java-remoting':
      return javaDriverLauncher('remoting');
  }
}

/** A driver executable speaking NDJSON on stdio (the Go driver, drivers/go; the Java driver, drivers/java). */
export function processLauncher(executable: string, args: string[] = []): DriverLauncher {
  if (!existsSync(executable)) {
    throw new Error(`driver executable ${executable} is missing: run \`mqdrill setup\``);
  }
  return (driverId) => {
    const child = spawn(executable, [...args, '--driver-id', driverId], { stdio: ['pipe', 'pipe', 'pipe'] });
    const conn = connection(
      (m) => child.stdin.write(encodeLine(m)),
      async () => {
        child.kill('SIGTERM');
      },
    );
    let stderrTail = '';
    child.stdout.on(
      'data',
      lineSplitter((line) => {
        try {
          conn.onMessage(decodeDriverLine(line));
        } catch (err) {
          conn.onMessage({ type: 'log', driverId, level: 'warn', message: (err as Error).message });
        }
      }),
    );
    child.stderr.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-2000);
    });
    child.on('error', (err) => conn.onExit(err));
    child.on('exit', (code, signal) =>
      conn.onExit(
        code === 0 ? undefined : new Error(`driver ${driverId} exited with ${code ?? signal}: ${stderrTail}`),
      ),
    );
    return conn;
  };
}
