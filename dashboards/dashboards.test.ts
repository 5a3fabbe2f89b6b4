import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  freePort,
  shutdownAll,
  startProducer,
  startSimpleConsumer,
  startTestBroker,
  stopTestBroker,
  type TestBroker,
} from '../test/kit/index.ts';
import { brokerDashboard, brokerPanels } from './broker.ts';

/**
 * The dashboard against a real Prometheus (Debian's, installed by `mqdrill setup`) scraping a real broker: every
 * panel's PromQL must be accepted by Prometheus, and every metric a panel reads must exist in what the broker exports.
 */
let b: TestBroker;
let prometheus: ChildProcess | undefined;
let promUrl = '';
let tmp = '';

async function query(expr: string): Promise<{ status: string; data: { result: unknown[] }; error?: string }> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(5000),
  });
  return (await res.json()) as { status: string; data: { result: unknown[] }; error?: string };
}

beforeAll(async () => {
  const binary = execFileSync('sh', ['-c', 'command -v prometheus || true'], { encoding: 'utf8' }).trim();
  if (!binary)
    throw new Error('prometheus is not installed: run `mqdrill setup` (as root it installs Debian prometheus)');
  b = await startTestBroker({
    topics: [{ name: 'watched', queues: 2 }],
    groups: [{ name: 'watchers', maxAttempts: 1 }],
  });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-prom-'));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  fs.writeFileSync(
    path.join(tmp, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: mqdrill',
      '    static_configs:',
      `      - targets: ['${b.endpoints}']`,
      '',
    ].join('\n'),
  );
  prometheus = spawn(
    binary,
    [
      `--config.file=${path.join(tmp, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
});

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  await stopTestBroker(b);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('dashboards: the broker dashboard against a real Prometheus scraping a real broker', () => {
  test('every panel query is valid PromQL and every metric it reads is exported', async () => {
    const producer = await startProducer(b.endpoints, ['watched']);
    for (let i = 0; i < 20; i++) await producer.send({ topic: 'watched', body: Buffer.from(`w${i}`) });
    const consumer = await startSimpleConsumer(b.endpoints, 'watchers', { watched: '*' });
    expect((await consumer.receive(32, 10_000)).length).toBeGreaterThan(0);
    b.clock.advance(11_000); // unacked, max attempts 1: the next receive moves them to the DLQ
    await consumer.receive(32, 10_000);
    let scraped = false;
    for (let i = 0; i < 60 && !scraped; i++) {
      const r = await query('rocketmq_send_to_dlq_messages_total').catch(() => undefined);
      scraped = r?.status === 'success' && r.data.result.length > 0;
      if (!scraped) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(scraped, 'Prometheus never scraped the broker').toBe(true);
    const exported = new Set<string>();
    for (const panel of brokerPanels) {
      for (const q of panel.queries) {
        const r = await query(q.expr);
        expect(r.status, `${panel.title}: ${q.expr}: ${r.error ?? ''}`).toBe('success');
        for (const name of q.expr.match(/\b(rocketmq|mqdrill)_[a-z_]+/g) ?? []) exported.add(name);
      }
    }
    for (const name of exported) {
      const r = await query(`count(${name})`);
      expect(r.data.result.length, `${name} is not exported by the broker`).toBeGreaterThan(0);
    }
    await shutdownAll(producer, consumer);
  });

  test('the dashboard JSON has unique panel ids, a grid position per panel and the fault annotation', () => {
    const dashboard = brokerDashboard();
    const ids = (dashboard.panels ?? []).map((p) => p.id);
    expect(new Set(ids).size).toBe(brokerPanels.length);
    expect((dashboard.panels ?? []).every((p) => p.gridPos !== undefined)).toBe(true);
    expect(JSON.stringify(dashboard.annotations)).toContain('mqdrill-fault');
  });
});
