/**
 * The capacity search and its judgement without a broker: steps judged from measured figures, the search driven by
 * a probe whose limit the test chooses, the step plan, the consumer plan and the report page. The runs against the
 * real bundled broker are in capacity-bundled.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { main } from '../cli/main.ts';
import { validateOptions } from '../load/options.ts';
import { renderCapacityHtml } from './html.ts';
import { defaultVus, stepPlan } from './plan.ts';
import { type CapacityReport, consumerPlan, formatCurve } from './report.ts';
import { exitOf, fifoLock } from './run.ts';
import { DEFAULT_SEARCH, searchCapacity } from './search.ts';
import { DEFAULT_SLO, validateSlo } from './slo.ts';
import { judgeStep, quantile, type StepMeasure } from './step.ts';

function measure(rate: number, extra: Partial<StepMeasure> = {}): StepMeasure {
  const sends = extra.sends ?? rate * 2;
  return {
    completedOk: extra.sendsOk ?? sends,
    rate,
    windowMs: 2000,
    sends: rate * 2,
    sendsOk: rate * 2,
    sendsFail: 0,
    sendsUnknown: 0,
    sendP50Ms: 2,
    sendP99Ms: 10,
    sendP999Ms: 15,
    sendDelayP99Ms: 1,
    received: rate * 2,
    dropped: 0,
    scheduled: rate * 2,
    generatorCpuCores: 0.3,
    cpus: 2,
    ...extra,
  };
}

describe('judgeStep', () => {
  test('a step within every SLO holds', () => {
    const s = judgeStep(measure(500), DEFAULT_SLO);
    expect(s.pass).toBe(true);
    expect(s.sendRate).toBe(500);
    expect(s.reasons).toEqual([]);
  });

  test('latency, errors and backlog growth break a step, each named', () => {
    expect(judgeStep(measure(500, { sendP99Ms: 80 }), DEFAULT_SLO).reasons.map((r) => r.kind)).toEqual(['latency']);
    const errors = judgeStep(measure(500, { sendsOk: 990, sendsFail: 10 }), DEFAULT_SLO);
    expect(errors.reasons[0]?.kind).toBe('errors');
    const backlog = judgeStep(measure(500, { received: 600 }), DEFAULT_SLO);
    expect(backlog.reasons.map((r) => r.kind)).toEqual(['backlog']);
    expect(backlog.reasons[0]?.detail).toMatch(/consumers received 300\/s of 500\/s/);
  });

  test('a message or two at the window edges is not a backlog or a shortfall at low rates', () => {
    const s = judgeStep(measure(2, { windowMs: 1000, sends: 3, sendsOk: 3, completedOk: 2, received: 1 }), DEFAULT_SLO);
    expect(s.reasons).toEqual([]);
    const more = judgeStep(
      measure(2, { windowMs: 1000, sends: 6, sendsOk: 6, completedOk: 3, received: 0 }),
      DEFAULT_SLO,
    );
    expect(more.reasons.map((r) => r.kind)).toEqual(['throughput', 'backlog']);
  });

  test('dropped iterations while sends are fast are the generator, not the target', () => {
    const s = judgeStep(measure(500, { dropped: 100, sends: 900, sendsOk: 900, received: 900 }), DEFAULT_SLO);
    expect(s.reasons.map((r) => r.kind)).toEqual(['generator']);
    expect(s.reasons[0]?.detail).toMatch(/no free VU; raise --vus/);
  });

  test('a target that acknowledges slower than it is sent to breaks on throughput while its latency looks fine', () => {
    const s = judgeStep(measure(500, { completedOk: 700, received: 700 }), DEFAULT_SLO);
    expect(s.reasons.map((r) => r.kind)).toEqual(['throughput']);
    expect(s.reasons[0]?.detail).toMatch(/acknowledged 350\/s while 500\/s were sent \(30\.0% short/);
    expect(s.sendRate).toBe(350);
  });

  test('dropped iterations with slow sends are the target: its latency broke first', () => {
    const s = judgeStep(measure(500, { dropped: 100, sendP99Ms: 300 }), DEFAULT_SLO);
    expect(s.reasons.map((r) => r.kind)).toEqual(['latency']);
  });

  test('a saturated generator comes first even when latency broke too: its latency is not to be trusted', () => {
    const s = judgeStep(measure(500, { sendP99Ms: 300, generatorCpuCores: 1.9 }), DEFAULT_SLO);
    expect(s.reasons.map((r) => r.kind)).toEqual(['generator', 'latency']);
  });

  test('late starts alone are the generator; with a broken SLO the target comes first', () => {
    expect(judgeStep(measure(500, { sendDelayP99Ms: 250 }), DEFAULT_SLO).reasons.map((r) => r.kind)).toEqual([
      'generator',
    ]);
    const both = judgeStep(measure(500, { sendDelayP99Ms: 250, sendP99Ms: 90 }), DEFAULT_SLO);
    expect(both.reasons.map((r) => r.kind)).toEqual(['latency', 'generator']);
  });

  test('nothing completed is an error, not a pass', () => {
    const s = judgeStep(measure(500, { sends: 0, sendsOk: 0, received: 0, sendP99Ms: undefined }), DEFAULT_SLO);
    expect(s.pass).toBe(false);
    expect(s.reasons[0]?.kind).toBe('errors');
  });

  test('quantile is nearest-rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(v, 0.5)).toBe(50);
    expect(quantile(v, 0.99)).toBe(99);
    expect(quantile([], 0.99)).toBeUndefined();
  });
});

/** A probe whose target holds up to `limit`/s, and whose generator gives up above `generatorLimit`/s. */
function probeWith(limit: number, generatorLimit = Number.POSITIVE_INFINITY) {
  const asked: number[] = [];
  const probe = async (rate: number) => {
    asked.push(rate);
    const overGenerator = rate > generatorLimit;
    const m = measure(rate, {
      sendP99Ms: rate > limit ? 200 : 10,
      dropped: overGenerator ? Math.round(rate * 0.4) : 0,
      sends: overGenerator ? Math.round(rate * 1.6) : rate * 2,
    });
    return judgeStep(m, DEFAULT_SLO);
  };
  return { probe, asked };
}

