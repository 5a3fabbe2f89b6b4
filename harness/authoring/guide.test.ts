/**
 * docs/writing-scenarios.md ends with a real spec, docs/examples/promo-orders.ts: it validates (without running it)
 * and says what the guide's sentence says; and the guide shows the file exactly as it is.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadDrillModule } from '../drill/load-spec.ts';
import { validateDrill } from '../drill/spec.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const specPath = resolve(repoRoot, 'docs/examples/promo-orders.ts');

describe('docs/writing-scenarios.md', () => {
  test('its final spec validates: 10k msg/s of 4 KiB FIFO over 1,000 groups for 5 min, a 30 s partition', async () => {
    const { spec, errors } = validateDrill('promo-orders', specPath, await loadDrillModule(specPath), {}, {});
    expect(errors).toEqual([]);
    const orders = spec?.plan.scenarios.find((s) => s.name === 'orders');
    expect(orders?.schedule).toMatchObject({ executor: 'constant-arrival-rate', rate: 10_000, timeUnitMs: 1000 });
    expect(orders?.schedule).toMatchObject({ durationMs: 300_000 });
    expect(orders?.message).toMatchObject({
      type: 'FIFO',
      keys: { count: 1000 },
      bodySizeBytes: { distribution: 'constant', value: 4096 },
    });
    expect(spec?.loadDurationMs).toBe(300_000);
    expect(spec?.target).toMatchObject({ kind: 'bundled', nodes: 3 });
    expect(spec?.faults).toEqual([
      { type: 'timed', fault: { kind: 'partition', target: 'broker-1' }, atMs: 120_000, durationMs: 30_000 },
    ]);
    expect(spec?.groups).toEqual([{ name: 'fulfilment', fifo: true }]);
  });

  test('the guide shows the spec file exactly as it is', () => {
    const guide = readFileSync(resolve(repoRoot, 'docs/writing-scenarios.md'), 'utf8');
    const shown = guide.match(/<!-- promo-orders\.ts: begin -->\n```ts\n([\s\S]*?)```\n<!-- promo-orders\.ts: end -->/);
    expect(shown?.[1]).toBe(readFileSync(specPath, 'utf8'));
  });
});
