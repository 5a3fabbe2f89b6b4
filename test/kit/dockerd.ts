/**
 * A Docker engine for the tests that need one (the containers target). CI starts dockerd before `npm test`; on a fresh
 * machine the README's test command does not, so these tests start it themselves when it is installed and not
 * running, and stop the one they started. A missing engine is a failure with what to do, never a skip.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

function dockerAnswers(): boolean {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/** Makes sure `docker info` answers; returns what undoes it (stops a dockerd started here, else nothing). */
export async function ensureDockerd(): Promise<() => Promise<void>> {
  if (dockerAnswers()) return async () => {};
  if (!onPath('dockerd')) {
    throw new Error('the containers tests need Docker: run `npx mqdrill setup` as root (it installs docker.io)');
  }
  if (process.getuid?.() !== 0) {
    throw new Error('dockerd is installed but not running, and only root can start it: start it (`sudo dockerd &`)');
  }
  const log = join(mkdtempSync(join(tmpdir(), 'mqdrill-dockerd-')), 'dockerd.log');
  const fd = openSync(log, 'a');
  const child: ChildProcess = spawn('dockerd', [], { stdio: ['ignore', fd, fd], detached: true });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!dockerAnswers()) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      const tail = readFileSync(log, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(`dockerd did not answer \`docker info\` within ${READY_TIMEOUT_MS / 1000} s:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const stopBy = Date.now() + STOP_TIMEOUT_MS;
    while (!exited && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 200));
    if (!exited) child.kill('SIGKILL');
  };
}
