/**
 * The kill -9 soak: mixed NORMAL and FIFO load through the official Node.js client against a broker process under
 * sync flush, SIGKILLed every 20-60 s (random, seeded) and restarted, then drained. Prints the figure: acknowledged
 * sends, deliveries, kills, and the acknowledged sends lost (must be 0; exit code 1 otherwise).
 *
 *   npx tsx bench/soak.ts --minutes 30 [--seed 1] [--dir /tmp/soak] [--kill-min-s 20] [--kill-max-s 60]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runSoak } from '../broker/test/soak.ts';
import { seededRandom } from '../lib/random.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    dir: { type: 'string' },
    'kill-min-s': { type: 'string', default: '20' },
    'kill-max-s': { type: 'string', default: '60' },
    /** Test the soak itself: the broker drops one acknowledged send in N, so the run must report losses. */
    'canary-drop-one-in': { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const seed = Number(values.seed);
const dataDir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-soak-'));
const command =
  `npx tsx bench/soak.ts --minutes ${minutes} --seed ${seed} ` +
  `--kill-min-s ${values['kill-min-s']} --kill-max-s ${values['kill-max-s']}`;
console.log(`soak: ${command} (data in ${dataDir})`);
const result = await runSoak({
  dataDir,
  durationMs: minutes * 60_000,
  killEveryMs: [Number(values['kill-min-s']) * 1000, Number(values['kill-max-s']) * 1000],
  random: seededRandom(seed),
  canaryDropAckedOneIn: values['canary-drop-one-in'] ? Number(values['canary-drop-one-in']) : undefined,
  progress: (line) => console.log(`  ${new Date().toISOString()} ${line}`),
});
console.log(
  `soak result: ${(result.durationMs / 60_000).toFixed(1)} min, ${result.kills} kill -9, ` +
    `${result.acked} acknowledged sends, ${result.sendFailures} failed sends (not acknowledged), ` +
    `${result.delivered} delivered (${result.redeliveries} redeliveries), lost ${result.lost.length}`,
);
if (result.stuck.length > 0) console.log(`stuck: ${result.stuck.join('; ')}`);
if (result.lost.length > 0) {
  console.log(`lost: ${result.lost.slice(0, 20).join(', ')}\nbroker log tail:\n${result.brokerLogTail}`);
  process.exitCode = 1;
} else if (!values.dir) {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
console.log(`reproduce: ${command}`);
// The client library keeps timers alive after shutdown; the figure is printed, so end here.
process.exit(process.exitCode ?? 0);
