#!/usr/bin/env node
// CI orchestration in zx: setup (tools, Debian packages), services, then the README's test command.
import { $, echo } from 'zx';

$.verbose = true;
const started = Date.now();
const step = async (name, fn) => {
  echo(`::group::${name}`);
  const t0 = Date.now();
  await fn();
  echo(`::endgroup:: ${name} took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
};

await step('mqdrill setup', () => $`node bin/mqdrill.mjs setup`);
await step('mqdrill setup --check', () => $`node bin/mqdrill.mjs setup --check`);
await step('npm test', () => $`npm test`);
echo(`CI finished in ${((Date.now() - started) / 60000).toFixed(1)} min`);
