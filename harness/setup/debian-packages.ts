import { existsSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { findOnPath, type Log, sh } from './shell.ts';

/** Debian packages the harness uses, each found by one program it installs. */
export const debianPackages = [
  { name: 'docker', packageName: 'docker.io', program: 'dockerd', purpose: 'the containers target' },
  { name: 'prometheus', packageName: 'prometheus', program: 'prometheus', purpose: 'scraping broker metrics' },
  { name: 'chromium', packageName: 'chromium', program: 'chromium', purpose: 'the report browser test' },
  { name: 'iproute2', packageName: 'iproute2', program: 'tc', purpose: 'network namespaces and netem' },
  { name: 'libxml2-utils', packageName: 'libxml2-utils', program: 'xmllint', purpose: 'the junit.xml schema test' },
] as const;

export type DebianPackage = (typeof debianPackages)[number];

export interface DebianPackageStatus {
  pkg: DebianPackage;
  path: string | undefined;
  version: string | undefined;
}

export async function checkDebianPackage(pkg: DebianPackage): Promise<DebianPackageStatus> {
  const path = await findOnPath(pkg.program);
  if (path === undefined) return { pkg, path, version: undefined };
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template.
  const query = await sh`dpkg-query -W -f=${'${Version}'} ${pkg.packageName}`;
  const version = query.exitCode === 0 && query.stdout.trim() !== '' ? query.stdout.trim() : 'not from apt';
  return { pkg, path, version };
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The error a non-root user gets: the packages and the one line that installs them. */
export class NotRootError extends Error {
  constructor(packageNames: readonly string[]) {
    super(
      `Debian packages missing: ${packageNames.join(', ')}; setup installs them only when run as root. ` +
        `Run: sudo apt-get install -y ${packageNames.join(' ')}`,
    );
    this.name = 'NotRootError';
  }
}

/** Installs the missing packages in one apt-get call, running `apt-get update` first (once, only when needed). */
export async function installDebianPackages(missing: readonly DebianPackage[], log: Log): Promise<void> {
  const packageNames = missing.map((pkg) => pkg.packageName);
  if (packageNames.length === 0) return;
  if (!isRoot()) throw new NotRootError(packageNames);
  log(`apt-get update (needed to install ${packageNames.join(', ')})`);
  await aptGet(['update']);
  log(`apt-get install -y --no-install-recommends ${packageNames.join(' ')}`);
  await withServicesNotStarted(log, () => aptGet(['install', '-y', '--no-install-recommends', ...packageNames]));
  log(`installed ${packageNames.join(', ')}`);
}

async function aptGet(args: readonly string[]): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const result = await sh({ env })`apt-get ${args}`;
  if (result.exitCode !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.exitCode}):\n${output}`);
  }
}

/**
 * Installing docker.io or prometheus would start their daemons through the init scripts. The harness starts what
 * it needs itself, so a policy-rc.d that refuses service starts (exit 101) is put in place for the install when the
 * machine has none, and removed afterwards.
 */
async function withServicesNotStarted(log: Log, install: () => Promise<void>): Promise<void> {
  const policyPath = '/usr/sbin/policy-rc.d';
  if (existsSync(policyPath)) return install();
  log(`${policyPath}: added for the install so no service starts (removed afterwards)`);
  await writeFile(policyPath, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    await install();
  } finally {
    await unlink(policyPath);
  }
}
