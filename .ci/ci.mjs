#!/usr/bin/env node
// CI orchestration in zx: setup (tools, Debian packages), services (dockerd), then the README's test command.
// A failing step fails the run; services this script started are stopped whatever happens.
import { $, echo } from 'zx';
import { startDockerd } from './dockerd.mjs';

$.verbose = true;
const startedMs = Date.now();
const step = async (name, fn) => {
  echo(`::group::${name}`);
  const stepStartedMs = Date.now();
  try {
    return await fn();
  } finally {
    echo(`::endgroup:: ${name} took ${((Date.now() - stepStartedMs) / 1000).toFixed(1)}s`);
  }
};

let dockerd = { stop: async () => {} };
try {
  await step('mqdrill setup', () => $`node bin/mqdrill.mjs setup`);
  await step('mqdrill setup --check', () => $`node bin/mqdrill.mjs setup --check`);
  dockerd = await step('start dockerd', () => startDockerd('test-artifacts/ci/dockerd.log'));
  // The containers target's images need dockerd, which needs the Debian packages setup installs: built here.
  await step('mqdrill setup --only images', () => $`node bin/mqdrill.mjs setup --only images`);
  await step('npm test', () => $`npm test`);
  echo(`CI passed in ${((Date.now() - startedMs) / 60000).toFixed(1)} min`);
} catch (err) {
  const code = typeof err?.exitCode === 'number' && err.exitCode !== 0 ? err.exitCode : 1;
  const why =
    typeof err?.exitCode === 'number' ? `a step exited with code ${err.exitCode}` : String(err?.message ?? err);
  echo(`CI FAILED after ${((Date.now() - startedMs) / 60000).toFixed(1)} min: ${why.split('\n')[0]}`);
  process.exitCode = code;
} finally {
  await step('stop dockerd', () => dockerd.stop());
}