describe('searchCapacity', () => {
  test('steps up by the factor, then bisects to within the precision', async () => {
    const { probe, asked } = probeWith(730);
    const r = await searchCapacity(probe, { ...DEFAULT_SEARCH, confirmBreaks: false, startRate: 100 });
    expect(asked.slice(0, 5)).toEqual([100, 200, 400, 800, 600]);
    expect(r.converged).toBe(true);
    expect(r.held?.rate).toBeLessThanOrEqual(730);
    expect(r.broke?.rate).toBeGreaterThan(730);
    expect(((r.broke?.rate ?? 0) - (r.held?.rate ?? 0)) / (r.broke?.rate ?? 1)).toBeLessThanOrEqual(0.1);
    expect(exitOf('latency', r.held, { count: 0 }, DEFAULT_SLO, r.converged).code).toBe(0);
  });

  test('a ceiling that holds ends the search there', async () => {
    const { probe, asked } = probeWith(10_000);
    const r = await searchCapacity(probe, { ...DEFAULT_SEARCH, confirmBreaks: false, startRate: 100, maxRate: 500 });
    expect(asked).toEqual([100, 200, 400, 500]);
    expect(r.ceilingHeld).toBe(true);
  });

  test('a first step that breaks steps down until one holds', async () => {
    const { probe, asked } = probeWith(30);
    const r = await searchCapacity(probe, { ...DEFAULT_SEARCH, confirmBreaks: false, startRate: 100 });
    expect(asked.slice(0, 3)).toEqual([100, 50, 25]);
    expect(r.held?.rate).toBeLessThanOrEqual(30);
  });

  test('the step budget bounds the search and says it did not converge', async () => {
    const { probe, asked } = probeWith(733);
    const r = await searchCapacity(probe, {
      ...DEFAULT_SEARCH,
      confirmBreaks: false,
      startRate: 100,
      stepsMax: 5,
      precision: 0.01,
    });
    expect(asked).toHaveLength(5);
    expect(r.converged).toBe(false);
  });

  test('a generator limit below the target limit is reported as the generator, exit 6', async () => {
    const { probe } = probeWith(5000, 300);
    const r = await searchCapacity(probe, { ...DEFAULT_SEARCH, confirmBreaks: false, startRate: 100 });
    expect(r.broke?.reasons[0]?.kind).toBe('generator');
    const exit = exitOf('generator', r.held, { count: 0 }, DEFAULT_SLO, r.converged);
    expect(exit.code).toBe(6);
    expect(exit.reason).toMatch(/load generator was the limit, not the target/);
  });

  test('a break is believed only when the same rate breaks twice in a row', async () => {
    const asked: number[] = [];
    let stalls = 1; // the first 400/s step meets a stall of the machine
    const probe = async (rate: number) => {
      asked.push(rate);
      const stalled = rate === 400 && stalls-- > 0;
      return judgeStep(measure(rate, { sendP99Ms: stalled || rate > 730 ? 200 : 10 }), DEFAULT_SLO);
    };
    const r = await searchCapacity(probe, { ...DEFAULT_SEARCH, startRate: 100 });
    expect(asked.slice(0, 6)).toEqual([100, 200, 400, 400, 800, 800]);
    expect(r.held?.rate).toBeGreaterThanOrEqual(400);
    expect(r.broke?.rate).toBeGreaterThan(730);
  });

  test('lost messages fail the run whatever the rate', () => {
    expect(exitOf('latency', undefined, { count: 2 }, DEFAULT_SLO, true).code).toBe(1);
  });

  test('no rate held the SLO: exit 99, never a pass with no capacity', () => {
    const r = exitOf('latency', undefined, { count: 0 }, DEFAULT_SLO, true);
    expect(r.code).toBe(ExitCode.THRESHOLDS_FAILED);
    expect(r.reason).toMatch(/^FAIL: no rate held the SLO/);
  });
});

