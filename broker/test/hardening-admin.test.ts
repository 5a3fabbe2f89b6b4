import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type BrokerProcess,
  eventually,
  spawnBroker,
  startTestBroker,
  stopTestBroker,
  waitForExit,
} from '../../test/kit/index.ts';

/**
 * Issue #12, admin HTTP and connection hygiene on the shared port, against a real `mqdrill broker` process with
 * auth off (the default): a request that kills the process shows as its exit, not as a failed test worker.
 * Everything goes over raw TCP, since fetch cannot send a partial header or a malformed request.
 */
const handshakeTimeoutMs = 2000;
const connectionsMax = 12;
let dataDir: string;
let broker: BrokerProcess;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-hardening-'));
  const config = path.join(dataDir, 'broker.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      connections: { handshakeTimeoutMs, max: connectionsMax },
      topics: [{ name: 'plain', queues: 1 }],
      groups: [{ name: 'readers' }],
    }),
  );
  broker = await spawnBroker(path.join(dataDir, 'data'), ['--config', config]);
});

afterAll(async () => {
  if (broker && broker.child.exitCode === null) {
    broker.child.kill('SIGTERM');
    await waitForExit(broker.child);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface RawResult {
  /** Everything the broker sent before it closed the connection (or before the wait ran out). */
  text: string;
  closedByBroker: boolean;
}

/**
 * Opens a TCP connection, lets `drive` write to it, and collects what comes back until the broker closes the
 * connection or waitMs runs out (the bound, never the thing asserted on).
 */
function rawExchange(drive: (socket: net.Socket) => void, waitMs = 10_000): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = net.connect(broker.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closedByBroker: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedByBroker });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => drive(socket));
  });
}

const request = (text: string) => rawExchange((s) => s.write(text));

async function health(endpoints = broker.endpoints): Promise<number> {
  const res = await fetch(`http://${endpoints}/health`, { signal: AbortSignal.timeout(10_000) });
  return res.status;
}

