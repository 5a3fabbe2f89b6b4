/**
 * Network faults for the containers target, applied inside each container's network namespace from the host
 * (`nsenter --net=/proc/<pid>/ns/net` with the host's tc and iptables; the images carry neither), so they act on
 * all of a node's traffic whatever address a route names: clients, peers and the name server alike.
 *
 *   latency    tc netem delay (with jitter) on the container's eth0 (downstream: what the node sends) and/or on
 *              the host end of its veth pair (upstream: what the node receives); `both` = both. On a kernel
 *              without netem (CONFIG_NET_SCH_NETEM unset, as on this project's CI machines): a Toxiproxy latency
 *              toxic inside the namespace, every connection to the node's port redirected through it
 *   bandwidth  tc tbf at kilobytesPerSecond, same directions
 *   timeout    iptables DROP of everything on eth0, in and out (a blackhole; timeoutMs is not used)
 *   reset_peer iptables REJECT --reject-with tcp-reset of incoming TCP (every connection is reset)
 *   down       as reset_peer (connections refused and the open ones reset)
 *   loss       iptables DROP of lossShare of the packets at random (statistic match), same directions
 *   partition  target `broker-0`: DROP everything on eth0 (cut from clients and nodes);
 *              target `broker-0~broker-1`: DROP only between those two nodes' addresses, in both namespaces
 *
 * `slicer` is Toxiproxy's and has no netem form here: inject refuses it. One qdisc per device: two overlapping
 * tc faults on a node replace each other, and the first heal removes it. A container stopped or killed during a
 * fault comes back with a fresh namespace: the heal then finds nothing to remove and succeeds.
 */
import type { BandwidthFault, LatencyFault, LossFault, NetworkFault } from '../../faults/model.ts';
import { NetworkFaults } from '../../faults/network.ts';
import type { FaultInjector } from '../../faults/runner.ts';
import { ToxiproxyServer } from '../../faults/toxiproxy-server.ts';
import { run } from './docker.ts';

export interface NetnsHost {
  /** Node names that network faults may target (brokers, and the name server for rocketmq). */
  nodeNames(): readonly string[];
  ipOf(node: string): string;
  /** The TCP port the node serves clients on (gRPC, or the name server's port). */
  servicePortOf(node: string): number;
  pidOf(node: string): Promise<number>;
}

/** Ports inside a node's namespace for the latency proxy (see latencyByProxy); the images use neither. */
const PROXY_API_PORT = 8474;
const PROXY_PORT = 18081;

/** A pair target: the partition between two nodes. */
export const PAIR_SEPARATOR = '~';

interface Applied {
  undo: Array<() => Promise<void>>;
}

/** A latency proxy standing in a node's namespace (see prepareLatency), for the namespace of that pid. */
interface StandingProxy {
  pid: number;
  toxics: NetworkFaults;
  /** Removes the REDIRECT and closes the server. */
  applied: Applied;
}

export class ContainerNetworkFaults implements FaultInjector<NetworkFault> {
  private readonly applied = new Map<number, Applied>();
  private readonly standing = new Map<string, StandingProxy>();
  /** Toxic instance ids on the standing proxies (overlapping latency faults on one node each get their own). */
  private toxicIds = 1;
  private netem: boolean | undefined;

  constructor(private readonly host: NetnsHost) {}

  async inject(fault: NetworkFault, id: number): Promise<void> {
    if (fault.kind === 'slicer') {
      throw new Error('slicer is a Toxiproxy fault; the containers target shapes traffic with netem (use latency)');
    }
    const applied: Applied = { undo: [] };
    this.applied.set(id, applied);
    try {
      if (fault.kind === 'partition' && fault.target.includes(PAIR_SEPARATOR)) {
        await this.partitionPair(fault.target, applied);
        return;
      }
      for (const node of this.nodesOf(fault.target)) await this.injectNode(fault, node, applied);
    } catch (err) {
      await this.heal(fault, id).catch(() => undefined);
      throw err;
    }
  }

