import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ensureGoBuild, findMainPackage, type GoBuildSpec, goBuildIsCurrent } from './go-build.ts';

const execFileAsync = promisify(execFile);
const silent = () => {};

function mainGo(greeting: string): string {
  return `package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("${greeting}") }\n`;
}

describe('go build stamp (real go toolchain)', () => {
  let dir: string;
  let spec: GoBuildSpec;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mqdrill-go-build-'));
    const moduleDir = path.join(dir, 'module');
    await mkdir(moduleDir, { recursive: true });
    await writeFile(path.join(moduleDir, 'go.mod'), 'module example.com/tiny\n\ngo 1.21\n');
    await writeFile(path.join(moduleDir, 'main.go'), mainGo('first'));
    spec = { moduleDir, outputPath: path.join(dir, 'bin', 'tiny'), stampPath: path.join(dir, 'stamps', 'tiny') };
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = async () => (await execFileAsync(spec.outputPath)).stdout.trim();

  test('builds once, then skips until a source changes, then rebuilds', async () => {
    expect((await ensureGoBuild(spec, silent)).action).toBe('built');
    expect(await run()).toBe('first');
    expect(await goBuildIsCurrent(spec)).toBe(true);
    expect((await ensureGoBuild(spec, silent)).action).toBe('up-to-date');

    await writeFile(path.join(spec.moduleDir, 'main.go'), mainGo('second'));
    expect(await goBuildIsCurrent(spec)).toBe(false);
    const messages: string[] = [];
    expect((await ensureGoBuild(spec, (m) => messages.push(m))).action).toBe('built');
    expect(messages.join('\n')).toContain('sources changed');
    expect(await run()).toBe('second');
    expect((await ensureGoBuild(spec, silent)).action).toBe('up-to-date');
  });

  test('go.mod and new files count; test files do not; a deleted binary is rebuilt', async () => {
    const first = await ensureGoBuild(spec, silent);
    await writeFile(path.join(spec.moduleDir, 'main_test.go'), 'package main\n');
    expect((await ensureGoBuild(spec, silent)).action).toBe('up-to-date');

    await writeFile(path.join(spec.moduleDir, 'extra.go'), 'package main\n\nconst extra = 1\n');
    const second = await ensureGoBuild(spec, silent);
    expect(second.action).toBe('built');
    expect(second.sourceHash).not.toBe(first.sourceHash);

    await writeFile(path.join(spec.moduleDir, 'go.mod'), 'module example.com/tiny\n\ngo 1.22\n');
    expect((await ensureGoBuild(spec, silent)).action).toBe('built');

    await unlink(spec.outputPath);
    expect((await ensureGoBuild(spec, silent)).action).toBe('built');
    expect(await run()).toBe('first');
  });

  test('a module whose main package is under cmd/ is built from there; no main package is an error', async () => {
    await unlink(path.join(spec.moduleDir, 'main.go'));
    await writeFile(path.join(spec.moduleDir, 'lib.go'), 'package tiny\n\nconst Greeting = "from cmd"\n');
    await expect(ensureGoBuild(spec, silent)).rejects.toThrow(/expected one main package.*found: none/);
    await mkdir(path.join(spec.moduleDir, 'cmd', 'tiny'), { recursive: true });
    const main = [
      'package main',
      'import (\n\t"fmt"\n\ttiny "example.com/tiny"\n)',
      'func main() { fmt.Println(tiny.Greeting) }',
    ].join('\n\n');
    await writeFile(path.join(spec.moduleDir, 'cmd', 'tiny', 'main.go'), main);
    expect(await findMainPackage(spec.moduleDir)).toBe('./cmd/tiny');
    const messages: string[] = [];
    expect((await ensureGoBuild(spec, (m) => messages.push(m))).action).toBe('built');
    expect(messages.join('\n')).toContain('go build -o');
    expect(messages.join('\n')).toContain('./cmd/tiny');
    expect(await run()).toBe('from cmd');
    expect((await ensureGoBuild(spec, silent)).action).toBe('up-to-date');
  });

  test('a build failure is reported with the compiler output and leaves no stamp', async () => {
    await writeFile(path.join(spec.moduleDir, 'main.go'), 'package main\n\nfunc main() { undefinedThing() }\n');
    await expect(ensureGoBuild(spec, silent)).rejects.toThrow(/undefined: undefinedThing/);
    expect(await goBuildIsCurrent(spec)).toBe(false);
  });
});
