/**
 * The real toxiproxy-server that `mqdrill setup` installs, started on a free loopback port for one drill and stopped
 * at its end. Network faults go through it (network.ts); nothing here touches the broker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../lib/ports.ts';
import { toolPath } from '../setup/index.ts';

export interface ToxiproxyServerOptions {
  /** Default: toolPath('toxiproxy-server'), which says how to install it when missing. */
  programPath?: string;
  host?: string;
  /** The API port; default a free one. */
  port?: number;
  /** How long to wait for the API to answer (default 10 s). */
  readyTimeoutMs?: number;
  /** A command the server runs under, e.g. `nsenter --net=/proc/PID/ns/net --` (a container's namespace). */
  wrapper?: readonly string[];
}

const READY_TIMEOUT_MS_DEFAULT = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_LINES_MAX = 20;

export class ToxiproxyServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly host: string,
    readonly port: number,
    private readonly output: string[],
  ) {}

  /** The HTTP API, e.g. `http://127.0.0.1:41234`. */
  get apiUrl(): string {
    return `http://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts the server and waits until its API answers; on a port taken meanwhile, tries another (3 tries). */
  static async start(options: ToxiproxyServerOptions = {}): Promise<ToxiproxyServer> {
    const programPath = options.programPath ?? toolPath('toxiproxy-server');
    const host = options.host ?? '127.0.0.1';
    let lastError: unknown;
    for (let attempt = 0; attempt < (options.port === undefined ? 3 : 1); attempt++) {
      const port = options.port ?? (await freePort(host));
      try {
        return await ToxiproxyServer.startOn(programPath, host, port, options.readyTimeoutMs, options.wrapper);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  private static async startOn(
    programPath: string,
    host: string,
    port: number,
    readyTimeoutMs = READY_TIMEOUT_MS_DEFAULT,
    wrapper: readonly string[] = [],
  ): Promise<ToxiproxyServer> {
    const args = ['-host', host, '-port', String(port)];
    const [program, ...rest] = [...wrapper, programPath, ...args] as [string, ...string[]];
    const child = spawn(program, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const keep = (chunk: Buffer) => {
      output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      output.splice(0, Math.max(0, output.length - OUTPUT_LINES_MAX));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const server = new ToxiproxyServer(child, host, port, output);
    try {
      await server.waitReady(readyTimeoutMs);
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadlineMs = performance.now() + timeoutMs;
    let spawnError: Error | undefined;
    this.child.once('error', (err) => {
      spawnError = err;
    });
    while (performance.now() < deadlineMs) {
      if (spawnError) throw new Error(`toxiproxy-server did not start: ${spawnError.message}`);
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`toxiproxy-server exited (${this.child.exitCode ?? this.child.signalCode})${this.tail()}`);
      }
      if (await this.answers()) return;
      await sleep(50);
    }
    throw new Error(`toxiproxy-server API at ${this.apiUrl} did not answer within ${timeoutMs}ms${this.tail()}`);
  }

  private async answers(): Promise<boolean> {
    try {
      const response = await fetch(`${this.apiUrl}/version`, { signal: AbortSignal.timeout(1_000) });
      await response.text();
      return response.ok;
    } catch {
      return false;
    }
  }

  private tail(): string {
    return this.output.length > 0 ? `:\n${this.output.join('\n')}` : '';
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s); every proxy goes with it. */
  async close(): Promise<void> {
    if (this.child.pid === undefined) return; // never started
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}
