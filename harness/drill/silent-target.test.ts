/**
 * A drill against a silent target (a loopback port that accepts connections and never answers) must not end with
 * `lost` passing "0 of 0" and `drain < 30s` passing at 0 ms: nothing was judged, so nothing passes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { ExitCode } from '../../lib/exit-codes.ts';
import { prepareDrill } from './cli.ts';
import { runDrill } from './run.ts';
import type { DrillSpec } from './spec.ts';

const dir = mkdtempSync(join(tmpdir(), 'mqdrill-silent-'));
const sockets = new Set<net.Socket>();
const silent = net.createServer((socket) => {
  sockets.add(socket);
  socket.on('data', () => {});
  socket.on('error', () => {});
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

test('a silent target: lost and the gates are unknown, never pass on nothing; exit says unreachable', async () => {
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as net.AddressInfo).port;
  const spec = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata/canary.json'), 'utf8'));
  spec.drill = {
    target: { kind: 'external', endpoint: `127.0.0.1:${port}` },
    warmUp: '1s',
    gates: ['lost == 0', 'drain < 30s'],
    drain: { deadline: '5s' },
  };
  const file = join(dir, 'silent.json');
  writeFileSync(file, JSON.stringify(spec));
  const lines: string[] = [];
  const prepared = await prepareDrill(file, {}, (t) => lines.push(t));
  expect(prepared, lines.join('\n')).toBeDefined();
  const result = await runDrill({ spec: prepared as DrillSpec, out: join(dir, 'out'), say: (l) => lines.push(l) });
  expect(result.exitCode, lines.join('\n')).toBe(ExitCode.TARGET_FAILED);
  const report = result.report;
  expect(report?.verdict).not.toBe('pass');
  expect(report?.anomalies.find((a) => a.name === 'lost')?.verdict).toBe('unknown');
  const status = (source: string) => report?.gates.find((g) => g.source === source)?.status;
  expect([status('lost == 0'), status('drain < 30s')]).toEqual(['unknown', 'unknown']);
}, 120_000);