describe('fifoLock: two searches take turns', () => {
  test('each holder starts when the previous ended, failed or not; results and errors reach their holder', async () => {
    const lock = fifoLock();
    const events: string[] = [];
    let release = () => {};
    const first = lock(async () => {
      events.push('a start');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      events.push('a end');
      throw new Error('a failed');
    });
    const second = lock(async () => {
      events.push('b start');
      return 2;
    });
    // A few microtask turns: the first holder starts; the second waits however many turns pass.
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(events).toEqual(['a start']);
    release();
    await expect(first).rejects.toThrow('a failed');
    expect(await second).toBe(2);
    expect(events).toEqual(['a start', 'a end', 'b start']);
  });
});

describe('SLO, plan, consumers', () => {
  test('an SLO file is validated with every problem listed', () => {
    expect(validateSlo({ sendP99Ms: 20 }).slo).toEqual({ ...DEFAULT_SLO, sendP99Ms: 20 });
    const bad = validateSlo({ sendP99Ms: -1, errorShareMax: 2, extra: 1 });
    expect(bad.slo).toBeUndefined();
    expect(bad.errors).toHaveLength(3);
    expect(bad.errors.join('\n')).toMatch(/slo.extra: unknown option/);
  });

  test('a step plan shares the rate between producers by their peak rates and keeps the consumers', () => {
    const { plan } = validateOptions({
      scenarios: {
        a: {
          executor: 'constant-arrival-rate',
          rate: 300,
          duration: '5s',
          preAllocatedVUs: 1,
          role: 'producer',
          message: { topic: 't' },
        },
        b: {
          executor: 'constant-arrival-rate',
          rate: 100,
          duration: '5s',
          preAllocatedVUs: 1,
          role: 'producer',
          message: { topic: 't' },
        },
        c: { executor: 'constant-vus', vus: 3, duration: '5s', role: 'consumer', consumer: { group: 'g', topic: 't' } },
      },
    });
    if (!plan) throw new Error('invalid test plan');
    const shape = {
      durationMs: 3000,
      vus: undefined,
      consumers: undefined,
      sloP99Ms: 50,
      drainIdleMs: 1,
      drainTimeoutMs: 1,
    };
    const step = stepPlan(plan, 1000, shape, 1, { producers: true, consumersMs: 3000 });
    const rates = step.scenarios.map((s) => (s.schedule.executor === 'constant-arrival-rate' ? s.schedule.rate : -1));
    expect(rates).toEqual([750, 250, -1]);
    const c = step.scenarios[2]?.schedule;
    expect(c?.executor === 'constant-vus' && c.vus).toBe(3);
    expect(step.thresholds).toEqual([]);
    expect(defaultVus(1000, 50)).toBe(204);
    const only = stepPlan(plan, 1000, { ...shape, vus: 2 }, 1, { producers: true });
    expect(only.scenarios.map((s) => s.role)).toEqual(['producer', 'producer']);
    expect(
      only.scenarios.every((s) => s.schedule.executor === 'constant-arrival-rate' && s.schedule.maxVUs === 2),
    ).toBe(true);
  });

  test('consumers needed: the backlog over the time at the measured per-consumer rate', () => {
    const probe = { backlog: 1, consumers: 4, receiveRate: 800, perConsumerRate: 200, drainMs: 1, note: null };
    const plan = consumerPlan(probe, 500, 1_200_000, 600_000);
    expect(plan?.needed).toBe(10); // 2,000/s over 200/s each
    expect(plan?.neededWhileSending).toBe(13); // (2,000 + 500)/s
    expect(consumerPlan(null, 500, 1, 1)).toBeNull();
  });
});

