import { promises as fsp } from 'node:fs';

/**
 * The file operations on the store's write path, injected so tests can count fdatasync calls, hold an
 * fsync open to watch group commit, or fail a write. Reads and recovery use node:fs directly (synchronous, positional).
 */
export interface StoreFileHandle {
  /** The OS descriptor, also used for synchronous positional reads (fs.readSync). */
  readonly fd: number;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export type StoreOpenFlags = 'r+' | 'wx+';

export interface StoreFs {
  open(path: string, flags: StoreOpenFlags): Promise<StoreFileHandle>;
  /** fsync a directory, so a created, renamed or deleted entry survives a crash. */
  syncDir(path: string): Promise<void>;
}

export const nodeStoreFs: StoreFs = {
  async open(path, flags) {
    const handle = await fsp.open(path, flags);
    return {
      fd: handle.fd,
      write: (buffer, offset, length, position) => handle.write(buffer, offset, length, position),
      datasync: () => handle.datasync(),
      close: () => handle.close(),
    };
  },
  async syncDir(path) {
    const handle = await fsp.open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** Writes all of buffer at position, looping over short writes. */
export async function writeFully(handle: StoreFileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, done, buffer.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten} at position ${position + done}`);
    done += bytesWritten;
  }
}
