import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { $ } from 'zx';
import { firstLine, type Log } from './shell.ts';

/**
 * Builds a Go main package only when its sources changed. The stamp file holds a SHA-256 over the module's
 * non-test `*.go` files (by relative path and content), go.mod, go.sum and `go version`; the binary is rebuilt when
 * it is missing or the stamp differs. Test files (`_test.go`) do not go into the binary, so they do not count.
 */
export interface GoBuildSpec {
  moduleDir: string;
  /** The main package, relative to moduleDir; default: findMainPackage() (./, or the one folder under cmd/). */
  packagePath?: string;
  outputPath: string;
  stampPath: string;
}

export type GoBuildResult = { action: 'built' | 'up-to-date'; sourceHash: string };

export async function ensureGoBuild(spec: GoBuildSpec, log: Log): Promise<GoBuildResult> {
  const sourceHash = await hashGoSources(spec.moduleDir);
  const stampHash = existsSync(spec.stampPath) ? (await readFile(spec.stampPath, 'utf8')).trim() : undefined;
  if (existsSync(spec.outputPath) && stampHash === sourceHash) return { action: 'up-to-date', sourceHash };
  const reason = !existsSync(spec.outputPath) ? 'no binary yet' : 'sources changed since the last build';
  const packagePath = spec.packagePath ?? (await findMainPackage(spec.moduleDir));
  log(`go build -o ${spec.outputPath} ${packagePath} in ${spec.moduleDir} (${reason})`);
  await mkdir(path.dirname(spec.outputPath), { recursive: true });
  const build = $({ cwd: spec.moduleDir, quiet: true, nothrow: true });
  const result = await build`go build -o ${spec.outputPath} ${packagePath}`;
  if (result.exitCode !== 0) {
    throw new Error(`go build failed in ${spec.moduleDir} (exit ${result.exitCode}):\n${result.stderr.trim()}`);
  }
  await mkdir(path.dirname(spec.stampPath), { recursive: true });
  await writeFile(spec.stampPath, `${sourceHash}\n`);
  return { action: 'built', sourceHash };
}

/** Whether the binary exists and was built from the sources as they are now. */
export async function goBuildIsCurrent(spec: GoBuildSpec): Promise<boolean> {
  if (!existsSync(spec.outputPath) || !existsSync(spec.stampPath)) return false;
  const stampHash = (await readFile(spec.stampPath, 'utf8')).trim();
  return stampHash === (await hashGoSources(spec.moduleDir));
}

/**
 * The module's main package: `./` when the module root has `package main` files, otherwise the single folder under
 * `cmd/` that does (the usual Go layout). Anything else is an error naming what was looked at.
 */
export async function findMainPackage(moduleDir: string): Promise<string> {
  if (await isMainPackage(moduleDir)) return './';
  const cmdDir = path.join(moduleDir, 'cmd');
  const entries = existsSync(cmdDir) ? await readdir(cmdDir, { withFileTypes: true }) : [];
  const mains: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() && (await isMainPackage(path.join(cmdDir, entry.name)))) mains.push(`./cmd/${entry.name}`);
  }
  if (mains.length === 1) return mains[0]!;
  const found = mains.length === 0 ? 'none' : mains.join(', ');
  throw new Error(`${moduleDir}: expected one main package, in ./ or in one folder under ./cmd/ (found: ${found})`);
}

async function isMainPackage(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.go') || entry.name.endsWith('_test.go')) continue;
    const text = await readFile(path.join(dir, entry.name), 'utf8');
    if (/^package\s+main\b/m.test(text)) return true;
  }
  return false;
}

export async function hashGoSources(moduleDir: string): Promise<string> {
  const files = (await listGoSources(moduleDir)).sort();
  if (!files.includes('go.mod')) throw new Error(`${moduleDir} has no go.mod`);
  const hash = createHash('sha256');
  hash.update(`${(await firstLine(['go', 'version'])) ?? 'go: not found'}\n`);
  for (const file of files) {
    hash.update(`${file}\n`);
    hash.update(await readFile(path.join(moduleDir, file)));
    hash.update('\n');
  }
  return hash.digest('hex');
}

async function listGoSources(moduleDir: string, relativeDir = ''): Promise<string[]> {
  const entries = await readdir(path.join(moduleDir, relativeDir), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const relative = path.join(relativeDir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.startsWith('.') || entry.name === 'testdata') continue;
      files.push(...(await listGoSources(moduleDir, relative)));
    } else if (isBuildInput(relative)) {
      files.push(relative);
    }
  }
  return files;
}

function isBuildInput(relative: string): boolean {
  if (relative === 'go.mod' || relative === 'go.sum') return true;
  return relative.endsWith('.go') && !relative.endsWith('_test.go');
}
