import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { loadBrokerConfig } from './cli.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function withConfig(config: unknown): string {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-config-'));
  const file = path.join(dir, 'broker.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('broker config: hardening keys', () => {
  test('connections, the signed-date window and the audit rate are read as given', () => {
    const config = loadBrokerConfig({
      data: '/tmp/x',
      port: '0',
      host: '127.0.0.1',
      config: withConfig({
        connections: { handshakeTimeoutMs: 2000, max: 50 },
        auth: { enabled: true, accounts: [], signatureWindowMs: 60_000, clientUtcOffsetsMinutes: [540] },
        auditLinesPerSecondMax: 10,
      }),
    });
    expect(config.connections).toEqual({ handshakeTimeoutMs: 2000, max: 50 });
    expect(config.auth).toMatchObject({ signatureWindowMs: 60_000, clientUtcOffsetsMinutes: [540] });
    expect(config.auditLinesPerSecondMax).toBe(10);
  });

  test('bad values are all named in one error', () => {
    const config = withConfig({
      connections: { idleTimeoutMs: -5 },
      auth: { enabled: true, accounts: [], signatureWindowMs: 'soon' },
      auditLinesPerSecondMax: 0,
    });
    expect(() => loadBrokerConfig({ data: '/tmp/x', port: '0', host: '127.0.0.1', config })).toThrow(
      new RegExp(
        [
          'auth.signatureWindowMs: must be a positive whole number',
          'connections.idleTimeoutMs: must be a positive whole number',
          'auditLinesPerSecondMax: must be a positive whole number',
        ].join('[\\s\\S]*'),
      ),
    );
  });
});
