/**
 * Test helpers for the store and for layers above it: the shared conformance harness (describeEachStore runs a
 * suite against MemoryMessageStore and FileMessageStore), record builders, and an instrumented StoreFs that
 * counts fdatasync calls, holds them open and injects write errors. Imported only by tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe } from 'vitest';
import { ManualClock } from '../../lib/clock.ts';
import { FileMessageStore } from './file/file-store.ts';
import { nodeStoreFs, type StoreFileHandle, type StoreFs, type StoreOpenFlags } from './file/store-fs.ts';
import { MemoryMessageStore } from './memory/memory-store.ts';
import type { MessageRecord, MessageStore, StoreOptions } from './types.ts';

export type StoreKind = 'file' | 'memory';

export interface StoreHarness {
  kind: StoreKind;
  clock: ManualClock;
  dataDir: string;
  /** Makes and opens a store over dataDir; it is closed after the test. */
  open(overrides?: Partial<StoreOptions>): Promise<MessageStore>;
}

export function defaultTestOptions(dataDir: string): StoreOptions {
  return { dataDir, flush: 'sync', flushIntervalMs: 10, segmentBytesMax: 64 * 1024 };
}

export function makeTempDir(prefix = 'mqdrill-store-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs body once per store implementation; `harness()` gives the current test's fresh harness. */
export function describeEachStore(title: string, body: (harness: () => StoreHarness) => void): void {
  for (const kind of ['memory', 'file'] as const) {
    describe(`${title} [${kind} store]`, () => {
      let current: StoreHarness | undefined;
      const opened: MessageStore[] = [];
      beforeEach(() => {
        const dataDir = makeTempDir();
        const clock = new ManualClock();
        current = {
          kind,
          clock,
          dataDir,
          async open(overrides = {}) {
            const options = { ...defaultTestOptions(dataDir), ...overrides };
            const store =
              kind === 'file' ? new FileMessageStore(options, { clock }) : new MemoryMessageStore(options, { clock });
            opened.push(store);
            await store.open();
            return store;
          },
        };
      });
      afterEach(async () => {
        for (const store of opened.splice(0)) await store.close();
        if (current) rmSync(current.dataDir, { recursive: true, force: true });
        current = undefined;
      });
      body(() => {
        if (!current) throw new Error('harness() is only available inside a test');
        return current;
      });
    });
  }
}

/** A small record whose body and message id carry n, so tests can check what came back. */
export function testRecord(
  topic: string,
  queueId: number,
  n: number,
  extra: { tag?: string; bodyBytes?: number } = {},
) {
  const text = `body-${topic}-${queueId}-${n}`;
  const body = extra.bodyBytes === undefined ? Buffer.from(text) : Buffer.alloc(extra.bodyBytes, text);
  const record: MessageRecord = {
    topic,
    queueId,
    body,
    props: { messageId: `msg-${topic}-${queueId}-${n}`, messageType: 'NORMAL', tag: extra.tag, keys: [`k${n}`] },
  };
  if (extra.tag === undefined) delete record.props.tag;
  return record;
}

type FsOp = 'write' | 'datasync';

/**
 * A StoreFs over node:fs that records every write and fdatasync (with the file path), can hold commit log writes or
 * fdatasyncs until the test releases them, and can fail the next commit log write or fdatasync.
 */
export class TestStoreFs implements StoreFs {
  readonly calls: Array<{ op: FsOp; path: string }> = [];
  /** Commit log operations of these kinds wait for release() (index files are never held). */
  readonly holding = new Set<FsOp>();
  private held: Array<{ op: FsOp; release: () => void }> = [];
  private heldWaiters: Array<{ op: FsOp; wake: () => void }> = [];
  private failures: Array<{ op: FsOp; error: Error }> = [];

  /** fdatasync calls on commit log segments (not index files). */
  get logDatasyncCount(): number {
    return this.logCalls().filter((op) => op === 'datasync').length;
  }

  /** The commit log operations in call order. */
  logCalls(): FsOp[] {
    return this.calls.filter((c) => c.path.includes('commitlog')).map((c) => c.op);
  }

  /** Makes the next commit log write or fdatasync fail with error. */
  failNext(op: FsOp, error: Error): void {
    this.failures.push({ op, error });
  }

  /** Resolves once a commit log operation of this kind is being held. */
  whenHeld(op: FsOp): Promise<void> {
    if (this.held.some((h) => h.op === op)) return Promise.resolve();
    return new Promise((wake) => this.heldWaiters.push({ op, wake }));
  }

  /** Stops holding and lets every held operation go on. */
  releaseAll(): void {
    this.holding.clear();
    for (const { release } of this.held.splice(0)) release();
  }

  async open(path: string, flags: StoreOpenFlags): Promise<StoreFileHandle> {
    const inner = await nodeStoreFs.open(path, flags);
    const isLog = path.includes('commitlog');
    const gate = async (op: FsOp) => {
      this.calls.push({ op, path });
      if (!isLog) return;
      if (this.holding.has(op)) await this.hold(op);
      this.maybeFail(op);
    };
    return {
      fd: inner.fd,
      write: async (buffer, offset, length, position) => {
        await gate('write');
        return inner.write(buffer, offset, length, position);
      },
      datasync: async () => {
        await gate('datasync');
        return inner.datasync();
      },
      close: () => inner.close(),
    };
  }

  syncDir(path: string): Promise<void> {
    return nodeStoreFs.syncDir(path);
  }

  private hold(op: FsOp): Promise<void> {
    return new Promise((release) => {
      this.held.push({ op, release });
      const waking = this.heldWaiters.filter((w) => w.op === op);
      this.heldWaiters = this.heldWaiters.filter((w) => w.op !== op);
      for (const { wake } of waking) wake();
    });
  }

  private maybeFail(op: FsOp): void {
    const index = this.failures.findIndex((f) => f.op === op);
    if (index < 0) return;
    const [failure] = this.failures.splice(index, 1);
    throw failure!.error;
  }
}
