/**
 * The drill spec, without booting anything: every built-in scenario is valid and describes itself; an invalid spec
 * lists every problem at once; --duration and --seed overrides; topics and groups derived from the scenario.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { describeDrill } from './describe.ts';
import { builtInScenarios, loadDrillModule, resolveDrill } from './load-spec.ts';
import { type DrillSpec, producersDurationMs, validateDrill } from './spec.ts';

const BUILT_INS = ['delayed', 'fan-out', 'flash-sale', 'ordered', 'retry-storm', 'transactional'];

async function load(nameOrPath: string, overrides = {}, env: NodeJS.ProcessEnv = {}) {
  const { name, path } = resolveDrill(nameOrPath);
  return validateDrill(name, path, await loadDrillModule(path), overrides, env);
}

async function valid(nameOrPath: string, overrides = {}): Promise<DrillSpec> {
  const { spec, errors } = await load(nameOrPath, overrides);
  expect(errors).toEqual([]);
  return spec as DrillSpec;
}

describe('drill spec: built-in scenarios', () => {
  test('scenarios/ holds the six built-in drills, one file each', () => {
    expect(builtInScenarios()).toEqual(BUILT_INS);
  });

  test.each(BUILT_INS)(
    '%s is valid, has at least one fault and gates, and describes itself in one paragraph',
    async (n) => {
      const spec = await valid(n);
      expect(spec.faults.length).toBeGreaterThan(0);
      expect(spec.gates.length).toBeGreaterThan(0);
      expect(spec.loadDurationMs).toBeLessThanOrEqual(15_000);
      const text = describeDrill(spec);
      expect(text).not.toContain('\n');
      expect(text).toContain(`${n}:`);
      expect(text).toMatch(/Faults \(from the load start\): /);
    },
  );

  test('ordered: the FIFO topic and its group are provisioned as FIFO', async () => {
    const spec = await valid('ordered');
    expect(spec.topics).toEqual([{ name: 'order-events', queues: 4, type: 'FIFO' }]);
    expect(spec.groups).toEqual([{ name: 'order-service', fifo: true }]);
  });

  test('retry-storm: the group keeps its max attempts and the dead-letter scan group is created', async () => {
    const spec = await valid('retry-storm');
    expect(spec.groups).toEqual([
      { name: 'payment-service', fifo: false, maxAttempts: 3 },
      { name: 'payment-service-dlq-scan', fifo: false },
    ]);
  });
});

describe('drill spec: overrides', () => {
  test('--duration stretches the load and keeps its shape; --seed replaces the seed', async () => {
    const spec = await valid('flash-sale', { duration: '24s', seed: '99' });
    expect(producersDurationMs(spec.plan)).toBe(24_000);
    expect(spec.loadDurationMs).toBe(24_000);
    expect(spec.plan.seed).toBe(99);
    const orders = spec.plan.scenarios.find((s) => s.name === 'orders');
    // The first stage is 3 s of 10 s: stretched to 24 s it lasts 7.2 s.
    expect(orders?.schedule.executor === 'ramping-arrival-rate' && orders.schedule.stages[0]?.durationMs).toBe(7200);
  });

  test('--target external takes MQDRILL_ENDPOINT; faults by role fit it, process faults are skipped', async () => {
    const env = { MQDRILL_ENDPOINT: '10.0.0.1:8081' };
    const flash = await load('flash-sale', { target: 'external' }, env);
    expect(flash.errors).toEqual([]);
    expect(flash.spec?.faults).toMatchObject([{ type: 'timed', fault: { kind: 'latency', target: 'external' } }]);
    const ordered = await load('ordered', { target: 'external' }, env);
    expect(ordered.errors).toEqual([]);
    expect(ordered.spec?.faults).toEqual([]);
    expect(ordered.spec?.skippedFaults).toEqual(["kill on any: the external target's processes are not ours"]);
    const named = validateDrill(
      'x',
      'x.json',
      {
        options: {
          scenarios: {
            p: { executor: 'constant-vus', vus: 1, duration: '5s', role: 'producer', message: { topic: 't' } },
          },
        },
        drill: { faults: [{ kind: 'kill', target: 'broker-0', at: '1s', duration: '1s' }] },
      },
      { target: 'external' },
      env,
    );
    expect(named.errors).toEqual([
      'drill.faults[0].target: kill needs a process target, and this target has none ' +
        '(external targets take network faults only)',
    ]);
  });

  test('--target rocketmq: one broker, any picks broker-0, namesrv names the name server', async () => {
    const ordered = await load('ordered', { target: 'rocketmq' });
    expect(ordered.errors).toEqual([]);
    expect(ordered.spec?.target).toMatchObject({ kind: 'rocketmq', nodes: 1, spec: { kind: 'rocketmq' } });
    expect(ordered.spec?.faults).toMatchObject([{ fault: { kind: 'kill', target: 'broker-0' } }]);
    const { spec, errors } = validateDrill(
      'x',
      'x.json',
      {
        options: {
          scenarios: {
            p: { executor: 'constant-vus', vus: 1, duration: '5s', role: 'producer', message: { topic: 't' } },
          },
        },
        drill: { faults: [{ kind: 'pause', target: 'namesrv', at: '1s', duration: '1s' }] },
      },
      { target: 'rocketmq' },
    );
    expect(errors).toEqual([]);
    expect(spec?.faults).toMatchObject([{ fault: { kind: 'pause', target: 'namesrv-0' } }]);
  });

  test("without --target the spec's target kind holds", () => {
    const { spec } = validateDrill('x', 'x.json', {
      options: {
        scenarios: {
          p: { executor: 'constant-vus', vus: 1, duration: '5s', role: 'producer', message: { topic: 't' } },
        },
      },
      drill: { target: { kind: 'external', endpoint: '10.0.0.2:8081' } },
    });
    expect(spec?.target.spec).toEqual({ kind: 'external', endpoint: '10.0.0.2:8081' });
  });

  test('bad overrides are listed with the rest', async () => {
    const { errors } = await load('ordered', { target: 'cloud', seed: 'x', duration: 'soon' });
    expect(errors).toEqual([
      '--target: must be one of: bundled, rocketmq, containers, external (got "cloud")',
      '--seed: must be a whole number >= 0 (got "x")',
      '--duration: invalid duration "soon": expected e.g. "30s", "1m30s", "250ms"',
    ]);
  });
});

describe('drill spec: the containers target', () => {
  test('--target containers --broker --nodes give the target; node pairs are partition targets', async () => {
    const faults = [
      { kind: 'partition', target: 'broker-0~broker-1', at: '1s', duration: '1s' },
      { kind: 'pause', target: 'namesrv', at: '3s', duration: '1s' },
    ];
    const { spec, errors } = await load('ordered', { target: 'containers', broker: 'rocketmq', nodes: 2, faults });
    expect(errors).toEqual([]);
    expect(spec?.target).toMatchObject({ kind: 'containers', broker: 'rocketmq', nodes: 2 });
    expect(spec?.target.spec).toEqual({ kind: 'containers', broker: 'rocketmq', nodes: 2 });
    expect(spec?.faults.map((f) => (f.type === 'timed' ? f.fault.target : ''))).toEqual([
      'broker-0~broker-1',
      'namesrv-0',
    ]);
  });

  test('--broker and --nodes are checked against the target', async () => {
    const bad = {
      target: 'containers',
      nodes: 0,
      faults: [{ kind: 'pause', target: 'broker-0~broker-5', at: '1s', duration: '1s' }],
    };
    expect((await load('ordered', bad)).errors).toEqual([
      '--nodes: must be a whole number >= 1 (got 0)',
      '--faults[0].target: unknown process target "broker-0~broker-5" (expected *, broker-0)',
    ]);
    expect((await load('ordered', { target: 'rocketmq', broker: 'bundled', nodes: 2 })).errors).toEqual([
      '--broker: applies to --target containers only',
      '--nodes: applies to --target bundled or containers only',
    ]);
  });
});

describe('drill spec: an invalid spec', () => {
  test('every problem is listed at once, unknown keys included', async () => {
    const { spec, errors } = await load(join(import.meta.dirname, 'testdata/invalid.json'));
    expect(spec).toBeUndefined();
    expect(errors).toEqual([
      'options.scenarios.orders.rate: must be > 0',
      expect.stringMatching(/^options\.scenarios\.orders\.message\.colour: unknown option/),
      expect.stringMatching(/^options\.thresholds\["send_duration"\]\[0\]: invalid threshold/),
      expect.stringMatching(/^drill\.drian: unknown option \(expected one of: description, target, queues, /),
      'drill.target.nodes: must be an integer from 1 to 16, not 0',
      'extra: unknown key (expected options, drill)',
      'drill.faults[0].target: unknown network target "broker-3" (expected *, broker-0)',
      'drill.faults[0].latencyMs: is required',
      expect.stringMatching(/^drill\.faults\[1\]\.kind: must be one of: latency/),
      'drill.faults[1].at: is required (a duration such as "30s")',
      'drill.faults[1].duration: is required (a duration such as "30s")',
      'drill.gates[1]: "lots of nonsense" is not "<metric>[.<aggregation>] <op> <value>"',
      'drill.guarantee: must be one of: at-least-once, exactly-once, strict (got "sometimes")',
    ]);
  });

  test('a consumer fault in the schedule is refused with where it belongs instead', async () => {
    const { errors } = validateDrill('x', 'x.ts', {
      options: {
        scenarios: {
          p: {
            executor: 'constant-arrival-rate',
            rate: 1,
            duration: '5s',
            preAllocatedVUs: 1,
            role: 'producer',
            message: { topic: 't' },
          },
        },
      },
      drill: { faults: [{ kind: 'consumer-crash', target: '*', at: '1s', duration: '1s' }], warmUp: '1s' },
    });
    expect(errors).toEqual([
      expect.stringMatching(/^drill\.faults\[0\]: consumer faults go in the consumer behaviour for now/),
    ]);
  });
});
