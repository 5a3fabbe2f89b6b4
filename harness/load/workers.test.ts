/**
 * Load beyond one process, against a real bundled broker process with the official Node.js client:
 * - `mqdrill load --workers 3` gives the same total as one worker at the same total load (counts: every scheduled
 *   arrival is a send or a dropped iteration, so the totals differ by at most the drops and one per driver) and the
 *   same checker verdicts over the merged ledgers; no worker starts before every worker was ready (the barrier);
 * - `--emit-k8s` writes manifests that load back through @kubernetes/client-node's YAML loader, and each pod's
 *   command, with the pod's mounts mapped to local folders, runs as a local process against the broker.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAllYaml, V1ConfigMap, V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { type BrokerProcess, cliPath, spawnBroker, waitForExit } from '../../test/kit/index.ts';
import { checkLedgers } from '../checks/engine.ts';
import { listLedgers } from '../drill/drain.ts';
import { LEDGER_MOUNT, MANIFEST_FILE, PLAN_MOUNT } from './k8s.ts';
import type { LoadSummary } from './summary.ts';
import { START_LEAD_MS } from './workers.ts';

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-workers-'));
let broker: BrokerProcess;
const RATE = 40;
const SECONDS = 4;

function options(topic: string, group: string, seconds = SECONDS): string {
  const file = join(dir, `${topic}.json`);
  const plan = {
    scenarios: {
      orders: {
        executor: 'constant-arrival-rate',
        rate: RATE,
        duration: `${seconds}s`,
        preAllocatedVUs: 12,
        maxVUs: 48,
        role: 'producer',
        message: { topic, bodySizeBytes: 128 },
      },
      billing: {
        executor: 'constant-vus',
        vus: 3,
        duration: `${seconds}s`,
        role: 'consumer',
        consumer: { group, topic, awaitDuration: '1s' },
      },
    },
    drain: { idle: '2s', timeout: '60s' },
    seed: 3,
  };
  writeFileSync(file, JSON.stringify(plan));
  return file;
}

function load(args: string[]): { code: number | null; output: string } {
  const r = spawnSync(process.execPath, [cliPath, 'load', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, output: `${r.stdout}\n${r.stderr}` };
}

function count(summary: LoadSummary, metric: string): number {
  return summary.metrics[metric]?.values.count ?? 0;
}

async function verdicts(out: string): Promise<Record<string, string>> {
  const result = await checkLedgers(listLedgers(out));
  return Object.fromEntries(result.anomalies.map((a) => [a.name, a.verdict]));
}

beforeAll(async () => {
  const topics = ['one', 'three', 'pods'].map((name) => ({ name, queues: 4, type: 'NORMAL' }));
  const groups = ['g-one', 'g-three', 'g-pods'].map((name) => ({ name, maxAttempts: 16 }));
  const config = join(dir, 'broker.json');
  writeFileSync(config, JSON.stringify({ topics, groups }));
  broker = await spawnBroker(join(dir, 'broker'), ['--config', config]);
});

afterAll(async () => {
  broker?.child.kill('SIGTERM');
  if (broker) await waitForExit(broker.child);
  rmSync(dir, { recursive: true, force: true });
});

describe('load --workers N: the plan split across worker processes', () => {
  test('3 workers give the same total sends and the same verdicts as 1 at the same total load', async () => {
    const one = join(dir, 'run-1');
    const three = join(dir, 'run-3');
    const r1 = load([options('one', 'g-one'), '--endpoint', broker.endpoints, '--out', one]);
    expect(r1.code, r1.output).toBe(ExitCode.OK);
    const r3 = load([options('three', 'g-three'), '--endpoint', broker.endpoints, '--out', three, '--workers', '3']);
    expect(r3.code, r3.output).toBe(ExitCode.OK);
    const s1 = JSON.parse(readFileSync(join(one, 'summary.json'), 'utf8')) as LoadSummary;
    const s3 = JSON.parse(readFileSync(join(three, 'summary.json'), 'utf8')) as LoadSummary;
    const scheduled = RATE * SECONDS;
    // Each driver may start one arrival more or fewer at its schedule's edges; dropped ones were not sent.
    for (const [s, drivers] of [
      [s1, 1],
      [s3, 3],
    ] as const) {
      const started = count(s, 'messages_sent') + count(s, 'dropped_iterations');
      expect(Math.abs(started - scheduled), JSON.stringify(s.scenarios)).toBeLessThanOrEqual(drivers);
    }
    const tolerance = count(s1, 'dropped_iterations') + count(s3, 'dropped_iterations') + 4;
    expect(Math.abs(count(s1, 'messages_sent') - count(s3, 'messages_sent'))).toBeLessThanOrEqual(tolerance);
    for (let k = 0; k < 3; k++) {
      const files = readdirSync(join(three, `worker-${k}`));
      expect(files, `worker ${k}`).toContain(`ledger-w${k}-orders-0.ndjson`);
      expect(files).toContain('metrics.json');
    }
    const v1 = await verdicts(one);
    expect(await verdicts(three)).toEqual(v1);
    expect(v1.lost).toBe('pass');
    // The coordinated start: no worker's load began before the last worker was ready (plus the lead).
    const ready = readdirSync(join(three, 'barrier')).map(
      (f) => (JSON.parse(readFileSync(join(three, 'barrier', f), 'utf8')) as { readyMs: number }).readyMs,
    );
    expect(ready).toHaveLength(3);
    for (let k = 0; k < 3; k++) {
      const loadStart = readFileSync(join(three, `worker-${k}`, 'ledger-engine.ndjson'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"n":"load"') && l.includes('"s":"start"'))
        .map((l) => (JSON.parse(l) as { ts: number }).ts)[0];
      expect(loadStart).toBeGreaterThanOrEqual(Math.max(...ready) + START_LEAD_MS);
    }
  }, 240_000);

  test('--emit-k8s: manifests load back typed; each pod command runs locally against the broker', async () => {
    const plan = options('pods', 'g-pods', 2);
    const k8s = join(dir, 'k8s');
    const r = load([plan, '--endpoint', broker.endpoints, '--workers', '2', '--emit-k8s', k8s]);
    expect(r.code, r.output).toBe(ExitCode.OK);
    const objects = loadAllYaml(readFileSync(join(k8s, MANIFEST_FILE), 'utf8'));
    expect(objects.map((o: { kind: string }) => o.kind)).toEqual(['ConfigMap', 'PersistentVolumeClaim', 'Job']);
    const configMap = objects[0] as V1ConfigMap;
    const job = objects[2] as V1Job;
    expect(configMap).toBeInstanceOf(V1ConfigMap);
    expect(job).toBeInstanceOf(V1Job);
    expect(job.spec?.completionMode).toBe('Indexed');
    expect(job.spec?.completions).toBe(2);
    const container = job.spec?.template.spec?.containers[0];
    const command = container?.command ?? [];
    expect(command.slice(0, 2)).toEqual(['sh', '-c']);
    // The pod's mounts as local folders: the ConfigMap's files under plan/, the shared volume under ledgers/.
    const planDir = join(dir, 'mount-plan');
    const ledgerDir = join(dir, 'mount-ledgers');
    mkdirSync(planDir, { recursive: true });
    for (const [name, text] of Object.entries(configMap.data ?? {})) writeFileSync(join(planDir, name), text);
    const line = (command[2] ?? '')
      .replaceAll(`${PLAN_MOUNT}/`, `${planDir}/`)
      .replaceAll(`${LEDGER_MOUNT}/`, `${ledgerDir}/`);
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? '']));
    const pods = [0, 1].map((k) =>
      spawn('sh', ['-c', line], {
        env: { ...process.env, ...env, JOB_COMPLETION_INDEX: String(k) },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    const logs = pods.map((p) => {
      const chunks: string[] = [];
      p.stderr?.on('data', (d) => chunks.push(String(d)));
      return chunks;
    });
    const codes = await Promise.all(pods.map((p) => waitForExit(p, 120_000)));
    expect(codes, logs.map((l) => l.join('')).join('\n---\n')).toEqual([0, 0]);
    const run = join(ledgerDir, configMap.data?.['run-id'] ?? '');
    expect(existsSync(join(run, 'worker-0', 'ledger-w0-orders-0.ndjson'))).toBe(true);
    expect(existsSync(join(run, 'worker-1', 'ledger-w1-orders-0.ndjson'))).toBe(true);
    const v = await verdicts(run);
    expect(v.lost).toBe('pass');
    expect(v.duplicate).toBe('pass');
  }, 180_000);
});
