/**
 * The client side of the long-lived RocketMQ admin JVM (Admin.java): one JVM per run instead of one `mqadmin` JVM
 * (4-7 s) per call. Requests and answers are JSON lines with ids; every call has a timeout; the number of calls in
 * flight is bounded (a call over the bound is refused at once, naming the bound).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { requireRocketmq, rocketmqClasspath } from '../../setup/rocketmq.ts';
import type { Backlog, GroupSpec, TopicSpec } from '../types.ts';

const maxInFlight = 64;
const callTimeoutMs = 30_000;
const readyTimeoutMs = 120_000;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface RocketmqAdminOptions {
  namesrv: string;
  /** Folder for the JVM's home (RocketMQ client logs) and admin.log (its stderr). */
  dir: string;
  /**
   * Brokers that must have registered with the name server before provisioning (default 1). With fewer, a topic
   * would be created only on the brokers registered so far, and a proxy whose broker lacks it answers routes that
   * accept no message type (clients refuse every send: "Current message type not match").
   */
  brokers?: number;
}

export class RocketmqAdmin {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stderrTail = '';
  private closed = false;

  private constructor(private readonly opts: RocketmqAdminOptions) {}

  /** Starts the admin JVM and waits (bounded) for it to say it is ready. */
  static async start(opts: RocketmqAdminOptions): Promise<RocketmqAdmin> {
    await requireRocketmq();
    const admin = new RocketmqAdmin(opts);
    await admin.spawn();
    return admin;
  }

