import * as fs from 'node:fs';
import { join } from 'node:path';
import type { StoreFileHandle, StoreFs, StoreOpenFlags } from './store-fs.ts';

/**
 * A StoreFs that remembers, for every store file, what a power cut would leave of it: the length covered by its last
 * completed fsync (fdatasync) and the bytes any write overwrote in place since. It keeps that in a side journal
 * (NDJSON, appended synchronously before each write is issued, so a kill -9 of the broker never leaves a write the
 * journal does not know about). After the broker is killed, `rollBackUnsyncedWrites` puts every journalled file back
 * to its last-fsynced state: what a machine that lost power would find on disk.
 *
 * What it models: the page cache is lost, so every write not covered by a completed fsync of its file is gone (the
 * tail is cut at the synced length; in-place overwrites since the sync get their old bytes back). What it does not
 * model: directory entries (a created file survives, cut to its synced length, even without a directory fsync);
 * torn sectors and reordered writes inside an unsynced range (the range is dropped whole, never half-written);
 * files written outside the StoreFs (broker metadata and group state, which are written with their own fsync and
 * rename and are kept as they are); a disk's volatile write cache lying about fsync.
 *
 * The journal is a test instrument: it costs a synchronous journal append per store write and fsync.
 */

/** Where a broker started with `powerLossJournal` keeps its journal: beside its store, in its data folder. */
export function powerLossJournalPath(brokerDataDir: string): string {
  return join(brokerDataDir, 'power-loss-journal.ndjson');
}

/** One journal line: a file first seen, a completed fsync, or the old bytes an in-place write is about to replace. */
type JournalEntry =
  | { op: 'open'; f: string; len: number }
  | { op: 'sync'; f: string; len: number; upto: number }
  | { op: 'pre'; f: string; n: number; pos: number; b64: string };

/** What a roll-back did, per file. */
export interface RollbackReport {
  files: { path: string; lengthBefore: number; lengthAfter: number; restoredRanges: number }[];
  /** Bytes dropped from file tails plus bytes restored in place. */
  bytesLost: number;
}

interface FileState {
  /** Pre-images written for this file so far (their numbers are 0..n-1). */
  preImages: number;
  /** End of the furthest completed write: the length a datasync called now is sure to cover. */
  writtenEnd: number;
}

export class PowerLossFs implements StoreFs {
  private readonly journalFd: number;
  private readonly files = new Map<string, FileState>();

  /** Wraps `inner`; the journal starts empty: what the store finds on disk at start is taken as durable. */
  constructor(
    private readonly inner: StoreFs,
    readonly journalPath: string,
  ) {
    this.journalFd = fs.openSync(journalPath, 'w');
  }

  private journal(entry: JournalEntry): void {
    fs.writeSync(this.journalFd, `${JSON.stringify(entry)}\n`);
  }

  async open(path: string, flags: StoreOpenFlags): Promise<StoreFileHandle> {
    const handle = await this.inner.open(path, flags);
    const len = fs.fstatSync(handle.fd).size;
    let state = this.files.get(path);
    if (state === undefined) {
      state = { preImages: 0, writtenEnd: len };
      this.files.set(path, state);
      this.journal({ op: 'open', f: path, len: flags === 'wx+' ? 0 : len });
    }
    return this.wrap(path, handle, state);
  }

  syncDir(path: string): Promise<void> {
    return this.inner.syncDir(path);
  }

  private wrap(path: string, handle: StoreFileHandle, state: FileState): StoreFileHandle {
    return {
      fd: handle.fd,
      write: async (buffer, offset, length, position) => {
        this.rememberOverwritten(path, handle.fd, state, position, length);
        const result = await handle.write(buffer, offset, length, position);
        state.writtenEnd = Math.max(state.writtenEnd, position + result.bytesWritten);
        return result;
      },
      datasync: async () => {
        const covered = state.writtenEnd;
        const upto = state.preImages;
        await handle.datasync();
        this.journal({ op: 'sync', f: path, len: covered, upto });
      },
      close: () => handle.close(),
    };
  }

  /** Journals the bytes at [position, position + length) that already exist in the file, before they change. */
  private rememberOverwritten(path: string, fd: number, state: FileState, position: number, length: number): void {
    const size = fs.fstatSync(fd).size;
    const end = Math.min(size, position + length);
    if (end <= position) return;
    const old = Buffer.alloc(end - position);
    fs.readSync(fd, old, 0, old.length, position);
    this.journal({ op: 'pre', f: path, n: state.preImages++, pos: position, b64: old.toString('base64') });
  }

  close(): void {
    fs.closeSync(this.journalFd);
  }
}

/**
 * Puts every file named in the journal back to its last-fsynced state (see PowerLossFs), then empties the journal.
 * Call it only while the broker that wrote the journal is not running. A journal line cut short by the kill is
 * ignored (its write had not been issued yet).
 */
export function rollBackUnsyncedWrites(journalPath: string): RollbackReport {
  const report: RollbackReport = { files: [], bytesLost: 0 };
  if (!fs.existsSync(journalPath)) return report;
  const perFile = new Map<string, { synced: number; upto: number; pre: { n: number; pos: number; b64: string }[] }>();
  for (const line of fs.readFileSync(journalPath, 'utf8').split('\n')) {
    if (line.length === 0) continue;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch {
      continue; // the last line, cut by the kill
    }
    const file = perFile.get(entry.f) ?? { synced: 0, upto: 0, pre: [] };
    perFile.set(entry.f, file);
    if (entry.op === 'open') file.synced = entry.len;
    else if (entry.op === 'sync') {
      file.synced = Math.max(file.synced, entry.len);
      file.upto = Math.max(file.upto, entry.upto);
    } else file.pre.push({ n: entry.n, pos: entry.pos, b64: entry.b64 });
  }
  for (const [path, file] of perFile) {
    if (!fs.existsSync(path)) continue;
    const fd = fs.openSync(path, 'r+');
    try {
      const lengthBefore = fs.fstatSync(fd).size;
      // Newest first, so the oldest pre-image of a range (its content at the last sync) is what remains.
      const live = file.pre.filter((p) => p.n >= file.upto && p.pos < file.synced).sort((a, b) => b.n - a.n);
      for (const p of live) {
        const old = Buffer.from(p.b64, 'base64').subarray(0, file.synced - p.pos);
        fs.writeSync(fd, old, 0, old.length, p.pos);
        report.bytesLost += old.length;
      }
      const lengthAfter = Math.min(lengthBefore, file.synced);
      fs.ftruncateSync(fd, lengthAfter);
      fs.fsyncSync(fd);
      report.bytesLost += lengthBefore - lengthAfter;
      report.files.push({ path, lengthBefore, lengthAfter, restoredRanges: live.length });
    } finally {
      fs.closeSync(fd);
    }
  }
  fs.writeFileSync(journalPath, '');
  return report;
}
