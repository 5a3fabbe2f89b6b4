/**
 * Apache RocketMQ 5.3.3 for the `rocketmq` target: the name server, the broker with its gRPC proxy (LOCAL mode) and
 * the admin tools, as released jars from Maven Central (pinned), plus two small Java programs of ours compiled
 * against them (harness/deploy/rocketmq/java): ProxyLauncher (starts the broker + proxy so routes can advertise a
 * fault proxy's port) and Admin (one long-lived admin client answering JSON requests on stdin).
 *
 * Layout: .tools/maven/rocketmq-5.3.3/ holds the jars (about 150, 95 MB); .tools/maven/rocketmq-5.3.3-mqdrill/
 * holds the compiled classes and a stamp with the hash of the Java sources they were built from.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { ensureMavenArtifacts, type MavenArtifact, mavenArtifactsPresent } from './maven.ts';
import { repoRoot, toolsMavenDir } from './paths.ts';
import { requirePrerequisite } from './prerequisites.ts';
import { type Log, sh } from './shell.ts';

export const ROCKETMQ_VERSION = '5.3.3';

/** rocketmq-proxy pulls the broker; rocketmq-namesrv and rocketmq-tools are not dependencies of the proxy. */
export const ROCKETMQ_ARTIFACTS: readonly MavenArtifact[] = [
  'rocketmq-proxy',
  'rocketmq-namesrv',
  'rocketmq-tools',
].map((artifactId) => ({ groupId: 'org.apache.rocketmq', artifactId, version: ROCKETMQ_VERSION }));

export function rocketmqLibDir(): string {
  return path.join(toolsMavenDir(), `rocketmq-${ROCKETMQ_VERSION}`);
}

export function rocketmqClassesDir(): string {
  return path.join(toolsMavenDir(), `rocketmq-${ROCKETMQ_VERSION}-mqdrill`, 'classes');
}

function stampPath(): string {
  return path.join(path.dirname(rocketmqClassesDir()), 'source.sha256');
}

export function rocketmqJavaSourceDir(): string {
  return path.join(repoRoot(), 'harness', 'deploy', 'rocketmq', 'java');
}

/** The JVM classpath: our classes first, then every RocketMQ jar. */
export function rocketmqClasspath(): string {
  return [rocketmqClassesDir(), path.join(rocketmqLibDir(), '*')].join(path.delimiter);
}

async function javaSources(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.name.endsWith('.java')) found.push(p);
    }
  };
  await walk(rocketmqJavaSourceDir());
  return found.sort();
}

async function sourceHash(files: readonly string[]): Promise<string> {
  const hash = createHash('sha256').update(`rocketmq ${ROCKETMQ_VERSION}\n`);
  for (const f of files)
    hash
      .update(path.relative(rocketmqJavaSourceDir(), f))
      .update('\0')
      .update(await readFile(f));
  return hash.digest('hex');
}

export type RocketmqState = 'ok' | 'jars missing' | 'classes missing' | 'stale';

export async function rocketmqState(): Promise<RocketmqState> {
  if ((await mavenArtifactsPresent(ROCKETMQ_ARTIFACTS, rocketmqLibDir())) === undefined) return 'jars missing';
  if (!existsSync(stampPath())) return 'classes missing';
  const stamp = (await readFile(stampPath(), 'utf8')).trim();
  return stamp === (await sourceHash(await javaSources())) ? 'ok' : 'stale';
}

/** Copies the jars (when missing) and compiles our Java programs (when their sources changed). */
export async function installRocketmq(log: Log): Promise<void> {
  const copied = await ensureMavenArtifacts(ROCKETMQ_ARTIFACTS, rocketmqLibDir(), { log });
  log(`Apache RocketMQ ${ROCKETMQ_VERSION}: ${copied.action} (${copied.files.length} jars in ${rocketmqLibDir()})`);
  const files = await javaSources();
  const hash = await sourceHash(files);
  if (existsSync(stampPath()) && (await readFile(stampPath(), 'utf8')).trim() === hash) return;
  await requirePrerequisite('java');
  const out = rocketmqClassesDir();
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  log(`javac ${files.length} files → ${out}`);
  const cp = path.join(rocketmqLibDir(), '*');
  const result = await sh`javac --release 17 -nowarn -encoding UTF-8 -d ${out} -cp ${cp} ${files}`;
  if (result.exitCode !== 0) throw new Error(`javac failed (exit ${result.exitCode}):\n${result.stderr.trim()}`);
  await writeFile(stampPath(), `${hash}\n`);
}

/** Throws the setup hint (exit 5) unless the jars and current classes are there. */
export async function requireRocketmq(): Promise<void> {
  const state = await rocketmqState();
  if (state === 'ok') return;
  throw new CliError(
    `Apache RocketMQ ${ROCKETMQ_VERSION} is not ready (${state}): run \`mqdrill setup --only rocketmq\``,
    ExitCode.SETUP_MISSING,
  );
}
