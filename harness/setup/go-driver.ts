import { existsSync } from 'node:fs';
import path from 'node:path';
import { ensureGoBuild, type GoBuildSpec, goBuildIsCurrent } from './go-build.ts';
import { repoRoot, toolsBinDir, toolsStampDir } from './paths.ts';
import { requirePrerequisite } from './prerequisites.ts';
import type { Log } from './shell.ts';

export const GO_DRIVER_PROGRAM = 'mqdrill-go-driver';

export function goDriverBuildSpec(): GoBuildSpec {
  return {
    moduleDir: path.join(repoRoot(), 'drivers', 'go'),
    outputPath: path.join(toolsBinDir(), GO_DRIVER_PROGRAM),
    stampPath: path.join(toolsStampDir(), `${GO_DRIVER_PROGRAM}.sha256`),
  };
}

/** The driver's module is written in a later issue; until drivers/go/go.mod exists there is nothing to build. */
export function goDriverIsPresent(): boolean {
  return existsSync(path.join(goDriverBuildSpec().moduleDir, 'go.mod'));
}

export type GoDriverState = 'not present yet' | 'current' | 'stale' | 'not built';

export async function checkGoDriver(): Promise<GoDriverState> {
  if (!goDriverIsPresent()) return 'not present yet';
  const spec = goDriverBuildSpec();
  if (!existsSync(spec.outputPath)) return 'not built';
  return (await goBuildIsCurrent(spec)) ? 'current' : 'stale';
}

export async function installGoDriver(log: Log): Promise<void> {
  if (!goDriverIsPresent()) {
    log(`${GO_DRIVER_PROGRAM}: not present yet (drivers/go/go.mod does not exist); nothing to build`);
    return;
  }
  await requirePrerequisite('go');
  const result = await ensureGoBuild(goDriverBuildSpec(), log);
  const spec = goDriverBuildSpec();
  if (result.action === 'up-to-date') log(`${GO_DRIVER_PROGRAM}: already built from the current sources`);
  else log(`${GO_DRIVER_PROGRAM}: built (${spec.outputPath}, sources ${result.sourceHash.slice(0, 12)})`);
}
