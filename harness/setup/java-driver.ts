/**
 * The Java load driver (drivers/java, a Maven module on the official RocketMQ Java clients): `mqdrill setup` runs
 * `mvn -B -q -DskipTests package` there when its sources changed, copies the jar and its runtime classpath into
 * .tools/java-driver/, and writes the launcher .tools/bin/mqdrill-java-driver (`--family remoting|grpc`). A stamp
 * holds a SHA-256 over pom.xml, src/main and `java -version`, so an unchanged driver is not rebuilt.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot, toolsBinDir, toolsDir, toolsStampDir } from './paths.ts';
import { requirePrerequisite } from './prerequisites.ts';
import { firstLine, type Log, sh } from './shell.ts';

export const JAVA_DRIVER_PROGRAM = 'mqdrill-java-driver';

export function javaModuleDir(): string {
  return path.join(repoRoot(), 'drivers', 'java');
}

/** Where the driver's jar and its runtime dependencies are copied. */
export function javaDriverLibDir(): string {
  return path.join(toolsDir(), 'java-driver');
}

export function javaDriverProgramPath(): string {
  return path.join(toolsBinDir(), JAVA_DRIVER_PROGRAM);
}

function stampPath(): string {
  return path.join(toolsStampDir(), `${JAVA_DRIVER_PROGRAM}.sha256`);
}

export type JavaDriverState = 'current' | 'stale' | 'not built';

export async function javaDriverState(): Promise<JavaDriverState> {
  if (!existsSync(javaDriverProgramPath()) || !existsSync(stampPath())) return 'not built';
  const stamp = (await readFile(stampPath(), 'utf8')).trim();
  return stamp === (await hashJavaSources()) ? 'current' : 'stale';
}

export async function hashJavaSources(): Promise<string> {
  const dir = javaModuleDir();
  const hash = createHash('sha256');
  hash.update(`${(await firstLine(['java', '-version'])) ?? 'java: not found'}\n`);
  for (const file of ['pom.xml', ...(await listFiles(dir, path.join('src', 'main')))].sort()) {
    hash.update(`${file}\n`);
    hash.update(await readFile(path.join(dir, file)));
    hash.update('\n');
  }
  return hash.digest('hex');
}

async function listFiles(root: string, relativeDir: string): Promise<string[]> {
  const entries = await readdir(path.join(root, relativeDir), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const relative = path.join(relativeDir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(root, relative)));
    else files.push(relative);
  }
  return files;
}

/** The launcher: the JVM on the copied classpath, with the driver's flags passed through. */
function launcherScript(libDir: string): string {
  return [
    '#!/bin/sh',
    '# Written by `mqdrill setup` (harness/setup/java-driver.ts): the Java load driver of mqdrill.',
    `exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -Xmx512m -cp '${libDir}/*' mqdrill.driver.Main "$@"`,
    '',
  ].join('\n');
}

export async function installJavaDriver(log: Log): Promise<void> {
  await requirePrerequisite('mvn');
  await requirePrerequisite('java');
  const hash = await hashJavaSources();
  if ((await javaDriverState()) === 'current') {
    log(`${JAVA_DRIVER_PROGRAM}: already built from the current sources`);
    return;
  }
  const dir = javaModuleDir();
  log(`mvn -B -q -DskipTests package in ${dir}`);
  const result = await sh({ cwd: dir })`mvn -B -q -Dstyle.color=never -DskipTests package`;
  if (result.exitCode !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`mvn package failed in ${dir} (exit ${result.exitCode}):\n${output}`);
  }
  const libDir = javaDriverLibDir();
  await rm(libDir, { recursive: true, force: true });
  await mkdir(libDir, { recursive: true });
  await cp(path.join(dir, 'target', 'lib'), libDir, { recursive: true });
  await cp(path.join(dir, 'target', `${JAVA_DRIVER_PROGRAM}.jar`), path.join(libDir, `${JAVA_DRIVER_PROGRAM}.jar`));
  await mkdir(toolsBinDir(), { recursive: true });
  await writeFile(javaDriverProgramPath(), launcherScript(libDir));
  await chmod(javaDriverProgramPath(), 0o755);
  await mkdir(toolsStampDir(), { recursive: true });
  await writeFile(stampPath(), `${hash}\n`);
  log(`${JAVA_DRIVER_PROGRAM}: built (${javaDriverProgramPath()}, ${(await readdir(libDir)).length} jars)`);
}
