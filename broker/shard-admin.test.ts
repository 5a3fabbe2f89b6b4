import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ShardAdmin, startShardAdmin } from './shard-admin.ts';

/** A stand-in shard admin API that wants `Bearer good` on everything but /health, as a broker with auth does. */
let shard: http.Server;
let view: ShardAdmin;
beforeAll(async () => {
  shard = http.createServer((req, res) => {
    const open = req.url === '/health';
    if (!open && req.headers.authorization !== 'Bearer good') {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"admin: bad credentials"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"topics":[]}');
  });
  await new Promise<void>((r) => shard.listen(0, '127.0.0.1', () => r()));
  const port = (shard.address() as net.AddressInfo).port;
  view = await startShardAdmin('127.0.0.1', 0, () => [{ name: 'shard-0', port }]);
});
afterAll(async () => {
  await view.close();
  await new Promise((r) => shard.close(r));
});

const get = (path: string, authorization?: string) =>
  fetch(`http://127.0.0.1:${view.port}${path}`, { headers: authorization ? { authorization } : {} });

describe('sharded broker admin view', () => {
  test('GET /shards (pids and ports) needs the credentials the admin routes need', async () => {
    const refused = await get('/shards');
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('bad credentials');
    expect((await get('/shards', 'Bearer wrong')).status).toBe(401);
    const ok = await get('/shards', 'Bearer good');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { shards: unknown[] }).shards).toHaveLength(1);
  });
});
