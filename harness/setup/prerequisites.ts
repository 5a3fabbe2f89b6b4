import { findOnPath, firstLine } from './shell.ts';

/** Programs setup needs but does not install itself; each names how to get it. */
export type PrerequisiteName = 'go' | 'mvn' | 'java';

interface Prerequisite {
  program: string;
  versionCommand: readonly string[];
  purpose: string;
  howToGet: string;
}

const prerequisites: Record<PrerequisiteName, Prerequisite> = {
  go: {
    program: 'go',
    versionCommand: ['go', 'version'],
    purpose: 'builds toxiproxy-server and the Go load driver',
    howToGet:
      'install Go >= 1.21 (Debian: `apt-get install golang-go`, or a release from go.dev/dl) and put it on PATH',
  },
  mvn: {
    program: 'mvn',
    versionCommand: ['mvn', '-v', '-B', '-Dstyle.color=never'],
    purpose: 'fetches jars from Maven Central (RocketMQ Java client, later the real RocketMQ broker)',
    howToGet: 'install Maven 3.8+ (Debian: `apt-get install maven`)',
  },
  java: {
    program: 'java',
    versionCommand: ['java', '-version'],
    purpose: 'runs the RocketMQ Java client and the real RocketMQ broker',
    howToGet: 'install a JDK 17 (Debian: `apt-get install openjdk-17-jdk-headless`)',
  },
};

export interface PrerequisiteStatus {
  name: PrerequisiteName;
  path: string | undefined;
  version: string | undefined;
  purpose: string;
  howToGet: string;
}

export async function checkPrerequisite(name: PrerequisiteName): Promise<PrerequisiteStatus> {
  const prerequisite = prerequisites[name];
  const path = await findOnPath(prerequisite.program);
  const version = path === undefined ? undefined : await firstLine(prerequisite.versionCommand);
  return { name, path, version, purpose: prerequisite.purpose, howToGet: prerequisite.howToGet };
}

/** A prerequisite is missing: the message names it, what needs it and how to get it. */
export class PrerequisiteMissingError extends Error {
  constructor(readonly status: PrerequisiteStatus) {
    super(`\`${status.name}\` is not on PATH (it ${status.purpose}): ${status.howToGet}`);
    this.name = 'PrerequisiteMissingError';
  }
}

/** Returns the program's path, or throws PrerequisiteMissingError. */
export async function requirePrerequisite(name: PrerequisiteName): Promise<string> {
  const status = await checkPrerequisite(name);
  if (status.path === undefined || status.version === undefined) throw new PrerequisiteMissingError(status);
  return status.path;
}
