/**
 * The docker CLI, bounded: every call has a timeout and fails with the command, its exit and its stderr. Everything
 * the containers target creates carries the label `mqdrill.owner=mqdrill` and `mqdrill.run=<run id>`, so a sweep by
 * label removes what a run left behind (after a crash, Ctrl-C or a failed boot) without knowing names.
 *
 * Containers, networks and volumes are driven through the CLI rather than testcontainers' GenericContainer because
 * a drill needs what that API does not offer: fixed IP addresses on a network with its own subnet (routes must name
 * the same address after a stop/start), named volumes, and stop/start of one container without removing it.
 */
import { execFile } from 'node:child_process';

export const OWNER_LABEL = 'mqdrill.owner=mqdrill';
export const RUN_LABEL = 'mqdrill.run';
const DEFAULT_TIMEOUT_MS = 120_000;

export class DockerError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(`docker ${args.join(' ')} failed (exit ${code}): ${stderr.trim().slice(-2000) || '(no output)'}`);
    this.name = 'DockerError';
  }
}

export interface RunOptions {
  timeoutMs?: number;
  /** Bytes written to the command's stdin. */
  input?: string | Buffer;
}

/** Runs `docker ...args`; resolves with stdout, rejects with a DockerError. */
export function docker(args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return run('docker', args, opts);
}

/** Runs any program (nsenter, tc, iptables) with the same bounds and error shape. */
export function run(program: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      [...args],
      { timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
        const why = err.killed ? `timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms; ${stderr}` : stderr;
        reject(new DockerError(program === 'docker' ? args : [program, ...args], code, why || err.message));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** True when the docker daemon answers. */
export async function dockerAvailable(): Promise<boolean> {
  try {
    await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 });
    return true;
  } catch {
    return false;
  }
}

export async function imageExists(tag: string): Promise<boolean> {
  try {
    await docker(['image', 'inspect', '--format', '{{.Id}}', tag], { timeoutMs: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** What a sweep found and removed. */
export interface Leftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
}

/** Lists what carries the owner label (and the run label when given). */
export async function listOwned(runId?: string): Promise<Leftovers> {
  const filters = ['--filter', `label=${OWNER_LABEL}`, ...(runId ? ['--filter', `label=${RUN_LABEL}=${runId}`] : [])];
  const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');
  const [containers, networks, volumes] = await Promise.all([
    docker(['ps', '-a', '-q', ...filters]),
    docker(['network', 'ls', '-q', ...filters]),
    docker(['volume', 'ls', '-q', ...filters]),
  ]);
  return { containers: lines(containers), networks: lines(networks), volumes: lines(volumes) };
}

/**
 * Removes every container, network and volume with the owner label (and run label when given), containers first
 * (a network or volume in use cannot go). Returns what it removed; throws when something is still there after it.
 */
export async function sweep(runId?: string): Promise<Leftovers> {
  const found = await listOwned(runId);
  if (found.containers.length) await docker(['rm', '-f', '-v', ...found.containers]).catch(() => undefined);
  if (found.networks.length) await docker(['network', 'rm', ...found.networks]).catch(() => undefined);
  if (found.volumes.length) await docker(['volume', 'rm', '-f', ...found.volumes]).catch(() => undefined);
  const left = await listOwned(runId);
  const count = left.containers.length + left.networks.length + left.volumes.length;
  if (count > 0) {
    throw new Error(
      `docker sweep left ${count} object(s) labelled ${OWNER_LABEL}${runId ? ` for run ${runId}` : ''}: ` +
        `${JSON.stringify(left)}; remove them with docker rm -f / docker network rm / docker volume rm`,
    );
  }
  return found;
}
