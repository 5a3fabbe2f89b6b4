import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { checkLedgers } from '../harness/checks/engine.ts';
import { evaluateGates, parseGates } from '../harness/checks/gates.ts';
import { buildReport } from '../harness/checks/report.ts';
import { writeReports } from './index.ts';
import { sampleHistory } from './sample.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve('test-artifacts');

describe('report.html in a real browser', () => {
  test('opens without console errors, draws every chart, and is kept as a screenshot', async () => {
    // No skip: a CI machine without chromium must fail here (mqdrill setup installs it).
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    const files = sampleHistory().write(mkdtempSync(join(tmpdir(), 'mqd-report-')));
    const result = await checkLedgers(files);
    const { gates } = parseGates(['lost == 0', 'duplicate.rate < 0.01', 'drain < 60s', 'send_duration: p(99)<200']);
    const report = buildReport(result, evaluateGates(gates, result), Date.now());
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
      expect(await page.locator('header h1').textContent()).toMatch(/FAIL/);
      expect(await page.locator('.mark.fail').count()).toBeGreaterThan(0);
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
