import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { requirePrerequisite } from './prerequisites.ts';
import { consoleLog, type Log, sh } from './shell.ts';

/** Maven coordinates of one artifact. `type` defaults to jar. */
export interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
  classifier?: string;
  type?: string;
}

export interface EnsureMavenOptions {
  /** Copy each artifact's runtime dependencies too (default true). */
  transitive?: boolean;
  log?: Log;
}

/** What a destination folder holds, written after a successful copy; the next call compares against it. */
interface MavenMarker {
  coordinates: string[];
  transitive: boolean;
  files: string[];
}

export type EnsureMavenResult = { action: 'copied' | 'already-present'; files: string[] };

/** The marker setup writes into each destination folder. Its presence means the copy completed. */
export const MAVEN_MARKER_FILE = '.mqdrill-maven.json';

export function coordinatesOf(artifact: MavenArtifact): string {
  const parts = [artifact.groupId, artifact.artifactId, artifact.type ?? 'jar'];
  if (artifact.classifier !== undefined) parts.push(artifact.classifier);
  parts.push(artifact.version);
  return parts.join(':');
}

/**
 * Copies artifacts from Maven Central (through the local repository ~/.m2) into destDir, idempotently: when
 * destDir's marker names the same artifacts and every file it lists is still there, Maven is not run at all.
 * Resolution is `mvn dependency:copy-dependencies` on a generated pom that depends on the list, so Maven's own
 * dependency mediation picks the runtime classpath.
 */
export async function ensureMavenArtifacts(
  list: readonly MavenArtifact[],
  destDir: string,
  options: EnsureMavenOptions = {},
): Promise<EnsureMavenResult> {
  if (list.length === 0) throw new Error('ensureMavenArtifacts: the artifact list is empty');
  const transitive = options.transitive ?? true;
  const log = options.log ?? consoleLog;
  const wanted: MavenMarker = { coordinates: list.map(coordinatesOf).sort(), transitive, files: [] };
  const present = readMarker(destDir);
  if (present !== undefined && sameRequest(present, wanted) && (await filesPresent(destDir, present.files))) {
    return { action: 'already-present', files: present.files };
  }
  await requirePrerequisite('mvn');
  await requirePrerequisite('java');
  log(`mvn dependency:copy-dependencies ${wanted.coordinates.join(' ')} → ${destDir}`);
  await mkdir(destDir, { recursive: true });
  if (present !== undefined) await removeListedFiles(destDir, present.files);
  const files = await copyDependencies(list, destDir, transitive);
  if (files.length < list.length) throw new Error(`mvn copied ${files.length} files to ${destDir}, expected more`);
  await writeFile(path.join(destDir, MAVEN_MARKER_FILE), `${JSON.stringify({ ...wanted, files }, null, 2)}\n`);
  return { action: 'copied', files };
}

/** For `setup --check`: the files a completed copy left in destDir, or undefined when there is none. */
export async function mavenArtifactsPresent(
  list: readonly MavenArtifact[],
  destDir: string,
  transitive = true,
): Promise<string[] | undefined> {
  const present = readMarker(destDir);
  const wanted: MavenMarker = { coordinates: list.map(coordinatesOf).sort(), transitive, files: [] };
  if (present === undefined || !sameRequest(present, wanted)) return undefined;
  return (await filesPresent(destDir, present.files)) ? present.files : undefined;
}

function readMarker(destDir: string): MavenMarker | undefined {
  const markerPath = path.join(destDir, MAVEN_MARKER_FILE);
  if (!existsSync(markerPath)) return undefined;
  try {
    return JSON.parse(readFileSync(markerPath, 'utf8')) as MavenMarker;
  } catch {
    return undefined; // A torn marker means an unfinished copy: copy again.
  }
}

function sameRequest(a: MavenMarker, b: MavenMarker): boolean {
  return a.transitive === b.transitive && a.coordinates.join('\n') === b.coordinates.join('\n');
}

async function filesPresent(destDir: string, files: readonly string[]): Promise<boolean> {
  if (files.length === 0) return false;
  for (const file of files) {
    const info = await stat(path.join(destDir, file)).catch(() => undefined);
    if (info === undefined || info.size === 0) return false;
  }
  return true;
}

async function removeListedFiles(destDir: string, files: readonly string[]): Promise<void> {
  await unlink(path.join(destDir, MAVEN_MARKER_FILE)).catch(() => undefined);
  for (const file of files) await unlink(path.join(destDir, path.basename(file))).catch(() => undefined);
}

/** Copies into a staging folder beside destDir (same filesystem), then moves the files in; returns their names. */
async function copyDependencies(list: readonly MavenArtifact[], destDir: string, transitive: boolean) {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'mqdrill-maven-'));
  const stagingDir = `${destDir}.partial-${process.pid}`;
  try {
    await rm(stagingDir, { recursive: true, force: true });
    await writeFile(path.join(workDir, 'pom.xml'), generatedPom(list));
    const flags = ['-B', '-q', '-Dstyle.color=never', `-DoutputDirectory=${stagingDir}`, '-DincludeScope=runtime'];
    if (!transitive) flags.push('-DexcludeTransitive=true');
    const result = await sh({ cwd: workDir })`mvn ${flags} dependency:copy-dependencies`;
    if (result.exitCode !== 0) {
      const output = stripVTControlCharacters(`${result.stdout}\n${result.stderr}`)
        .trim()
        .split('\n')
        .slice(-30)
        .join('\n');
      throw new Error(`mvn dependency:copy-dependencies failed (exit ${result.exitCode}):\n${output}`);
    }
    const files = (await readdir(stagingDir)).sort();
    for (const file of files) await rename(path.join(stagingDir, file), path.join(destDir, file));
    return files;
  } finally {
    await rm(workDir, { recursive: true, force: true });
    await rm(stagingDir, { recursive: true, force: true });
  }
}

function generatedPom(list: readonly MavenArtifact[]): string {
  const dependencies = list.map((artifact) => {
    const fields = [
      xmlElement('groupId', artifact.groupId),
      xmlElement('artifactId', artifact.artifactId),
      xmlElement('version', artifact.version),
    ];
    if (artifact.classifier !== undefined) fields.push(xmlElement('classifier', artifact.classifier));
    if (artifact.type !== undefined) fields.push(xmlElement('type', artifact.type));
    return `    <dependency>${fields.join('')}</dependency>`;
  });
  return [
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    '  <groupId>mqdrill.setup</groupId><artifactId>fetch</artifactId><version>0</version>',
    '  <packaging>pom</packaging>',
    '  <dependencies>',
    ...dependencies,
    '  </dependencies>',
    '</project>',
    '',
  ].join('\n');
}

function xmlElement(name: string, value: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new Error(`Maven ${name} has unexpected characters: ${value}`);
  return `<${name}>${value}</${name}>`;
}
