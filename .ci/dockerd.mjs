// Starts dockerd for CI when it is installed and not already running, and stops the one it started.
// Container tests (the `containers` target) need a Docker engine; nothing on this kind of machine starts one.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { $, echo, sleep, which } from 'zx';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

const dockerInfoOk = async () => (await $({ quiet: true, nothrow: true })`docker info`).exitCode === 0;

/**
 * Returns a handle whose stop() ends the dockerd this call started (or does nothing when dockerd was already
 * running, or is not installed). Throws when dockerd was started but did not answer `docker info` in time.
 */
export async function startDockerd(logPath) {
  const dockerd = await which('dockerd', { nothrow: true });
  if (!dockerd) {
    echo('dockerd: not installed (mqdrill setup installs docker.io); no container tests can run');
    return { stop: async () => {} };
  }
  if (await dockerInfoOk()) {
    echo('dockerd: already running; leaving it as it is');
    return { stop: async () => {} };
  }
  mkdirSync(logPath.replace(/\/[^/]*$/, ''), { recursive: true });
  const log = openSync(logPath, 'a');
  const child = spawn(dockerd, [], { stdio: ['ignore', log, log], detached: true });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  echo(`dockerd: started (pid ${child.pid}, log ${logPath}); waiting for \`docker info\``);
  const startedMs = Date.now();
  while (!(await dockerInfoOk())) {
    if (exited || Date.now() - startedMs > READY_TIMEOUT_MS) {
      const tail = readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
      await stopChild(child, () => exited);
      throw new Error(`dockerd did not become ready within ${READY_TIMEOUT_MS / 1000}s:\n${tail}`);
    }
    await sleep(500);
  }
  echo(`dockerd: ready after ${((Date.now() - startedMs) / 1000).toFixed(1)}s`);
  return { stop: () => stopChild(child, () => exited) };
}

async function stopChild(child, hasExited) {
  if (hasExited()) return;
  child.kill('SIGTERM');
  const startedMs = Date.now();
  while (!hasExited() && Date.now() - startedMs < STOP_TIMEOUT_MS) await sleep(200);
  if (!hasExited()) {
    echo(`dockerd: still running after ${STOP_TIMEOUT_MS / 1000}s; SIGKILL`);
    child.kill('SIGKILL');
  }
  echo('dockerd: stopped');
}
