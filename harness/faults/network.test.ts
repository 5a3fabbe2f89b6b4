/**
 * Network faults against the real toxiproxy-server (installed by `mqdrill setup --only toxiproxy`), in front of a
 * tiny TCP echo server on loopback. Timing assertions are lower bounds only.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type NetworkFault, NetworkFaults, type ProxyAddress, ToxiproxyServer } from './index.ts';

let server: ToxiproxyServer;
let echo: net.Server;
let faults: NetworkFaults;
let proxy: ProxyAddress;
let direct: ProxyAddress;

beforeAll(async () => {
  server = await ToxiproxyServer.start();
  // Resets reach the echo side too; they are what the test causes, not an error of the test.
  echo = net.createServer((socket) => socket.on('error', () => undefined).pipe(socket)).listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const upstream = `127.0.0.1:${(echo.address() as net.AddressInfo).port}`;
  faults = new NetworkFaults(server);
  proxy = await faults.createProxy({ name: 'broker-1', upstream });
  direct = await faults.createProxy({ name: 'broker-2', listen: '127.0.0.1:0', upstream });
});

afterAll(async () => {
  await faults?.removeProxies();
  await server?.close();
  echo?.close();
});

/** Connects, sends one line, resolves with the echo and the round trip in ms, or rejects with the socket error. */
async function roundTrip(address: ProxyAddress, text = 'ping\n'): Promise<{ echoed: string; roundTripMs: number }> {
  const socket = net.connect(address.port, address.host);
  try {
    await once(socket, 'connect');
    const startedMs = performance.now();
    socket.write(text);
    let echoed = '';
    while (echoed.length < text.length) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      echoed += chunk.toString('utf8');
    }
    return { echoed, roundTripMs: performance.now() - startedMs };
  } finally {
    socket.destroy();
  }
}

async function toxicNames(name: string): Promise<string[]> {
  const response = await fetch(`${server.apiUrl}/proxies/${name}/toxics`);
  return ((await response.json()) as Array<{ name: string }>).map((t) => t.name).sort();
}

describe('network faults through toxiproxy-server', () => {
  test('a proxy forwards to its upstream on the address it returns', async () => {
    expect(proxy.port).toBeGreaterThan(0);
    expect(proxy.listen).toBe(`127.0.0.1:${proxy.port}`);
    expect((await roundTrip(proxy)).echoed).toBe('ping\n');
  });

  test('latency: the round trip takes at least the added latency, and heal takes it away', async () => {
    const fault: NetworkFault = {
      kind: 'latency',
      target: 'broker-1',
      latencyMs: 300,
      jitterMs: 0,
      stream: 'both',
      toxicity: 1,
    };
    await faults.inject(fault, 1);
    expect(await toxicNames('broker-1')).toEqual(['f1-latency-downstream', 'f1-latency-upstream']);
    const [slow, other] = await Promise.all([roundTrip(proxy), roundTrip(direct)]);
    expect(slow.roundTripMs).toBeGreaterThanOrEqual(2 * 300 - 5);
    expect(other.roundTripMs).toBeLessThan(slow.roundTripMs);
    await faults.heal(fault, 1);
    expect(await toxicNames('broker-1')).toEqual([]);
    expect((await roundTrip(proxy)).echoed).toBe('ping\n');
  });

  test('down: connections are refused until heal, then the proxy is back on the same port', async () => {
    const down: NetworkFault = { kind: 'down', target: 'broker-1' };
    await faults.inject(down, 2);
    await expect(roundTrip(proxy)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await roundTrip(direct)).echoed).toBe('ping\n');
    await faults.heal(down, 2);
    expect(faults.address('broker-1').port).toBe(proxy.port);
    expect((await roundTrip(proxy)).echoed).toBe('ping\n');
  });

  test('down on every proxy, overlapping with down on one: each comes back when its last fault heals', async () => {
    await faults.inject({ kind: 'down', target: '*' }, 3);
    await faults.inject({ kind: 'down', target: 'broker-1' }, 4);
    await faults.heal({ kind: 'down', target: '*' }, 3);
    expect((await roundTrip(direct)).echoed).toBe('ping\n');
    await expect(roundTrip(proxy)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await faults.heal({ kind: 'down', target: 'broker-1' }, 4);
    expect((await roundTrip(proxy)).echoed).toBe('ping\n');
  });
});

