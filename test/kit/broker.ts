import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrokerConfig, defaultBrokerConfig, type RunningBroker, startBroker } from '../../broker/server.ts';
import { AdjustableClock } from '../../lib/clock.ts';

export interface TestBroker extends RunningBroker {
  clock: AdjustableClock;
  endpoints: string;
  dataDir: string;
}

/** An in-process broker on a free loopback port, with a clock the test can jump forward. */
export async function startTestBroker(overrides: Partial<BrokerConfig> = {}): Promise<TestBroker> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-broker-'));
  const clock = new AdjustableClock();
  const running = await startBroker({ ...defaultBrokerConfig, dataDir, port: 0, ...overrides }, clock);
  return { ...running, clock, dataDir, endpoints: `127.0.0.1:${running.port}` };
}

export async function stopTestBroker(b: TestBroker | undefined): Promise<void> {
  if (!b) return;
  await b.close();
  fs.rmSync(b.dataDir, { recursive: true, force: true });
}
