/**
 * The kill -9 soak, shortened for CI: 75 s of mixed NORMAL and FIFO load under sync flush with a SIGKILL and
 * restart every 12-25 s, then a drain; zero acknowledged sends may be lost. The long form is bench/soak.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { seededRandom } from '../../lib/random.ts';
import { runSoak } from './soak.ts';

let dataDir: string | undefined;

afterEach(() => {
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('soak: kill -9 every 12-25 s under sync flush for 75 s loses no acknowledged send', async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-soak-ci-'));
  const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
  const result = await runSoak({
    dataDir,
    durationMs: 75_000,
    killEveryMs: [12_000, 25_000],
    random: seededRandom(seed),
  });
  const figure = `seed ${seed}: ${result.kills} kills, ${result.acked} acked, ${result.delivered} delivered`;
  expect(result.kills, figure).toBeGreaterThanOrEqual(2);
  expect(result.acked, figure).toBeGreaterThan(100);
  expect(result.lost, `${figure}\nbroker log tail:\n${result.brokerLogTail}`).toEqual([]);
  expect(result.stuck, figure).toEqual([]);
}, 240_000);
