#!/usr/bin/env node
// The mqdrill CLI. Sources are TypeScript run through tsx, so a fresh clone needs no build step. The bin always runs
// the CLI: it is started directly, through npm's node_modules/.bin symlink or through npx alike.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../harness/cli/main.ts');
await runCli();
