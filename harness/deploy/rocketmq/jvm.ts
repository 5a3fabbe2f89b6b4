/**
 * One JVM of a real RocketMQ deployment (name server, broker + proxy, admin) as a child process: spawned with a
 * fixed command line, its stdout and stderr appended to a log file, waited for (bounded) until its readiness line
 * is printed and its port accepts, signalled, and started again with the same command line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { settlesWithin, TargetBootError, type TargetLog } from '../node-process.ts';

const tailCharsMax = 16_384;
const pollMs = 100;

export interface JvmSpec {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** The line on stdout that says the JVM is up. */
  ready: RegExp;
  /** A line that says the start failed (the JVM may linger after it). */
  failed?: RegExp;
  /** host:port that must accept a TCP connection before the JVM counts as ready. */
  port: { host: string; port: number };
}

export class JvmProcess {
  child: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();
  paused = false;
  private tail = '';
  private readonly log: fs.WriteStream;

  constructor(
    readonly spec: JvmSpec,
    private readonly onEvent: TargetLog,
  ) {
    this.log = fs.createWriteStream(spec.logFile, { flags: 'a' });
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  logTail(lines = 30): string {
    return this.tail.split('\n').slice(-lines).join('\n').trimEnd() || '(no output)';
  }

  /** Spawns the JVM and waits until it is ready; on failure it is killed and this throws a TargetBootError. */
  async start(readyTimeoutMs: number): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.child?.pid})`);
    this.tail = '';
    this.log.write(`--- ${new Date().toISOString()} starting: java ${this.spec.args.join(' ')}\n`);
    const child = spawn('java', this.spec.args, { env: this.spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.paused = false;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const capture = (chunk: Buffer) => {
      this.log.write(chunk);
      this.tail = (this.tail + chunk.toString('utf8')).slice(-tailCharsMax);
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    child.once('error', (err) => capture(Buffer.from(`spawn failed: ${err.message}\n`)));
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (!this.running) {
        await this.exited;
        throw this.bootError(`exited with ${child.exitCode ?? child.signalCode} before it was ready`);
      }
      if (this.spec.failed?.test(this.tail)) {
        await this.kill9();
        throw this.bootError('it reported that it failed to start');
      }
      if (this.spec.ready.test(this.tail) && (await accepts(this.spec.port.host, this.spec.port.port))) break;
      if (Date.now() > deadline) {
        await this.kill9();
        throw this.bootError(`not ready after ${readyTimeoutMs} ms`);
      }
      await sleep(pollMs);
    }
    this.onEvent('info', 'rocketmq process ready', { node: this.name, pid: child.pid, port: this.spec.port.port });
  }

  bootError(reason: string): TargetBootError {
    return new TargetBootError(this.name, reason, this.logTail(), this.spec.logFile);
  }

  portWasTaken(): boolean {
    return /Address already in use|BindException/.test(this.tail);
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running || !this.child) throw new Error(`${this.name} is not running`);
    this.child.kill(sig);
    if (sig === 'SIGSTOP') this.paused = true;
    if (sig === 'SIGCONT') this.paused = false;
  }

  async waitExit(timeoutMs: number): Promise<boolean> {
    return this.running ? settlesWithin(this.exited, timeoutMs) : true;
  }

  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.waitExit(10_000);
  }

  /** SIGCONT (if paused), SIGTERM (the JVM's shutdown hooks run), SIGKILL after graceMs. */
  async terminate(graceMs: number): Promise<void> {
    if (!this.running || !this.child) return;
    if (this.paused) this.signal('SIGCONT');
    this.child.kill('SIGTERM');
    if (!(await this.waitExit(graceMs))) {
      this.onEvent('warn', 'rocketmq process ignored SIGTERM; killing it', { node: this.name, graceMs });
      await this.kill9();
    }
  }

  killNow(): void {
    if (this.running) this.child?.kill('SIGKILL');
  }

  closeLog(): Promise<void> {
    return new Promise((resolve) => this.log.end(() => resolve()));
  }
}

export function accepts(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
