import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { checkBoundaries, importSpecifiers, scanBoundaries } from './boundaries.ts';

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