  async heal(_fault: NetworkFault, id: number): Promise<void> {
    const applied = this.applied.get(id);
    this.applied.delete(id);
    const errors: unknown[] = [];
    for (const undo of (applied?.undo ?? []).reverse()) await undo().catch((e) => errors.push(e));
    if (errors.length) throw new AggregateError(errors, `heal: ${errors.length} network rule(s) could not be removed`);
  }

  async healAll(): Promise<void> {
    for (const id of [...this.applied.keys()]) await this.heal({ kind: 'down', target: '*' }, id).catch(() => {});
    for (const node of [...this.standing.keys()]) await this.removeStanding(node).catch(() => {});
  }

  private async removeStanding(node: string): Promise<void> {
    const standing = this.standing.get(node);
    this.standing.delete(node);
    for (const undo of (standing?.applied.undo ?? []).reverse()) await undo().catch(() => {});
  }

  /**
   * Before the load, on a kernel without netem: puts the latency proxy in front of each node's service port now,
   * with no toxic, so a latency fault later only adds and removes a toxic, as Toxiproxy does on the other targets.
   * Started lazily instead, the proxy must reset the connections open at inject (they would bypass it) and at heal,
   * and a request caught in that reset ends unknown: a transaction commit lost so, after the producer closed, has no
   * check-back to resolve it. Nothing is connected yet here, so nothing is reset. A node restarted later has a new
   * namespace: its first latency fault then falls back to the lazy proxy.
   */
  async prepareLatency(): Promise<void> {
    const brokers = this.nodesOf('*');
    const first = brokers[0];
    if (first === undefined || (await this.hasNetem(await this.host.pidOf(first)))) return;
    for (const node of brokers) {
      const pid = await this.host.pidOf(node);
      const applied: Applied = { undo: [] };
      this.standing.set(node, {
        pid,
        toxics: await this.startProxy(node, pid, applied).catch(undoing(applied)),
        applied,
      });
    }
  }

  private nodesOf(target: string): readonly string[] {
    if (target === '*') return this.host.nodeNames().filter((n) => n.startsWith('broker-'));
    if (!this.host.nodeNames().includes(target)) {
      throw new Error(`no node ${target} (nodes: ${this.host.nodeNames().join(', ')}; pairs as a${PAIR_SEPARATOR}b)`);
    }
    return [target];
  }

  private async injectNode(fault: NetworkFault, node: string, applied: Applied): Promise<void> {
    const pid = await this.host.pidOf(node);
    switch (fault.kind) {
      case 'latency':
        if (!(await this.hasNetem(pid))) return this.latencyByProxy(fault, node, pid, applied);
        return this.shape(fault, pid, applied);
      case 'bandwidth':
        return this.shape(fault, pid, applied);
      case 'timeout':
      case 'partition':
        await this.rule(applied, pid, ['INPUT', '-i', 'eth0', '-j', 'DROP']);
        await this.rule(applied, pid, ['OUTPUT', '-o', 'eth0', '-j', 'DROP']);
        return;
      case 'loss':
        return this.loss(fault, pid, applied);
      case 'reset_peer':
      case 'down':
        await this.rule(applied, pid, [
          'INPUT',
          '-i',
          'eth0',
          '-p',
          'tcp',
          '-j',
          'REJECT',
          '--reject-with',
          'tcp-reset',
        ]);
        return;
    }
  }

  /**
   * Packet loss with iptables' `statistic` match (random mode, drawn per packet) on eth0 inside the namespace: OUTPUT
   * for downstream (what the node sends), INPUT for upstream (what it receives). Chosen over netem loss because it
   * needs no netem (this project's CI kernels lack it); healed by deleting the rules. TCP retransmits what is lost,
   * so clients see slower calls and, at high shares, timeouts.
   */
  private async loss(fault: LossFault, pid: number, applied: Applied): Promise<void> {
    const drop = ['-m', 'statistic', '--mode', 'random', '--probability', String(fault.lossShare), '-j', 'DROP'];
    if (fault.stream !== 'upstream') await this.rule(applied, pid, ['OUTPUT', '-o', 'eth0', ...drop]);
    if (fault.stream !== 'downstream') await this.rule(applied, pid, ['INPUT', '-i', 'eth0', ...drop]);
  }

