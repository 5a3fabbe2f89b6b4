/**
 * The containers target's network faults not covered by the drills in harness/drill/containers.test.ts, each on one
 * bundled broker container with real parts (dockerd, the mqdrill-broker image, the host's iptables/tc/nsenter):
 *
 *   - loss (iptables `statistic` DROP), blackhole (`timeout`), reset (`reset_peer`), client-to-node `partition`:
 *     the rules are in the node's namespace while the fault holds, and a TCP connect from the host (where the
 *     drivers run) gets what the fault promises: no answer, or a refusal; after heal the rules are gone and the
 *     node answers again;
 *   - latency with jitter (no netem on this project's kernels: the Toxiproxy server inside the namespace): its toxic
 *     carries the latency and the jitter, the REDIRECT rule is there, and the broker's first answer to an HTTP/2
 *     preface comes no sooner than latency - jitter (a lower bound: a busy machine only makes it later);
 *   - bandwidth: a tbf qdisc at the rate on the container's eth0 and on the host end of its veth (`both`);
 *   - kill -9: the container exits with 137 (SIGKILL), and a restart brings it back on its volume with a new pid.
 *
 * Every bound here is one the fault guarantees (nothing answers, a refusal, at least the injected delay); none
 * depends on how fast the machine is.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureDockerd } from '../../../test/kit/dockerd.ts';
import { containerNetworkFaults } from '../../drill/boot.ts';
import type { NetworkFault, Stream } from '../../faults/model.ts';
import { docker, listOwned, run } from './docker.ts';
import { hostVeth } from './net-faults.ts';
import { type ContainersTarget, startContainersTarget } from './target.ts';

let target: ContainersTarget;
let stopDockerd: () => Promise<void> = async () => {};
beforeAll(async () => {
  stopDockerd = await ensureDockerd();
  target = await startContainersTarget({ broker: 'bundled', nodes: 1 });
}, 180_000);
afterAll(async () => {
  await target?.stop();
  expect((await listOwned(target?.runId)).containers).toEqual([]);
  await stopDockerd();
}, 60_000);

const NODE = 'broker-0';
const PORT = 8081;
/** How long a connect waits for an answer; nothing answering for this long is "no answer". */
const PROBE_MS = 2_000;

type Probe = 'connected' | 'refused' | 'no answer';

/** A TCP connect from the host to the node's gRPC port, as a driver makes it. */
function probe(): Promise<Probe> {
  const ip = target.containers[0]?.ip as string;
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port: PORT });
    const timer = setTimeout(() => done('no answer'), PROBE_MS);
    function done(result: Probe) {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    }
    socket.once('connect', () => done('connected'));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' ? 'refused' : 'no answer'),
    );
  });
}

/** Until the node answers a connect again (bounded): a healed fault leaves nothing behind. */
async function expectAnswersAgain(): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last: Probe = await probe();
  while (last !== 'connected' && Date.now() < deadline) last = await probe();
  expect(last).toBe('connected');
}

/** A latency or bandwidth fault on the node, downstream and on every connection unless said otherwise. */
function shaping(
  fault:
    | { kind: 'latency'; latencyMs: number; jitterMs: number; stream?: Stream }
    | { kind: 'bandwidth'; kilobytesPerSecond: number; stream?: Stream },
): NetworkFault {
  return { target: NODE, stream: 'downstream', toxicity: 1, ...fault };
}

async function iptables(table = 'filter'): Promise<string> {
  const pid = await target.pidOf(NODE);
  return run('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'iptables', '-w', '5', '-t', table, '-S'], {
    timeoutMs: 15_000,
  });
}

function withoutPolicies(rules: string): string[] {
  return rules.split('\n').filter((l) => l.startsWith('-A '));
}

