import path from 'node:path';
import {
  checkDebianPackage,
  type DebianPackage,
  type DebianPackageStatus,
  debianPackages,
  installDebianPackages,
} from './debian-packages.ts';
import { checkGoPrograms, GO_DRIVER_PROGRAM, goProgramPath, installGoDriver } from './go-driver.ts';
import { installJavaDriver, JAVA_DRIVER_PROGRAM, javaDriverProgramPath, javaDriverState } from './java-driver.ts';
import { ensureMavenArtifacts, type MavenArtifact, mavenArtifactsPresent } from './maven.ts';
import { toolsMavenDir } from './paths.ts';
import { checkPrerequisite, type PrerequisiteName } from './prerequisites.ts';
import { installRocketmq, ROCKETMQ_VERSION, rocketmqLibDir, rocketmqState } from './rocketmq.ts';
import type { Log } from './shell.ts';
import { checkToxiproxy, installToxiproxy, TOXIPROXY_VERSION, toxiproxyIsCurrent } from './toxiproxy.ts';

/** One row of `mqdrill setup --check`. `missing` and `stale` make the check fail; `not present yet` does not. */
export interface CheckRow {
  tool: string;
  version: string;
  path: string;
  status: 'ok' | 'missing' | 'stale' | 'not present yet';
  hint?: string;
}

/** Something setup installs. Debian packages are installed together (one apt-get update, one apt-get install). */
export interface Component {
  name: string;
  description: string;
  prerequisites: readonly PrerequisiteName[];
  check(): Promise<CheckRow[]>;
  install?(log: Log): Promise<void>;
  debianPackage?: DebianPackage;
}

/**
 * The official RocketMQ 5 Java client: the newest 5.x on Maven Central (5.2.0). It is a shaded jar without
 * runtime dependencies of its own, so its folder holds one jar; the real RocketMQ broker jars will be added beside it
 * through the same ensureMavenArtifacts().
 */
export const JAVA_CLIENT_ARTIFACTS: readonly MavenArtifact[] = [
  { groupId: 'org.apache.rocketmq', artifactId: 'rocketmq-client-java', version: '5.2.0' },
];
export const JAVA_CLIENT_NAME = 'rocketmq-client-java';

export function javaClientDir(): string {
  return path.join(toolsMavenDir(), JAVA_CLIENT_NAME);
}

const toxiproxyComponent: Component = {
  name: 'toxiproxy',
  description: `toxiproxy-server and toxiproxy-cli ${TOXIPROXY_VERSION} (go install)`,
  prerequisites: ['go'],
  async check() {
    return (await checkToxiproxy()).map((program) => ({
      tool: program.program,
      version: program.version ?? '-',
      path: program.path,
      status: toxiproxyIsCurrent(program) ? 'ok' : 'missing',
      ...(toxiproxyIsCurrent(program) ? {} : { hint: `run \`mqdrill setup --only toxiproxy\`` }),
    }));
  },
  install: installToxiproxy,
};

const goDriverComponent: Component = {
  name: 'go-driver',
  description: `${GO_DRIVER_PROGRAM} and the other programs of drivers/go/cmd/*, built when they exist`,
  prerequisites: ['go'],
  async check() {
    return (await checkGoPrograms()).map(({ program, state }) => {
      const status = state === 'current' ? 'ok' : state === 'not built' ? 'missing' : state;
      const row: CheckRow = { tool: program, version: '-', path: goProgramPath(program), status };
      if (state === 'stale' || state === 'not built') row.hint = 'run `mqdrill setup --only go-driver`';
      return row;
    });
  },
  install: installGoDriver,
};

const javaDriverComponent: Component = {
  name: 'java-driver',
  description: `${JAVA_DRIVER_PROGRAM}: drivers/java (Maven) on rocketmq-client (remoting) and rocketmq-client-java`,
  prerequisites: ['mvn', 'java'],
  async check() {
    const state = await javaDriverState();
    const row: CheckRow = {
      tool: JAVA_DRIVER_PROGRAM,
      version: '-',
      path: javaDriverProgramPath(),
      status: state === 'current' ? 'ok' : state === 'stale' ? 'stale' : 'missing',
    };
    if (state !== 'current') row.hint = 'run `mqdrill setup --only java-driver`';
    return [row];
  },
  install: installJavaDriver,
};

const mavenComponent: Component = {
  name: 'maven',
  description: `${JAVA_CLIENT_NAME} ${JAVA_CLIENT_ARTIFACTS[0]!.version} with its runtime dependencies (Maven Central)`,
  prerequisites: ['mvn', 'java'],
  async check() {
    const files = await mavenArtifactsPresent(JAVA_CLIENT_ARTIFACTS, javaClientDir());
    const row: CheckRow = {
      tool: JAVA_CLIENT_NAME,
      version: JAVA_CLIENT_ARTIFACTS[0]!.version,
      path: javaClientDir(),
      status: files === undefined ? 'missing' : 'ok',
    };
    if (files === undefined) row.hint = 'run `mqdrill setup --only maven`';
    return [row];
  },
  async install(log) {
    const result = await ensureMavenArtifacts(JAVA_CLIENT_ARTIFACTS, javaClientDir(), { log });
    const what = `${JAVA_CLIENT_NAME} ${JAVA_CLIENT_ARTIFACTS[0]!.version}`;
    const verb = result.action === 'copied' ? 'copied' : 'already there';
    log(`${what}: ${verb} (${result.files.length} jar(s) in ${javaClientDir()})`);
  },
};