  /** Whether the kernel has netem (many minimal and VM kernels leave CONFIG_NET_SCH_NETEM out); probed once. */
  private async hasNetem(pid: number): Promise<boolean> {
    if (this.netem === undefined) {
      try {
        await nsenter(pid, ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
        await nsenter(pid, ['tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
        this.netem = true;
      } catch {
        this.netem = false;
      }
    }
    return this.netem;
  }

  /**
   * Latency without netem: a Toxiproxy server inside the node's namespace with a latency toxic, and an iptables
   * REDIRECT of the node's service port to it, so every incoming connection, whoever dialled whichever address,
   * passes the toxic. Connections open before the redirect do not pass it: they are reset (ss -K), and clients
   * reconnect through it. At heal the redirect goes first, then the server (resetting the proxied connections).
   */
  private async latencyByProxy(fault: LatencyFault, node: string, pid: number, applied: Applied): Promise<void> {
    const standing = this.standing.get(node);
    if (standing?.pid === pid) {
      const id = this.toxicIds++;
      await standing.toxics.inject({ ...fault, target: node }, id);
      applied.undo.push(() => standing.toxics.heal({ ...fault, target: node }, id));
      return;
    }
    // The node was restarted since (a new namespace): the standing proxy is in the old one.
    if (standing) await this.removeStanding(node);
    const toxics = await this.startProxy(node, pid, applied);
    await toxics.inject({ ...fault, target: node }, 0);
    const filter = `( sport = :${this.host.servicePortOf(node)} ) and not ( dst 127.0.0.1 )`;
    await nsenter(pid, ['ss', '-K', '-t', 'state', 'established', filter]);
  }

  /** The Toxiproxy server in the node's namespace and the REDIRECT to it; their removal goes to `applied`. */
  private async startProxy(node: string, pid: number, applied: Applied): Promise<NetworkFaults> {
    const ip = this.host.ipOf(node);
    const port = this.host.servicePortOf(node);
    const server = await ToxiproxyServer.start({
      host: ip,
      port: PROXY_API_PORT,
      wrapper: ['nsenter', `--net=/proc/${pid}/ns/net`, '--'],
    });
    applied.undo.push(() => server.close());
    const toxics = new NetworkFaults(server);
    await toxics.createProxy({ name: node, listen: `${ip}:${PROXY_PORT}`, upstream: `127.0.0.1:${port}` });
    const redirect = ['-p', 'tcp', '--dport', String(port), '-j', 'REDIRECT', '--to-ports', String(PROXY_PORT)];
    await this.rule(applied, pid, ['PREROUTING', '-i', 'eth0', ...redirect], 'nat');
    return toxics;
  }

  /** tc on the container's eth0 (what the node sends) and/or the host end of its veth (what it receives). */
  private async shape(fault: LatencyFault | BandwidthFault, pid: number, applied: Applied): Promise<void> {
    const qdisc =
      fault.kind === 'latency'
        ? ['netem', 'delay', `${fault.latencyMs}ms`, ...(fault.jitterMs > 0 ? [`${fault.jitterMs}ms`] : [])]
        : ['tbf', 'rate', `${fault.kilobytesPerSecond * 8}kbit`, 'burst', '32kbit', 'latency', '1s'];
    if (fault.stream !== 'upstream') await this.qdisc(applied, pid, undefined, qdisc);
    if (fault.stream !== 'downstream') await this.qdisc(applied, pid, await hostVeth(pid), qdisc);
  }

  private async partitionPair(target: string, applied: Applied): Promise<void> {
    const [a, b] = target.split(PAIR_SEPARATOR) as [string, string];
    for (const n of [a, b]) this.nodesOf(n);
    for (const [self, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const pid = await this.host.pidOf(self);
      const ip = this.host.ipOf(other);
      await this.rule(applied, pid, ['INPUT', '-s', ip, '-j', 'DROP']);
      await this.rule(applied, pid, ['OUTPUT', '-d', ip, '-j', 'DROP']);
    }
    // Shown to hold: from a's namespace, b's service port no longer answers (and the other way round).
    const reaches = await Promise.all(
      [
        [a, b],
        [b, a],
      ].map(async ([self, other]) => {
        const to = `${this.host.ipOf(other as string)}:${this.host.servicePortOf(other as string)}`;
        return (await canConnect(await this.host.pidOf(self as string), to)) ? `${self} still reaches ${to}` : '';
      }),
    );
    const leaks = reaches.filter(Boolean);
    if (leaks.length) throw new Error(`partition ${target} did not take: ${leaks.join('; ')}`);
  }

  /** Adds a root qdisc on a device (eth0 inside the namespace, or a host veth) and records its removal. */
  private async qdisc(applied: Applied, pid: number, hostDevice: string | undefined, spec: string[]): Promise<void> {
    if (hostDevice === undefined) {
      await nsenter(pid, ['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', ...spec]);
      applied.undo.push(() => tolerateGone(nsenter(pid, ['tc', 'qdisc', 'del', 'dev', 'eth0', 'root'])));
      return;
    }
    await run('tc', ['qdisc', 'replace', 'dev', hostDevice, 'root', ...spec], { timeoutMs: 15_000 });
    applied.undo.push(() =>
      tolerateGone(run('tc', ['qdisc', 'del', 'dev', hostDevice, 'root'], { timeoutMs: 15_000 })),
    );
  }

  private async rule(applied: Applied, pid: number, spec: string[], table = 'filter'): Promise<void> {
    const [chain, ...rest] = spec;
    const iptables = ['iptables', '-w', '5', '-t', table];
    await nsenter(pid, [...iptables, '-I', chain as string, ...rest]);
    applied.undo.push(() => tolerateGone(nsenter(pid, [...iptables, '-D', chain as string, ...rest])));
  }
}

/**
 * A TCP connect from inside a namespace, answered within `timeoutMs` (bash's /dev/tcp under coreutils' timeout:
 * two small host programs, cheap to start on a busy machine). A partition drops the SYN, so no answer = cut off.
 */
export async function canConnect(pid: number, hostPort: string, timeoutMs = 700): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  const seconds = (timeoutMs / 1000).toFixed(2);
  try {
    await nsenter(pid, ['timeout', seconds, 'bash', '-c', `exec 3<>/dev/tcp/${host}/${Number(port)}`]);
    return true;
  } catch {
    return false;
  }
}

/** A catch handler that runs what was recorded so far, then rethrows. */
function undoing(applied: Applied): (err: unknown) => Promise<never> {
  return async (err) => {
    for (const undo of applied.undo.reverse()) await undo().catch(() => {});
    throw err;
  };
}

function nsenter(pid: number, command: string[]): Promise<string> {
  return run('nsenter', [`--net=/proc/${pid}/ns/net`, '--', ...command], { timeoutMs: 15_000 });
}

/**
 * A heal whose namespace or device is gone (the container was stopped or killed during the fault) has nothing left
 * to remove.
 */
async function tolerateGone(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (err) {
    const text = String(err);
    if (/No such file|does not exist|Cannot find device|Bad rule|No such process|Invalid argument/i.test(text)) return;
    throw err;
  }
}

/** The host end of a container's veth pair: the host link whose index is the container eth0's iflink. */
export async function hostVeth(pid: number): Promise<string> {
  const index = (await nsenter(pid, ['cat', '/sys/class/net/eth0/iflink'])).trim();
  const links = await run('ip', ['-o', 'link', 'show'], { timeoutMs: 15_000 });
  const line = links.split('\n').find((l) => l.startsWith(`${index}: `));
  const name = line?.split(': ')[1]?.split('@')[0];
  if (!name) throw new Error(`no host link with index ${index} (the veth of the container with pid ${pid})`);
  return name;
}
