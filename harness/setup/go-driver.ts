import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ensureGoBuild, type GoBuildSpec, goBuildIsCurrent } from './go-build.ts';
import { repoRoot, toolsBinDir, toolsStampDir } from './paths.ts';
import { requirePrerequisite } from './prerequisites.ts';
import type { Log } from './shell.ts';

export const GO_DRIVER_PROGRAM = 'mqdrill-go-driver';
export const GO_CONFORMANCE_PROGRAM = 'mqdrill-go-conformance';

export function goModuleDir(): string {
  return path.join(repoRoot(), 'drivers', 'go');
}

/** `drivers/go/cmd/<dir>` becomes `.tools/bin/<dir>` when the folder is named `mqdrill-…`, else `mqdrill-go-<dir>`. */
export function goProgramName(cmdDir: string): string {
  return cmdDir.startsWith('mqdrill-') ? cmdDir : `mqdrill-go-${cmdDir}`;
}

/** One build per main package `./cmd/<dir>` of drivers/go (folders holding non-test .go files), by program name. */
export function goBuildSpecs(): Map<string, GoBuildSpec> {
  const specs = new Map<string, GoBuildSpec>();
  const cmdDir = path.join(goModuleDir(), 'cmd');
  if (!goDriverIsPresent() || !existsSync(cmdDir)) return specs;
  for (const entry of readdirSync(cmdDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const files = readdirSync(path.join(cmdDir, entry.name));
    if (!files.some((f) => f.endsWith('.go') && !f.endsWith('_test.go'))) continue;
    const program = goProgramName(entry.name);
    specs.set(program, {
      moduleDir: goModuleDir(),
      packagePath: `./cmd/${entry.name}`,
      outputPath: path.join(toolsBinDir(), program),
      stampPath: path.join(toolsStampDir(), `${program}.sha256`),
    });
  }
  return specs;
}

/** The path `mqdrill setup` builds a program of drivers/go to. */
export function goProgramPath(program: string): string {
  return path.join(toolsBinDir(), program);
}

/** The module appears in a later issue; until drivers/go/go.mod exists there is nothing to build. */
export function goDriverIsPresent(): boolean {
  return existsSync(path.join(goModuleDir(), 'go.mod'));
}

export type GoDriverState = 'not present yet' | 'current' | 'stale' | 'not built';

/** The state of every program of drivers/go; the load driver is listed (as "not present yet") before it exists. */
export async function checkGoPrograms(): Promise<Array<{ program: string; state: GoDriverState }>> {
  const specs = goBuildSpecs();
  const programs = [...new Set([...specs.keys(), GO_DRIVER_PROGRAM])].sort();
  const states = [];
  for (const program of programs) {
    const spec = specs.get(program);
    let state: GoDriverState = 'not present yet';
    if (spec !== undefined && !existsSync(spec.outputPath)) state = 'not built';
    else if (spec !== undefined) state = (await goBuildIsCurrent(spec)) ? 'current' : 'stale';
    states.push({ program, state });
  }
  return states;
}

export async function installGoDriver(log: Log): Promise<void> {
  if (!goDriverIsPresent()) {
    log(`${GO_DRIVER_PROGRAM}: not present yet (drivers/go/go.mod does not exist); nothing to build`);
    return;
  }
  await requirePrerequisite('go');
  const specs = goBuildSpecs();
  if (specs.size === 0) log('drivers/go: no main package under cmd/; nothing to build');
  for (const [program, spec] of specs) {
    const result = await ensureGoBuild(spec, log);
    if (result.action === 'up-to-date') log(`${program}: already built from the current sources`);
    else log(`${program}: built (${spec.outputPath}, sources ${result.sourceHash.slice(0, 12)})`);
  }
  if (!specs.has(GO_DRIVER_PROGRAM))
    log(`${GO_DRIVER_PROGRAM}: not present yet (no drivers/go/cmd/${GO_DRIVER_PROGRAM})`);
}