const rocketmqComponent: Component = {
  name: 'rocketmq',
  description:
    `Apache RocketMQ ${ROCKETMQ_VERSION} (name server, broker + gRPC proxy, admin tools; Maven Central) and the ` +
    'ProxyLauncher and Admin programs compiled against it',
  prerequisites: ['mvn', 'java'],
  async check() {
    const state = await rocketmqState();
    const row: CheckRow = {
      tool: `apache-rocketmq (${state === 'ok' ? 'jars + classes' : state})`,
      version: ROCKETMQ_VERSION,
      path: rocketmqLibDir(),
      status: state === 'ok' ? 'ok' : state === 'stale' ? 'stale' : 'missing',
    };
    if (state !== 'ok') row.hint = 'run `mqdrill setup --only rocketmq`';
    return [row];
  },
  install: installRocketmq,
};

/**
 * The containers target's images (harness/deploy/containers/images.ts), cached by a hash of their inputs. They need a
 * running dockerd, which CI starts after the Debian packages are in: without one, install says so and leaves the
 * build to `mqdrill setup --only images` (or the first containers drill), and --check reports `not present yet`.
 */
const imagesComponent: Component = {
  name: 'images',
  description: 'the containers target images: base (host node + JRE), bundled broker, RocketMQ 5.3.3 (docker)',
  prerequisites: [],
  async check() {
    const images = await import('../deploy/containers/images.ts');
    const { dockerAvailable } = await import('../deploy/containers/docker.ts');
    if (!(await dockerAvailable())) {
      return [
        {
          tool: 'mqdrill images',
          version: '-',
          path: '-',
          status: 'not present yet',
          hint: 'dockerd is not running; start it, then `mqdrill setup --only images`',
        },
      ];
    }
    return (await images.imageStates()).map((row) => ({
      tool: `mqdrill-${row.name} image`,
      version: row.tag.split(':')[1] ?? '-',
      path: row.tag,
      status: row.present ? 'ok' : 'not present yet',
      ...(row.present ? {} : { hint: 'run `mqdrill setup --only images` (or any containers drill builds it)' }),
    }));
  },
  async install(log) {
    const { dockerAvailable } = await import('../deploy/containers/docker.ts');
    if (!(await dockerAvailable())) {
      log('images: dockerd is not running; start it and run `mqdrill setup --only images` (a drill builds them too)');
      return;
    }
    const { ensureImages, pruneImages } = await import('../deploy/containers/images.ts');
    const built = await ensureImages(['bundled', 'rocketmq'], log);
    for (const image of built) {
      log(`${image.tag}: ${image.cached ? 'cached' : 'built'} in ${(image.ms / 1000).toFixed(1)}s`);
    }
    const removed = await pruneImages(built.map((i) => i.tag));
    if (removed.length) log(`images: removed ${removed.length} stale image(s): ${removed.join(', ')}`);
  },
};

function debianComponent(pkg: DebianPackage): Component {
  return {
    name: pkg.name,
    description: `Debian package ${pkg.packageName} (${pkg.program}, for ${pkg.purpose})`,
    prerequisites: [],
    debianPackage: pkg,
    async check() {
      return [debianRow(await checkDebianPackage(pkg))];
    },
  };
}

function debianRow(status: DebianPackageStatus): CheckRow {
  const row: CheckRow = {
    tool: `${status.pkg.program} (${status.pkg.packageName})`,
    version: status.version ?? '-',
    path: status.path ?? '-',
    status: status.path === undefined ? 'missing' : 'ok',
  };
  if (status.path === undefined) row.hint = `run \`mqdrill setup --only ${status.pkg.name}\` as root`;
  return row;
}

export const components: readonly Component[] = [
  toxiproxyComponent,
  goDriverComponent,
  ...debianPackages.map(debianComponent),
  mavenComponent,
  rocketmqComponent,
  javaDriverComponent,
  imagesComponent,
];

/** Names `--only` accepts besides the component names. */
export const componentAliases: Readonly<Record<string, readonly string[]>> = {
  apt: debianPackages.map((pkg) => pkg.name),
};

export async function prerequisiteRow(name: PrerequisiteName): Promise<CheckRow> {
  const status = await checkPrerequisite(name);
  const ok = status.path !== undefined && status.version !== undefined;
  const row: CheckRow = {
    tool: name,
    version: status.version === undefined ? '-' : shortVersion(status.version),
    path: status.path ?? '-',
    status: ok ? 'ok' : 'missing',
  };
  if (!ok) row.hint = status.howToGet;
  return row;
}

/** "go version go1.26.8 linux/amd64" → "go1.26.8"; "Apache Maven 3.8.7" → "3.8.7". */
function shortVersion(line: string): string {
  return line.match(/(go)?\d+(\.\d+)+[^\s"]*/)?.[0] ?? line;
}

export { installDebianPackages };
