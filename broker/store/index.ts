/**
 * The store's public surface. Upper layers import from here (types and the factory); the file and memory
 * implementations are exported for tests and tools, and share one conformance suite (broker/store/testing.ts).
 */
import type { Clock } from '../../lib/clock.ts';
import { FileMessageStore, type StoreLogFn } from './file/file-store.ts';
import type { StoreFs } from './file/store-fs.ts';
import { MemoryMessageStore } from './memory/memory-store.ts';
import type { MessageStore, StoreOptions } from './types.ts';

export { CheckpointFile, type CheckpointLoad, type CheckpointValidator } from './checkpoint.ts';
export { PENDING_APPENDS_MAX_DEFAULT, PENDING_APPENDS_QUEUE_NAME } from './file/append-pipeline.ts';
export { FileMessageStore, type FileStoreDeps, type StoreLogFn, statfsUsedRatio } from './file/file-store.ts';
export { isDiskFullError } from './file/index-writer.ts';
export { nodeStoreFs, type StoreFileHandle, type StoreFs } from './file/store-fs.ts';
export { MemoryMessageStore } from './memory/memory-store.ts';
export * from './types.ts';

export interface CreateStoreOptions extends StoreOptions {
  /** 'file' (durable, the default) or 'memory' (tests; dataDir is ignored). */
  kind?: 'file' | 'memory';
  clock?: Clock;
  fs?: StoreFs;
  log?: StoreLogFn;
}

/** Makes a store; call open() on it before use. */
export function createStore(options: CreateStoreOptions): MessageStore {
  const { kind = 'file', clock, fs, log, ...storeOptions } = options;
  if (kind === 'memory') return new MemoryMessageStore(storeOptions, { clock });
  return new FileMessageStore(storeOptions, { clock, fs, log });
}
