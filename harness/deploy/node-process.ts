/**
 * One bundled broker node as a child process: `mqdrill broker` on a fixed port with its own folder, started, waited
 * for (bounded) through its ready file, signalled, and started again with the same arguments. Output goes to
 * <folder>/broker.log (appended across restarts) and the last few KB are kept for error messages.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const mqdrillBin = path.join(repoRoot, 'bin/mqdrill.mjs');

const tailCharsMax = 8192;
const tailLinesShown = 25;
const readyPollMs = 25;
/** What `mqdrill broker` prints when startBroker() throws. */
const startFailed = /broker failed to start/;

export type TargetLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** A target that did not come up: names the node and carries the tail of its log; the CLI exits 4 on it. */
export class TargetBootError extends CliError {
  constructor(
    readonly node: string,
    reason: string,
    readonly logTail: string,
    readonly logFile?: string,
  ) {
    const where = logFile ? ` (full log: ${logFile})` : '';
    super(
      `${node} failed to start: ${reason}${where}\n--- last lines of its log ---\n${logTail}`,
      ExitCode.TARGET_FAILED,
    );
    this.name = 'TargetBootError';
  }
}

export interface NodeLaunch {
  name: string;
  host: string;
  port: number;
  /** Broker data folder (<folder>/data). */
  folder: string;
  advertise: string;
  flush: 'sync' | 'async';
  /** `--shards N` (default 1): the node is a supervisor and N shard processes, signalled as one process group. */
  shards?: number;
  /** Written to <folder>/config.json and passed with --config. */
  config: Record<string, unknown>;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Waits at most timeoutMs for `exited`; true when it settled in time (a process wrapper's bounded exit wait). */
export async function settlesWithin(exited: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), timeoutMs);
  });
  const result = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  return result !== 'timeout';
}

export class BrokerNodeProcess {
  child: ChildProcess | undefined;
  /** Resolves when the current child exits. */
  exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  paused = false;
  private tail = '';
  private readonly log: fs.WriteStream;
  readonly dataDir: string;
  readonly configFile: string;
  readonly readyFile: string;
  readonly logFile: string;

  constructor(
    readonly launch: NodeLaunch,
    private readonly onEvent: TargetLog,
  ) {
    fs.mkdirSync(launch.folder, { recursive: true });
    this.dataDir = path.join(launch.folder, 'data');
    this.configFile = path.join(launch.folder, 'config.json');
    this.readyFile = path.join(launch.folder, 'ready.json');
    this.logFile = path.join(launch.folder, 'broker.log');
    fs.writeFileSync(this.configFile, `${JSON.stringify(launch.config, null, 2)}\n`);
    this.log = fs.createWriteStream(this.logFile, { flags: 'a' });
  }

  get name(): string {
    return this.launch.name;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  logTail(lines = tailLinesShown): string {
    return (
      this.tail
        .split('\n')
        .slice(-lines - 1)
        .join('\n')
        .trimEnd() || '(no output)'
    );
  }

  /** Spawns the broker and waits (bounded) for its ready file; on failure the child is killed and this throws. */
  async start(readyTimeoutMs: number): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.child?.pid})`);
    fs.rmSync(this.readyFile, { force: true });
    const { launch } = this;
    const args = [mqdrillBin, 'broker', '--data', this.dataDir, '--port', String(launch.port)];
    args.push('--ready-file', this.readyFile, '--advertise', launch.advertise, '--name', launch.name);
    args.push('--flush', launch.flush, '--config', this.configFile);
    if (this.sharded) args.push('--shards', String(launch.shards));
    // A sharded node gets its own process group, so a fault's signal reaches the supervisor and every shard.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: this.sharded });
    this.child = child;
    this.paused = false;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const capture = (chunk: Buffer) => {
      this.log.write(chunk);
      this.tail = (this.tail + chunk.toString('utf8')).slice(-tailCharsMax);
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    child.once('error', (err) => capture(Buffer.from(`spawn failed: ${err.message}\n`)));
    await this.waitReady(child, readyTimeoutMs);
    this.onEvent('info', 'broker node ready', { node: this.name, pid: child.pid, port: launch.port });
  }

  private async waitReady(child: ChildProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (fs.existsSync(this.readyFile)) {
        const ready = JSON.parse(fs.readFileSync(this.readyFile, 'utf8')) as { port: number; pid: number };
        if (ready.pid === child.pid && ready.port === this.launch.port) return;
        child.kill('SIGKILL');
        throw this.bootError(`ready file names pid ${ready.pid} port ${ready.port}, expected the node's own`);
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        await this.exited;
        throw this.bootError(`exited with ${child.exitCode ?? child.signalCode} before it was ready`);
      }
      if (startFailed.test(this.tail)) {
        // The broker reported a failed start but its process may linger (open store timers): do not wait it out.
        child.kill('SIGKILL');
        await this.waitExit(5000);
        throw this.bootError('the broker reported that it failed to start');
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await this.waitExit(5000);
        throw this.bootError(`not ready after ${timeoutMs} ms`);
      }
      await sleep(readyPollMs);
    }
  }

  private bootError(reason: string): TargetBootError {
    return new TargetBootError(this.name, reason, this.logTail(), this.logFile);
  }

  /** True when the last start failed because the port was taken (a race after freePort()). */
  portWasTaken(): boolean {
    return /EADDRINUSE/.test(this.tail.slice(-2048));
  }

  private get sharded(): boolean {
    return (this.launch.shards ?? 1) > 1;
  }

  /** SIGTERM goes to the node's process alone (a supervisor stops its shards gracefully); others to every shard too. */
  private send(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (this.sharded && pid !== undefined && sig !== 'SIGTERM') {
      try {
        process.kill(-pid, sig);
        return;
      } catch {
        // the group is gone already: fall through to the process itself
      }
    }
    this.child?.kill(sig);
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running || !this.child) throw new Error(`${this.name} is not running`);
    this.send(sig);
    if (sig === 'SIGSTOP') this.paused = true;
    if (sig === 'SIGCONT') this.paused = false;
  }

  /** Waits at most timeoutMs for the child to exit; true when it did. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    return this.running ? settlesWithin(this.exited, timeoutMs) : true;
  }

  /** SIGCONT (if paused), SIGTERM, wait; SIGKILL after graceMs. Resolves with how it ended. */
  async terminate(graceMs: number): Promise<ExitInfo | undefined> {
    if (!this.running || !this.child) return undefined;
    if (this.paused) this.signal('SIGCONT');
    this.child.kill('SIGTERM');
    if (!(await this.waitExit(graceMs))) {
      this.onEvent('warn', 'broker node ignored SIGTERM; killing it', { node: this.name, graceMs });
      this.send('SIGKILL');
      await this.waitExit(5000);
    }
    return this.exited;
  }

  /** Synchronous last resort for process exit: SIGKILL a running child. */
  killNow(): void {
    if (this.running) this.send('SIGKILL');
  }

  closeLog(): Promise<void> {
    return new Promise((resolve) => this.log.end(() => resolve()));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