/** Resolves with what arrives on the socket within waitMs (bounded), or '' when nothing does. */
async function received(socket: net.Socket, waitMs: number): Promise<string> {
  let data = '';
  const onData = (chunk: Buffer) => {
    data += chunk.toString('utf8');
  };
  socket.on('data', onData);
  await new Promise((r) => setTimeout(r, waitMs));
  socket.off('data', onData);
  return data;
}

describe('network faults through toxiproxy-server: partition', () => {
  test('partition: nothing refused, nothing through either way until heal; then clients reconnect', async () => {
    const before = net.connect(proxy.port, proxy.host);
    before.on('error', () => undefined);
    await once(before, 'connect');
    before.write('early\n');
    expect((await once(before, 'data')).toString()).toBe('early\n');
    const partition: NetworkFault = { kind: 'partition', target: 'broker-1' };
    await faults.inject(partition, 11);
    expect(await toxicNames('broker-1')).toEqual(['f11-partition-downstream', 'f11-partition-upstream']);
    // Unlike `down`, a new connection is accepted (no ECONNREFUSED): the client only sees silence.
    const during = net.connect(proxy.port, proxy.host);
    during.on('error', () => undefined);
    await once(during, 'connect');
    during.write('lost\n');
    before.write('lost too\n');
    const [duringGot, beforeGot, other] = await Promise.all([
      received(during, 1000),
      received(before, 1000),
      roundTrip(direct),
    ]);
    expect(duringGot).toBe('');
    expect(beforeGot).toBe('');
    expect(other.echoed).toBe('ping\n');
    const closed = Promise.all([once(before, 'close'), once(during, 'close')]);
    await faults.heal(partition, 11);
    await closed;
    expect(await toxicNames('broker-1')).toEqual([]);
    expect((await roundTrip(proxy)).echoed).toBe('ping\n');
  });
});

describe('network faults through toxiproxy-server: toxics', () => {
  test('reset_peer: the connection is reset, and heal restores it', async () => {
    const fault: NetworkFault = {
      kind: 'reset_peer',
      target: 'broker-1',
      timeoutMs: 0,
      stream: 'downstream',
      toxicity: 1,
    };
    await faults.inject(fault, 5);
    await expect(roundTrip(proxy)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await faults.heal(fault, 5);
    expect((await roundTrip(proxy)).echoed).toBe('ping\n');
  });

  test('bandwidth, timeout and slicer are added as named toxics, and healAll removes every toxic', async () => {
    const base = { target: '*', stream: 'upstream', toxicity: 1 } as const;
    await faults.inject({ ...base, kind: 'bandwidth', kilobytesPerSecond: 16 }, 6);
    await faults.inject({ ...base, kind: 'timeout', timeoutMs: 0 }, 7);
    await faults.inject({ ...base, kind: 'slicer', averageSizeBytes: 8, sizeVariationBytes: 4, delayUs: 100 }, 8);
    await faults.inject({ kind: 'down', target: 'broker-2' }, 9);
    expect(await toxicNames('broker-2')).toEqual([
      'f6-bandwidth-upstream',
      'f7-timeout-upstream',
      'f8-slicer-upstream',
    ]);
    await faults.healAll();
    expect(await toxicNames('broker-1')).toEqual([]);
    expect(await toxicNames('broker-2')).toEqual([]);
    expect((await roundTrip(direct)).echoed).toBe('ping\n');
  });

  test('loss is refused, saying which target has it: a TCP proxy cannot drop packets', async () => {
    const loss: NetworkFault = { kind: 'loss', target: 'broker-1', lossShare: 0.1, stream: 'downstream' };
    await expect(faults.inject(loss, 12)).rejects.toThrow(/loss needs --target containers/);
    expect(await toxicNames('broker-1')).toEqual([]);
  });

  test('creating a proxy name again replaces it, on the new upstream', async () => {
    const dead = await faults.createProxy({ name: 'broker-3', upstream: '127.0.0.1:1' });
    const again = await faults.createProxy({ name: 'broker-3', upstream: direct.upstream });
    expect(faults.proxyNames()).toEqual(['broker-1', 'broker-2', 'broker-3']);
    expect(again.upstream).not.toBe(dead.upstream);
    expect((await roundTrip(again)).echoed).toBe('ping\n');
  });

  test('a fault on an unknown proxy fails without touching the others', async () => {
    const fault: NetworkFault = {
      kind: 'latency',
      target: 'nope',
      latencyMs: 1,
      jitterMs: 0,
      stream: 'both',
      toxicity: 1,
    };
    await expect(faults.inject(fault, 10)).rejects.toThrow('no proxy named nope');
    expect(await toxicNames('broker-1')).toEqual([]);
  });
});
