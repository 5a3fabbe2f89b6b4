import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { checkLedgers } from '../harness/checks/engine.ts';
import { evaluateGates, parseGates } from '../harness/checks/gates.ts';
import { buildReport } from '../harness/checks/report.ts';
import { writeReports } from './index.ts';
import { sampleHistory } from './sample.ts';

const CHROMIUM = '/usr/bin/chromium';
const COMMAND = 'npx mqdrill drill flash-sale --seed 7 --target bundled';

/** What a drill adds to report.json (harness/drill/report-facts.ts), for a report an SRE would attach. */
function drillFacts(): Record<string, unknown> {
  return {
    scenario: 'flash-sale',
    target: 'bundled',
    seed: 7,
    durationMs: 131_000,
    environment: {
      mqdrillVersion: '0.1.0',
      gitCommit: '5dee06e1a2b3',
      target: 'bundled broker, 1 node',
      targetVersion: 'mqdrill broker 0.1.0',
      machine: 'ci-runner: linux 6.1 x64, 2 × cpu, 24 GiB',
      node: 'v20.19.0',
      seed: 7,
      command: COMMAND,
    },
    loadGenerator: {
      droppedIterations: 12,
      sendDelayP99Ms: 140,
      sendDelayMaxMs: 410,
      behind: true,
      warning: 'the load generator fell behind its schedule: 12 iterations dropped (no free VU at their start time).',
    },
    errorsByStatus: [
      { operation: 'send', outcome: 'unknown', status: 'timeout', count: 212, example: 'Error: request timed out' },
      { operation: 'ack', outcome: 'fail', status: 'gRPC 14 UNAVAILABLE', count: 3, example: '14 UNAVAILABLE' },
    ],
  };
}

type Box = { text: string; left: number; right: number; row: number };

/** Labels on one row of a chart never overlap. */
function expectNoOverlaps(byChart: Record<string, Box[]>): void {
  expect(Object.keys(byChart)).toHaveLength(3);
  for (const boxes of Object.values(byChart)) {
    expect(boxes.length).toBeGreaterThan(0);
    for (const a of boxes) {
      for (const b of boxes) {
        if (a === b || a.row !== b.row) continue;
        expect(a.right < b.left || b.right < a.left, `${a.text} overlaps ${b.text}`).toBe(true);
      }
    }
  }
}

/** No horizontal scrolling; the page's blocks are stacked without overlapping one another. */
async function expectReadableLayout(page: Page): Promise<void> {
  const layout = (await page.evaluate(`(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    width: window.innerWidth,
    blocks: [...document.querySelectorAll('header, main > *')].map((e) => {
      const r = e.getBoundingClientRect();
      return { top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, tag: e.tagName, id: e.id };
    }),
  }))()`)) as { scrollWidth: number; width: number; blocks: { top: number; bottom: number; tag: string }[] };
  expect(layout.scrollWidth).toBeLessThanOrEqual(layout.width);
  const blocks = layout.blocks.filter((b) => b.bottom > b.top).sort((a, b) => a.top - b.top);
  for (let i = 1; i < blocks.length; i++) {
    expect(blocks[i]?.top ?? 0, JSON.stringify(blocks[i])).toBeGreaterThanOrEqual((blocks[i - 1]?.bottom ?? 0) - 1);
  }
}
const ARTIFACTS = resolve('test-artifacts');

describe('report.html in a real browser', () => {
  test('opens without console errors, draws every chart, and is kept as a screenshot', async () => {
    // No skip: a CI machine without chromium must fail here (mqdrill setup installs it).
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    const files = sampleHistory().write(mkdtempSync(join(tmpdir(), 'mqd-report-')));
    const result = await checkLedgers(files);
    const { gates } = parseGates(['lost == 0', 'duplicate.rate < 0.01', 'drain < 60s', 'send_duration: p(99)<200']);
    const report = buildReport(result, evaluateGates(gates, result), Date.now());
    report.run.meta.drill = drillFacts();
    report.run.meta.source = files[0];
    mkdirSync(ARTIFACTS, { recursive: true });
    const outDir = join(ARTIFACTS, 'sample-report');
    await writeReports(report, outDir);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(msg.text());
      });
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('request', (req) => {
        if (!req.url().startsWith('file:') && !req.url().startsWith('data:')) problems.push(`network: ${req.url()}`);
      });
      await page.goto(pathToFileURL(join(outDir, 'report.html')).href);
      await page.waitForFunction('document.body.dataset.chartsReady === "3"');
      // Runs in the page (this project's tsconfig has no DOM types, so it is written as a string).
      const inked = (await page.evaluate(`[...document.querySelectorAll('.chart canvas')].map((canvas) => {
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
        return { width: canvas.width, painted };
      })`)) as { width: number; painted: number }[];
      expect(inked).toHaveLength(3);
      for (const chart of inked) {
        expect(chart.width).toBeGreaterThan(300);
        expect(chart.painted).toBeGreaterThan(2000);
      }
      expect(await page.locator('header h1').textContent()).toBe('mqdrill drill flash-sale on bundled: FAIL');
      expect(await page.title()).not.toMatch(/\d{10}/);
      expect(await page.locator('#verdict-reason').textContent()).toBe(`FAIL: ${report.exitReason}`);
      expect(await page.locator('.mark.fail').count()).toBeGreaterThan(0);
      expect(await page.locator('#faults tbody tr').count()).toBe(report.faults.length);
      expect(await page.locator('#faults tbody tr').first().textContent()).toContain('partition-broker-1');
      expect(await page.locator('#errors tbody tr').count()).toBe(2);
      expect(await page.locator('#generator-warning').isVisible()).toBe(true);
      expect(await page.locator('#reproduce').textContent()).toBe(COMMAND);
      // Relative paths only: the ledgers were written under the temp folder, the report elsewhere.
      const html = readFileSync(join(outDir, 'report.html'), 'utf8');
      expect(html.match(/["'>\s(]\/(tmp|work|home|root)\//g) ?? []).toEqual([]);
      expect(html).toContain('"path":"../');
      // Legends show series names, never "--" placeholders.
      const legendValues = (await page.evaluate(
        `[...document.querySelectorAll('.u-legend .u-value')].map((e) => e.textContent)`,
      )) as string[];
      expect(legendValues.filter((v) => v.includes('--'))).toEqual([]);
      expect(await page.locator('.u-legend .u-label').count()).toBeGreaterThan(5);
      expectNoOverlaps(JSON.parse((await page.evaluate('document.body.dataset.phaseLabels')) as string));
      await expectReadableLayout(page);
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
