/**
 * Scenario authoring as code: a spec outside the repository imports `mqdrill`, type-checks against the exported
 * types (and fails on a wrong field), and loads and validates when mqdrill is linked or installed as a copy. The key
 * lists written here must equal both the types (checked by tsc, the `Exact` lines) and the validators' lists
 * (checked at run time), so the types cannot drift from what the validators accept.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadDrillModule } from '../drill/load-spec.ts';
import { DRAIN_KEYS, DRILL_KEYS, TARGET_KEYS, validateDrill } from '../drill/spec.ts';
import { FAULT_KINDS, faultKeys } from '../faults/model.ts';
import { RANDOM_KEYS } from '../faults/schedule.ts';
import { COMMON, CONSUMER_OPTIONS, EXECUTOR_OPTIONS, MESSAGE_OPTIONS, TOP_LEVEL } from '../load/options.ts';
import type {
  ConsumerBehaviour,
  DrillSection,
  DrillTarget,
  FaultKind,
  FaultSpec,
  LoadOptions,
  MessageSpec,
  ProducerExecutor,
  RandomFaults,
  ScenarioCommon,
} from './index.ts';
import { consumer, defineDrill, faults, producer } from './index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const fixtures = resolve(import.meta.dirname, 'fixtures');
const tscBin = join(repoRoot, 'node_modules/typescript/bin/tsc');
const projects: string[] = [];

afterAll(() => {
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});

/** A project outside the repository with mqdrill in node_modules: linked (npm link, npm i <folder>) or copied. */
function userProject(install: 'link' | 'copy', fixture: string, packageType: 'module' | 'commonjs' = 'module'): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqdrill-user-spec-'));
  projects.push(dir);
  mkdirSync(join(dir, 'node_modules'));
  if (install === 'link') {
    symlinkSync(repoRoot, join(dir, 'node_modules/mqdrill'), 'dir');
  } else {
    mkdirSync(join(dir, 'node_modules/mqdrill/harness'), { recursive: true });
    cpSync(join(repoRoot, 'package.json'), join(dir, 'node_modules/mqdrill/package.json'));
    cpSync(join(repoRoot, 'harness/authoring/index.ts'), join(dir, 'node_modules/mqdrill/harness/authoring/index.ts'));
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: packageType, private: true }));
  const compilerOptions = {
    ...{ target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true },
    ...{ skipLibCheck: true, types: [] },
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['spec.ts'] }));
  cpSync(join(fixtures, fixture), join(dir, 'spec.ts'));
  return dir;
}