/** A sample's value from the broker's /metrics (NaN when absent). */
async function metric(sample: string): Promise<number> {
  const text = await (
    await fetch(`http://${broker.endpoints}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : Number.NaN;
}

describe('admin HTTP: oversize and malformed requests are answered and the broker stays up', () => {
  test('a declared body over 1 MiB gets 413 while it is still being sent; the process lives on', async () => {
    const size = 2 * 1024 * 1024;
    const r = await rawExchange((s) => {
      s.write(`POST /topics HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let sent = 0; sent < size && !s.destroyed; sent += chunk.length) s.write(chunk);
    });
    expect(r.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(r.text).toMatch(/request body is over 1048576 bytes/);
    expect(await health()).toBe(200);
    expect(broker.child.exitCode).toBeNull();
  });

  test('a chunked body that grows past 1 MiB gets 413 too', async () => {
    const r = await rawExchange((s) => {
      s.write(
        'POST /groups HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let i = 0; i < 24 && !s.destroyed; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    });
    expect(r.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(await health()).toBe(200);
  });

  test('a malformed request line, a bad percent escape and a body that is not JSON each get 400', async () => {
    expect((await request('NOT HTTP AT ALL\r\n\r\n')).text).toMatch(/^HTTP\/1\.1 400 /);
    const badEscape = await request('GET /groups/%E0%A4%A/backlog HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n');
    expect(badEscape.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(badEscape.text).toMatch(/bad percent escape/);
    const notJson = await request(
      'POST /topics HTTP/1.1\r\nHost: b\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{oops',
    );
    expect(notJson.text).toMatch(/^HTTP\/1\.1 400 [\s\S]*not a JSON object/);
    // JSON of the wrong shape is refused before it reaches the metadata (an array name would break GET /topics).
    for (const body of [{ name: ['x'] }, { name: 5 }, { name: 'typed', type: 7 }]) {
      const r = await fetch(`http://${broker.endpoints}/topics`, { method: 'POST', body: JSON.stringify(body) });
      expect([r.status, JSON.stringify(body)]).toEqual([400, JSON.stringify(body)]);
    }
    const fifo = await fetch(`http://${broker.endpoints}/groups`, {
      method: 'POST',
      body: JSON.stringify({ name: 'g', fifo: 'yes' }),
    });
    expect(fifo.status).toBe(400);
    expect((await fetch(`http://${broker.endpoints}/topics`)).status).toBe(200);
    expect(await health()).toBe(200);
  });

  test('/metrics reports the process memory at each scrape: RSS, V8 heap (total >= used), Buffers', async () => {
    const kind = (k: string) => metric(`mqdrill_process_memory_bytes{kind="${k}"}`);
    const [rss, total, used, external] = [
      await kind('rss'),
      await kind('heap_total'),
      await kind('heap_used'),
      await kind('external'),
    ];
    expect(rss).toBeGreaterThan(total);
    expect(total).toBeGreaterThanOrEqual(used);
    expect(used).toBeGreaterThan(0);
    expect(external).toBeGreaterThan(0);
    expect(await kind('array_buffers')).toBeGreaterThanOrEqual(0);
  });

  test('system topics cannot be created or deleted through the admin API (403, naming the topic)', async () => {
    const admin = (method: string, route: string, body?: unknown) =>
      fetch(`http://${broker.endpoints}${route}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    const created = await admin('POST', '/topics', { name: '%SYS_TIMER%', queues: 1 });
    expect(created.status).toBe(403);
    expect(await created.text()).toMatch(/topic %SYS_TIMER% is a system topic \(the delay timer's log\)/);
    expect((await admin('POST', '/topics', { name: '%DLQ%readers', queues: 8 })).status).toBe(403);
    const deleted = await admin('DELETE', `/topics/${encodeURIComponent('%DLQ%readers')}`);
    expect(deleted.status).toBe(403);
    expect(await deleted.text()).toMatch(/dead-letter queue of group readers.*cannot be deleted/);
    const topics = (await (await admin('GET', '/topics')).json()) as { topics: Array<{ name: string }> };
    expect(topics.topics.map((t) => t.name)).toContain('%DLQ%readers');
    expect(topics.topics.map((t) => t.name)).not.toContain('%SYS_TIMER%');
    const audited = fs
      .readFileSync(path.join(dataDir, 'data', 'audit.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.status === 403);
    expect(audited.map((l) => [l.method, l.resource])).toEqual([
      ['POST', 'topic:%SYS_TIMER%'],
      ['POST', 'topic:%DLQ%readers'],
      ['DELETE', 'topic:%DLQ%readers'],
    ]);
    expect(audited[0].reason).toMatch(/is a system topic/);
  });
});

describe('connection hygiene on the shared port', () => {
  test('partial HTTP/2 preface, HTTP/1 header or TLS hello: closed at the handshake deadline', async () => {
    const partials = await Promise.all([
      request('PRI * HTTP/2.0\r\n'),
      request('GET /health HTTP/1.1\r\nHost: b\r\n'),
      rawExchange((s) => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))),
      rawExchange(() => {}), // says nothing at all
    ]);
    expect(partials.map((r) => r.closedByBroker)).toEqual([true, true, true, true]);
    expect(await health()).toBe(200);
    // The TLS one is closed by Node's TLS handshake deadline, the other three by the broker's own, and counted.
    expect(await metric('mqdrill_connection_deadline_closed_total{phase="handshake"}')).toBeGreaterThanOrEqual(3);
  });

  test('a TLS client that completes its handshake is not cut off by the deadline', async () => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: broker.port,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.alpnProtocol).toBe('h2');
    socket.destroy();
  });

  test('past connections.max a new connection is closed at once, with a log line; below it, it works', async () => {
    // Full HTTP/2 prefaces: handed to gRPC (the broker answers with its SETTINGS), so no deadline closes them. Other
    // tests' connections may still be open, so open until one is refused rather than exactly connectionsMax.
    const held: net.Socket[] = [];
    try {
      let refused = false;
      for (let i = 0; i <= connectionsMax && !refused; i++) {
        const s = net.connect(broker.port, '127.0.0.1');
        s.on('error', () => {});
        held.push(s);
        let bound: NodeJS.Timeout | undefined;
        const outcome = await new Promise<'admitted' | 'refused' | 'no answer'>((resolve) => {
          bound = setTimeout(() => resolve('no answer'), 10_000);
          s.once('data', () => resolve('admitted'));
          s.once('close', () => resolve('refused'));
          s.once('connect', () => s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
        });
        clearTimeout(bound);
        s.removeAllListeners('data');
        expect(outcome).not.toBe('no answer');
        refused = outcome === 'refused';
      }
      expect(refused).toBe(true);
      const logged = await eventually(() => /connection limit is reached/.test(broker.logs.join('')), 5000);
      expect(logged).toBe(true);
      expect(broker.logs.join('')).toMatch(new RegExp(`"limit":${connectionsMax}`));
    } finally {
      for (const s of held) s.destroy();
    }
    // The held sockets' close reaches the broker asynchronously: poll (bounded) until a new connection is admitted.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await health().catch(() => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(await metric('mqdrill_connections_refused_total')).toBeGreaterThanOrEqual(1);
    expect(broker.child.exitCode).toBeNull();
  });
});

describe('idle limit (in-process broker with connections.idleTimeoutMs: 300)', () => {
  test('an HTTP/2 connection with no call in progress gets a GOAWAY; the broker answers after', async () => {
    const b = await startTestBroker({ connections: { idleTimeoutMs: 300 } });
    const session = http2.connect(`http://${b.endpoints}`);
    session.on('error', () => {});
    try {
      const ended = await new Promise<string>((resolve) => {
        const bound = setTimeout(() => resolve('still open after 10 s'), 10_000);
        session.once('goaway', () => {
          clearTimeout(bound);
          resolve('goaway');
        });
      });
      expect(ended).toBe('goaway');
      expect(await health(b.endpoints)).toBe(200);
    } finally {
      session.destroy();
      await stopTestBroker(b);
    }
  });
});