describe('containers network faults, one bundled broker container', () => {
  const cases: Array<{ name: string; fault: NetworkFault; rules: RegExp[]; expect: Probe }> = [
    {
      name: 'loss (all packets, both ways)',
      fault: { kind: 'loss', target: NODE, lossShare: 1, stream: 'both' },
      rules: [
        /-A OUTPUT -o eth0 -m statistic --mode random --probability 1(\.0+)? -j DROP/,
        /-A INPUT -i eth0 -m statistic --mode random --probability 1(\.0+)? -j DROP/,
      ],
      expect: 'no answer',
    },
    {
      name: 'blackhole (timeout)',
      fault: { kind: 'timeout', target: NODE, timeoutMs: 0, stream: 'downstream', toxicity: 1 },
      rules: [/-A INPUT -i eth0 -j DROP/, /-A OUTPUT -o eth0 -j DROP/],
      expect: 'no answer',
    },
    {
      name: 'reset (reset_peer)',
      fault: { kind: 'reset_peer', target: NODE, timeoutMs: 0, stream: 'downstream', toxicity: 1 },
      rules: [/-A INPUT -i eth0 -p tcp -j REJECT --reject-with tcp-reset/],
      expect: 'refused',
    },
    {
      name: 'client-to-node partition',
      fault: { kind: 'partition', target: NODE },
      rules: [/-A INPUT -i eth0 -j DROP/, /-A OUTPUT -o eth0 -j DROP/],
      expect: 'no answer',
    },
  ];
  for (const c of cases) {
    test(`${c.name}: rules in the namespace, the host's connect gets ${c.expect}, healed clean`, async () => {
      const faults = containerNetworkFaults(target);
      const before = withoutPolicies(await iptables());
      await faults.inject(c.fault, 1);
      try {
        const rules = await iptables();
        for (const rule of c.rules) expect(rules).toMatch(rule);
        expect(await probe()).toBe(c.expect);
      } finally {
        await faults.heal(c.fault, 1);
      }
      expect(withoutPolicies(await iptables())).toEqual(before);
      await expectAnswersAgain();
    }, 60_000);
  }

  test('a share of packets lost: the statistic rule carries the share, only in the stream asked for', async () => {
    const faults = containerNetworkFaults(target);
    const fault: NetworkFault = { kind: 'loss', target: NODE, lossShare: 0.3, stream: 'upstream' };
    const before = withoutPolicies(await iptables());
    await faults.inject(fault, 2);
    try {
      const added = withoutPolicies(await iptables()).filter((r) => !before.includes(r));
      expect(added).toEqual([
        expect.stringMatching(/^-A INPUT -i eth0 -m statistic .*--probability 0\.(29|30)\d* -j DROP/),
      ]);
    } finally {
      await faults.heal(fault, 2);
    }
    expect(withoutPolicies(await iptables())).toEqual(before);
  }, 60_000);

  test('latency with jitter: the in-namespace toxic has both, the first answer comes at least that late', async () => {
    const faults = containerNetworkFaults(target);
    const fault = shaping({ kind: 'latency', latencyMs: 400, jitterMs: 100 });
    const natBefore = withoutPolicies(await iptables('nat'));
    await faults.inject(fault, 3);
    try {
      const ip = target.containers[0]?.ip as string;
      const proxies = (await (await fetch(`http://${ip}:8474/proxies`)).json()) as Record<
        string,
        { toxics: Array<{ type: string; attributes: Record<string, number> }> }
      >;
      const toxics = Object.values(proxies).flatMap((p) => p.toxics);
      expect(toxics).toEqual([expect.objectContaining({ type: 'latency', attributes: { latency: 400, jitter: 100 } })]);
      expect(await iptables('nat')).toMatch(/-A PREROUTING -i eth0 -p tcp -m tcp --dport 8081 -j REDIRECT/);
      // Latency 400 ± 100 ms: the broker's SETTINGS frame, its answer to the client preface, waits at least 300 ms.
      expect(await firstAnswerMs(ip)).toBeGreaterThanOrEqual(300);
    } finally {
      await faults.heal(fault, 3);
    }
    expect(withoutPolicies(await iptables('nat'))).toEqual(natBefore);
    await expectAnswersAgain();
  }, 60_000);

  test('latency on a standing proxy (set up before the load): an open connection is slowed, not reset', async () => {
    const faults = containerNetworkFaults(target);
    const natBefore = withoutPolicies(await iptables('nat'));
    await faults.prepareLatency();
    const ip = target.containers[0]?.ip as string;
    const h2 = await openH2(ip);
    try {
      const fault = shaping({ kind: 'latency', latencyMs: 400, jitterMs: 0 });
      await faults.inject(fault, 5);
      expect(await h2.pingMs()).toBeGreaterThanOrEqual(350);
      await faults.heal(fault, 5);
      await h2.pingMs();
      expect(h2.closed(), 'the connection opened before the fault was closed').toBe(false);
    } finally {
      h2.close();
      await faults.healAll();
    }
    expect(withoutPolicies(await iptables('nat'))).toEqual(natBefore);
    await expectAnswersAgain();
  }, 60_000);

  test('bandwidth both ways: a tbf qdisc at the rate on eth0 and on the host end of the veth', async () => {
    const faults = containerNetworkFaults(target);
    const fault = shaping({ kind: 'bandwidth', kilobytesPerSecond: 64, stream: 'both' });
    const pid = await target.pidOf(NODE);
    const veth = await hostVeth(pid);
    const inside = () => run('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'tc', 'qdisc', 'show', 'dev', 'eth0'], {});
    const outside = () => run('tc', ['qdisc', 'show', 'dev', veth], {});
    await faults.inject(fault, 4);
    try {
      expect(await inside()).toMatch(/qdisc tbf \S+ root .*rate 512Kbit/);
      expect(await outside()).toMatch(/qdisc tbf \S+ root .*rate 512Kbit/);
    } finally {
      await faults.heal(fault, 4);
    }
    expect(`${await inside()}${await outside()}`).not.toMatch(/tbf/);
  }, 60_000);

  test('kill -9: the container dies of SIGKILL (137); a restart brings it back on its volume, a new pid', async () => {
    const container = target.containers[0]?.container as string;
    const pid = await target.pidOf(NODE);
    await target.processes.kill(NODE, 'SIGKILL');
    const state = JSON.parse(await docker(['inspect', '--format', '{{json .State}}', container])) as {
      Running: boolean;
      ExitCode: number;
    };
    expect({ running: state.Running, exitCode: state.ExitCode }).toEqual({ running: false, exitCode: 137 });
    expect(await probe()).not.toBe('connected');
    await target.processes.restart(NODE);
    expect(await target.pidOf(NODE)).not.toBe(pid);
    await expectAnswersAgain();
  }, 120_000);
});

/** Milliseconds from writing the HTTP/2 client preface to the server's first bytes (its SETTINGS frame). */
function firstAnswerMs(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: ip, port: PORT });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${ip}:${PORT} within 20 s`));
    }, 20_000);
    let sentAt = 0;
    socket.once('connect', () => {
      sentAt = performance.now();
      socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    });
    socket.once('data', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(performance.now() - sentAt);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** An HTTP/2 connection to the broker (preface and settings exchanged), timing PING round trips on it. */
async function openH2(ip: string): Promise<{ pingMs(): Promise<number>; closed(): boolean; close(): void }> {
  const socket = connect({ host: ip, port: PORT });
  let closed = false;
  socket.once('close', () => {
    closed = true;
  });
  let onData: () => void = () => {};
  socket.on('data', () => onData());
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
  // The server's settings and its ack of ours: wait until nothing has arrived for 500 ms (at most 20 s).
  await new Promise<void>((resolve, reject) => {
    const give = setTimeout(() => reject(new Error(`no quiet HTTP/2 connection to ${ip}:${PORT} in 20 s`)), 20_000);
    let quiet = setTimeout(done, 500);
    function done() {
      clearTimeout(give);
      onData = () => {};
      resolve();
    }
    onData = () => {
      clearTimeout(quiet);
      quiet = setTimeout(done, 500);
    };
  });
  return {
    pingMs: () =>
      new Promise((resolve, reject) => {
        const sentAt = performance.now();
        const timer = setTimeout(() => reject(new Error('no PING answer in 20 s')), 20_000);
        onData = () => {
          clearTimeout(timer);
          onData = () => {};
          resolve(performance.now() - sentAt);
        };
        socket.write(Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]));
      }),
    closed: () => closed,
    close: () => socket.destroy(),
  };
}
