import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { $ } from 'zx';
import { toolsBinDir } from './paths.ts';
import { requirePrerequisite } from './prerequisites.ts';
import { firstLine, type Log } from './shell.ts';

/**
 * Toxiproxy at a pinned version, built with `go install` from the Go module proxy. v2.5.0 is the newest v2 the
 * proxy lists for github.com/Shopify/toxiproxy/v2. The version is stamped into the binary with -ldflags, so
 * `toxiproxy-server -version` prints it (a plain `go install` prints "git").
 */
export const TOXIPROXY_VERSION = 'v2.5.0';
const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2';

/** `go install` names a binary after its package folder; setup renames them to what toxiproxy's releases call them. */
const toxiproxyPrograms = [
  { packageName: 'server', program: 'toxiproxy-server', versionFlag: '-version' },
  { packageName: 'cli', program: 'toxiproxy-cli', versionFlag: '--version' },
] as const;

export type ToxiproxyProgram = (typeof toxiproxyPrograms)[number]['program'];

export interface InstalledProgram {
  program: string;
  path: string;
  version: string | undefined;
}

export async function checkToxiproxy(): Promise<InstalledProgram[]> {
  const installed: InstalledProgram[] = [];
  for (const { program, versionFlag } of toxiproxyPrograms) {
    const programPath = path.join(toolsBinDir(), program);
    const version = existsSync(programPath) ? await toxiproxyVersion(programPath, versionFlag) : undefined;
    installed.push({ program, path: programPath, version });
  }
  return installed;
}

/** "toxiproxy-server version 2.5.0" → "v2.5.0". */
async function toxiproxyVersion(programPath: string, versionFlag: string): Promise<string | undefined> {
  const line = await firstLine([programPath, versionFlag]);
  const match = line?.match(/version\s+v?(\S+)/);
  return match ? `v${match[1]}` : line;
}

export function toxiproxyIsCurrent(program: InstalledProgram): boolean {
  return program.version === TOXIPROXY_VERSION;
}

export async function installToxiproxy(log: Log): Promise<void> {
  for (const program of await checkToxiproxy()) {
    if (toxiproxyIsCurrent(program)) {
      log(`${program.program} ${TOXIPROXY_VERSION}: already installed (${program.path})`);
      continue;
    }
    await requirePrerequisite('go');
    const spec = toxiproxyPrograms.find((p) => p.program === program.program)!;
    const found = program.version === undefined ? 'not installed' : `found ${program.version}`;
    log(`${program.program} ${TOXIPROXY_VERSION}: ${found}; go install ${TOXIPROXY_MODULE}/cmd/${spec.packageName}`);
    await goInstallToxiproxy(spec.packageName, program.path);
    log(`${program.program} ${TOXIPROXY_VERSION}: installed (${program.path})`);
  }
}

async function goInstallToxiproxy(packageName: string, programPath: string): Promise<void> {
  const goBin = toolsBinDir();
  await mkdir(goBin, { recursive: true });
  const ldflags = `-X ${TOXIPROXY_MODULE}.Version=${TOXIPROXY_VERSION.slice(1)}`;
  const target = `${TOXIPROXY_MODULE}/cmd/${packageName}@${TOXIPROXY_VERSION}`;
  const env = { ...process.env, GOBIN: goBin };
  const result = await $({ env, quiet: true, nothrow: true })`go install -ldflags=${ldflags} ${target}`;
  if (result.exitCode !== 0) {
    throw new Error(`go install ${target} failed (exit ${result.exitCode}):\n${result.stderr.trim()}`);
  }
  await rename(path.join(goBin, packageName), programPath);
}