  private spawn(): Promise<void> {
    const home = path.join(this.opts.dir, 'admin-home');
    fs.mkdirSync(home, { recursive: true });
    const log = fs.createWriteStream(path.join(this.opts.dir, 'admin.log'), { flags: 'a' });
    const args = ['-Xms64m', '-Xmx192m', '-XX:+UseSerialGC', `-Duser.home=${home}`];
    args.push('-Drmq.logback.configurationFile=rmq.tools.logback.xml', '-cp', rocketmqClasspath());
    args.push('mqdrill.rocketmq.Admin', this.opts.namesrv);
    const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4096);
    });
    child.once('exit', (code, signal) => {
      log.end();
      this.failAll(new Error(`the RocketMQ admin JVM exited (${code ?? signal}): ${this.stderrTail.slice(-600)}`));
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(`the RocketMQ admin JVM was not ready in ${readyTimeoutMs} ms: ${this.stderrTail.slice(-600)}`),
        );
      }, readyTimeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`the RocketMQ admin JVM exited before it was ready: ${this.stderrTail.slice(-600)}`));
      });
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      lines.on('line', (line) => {
        let msg: { ready?: boolean; id?: number; ok?: boolean; result?: unknown; error?: string };
        try {
          msg = JSON.parse(line);
        } catch {
          return; // not an answer (a library printing to stdout)
        }
        if (msg.ready) {
          clearTimeout(timer);
          resolve();
          return;
        }
        const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
        if (!p || msg.id === undefined) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(`RocketMQ admin: ${msg.error ?? 'failed'}`));
      });
    });
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  /** One request; rejects on the JVM's error answer, after callTimeoutMs, or when maxInFlight calls are waiting. */
  call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.closed || !this.child?.stdin) return Promise.reject(new Error('RocketMQ admin: closed'));
    if (this.pending.size >= maxInFlight) {
      return Promise.reject(new Error(`RocketMQ admin: ${maxInFlight} calls already waiting; try again later`));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`RocketMQ admin: no answer to ${op} in ${callTimeoutMs} ms`));
      }, callTimeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child?.stdin?.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  /** Master brokers by name; waits (bounded) until at least one has registered with the name server. */
  async waitForBroker(timeoutMs = 60_000): Promise<Record<string, string>> {
    const deadline = Date.now() + timeoutMs;
    const expected = this.opts.brokers ?? 1;
    for (;;) {
      const brokers = await this.call<Record<string, string>>('brokers').catch(() => ({}));
      if (Object.keys(brokers).length >= expected) return brokers;
      if (Date.now() > deadline) {
        const registered = Object.keys(brokers).join(', ') || 'none';
        throw new Error(
          `${expected} broker(s) expected to register with the name server in ${timeoutMs} ms; registered: ` +
            `${registered}. See each broker's log for why it did not register (name server address, network).`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * Topics with their message type, groups with the FIFO flag and max attempts (RocketMQ's retryMaxTimes is
   * attempts - 1). For a group with max attempts, its dead-letter topic %DLQ%<group> is created too (1 queue, as
   * RocketMQ makes it): RocketMQ creates it lazily on the first dead letter, and its route then stays unknown to the
   * proxy for up to a minute, so a dead-letter scan right after the drain would find no topic.
   */
  async provision(topics: TopicSpec[], groups: GroupSpec[]): Promise<void> {
    await this.waitForBroker();
    for (const t of topics) await this.call('createTopic', { topic: t.name, queues: t.queues, type: t.type });
    for (const g of groups) {
      const retryMaxTimes = g.maxAttempts === undefined ? undefined : Math.max(0, g.maxAttempts - 1);
      await this.call('createGroup', { group: g.name, fifo: g.fifo ?? false, retryMaxTimes });
      if (g.maxAttempts !== undefined) {
        await this.call('createTopic', { topic: `%DLQ%${g.name}`, queues: 1, type: 'NORMAL' });
      }
    }
  }

  /**
   * Per group: ready = lag on its topics, retry = lag on its retry topics (%RETRY%...), dlq = messages in
   * %DLQ%<group>. inflight is null (unknown): a pop advances the group's consumer offset at once, so a delivered,
   * unacknowledged message is in neither lag until its invisible time passes and it is revived as retry; RocketMQ 5.3
   * counts those messages only inside the broker (PopInflightMessageCounter), and neither the admin API's consume
   * stats (broker, consumer and pull offsets) nor the broker metrics for gRPC consumers (registered as
   * CONSUME_ACTIVELY / CONSUME_PASSIVELY, not CONSUME_POP) expose that count.
   */
  async backlog(groups: string[]): Promise<Backlog[]> {
    const rows: Backlog[] = [];
    for (const group of groups) {
      const stats = await this.call<Record<string, { brokerOffset: number; consumerOffset: number }>>('consumeStats', {
        group,
      });
      const dlq = await this.call<{ exists: boolean; messages: number }>('topicStats', { topic: `%DLQ%${group}` });
      let ready = 0;
      let retry = 0;
      let topic = '';
      for (const [t, s] of Object.entries(stats)) {
        const lag = Math.max(0, s.brokerOffset - s.consumerOffset);
        if (t.startsWith('%RETRY%')) retry += lag;
        else {
          ready += lag;
          topic ||= t;
        }
      }
      rows.push({ topic, group, ready, inflight: null, retry, dlq: dlq.messages });
    }
    return rows;
  }

  /**
   * The brokers' own runtime counters summed over masters, under RocketMQ's names (msgPutTotalTodayNow,
   * msgGetTotalTodayNow): they count internal puts too (retry, revive, DLQ), so they are not the bundled broker's
   * rocketmq_messages_in_total.
   */
  async counters(): Promise<Record<string, number>> {
    const stats = await this.call<Record<string, Record<string, string>>>('runtimeStats');
    let put = 0;
    let got = 0;
    for (const kv of Object.values(stats)) {
      put += Number(kv.msgPutTotalTodayNow ?? 0);
      got += Number(kv.msgGetTotalTodayNow ?? 0);
    }
    return { msgPutTotalTodayNow: put, msgGetTotalTodayNow: got };
  }

  /** Whether a topic exists (its route is in the name server) and how many messages it holds. */
  topicStats(topic: string): Promise<{ exists: boolean; messages: number }> {
    return this.call('topicStats', { topic });
  }

  /** Ends stdin (the JVM exits at its end); SIGKILL after 5 s. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Synchronous last resort at process exit. */
  killNow(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