describe('report', () => {
  test('report.html carries the curve data, charts and the command; the text curve lists every step', async () => {
    const { probe } = probeWith(730);
    const r = await searchCapacity(probe, { ...DEFAULT_SEARCH, confirmBreaks: false, startRate: 100 });
    const report = {
      schema: 'mqdrill-capacity',
      version: 1,
      generatedMs: 0,
      scenario: 's',
      seed: 1,
      target: 'bundled',
      flush: 'sync',
      slo: DEFAULT_SLO,
      search: { ...DEFAULT_SEARCH, stepMs: 1, warmUpMs: 1, vus: null, consumers: null },
      steps: r.steps,
      result: {
        sustainableSendRate: r.held?.sendRate ?? null,
        sustainableRate: r.held?.rate ?? null,
        sustainableReceiveRate: 1,
        breakingRate: r.broke?.rate ?? null,
        limitedBy: 'latency',
        why: 'send p99',
        converged: true,
      },
      drainProbe: null,
      consumerPlan: null,
      lost: { count: 0, checked: 1, verdict: 'pass' },
      environment: {
        mqdrillVersion: '0',
        gitCommit: null,
        target: 'bundled',
        targetVersion: '0',
        machine: 'm',
        node: 'v20',
        seed: 1,
        command: 'npx mqdrill capacity s --seed 1',
      },
      exitCode: 0,
      exitReason: 'capacity found',
      durationMs: 1,
    } satisfies CapacityReport;
    const html = renderCapacityHtml(report);
    for (const id of ['chart-latency', 'chart-rate', 'chart-errors', 'capacity-data', 'reproduce']) {
      expect(html).toContain(`id="${id}"`);
    }
    expect(html).toContain('npx mqdrill capacity s --seed 1');
    expect(formatCurve(r.steps).split('\n')).toHaveLength(r.steps.length + 1);
  });
});

describe('mqdrill capacity: bad input ends before anything boots', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqdrill-capacity-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const scenario = join(import.meta.dirname, 'testdata', 'steady.json');

  async function run(args: string[]): Promise<{ code: number; err: string }> {
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
      chunks.push(String(c));
      return true;
    });
    try {
      return { code: await main(['capacity', scenario, '--out', join(dir, 'out'), ...args]), err: chunks.join('') };
    } finally {
      spy.mockRestore();
    }
  }

  test('an invalid SLO file exits 3 listing every problem', async () => {
    const slo = join(dir, 'slo.json');
    writeFileSync(slo, JSON.stringify({ sendP99Ms: 0, lost: 1 }));
    const { code, err } = await run(['--slo', slo]);
    expect(code).toBe(ExitCode.INVALID_SPEC);
    expect(err).toMatch(/slo.sendP99Ms: must be > 0/);
    expect(err).toMatch(/slo.lost: unknown option/);
  });

  test('--help names every SLO key with the default the code has', async () => {
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      chunks.push(String(c));
      return true;
    });
    try {
      expect(await main(['capacity', '--help'])).toBe(ExitCode.OK);
    } finally {
      spy.mockRestore();
    }
    const help = chunks.join('');
    for (const [key, value] of Object.entries(DEFAULT_SLO)) {
      expect(help).toContain(`"${key}": ${value}`);
      expect(help).toContain(`${key}: `);
    }
  });

  test('bad search options exit 2 naming the flag', async () => {
    expect((await run(['--step', '100ms'])).err).toMatch(/--step 100ms: at least 500ms/);
    const r = await run(['--start-rate', '500', '--max-rate', '100']);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.err).toMatch(/--max-rate 100 is below --start-rate 500/);
    expect((await run(['--factor', 'x'])).err).toMatch(/--factor x: expected a number >= 1.1/);
    expect((await run(['--test-only-send-delay-ms', '5', '--target', 'external'])).code).not.toBe(ExitCode.OK);
  });
});