function typecheck(dir: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [tscBin, '-p', 'tsconfig.json'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('a spec outside the repository, importing mqdrill', () => {
  test('written with the exported types, it type-checks (mqdrill linked)', () => {
    const result = typecheck(userProject('link', 'typed-spec.ts'));
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('with wrong fields, tsc fails on exactly the lines marked as errors', () => {
    const dir = userProject('link', 'wrong-field.ts');
    const result = typecheck(dir);
    expect(result.status).not.toBe(0);
    const marked = readFileSync(join(dir, 'spec.ts'), 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.includes('// error:') ? [i + 1] : []));
    const reported = [...result.output.matchAll(/^spec\.ts\((\d+),\d+\): error TS\d+/gm)].map((m) => Number(m[1]));
    expect(marked.length).toBeGreaterThanOrEqual(5);
    expect([...new Set(reported)].sort((a, b) => a - b)).toEqual(marked);
    expect(result.output).toContain("'bodySize' does not exist in type 'MessageSpec'");
  });

  test.each([
    ['link', 'module'],
    ['copy', 'module'],
    ['link', 'commonjs'],
  ] as const)('it loads and validates with mqdrill installed as a %s, in a %s package', async (install, type) => {
    const dir = userProject(install, 'typed-spec.ts', type);
    const module = await loadDrillModule(join(dir, 'spec.ts'));
    const { spec, errors } = validateDrill('typed-spec', join(dir, 'spec.ts'), module);
    expect(errors).toEqual([]);
    expect(spec?.plan.scenarios.map((s) => s.name)).toEqual(['checkout', 'payments', 'billing', 'ledger']);
    expect(spec?.faults[0]).toMatchObject({ type: 'timed', fault: { kind: 'partition', target: 'broker-1' } });
  });
});

/** Every key of every member of a union. */
type Keys<T> = T extends unknown ? keyof T : never;
/** Compiles only when the listed keys are exactly the type's keys. */
type Exact<T, L extends readonly Keys<T>[]> = [Exclude<Keys<T>, L[number]>] extends [never] ? true : false;

const sorted = (list: Iterable<string>) => [...new Set(list)].sort();

describe('the exported types name exactly the keys the validators accept', () => {
  test('options, scenarios, messages, consumers', () => {
    const top = ['scenarios', 'thresholds', 'seed', 'drain', 'ledger'] as const;
    const common = ['startTime', 'gracefulStop', 'tags', 'workers'] as const;
    const executors = [
      ...['executor', 'rate', 'timeUnit', 'duration', 'preAllocatedVUs', 'maxVUs', 'startRate', 'stages', 'vus'],
      ...['startVUs', 'gracefulRampDown', 'iterations', 'maxDuration'],
    ] as const;
    const message = [
      ...['type', 'topic', 'tags', 'keys', 'bodySizeBytes', 'delay', 'transaction', 'properties', 'sendTimeout'],
      ...['poisonShare', 'sendMode'],
    ] as const;
    const consumerKeys = [
      ...['group', 'topic', 'kind', 'filter', 'processingTime', 'failureShare', 'poison', 'crashAfter'],
      ...['restartDelay', 'invisibleDuration', 'receiveBatchSize', 'awaitDuration', 'maxAttempts', 'retryDelay'],
      'deadLetterScanGroup',
    ] as const;
    const exact: Array<true> = [
      true satisfies Exact<LoadOptions, typeof top>,
      true satisfies Exact<ScenarioCommon, typeof common>,
      true satisfies Exact<ProducerExecutor, typeof executors>,
      true satisfies Exact<MessageSpec, typeof message>,
      true satisfies Exact<ConsumerBehaviour, typeof consumerKeys>,
    ];
    expect(exact).toHaveLength(5);
    expect(sorted(top)).toEqual(sorted(TOP_LEVEL));
    expect(sorted([...common, 'executor', 'role', 'message', 'consumer'])).toEqual(sorted(COMMON));
    expect(sorted(executors)).toEqual(sorted(['executor', ...Object.values(EXECUTOR_OPTIONS).flat()]));
    expect(sorted(message)).toEqual(sorted(MESSAGE_OPTIONS));
    expect(sorted(consumerKeys)).toEqual(sorted(CONSUMER_OPTIONS));
  });

  test('the drill section, its target and drain, faults and random schedules', () => {
    const drill = ['description', 'target', 'queues', 'warmUp', 'faults', 'gates', 'drain', 'guarantee'] as const;
    const target = [
      ...['kind', 'canary', 'nodes', 'flush', 'endpoint', 'accessKey', 'secretKey', 'tls', 'namespace'],
      'adminEndpoint',
      'namesrv',
      'flushIntervalMs',
      'broker',
      'shards',
    ] as const;
    const drain = ['deadline', 'slo'] as const;
    const random = ['count', 'kinds', 'targets', 'durationMin', 'durationMax', 'within'] as const;
    const exact: Array<true> = [
      true satisfies Exact<DrillSection, typeof drill>,
      true satisfies Exact<DrillTarget, typeof target>,
      true satisfies Exact<NonNullable<DrillSection['drain']>, typeof drain>,
      true satisfies Exact<RandomFaults['random'], typeof random>,
    ];
    expect(exact).toHaveLength(4);
    expect(sorted(drill)).toEqual(sorted(DRILL_KEYS));
    expect(sorted(target)).toEqual(sorted(TARGET_KEYS));
    expect(sorted(drain)).toEqual(sorted(DRAIN_KEYS));
    expect(sorted(random)).toEqual(sorted(RANDOM_KEYS));
    // Every fault kind a drill accepts (consumer faults go in the consumer behaviour), with its keys.
    const drillKinds = FAULT_KINDS.filter((k) => !k.startsWith('consumer-'));
    const kinds: FaultKind[] = [...drillKinds] as FaultKind[];
    expect(sorted(kinds)).toEqual(sorted(drillKinds));
    for (const kind of kinds) {
      const typed: Record<FaultKind, readonly Keys<FaultSpec>[]> = {
        latency: ['kind', 'target', 'latencyMs', 'jitterMs', 'stream', 'toxicity'],
        bandwidth: ['kind', 'target', 'kilobytesPerSecond', 'stream', 'toxicity'],
        timeout: ['kind', 'target', 'timeoutMs', 'stream', 'toxicity'],
        reset_peer: ['kind', 'target', 'timeoutMs', 'stream', 'toxicity'],
        slicer: ['kind', 'target', 'averageSizeBytes', 'sizeVariationBytes', 'delayUs', 'stream', 'toxicity'],
        loss: ['kind', 'target', 'lossShare', 'stream'],
        down: ['kind', 'target'],
        partition: ['kind', 'target'],
        kill: ['kind', 'target'],
        pause: ['kind', 'target'],
        restart: ['kind', 'target'],
        'power-loss': ['kind', 'target'],
        stop: ['kind', 'target'],
      };
      expect(sorted(typed[kind]), kind).toEqual(sorted(faultKeys(kind)));
    }
  });
});

describe('the helpers write what the validators accept', () => {
  test('producer.burst, producer.rate and consumer make a valid drill with the stated schedule', () => {
    const message: MessageSpec = { topic: 'orders', bodySizeBytes: 128 };
    const spec = defineDrill({
      options: {
        scenarios: {
          burst: producer.burst({ baseRate: 100, peakRate: 2000, before: '2s', hold: '3s', after: '2s', message }),
          steady: producer.rate({ rate: 50, duration: '9s', message, workers: 2 }),
          readers: consumer({ group: 'readers', topic: 'orders', vus: 3, duration: '9s', awaitDuration: '1s' }),
        },
      },
      drill: { faults: [faults.partition('broker-0', { at: '1s', duration: '2s' })] },
    });
    const { spec: valid, errors } = validateDrill('helpers', 'inline', spec);
    expect(errors).toEqual([]);
    const [burst, steady, readers] = valid?.plan.scenarios ?? [];
    expect(burst?.schedule).toMatchObject({
      executor: 'ramping-arrival-rate',
      startRate: 100,
      maxVUs: 200,
      preAllocatedVUs: 50,
      stages: [
        { target: 100, durationMs: 2000 },
        { target: 2000, durationMs: 1000 },
        { target: 2000, durationMs: 3000 },
        { target: 100, durationMs: 1000 },
        { target: 100, durationMs: 2000 },
      ],
    });
    expect(steady).toMatchObject({ workers: 2, schedule: { rate: 50, maxVUs: 64, preAllocatedVUs: 16 } });
    expect(readers).toMatchObject({ role: 'consumer', schedule: { executor: 'constant-vus', vus: 3 } });
    expect(readers?.consumer).toMatchObject({ group: 'readers', awaitDurationMs: 1000 });
    expect(valid?.loadDurationMs).toBe(9000);
  });

  test('a helper-built spec with a wrong value still fails validation (the types do not replace it)', () => {
    const spec = defineDrill({
      options: { scenarios: { s: producer.rate({ rate: 10, duration: '-1s', message: { topic: 'x' } }) } },
      drill: {},
    });
    expect(validateDrill('bad', 'inline', spec).errors.join('\n')).toContain('scenarios.s.duration');
  });
});
