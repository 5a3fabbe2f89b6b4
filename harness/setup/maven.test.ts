import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JAVA_CLIENT_ARTIFACTS } from './components.ts';
import { toolPath } from './index.ts';
import { ensureMavenArtifacts, MAVEN_MARKER_FILE } from './maven.ts';

describe('ensureMavenArtifacts (real mvn, Maven Central through ~/.m2)', () => {
  let dir: string;
  const logged: string[] = [];
  const log = (message: string) => logged.push(message);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mqdrill-maven-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('copies once; a second call runs no Maven and leaves the files untouched', async () => {
    const destDir = path.join(dir, 'client');
    const first = await ensureMavenArtifacts(JAVA_CLIENT_ARTIFACTS, destDir, { log });
    expect(first.action).toBe('copied');
    expect(first.files).toContain('rocketmq-client-java-5.2.0.jar');
    expect(logged.some((m) => m.startsWith('mvn dependency:copy-dependencies'))).toBe(true);
    const jar = path.join(destDir, 'rocketmq-client-java-5.2.0.jar');
    const jarBefore = await stat(jar);
    const markerBefore = await stat(path.join(destDir, MAVEN_MARKER_FILE));

    logged.length = 0;
    const second = await ensureMavenArtifacts(JAVA_CLIENT_ARTIFACTS, destDir, { log });
    expect(second).toEqual({ action: 'already-present', files: first.files });
    expect(logged).toEqual([]); // Maven was not run: nothing was announced.
    expect((await stat(jar)).mtimeMs).toBe(jarBefore.mtimeMs);
    expect((await stat(path.join(destDir, MAVEN_MARKER_FILE))).mtimeMs).toBe(markerBefore.mtimeMs);
  });

  test('a deleted jar or a changed list is copied again; the old list leaves no stray jars', async () => {
    const destDir = path.join(dir, 'changing');
    const proto = { groupId: 'org.apache.rocketmq', artifactId: 'rocketmq-proto', version: '2.0.4' };
    const first = await ensureMavenArtifacts(JAVA_CLIENT_ARTIFACTS, destDir, { log, transitive: false });
    await unlink(path.join(destDir, first.files[0]!));
    expect((await ensureMavenArtifacts(JAVA_CLIENT_ARTIFACTS, destDir, { log, transitive: false })).action).toBe(
      'copied',
    );

    const changed = await ensureMavenArtifacts([proto], destDir, { log, transitive: false });
    expect(changed).toEqual({ action: 'copied', files: ['rocketmq-proto-2.0.4.jar'] });
    expect((await readdir(destDir)).sort()).toEqual([MAVEN_MARKER_FILE, 'rocketmq-proto-2.0.4.jar']);
  }, 180_000);

  test('an artifact Maven Central does not have fails with Maven’s message and writes no marker', async () => {
    const destDir = path.join(dir, 'missing');
    const bogus = { groupId: 'org.apache.rocketmq', artifactId: 'rocketmq-client-java', version: '0.0.0-none' };
    await expect(ensureMavenArtifacts([bogus], destDir, { log })).rejects.toThrow(
      /dependency:copy-dependencies failed/,
    );
    expect(existsSync(path.join(destDir, MAVEN_MARKER_FILE))).toBe(false);
  });
});

describe('toolPath (after mqdrill setup)', () => {
  test('finds the installed programs and the Java client jars', () => {
    expect(toolPath('toxiproxy-server')).toMatch(/\.tools\/bin\/toxiproxy-server$/);
    expect(existsSync(toolPath('toxiproxy-cli'))).toBe(true);
    expect(existsSync(path.join(toolPath('rocketmq-client-java'), 'rocketmq-client-java-5.2.0.jar'))).toBe(true);
    expect(toolPath('tc')).toMatch(/\/tc$/);
  });
});
