import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  checkBoundaries,
  externalReferences,
  importSpecifiers,
  scanBoundaries,
  scanExternalReferences,
} from './boundaries.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('boundaries: the checker catches a forbidden import', () => {
  test('a broker file importing the harness fails, in every import form; importing lib/ passes', () => {
    const text = [
      "import { ExitCode } from '../lib/exit-codes.ts';",
      "import { x } from '../harness/cli/main.ts';",
      "export { y } from '../../harness/load/engine.ts';",
      "const m = await import('../harness/drill/run.ts');",
      "import '../harness/side-effect.ts';",
    ].join('\n');
    const offences = checkBoundaries('broker/cli.ts', text);
    expect(offences.map((o) => o.line)).toEqual([2, 4, 5]);
    expect(offences[0]?.message).toContain('broker/ may not import harness/');
    expect(checkBoundaries('broker/admin/cli.ts', text).map((o) => o.line)).toEqual([3]);
  });

  test('lib/ may import only lib/; the test kit may import the broker but not the harness', () => {
    expect(checkBoundaries('lib/a.ts', "import { b } from './b.ts';")).toEqual([]);
    expect(checkBoundaries('lib/a.ts', "import { s } from '../broker/server.ts';")).toHaveLength(1);
    expect(checkBoundaries('test/kit/a.ts', "import { s } from '../../broker/server.ts';")).toEqual([]);
    expect(checkBoundaries('test/kit/a.ts', "import { r } from '../../harness/drill/run.ts';")).toHaveLength(1);
  });

  test('package imports are not relative and are ignored', () => {
    expect(importSpecifiers("import pino from 'pino';\nimport fs from 'node:fs';")).toEqual([]);
  });
});

describe('boundaries: the repository keeps them', () => {
  test('no broker/, lib/ or test/kit/ file imports across its boundary', () => {
    expect(scanBoundaries(repoRoot).map((o) => o.message)).toEqual([]);
  });
});

describe('the repository explains itself: no reference to a document outside it', () => {
  test('each kind of outside reference is caught, with its line', () => {
    const design = ['DES', 'IGN.md'].join('');
    const text = [
      '/** Fine: see docs/store.md. */',
      `/** As ${design} says. */`,
      `// the one table (${['hab', 'it'].join('')} 18)`,
      `see \`${['..', '/shared/docs/x.md'].join('')}\``,
      `notes in ${['/wo', 'rk/shared'].join('')}`,
      `(${['rocketmq-', 'grpc.md'].join('')} §3.2)`,
    ].join('\n');
    expect(externalReferences('a.ts', text).map((r) => r.line)).toEqual([2, 3, 4, 5, 6]);
  });

  test('no source, doc or config file in the repository has one', () => {
    const found = scanExternalReferences(repoRoot).map((r) => `${r.file}:${r.line}: ${r.what}: ${r.text}`);
    expect(found).toEqual([]);
  });
});
