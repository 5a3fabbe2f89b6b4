import { promises as fsp, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * A small JSON document saved atomically with a checksum: consumer group offsets and attempt counts, the store's
 * index checkpoint. A save writes a temp file, fsyncs it, renames it over the old one and fsyncs the directory, so a
 * crash leaves either the old or the new document. A load never throws for a missing, torn or corrupt file: it
 * returns `undefined` with the reason, and the caller decides (rebuild, start from zero, refuse to start).
 *
 * File format: one header line `mqdrill-checkpoint v1 crc32=<8 hex digits> bytes=<n>\n`, then n bytes of JSON.
 */
export type CheckpointLoad<T> = { value: T; reason?: undefined } | { value: undefined; reason: string };

/** Returns why doc is not a T, or undefined when it is. */
export type CheckpointValidator = (doc: unknown) => string | undefined;

const HEADER = /^mqdrill-checkpoint v1 crc32=([0-9a-f]{8}) bytes=(\d+)\n/;

export class CheckpointFile<T> {
  private saveChain: Promise<void> = Promise.resolve();
  private tempSeq = 0;

  constructor(
    readonly filePath: string,
    private readonly validate: CheckpointValidator = () => undefined,
  ) {}

  /** Saves doc atomically. Concurrent saves are serialized in call order; the last one wins. */
  save(doc: T): Promise<void> {
    const body = Buffer.from(JSON.stringify(doc));
    const next = this.saveChain.catch(() => undefined).then(() => this.saveNow(body));
    this.saveChain = next;
    return next;
  }

  async load(): Promise<CheckpointLoad<T>> {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(this.filePath);
    } catch (error) {
      return { value: undefined, reason: readFailure(this.filePath, error) };
    }
    return this.parse(bytes);
  }

  loadSync(): CheckpointLoad<T> {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.filePath);
    } catch (error) {
      return { value: undefined, reason: readFailure(this.filePath, error) };
    }
    return this.parse(bytes);
  }

  private parse(bytes: Buffer): CheckpointLoad<T> {
    const headerEnd = bytes.indexOf(0x0a);
    const match = HEADER.exec(bytes.toString('latin1', 0, headerEnd + 1));
    if (headerEnd < 0 || !match) return { value: undefined, reason: `${this.filePath}: no checkpoint header` };
    const body = bytes.subarray(headerEnd + 1);
    if (body.length !== Number(match[2])) {
      return { value: undefined, reason: `${this.filePath}: ${body.length} bytes of JSON, header says ${match[2]}` };
    }
    const actual = (crc32(body) >>> 0).toString(16).padStart(8, '0');
    if (actual !== match[1]) {
      return { value: undefined, reason: `${this.filePath}: checksum ${actual} != ${match[1]}` };
    }
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch (error) {
      return { value: undefined, reason: `${this.filePath}: bad JSON: ${(error as Error).message}` };
    }
    const invalid = this.validate(doc);
    if (invalid !== undefined) return { value: undefined, reason: `${this.filePath}: ${invalid}` };
    return { value: doc as T };
  }

  private async saveNow(body: Buffer): Promise<void> {
    const checksum = (crc32(body) >>> 0).toString(16).padStart(8, '0');
    const header = Buffer.from(`mqdrill-checkpoint v1 crc32=${checksum} bytes=${body.length}\n`, 'latin1');
    const dir = dirname(this.filePath);
    const tempPath = join(dir, `.${basename(this.filePath)}.tmp-${process.pid}-${this.tempSeq++}`);
    const handle = await fsp.open(tempPath, 'w');
    try {
      await handle.writeFile(Buffer.concat([header, body]));
      await handle.sync();
    } catch (error) {
      await handle.close();
      await fsp.rm(tempPath, { force: true });
      throw error;
    }
    await handle.close();
    await fsp.rename(tempPath, this.filePath);
    const dirHandle = await fsp.open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}

function readFailure(filePath: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? `${filePath}: missing` : `${filePath}: unreadable: ${(error as Error).message}`;
}
