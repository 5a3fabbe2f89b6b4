import { join } from 'node:path';
import { CheckpointFile } from '../checkpoint.ts';
import type { QuarantineEntry } from '../types.ts';
import { QUARANTINE_DIR } from './recovery.ts';

export const QUARANTINE_FILE = 'quarantine.json';
/** The list keeps the newest entries; older ones are counted in `droppedCount` (the bound on this in-memory list). */
export const QUARANTINE_ENTRIES_MAX = 10_000;

interface QuarantineDoc {
  version: 1;
  entries: QuarantineEntry[];
  droppedCount: number;
}

function validate(doc: unknown): string | undefined {
  const d = doc as Partial<QuarantineDoc> | null;
  if (d?.version !== 1 || !Array.isArray(d.entries)) return 'not a version 1 quarantine list';
  return undefined;
}

/**
 * What the store kept aside: bad log ranges and cut tails found by recovery, records that failed their checks when
 * read. Kept in `<dataDir>/quarantine/quarantine.json` (saved after each change, errors reported, never thrown) so an
 * operator sees them after a restart too.
 */
export class Quarantine {
  private readonly file: CheckpointFile<QuarantineDoc>;
  private entries: QuarantineEntry[] = [];
  private readonly keys = new Set<string>();
  private droppedCount = 0;
  /** Skipped records listed under a 'log-range' entry (bounded by the bad ranges' record count). */
  private readonly seenRecords = new Set<number>();
  /** Records skipped at read time since open (the metric). */
  recordCount = 0;

  constructor(
    dataDir: string,
    private readonly onError: (error: Error) => void,
  ) {
    this.file = new CheckpointFile<QuarantineDoc>(join(dataDir, QUARANTINE_DIR, QUARANTINE_FILE), validate);
  }

  /** Loads the saved list; a missing or unreadable list starts empty (the bytes it describes are still on disk). */
  load(): void {
    const loaded = this.file.loadSync();
    if (!loaded.value) return;
    this.droppedCount = loaded.value.droppedCount ?? 0;
    for (const entry of loaded.value.entries) this.remember(entry);
  }

  has(kind: QuarantineEntry['kind'], commitLogOffset: number): boolean {
    return this.keys.has(keyOf(kind, commitLogOffset)) || this.seenRecords.has(commitLogOffset);
  }

  /** Remembers (in memory) a skipped record whose bytes an existing entry already lists. */
  markRecord(commitLogOffset: number): void {
    this.seenRecords.add(commitLogOffset);
  }

  /** The 'log-range' entry (found by recovery) that holds the byte at commitLogOffset, if any. */
  rangeHolding(commitLogOffset: number): QuarantineEntry | undefined {
    return this.entries.find(
      (e) =>
        e.kind === 'log-range' && e.commitLogOffset <= commitLogOffset && commitLogOffset < e.commitLogOffset + e.bytes,
    );
  }

  /** Adds entries not listed yet and saves the list; returns how many were new. */
  add(entries: QuarantineEntry[]): number {
    let added = 0;
    for (const entry of entries) if (this.remember(entry)) added++;
    if (added > 0) this.save();
    return added;
  }

  list(): QuarantineEntry[] {
    return [...this.entries];
  }

  private remember(entry: QuarantineEntry): boolean {
    const key = keyOf(entry.kind, entry.commitLogOffset);
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    this.entries.push(entry);
    while (this.entries.length > QUARANTINE_ENTRIES_MAX) {
      const dropped = this.entries.shift()!;
      this.keys.delete(keyOf(dropped.kind, dropped.commitLogOffset));
      this.droppedCount++;
    }
    return true;
  }

  private save(): void {
    const doc: QuarantineDoc = { version: 1, entries: this.entries, droppedCount: this.droppedCount };
    this.file.save(doc).catch((error: unknown) => {
      this.onError(new Error(`saving the quarantine list failed: ${error instanceof Error ? error.message : error}`));
    });
  }
}

function keyOf(kind: string, commitLogOffset: number): string {
  return `${kind}@${commitLogOffset}`;
}
