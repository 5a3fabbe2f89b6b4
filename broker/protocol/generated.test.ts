/**
 * broker/protocol/generated/ holds the protobuf message types generated from the .proto files the broker loads
 * (gen-types.ts). Regenerated here into a temporary folder: the committed files must be identical, so a client
 * upgrade that changes the .proto files fails this test until `npm run proto:types` is run and committed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { GENERATED_DIR, generateProtoTypes } from './gen-types.ts';

const fresh = mkdtempSync(path.join(tmpdir(), 'mqdrill-proto-types-'));
afterAll(() => rmSync(fresh, { recursive: true, force: true }));

function files(root: string, dir = ''): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(root, path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

describe('generated protobuf types', () => {
  test('are up to date with the .proto files (else: npm run proto:types)', () => {
    generateProtoTypes(path.join(fresh, 'out'));
    const expected = files(path.join(fresh, 'out'));
    expect(expected.length).toBeGreaterThan(50);
    expect(files(GENERATED_DIR)).toEqual(expected);
    const stale = expected.filter(
      (f) => readFileSync(path.join(GENERATED_DIR, f), 'utf8') !== readFileSync(path.join(fresh, 'out', f), 'utf8'),
    );
    expect(stale, 'stale generated files: run `npm run proto:types` and commit broker/protocol/generated/').toEqual([]);
  });
});
