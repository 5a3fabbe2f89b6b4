/**
 * The setup package's public surface: where the tools `mqdrill setup` installs are, and the Maven mechanism later
 * issues use for jars (the real RocketMQ broker). Everything else in harness/setup/ is internal.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { JAVA_CLIENT_ARTIFACTS, JAVA_CLIENT_NAME, javaClientDir } from './components.ts';
import { debianPackages } from './debian-packages.ts';
import { GO_CONFORMANCE_PROGRAM, GO_DRIVER_PROGRAM } from './go-driver.ts';
import { JAVA_DRIVER_PROGRAM } from './java-driver.ts';
import { MAVEN_MARKER_FILE } from './maven.ts';
import { toolsBinDir, toolsDir, toolsMavenDir } from './paths.ts';
import { findOnPathSync } from './shell.ts';

export { type EnsureMavenResult, ensureMavenArtifacts, type MavenArtifact } from './maven.ts';
export { TOXIPROXY_VERSION } from './toxiproxy.ts';
export { JAVA_CLIENT_ARTIFACTS, toolsDir, toolsMavenDir };

/** Tools the harness can ask for by name, and the `--only` name that installs each. */
const cachedPrograms: Record<string, string> = {
  'toxiproxy-server': 'toxiproxy',
  'toxiproxy-cli': 'toxiproxy',
  [GO_DRIVER_PROGRAM]: 'go-driver',
  [GO_CONFORMANCE_PROGRAM]: 'go-driver',
  [JAVA_DRIVER_PROGRAM]: 'java-driver',
};

export type ToolName =
  | 'toxiproxy-server'
  | 'toxiproxy-cli'
  | typeof GO_DRIVER_PROGRAM
  | typeof GO_CONFORMANCE_PROGRAM
  | typeof JAVA_DRIVER_PROGRAM
  | typeof JAVA_CLIENT_NAME
  | (typeof debianPackages)[number]['program']
  | 'docker'
  | 'ip';

/**
 * The absolute path of an installed tool: a program in .tools/bin, a Debian program on PATH (dockerd, docker,
 * prometheus, chromium, tc, ip), or for `rocketmq-client-java` the folder of its jars. Throws a CliError with exit
 * code SETUP_MISSING that says which `mqdrill setup` command installs it.
 */
export function toolPath(name: ToolName): string {
  const installer = cachedPrograms[name];
  if (installer !== undefined) {
    const programPath = path.join(toolsBinDir(), name);
    if (existsSync(programPath)) return programPath;
    throw missingTool(name, `not in ${toolsBinDir()}`, installer);
  }
  if (name === JAVA_CLIENT_NAME) {
    if (existsSync(path.join(javaClientDir(), MAVEN_MARKER_FILE))) return javaClientDir();
    throw missingTool(name, `no jars in ${javaClientDir()}`, 'maven');
  }
  const pkg = debianPackages.find((p) => p.program === name) ?? debianFor(name);
  const found = findOnPathSync(name);
  if (found !== undefined) return found;
  throw missingTool(name, 'not on PATH', pkg.name);
}

function debianFor(program: string): (typeof debianPackages)[number] {
  const packageName = program === 'docker' ? 'docker' : program === 'ip' ? 'iproute2' : undefined;
  const pkg = debianPackages.find((p) => p.name === packageName);
  if (pkg === undefined) throw new Error(`toolPath: unknown tool ${program}`);
  return pkg;
}

function missingTool(name: string, where: string, installer: string): CliError {
  return new CliError(
    `${name} is not installed (${where}): run \`mqdrill setup\` (or \`mqdrill setup --only ${installer}\`)`,
    ExitCode.SETUP_MISSING,
  );
}
