/**
 * Network faults through Toxiproxy (toxiproxy-node-client): one proxy in front of each broker endpoint, toxics added
 * at inject and removed at heal, `down` by disabling the proxy, `partition` by dropping every byte both ways.
 * Overlapping faults are kept apart: each toxic is named after its fault instance (`f3-latency-downstream`), and a
 * proxy taken down by two faults comes back up when the last of them heals.
 */
import {
  type Toxic,
  type ToxicDirection,
  type ToxicType,
  Toxiproxy,
  type Proxy as ToxiproxyProxy,
} from 'toxiproxy-node-client';
import { freePort } from '../../lib/ports.ts';
import { ALL_TARGETS, type NetworkFault } from './model.ts';
import type { FaultInjector } from './runner.ts';
import type { ToxiproxyServer } from './toxiproxy-server.ts';

export interface ProxyAddress {
  name: string;
  /** `127.0.0.1:41234`: what clients (and the broker's `--advertise`) use. */
  listen: string;
  host: string;
  port: number;
  upstream: string;
}

export interface CreateProxyOptions {
  name: string;
  /** `host:port`, a port number, or `127.0.0.1:0` (the default) for a free port. */
  listen?: string | number;
  /** `host:port` of the real endpoint. */
  upstream: string;
}

const CREATE_ATTEMPTS_MAX = 3;

export class NetworkFaults implements FaultInjector<NetworkFault> {
  private readonly client: Toxiproxy;
  private readonly proxies = new Map<string, { proxy: ToxiproxyProxy; address: ProxyAddress }>();
  /** Toxics added per fault instance (`id/kind/target`), to remove exactly those at heal. */
  private readonly toxics = new Map<string, Array<Toxic<unknown>>>();
  private readonly downHolds = new Map<string, number>();

  constructor(api: string | ToxiproxyServer) {
    this.client = new Toxiproxy(typeof api === 'string' ? api : api.apiUrl);
  }

  /**
   * Creates a proxy and returns the address it listens on. Port 0 picks a free port here (not in Toxiproxy), so the
   * proxy keeps its port when `down` disables and re-enables it. Creating a name again replaces that proxy (a target
   * that retries its boot with fresh ports asks again); faults in force on the old one are forgotten.
   */
  async createProxy(options: CreateProxyOptions): Promise<ProxyAddress> {
    const existing = this.proxies.get(options.name);
    if (existing !== undefined) {
      await existing.proxy.remove().catch(ignoreNotFound);
      this.proxies.delete(options.name);
      this.downHolds.delete(options.name);
    }
    const { host, port } = splitListen(options.listen ?? '127.0.0.1:0');
    const attempts = port === 0 ? CREATE_ATTEMPTS_MAX : 1;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const listen = `${host}:${port === 0 ? await freePort(host) : port}`;
      try {
        const proxy = await this.client.createProxy({ name: options.name, listen, upstream: options.upstream });
        const actual = splitListen(proxy.listen);
        const address = { name: options.name, listen: proxy.listen, ...actual, upstream: options.upstream };
        this.proxies.set(options.name, { proxy, address });
        return address;
      } catch (err) {
        lastError = err;
      }
    }
    throw new Error(`create proxy ${options.name} (${options.upstream}): ${(lastError as Error).message}`);
  }

  proxyNames(): string[] {
    return [...this.proxies.keys()];
  }

  address(name: string): ProxyAddress {
    return this.entry(name).address;
  }

  /** Applies a fault to its proxy (or every proxy for `*`); if any part fails, the parts done are undone. */
  async inject(fault: NetworkFault, id = 0): Promise<void> {
    if (fault.kind === 'loss') {
      throw new Error(
        'loss drops packets, and Toxiproxy is a TCP proxy (TCP retransmits below it): loss needs --target ' +
          'containers (iptables in the node namespace); here use latency, timeout or reset_peer',
      );
    }
    const names = this.targetNames(fault);
    if (fault.kind === 'down') {
      const done: string[] = [];
      try {
        for (const name of names) await this.takeDown(name).then(() => done.push(name));
      } catch (err) {
        for (const name of done) await this.bringUp(name).catch(() => undefined);
        throw err;
      }
      return;
    }
    if (this.toxics.has(instanceKey(fault, id))) throw new Error(`fault ${instanceKey(fault, id)} is in force already`);
    const added: Array<Toxic<unknown>> = [];
    this.toxics.set(instanceKey(fault, id), added);
    try {
      for (const name of names) await this.addToxics(name, fault, id, added);
    } catch (err) {
      await this.removeToxics(instanceKey(fault, id)).catch(() => undefined);
      throw err;
    }
  }

  /** Undoes a fault; healing one that is not in force does nothing. */
  async heal(fault: NetworkFault, id = 0): Promise<void> {
    if (fault.kind === 'partition' && this.toxics.has(instanceKey(fault, id))) {
      await this.removeToxics(instanceKey(fault, id));
      // Bytes were dropped mid-stream: close what was open across the partition, so clients reconnect cleanly.
      for (const name of this.targetNames(fault)) {
        if (this.downHolds.has(name)) continue;
        await this.setEnabled(name, false);
        await this.setEnabled(name, true);
      }
      return;
    }
    if (fault.kind !== 'down') return this.removeToxics(instanceKey(fault, id));
    for (const name of this.targetNames(fault)) await this.bringUp(name);
  }

  /** Removes every toxic this object added and enables every proxy. */
  async healAll(): Promise<void> {
    for (const key of [...this.toxics.keys()]) await this.removeToxics(key);
    this.downHolds.clear();
    for (const name of this.proxies.keys()) await this.setEnabled(name, true);
  }

  /** Deletes the proxies this object created. */
  async removeProxies(): Promise<void> {
    for (const { proxy } of this.proxies.values()) await proxy.remove().catch(ignoreNotFound);
    this.proxies.clear();
    this.toxics.clear();
    this.downHolds.clear();
  }

  private async addToxics(name: string, fault: NetworkFault, id: number, added: Array<Toxic<unknown>>) {
    if (fault.kind === 'down' || fault.kind === 'loss') return;
    // A partition is a `timeout` toxic with no timeout on both streams: every byte dropped, nothing closed.
    const toxic = fault.kind === 'partition' ? PARTITION_TOXIC : fault;
    const streams: ToxicDirection[] = toxic.stream === 'both' ? ['upstream', 'downstream'] : [toxic.stream];
    for (const stream of streams) {
      const created = await this.entry(name).proxy.addToxic<unknown>({
        name: `f${id}-${fault.kind}-${stream}`,
        type: toxic.kind as ToxicType,
        stream,
        toxicity: toxic.toxicity,
        attributes: toxicAttributes(toxic),
      });
      added.push(created);
    }
  }

  private async removeToxics(key: string): Promise<void> {
    const added = this.toxics.get(key) ?? [];
    while (added.length > 0) {
      await (added.at(-1) as Toxic<unknown>).remove().catch(ignoreNotFound);
      added.pop();
    }
    this.toxics.delete(key);
  }

  private async takeDown(name: string): Promise<void> {
    const holds = this.downHolds.get(name) ?? 0;
    if (holds === 0) await this.setEnabled(name, false);
    this.downHolds.set(name, holds + 1);
  }

  private async bringUp(name: string): Promise<void> {
    const holds = this.downHolds.get(name);
    if (holds === undefined) return;
    if (holds === 1) await this.setEnabled(name, true);
    if (holds === 1) this.downHolds.delete(name);
    else this.downHolds.set(name, holds - 1);
  }

  private async setEnabled(name: string, enabled: boolean): Promise<void> {
    const { proxy, address } = this.entry(name);
    await proxy.update({ enabled, listen: address.listen, upstream: address.upstream });
  }

  /**
   * The proxies a fault acts on: every proxy for `*`; else the node's own proxy and its companions, proxies named
   * `<node>.<what>` in front of the same node's other ports (the RocketMQ broker's remoting port beside its gRPC port).
   * The separator is a dot because a proxy name is a path segment of Toxiproxy's API.
   */
  private targetNames(fault: NetworkFault): string[] {
    if (fault.target === ALL_TARGETS) return this.proxyNames();
    this.entry(fault.target);
    return [fault.target, ...this.proxyNames().filter((name) => name.startsWith(`${fault.target}.`))];
  }

  private entry(name: string): { proxy: ToxiproxyProxy; address: ProxyAddress } {
    const entry = this.proxies.get(name);
    if (entry === undefined) throw new Error(`no proxy named ${name} (proxies: ${this.proxyNames().join(', ')})`);
    return entry;
  }
}

type ToxicFault = Exclude<NetworkFault, { kind: 'down' | 'partition' | 'loss' }>;

const PARTITION_TOXIC: ToxicFault = { kind: 'timeout', target: '', timeoutMs: 0, stream: 'both', toxicity: 1 };

/** Toxiproxy's attribute names and units for a fault. */
function toxicAttributes(fault: ToxicFault): Record<string, number> {
  switch (fault.kind) {
    case 'latency':
      return { latency: fault.latencyMs, jitter: fault.jitterMs };
    case 'bandwidth':
      return { rate: fault.kilobytesPerSecond };
    case 'timeout':
    case 'reset_peer':
      return { timeout: fault.timeoutMs };
    case 'slicer':
      return { average_size: fault.averageSizeBytes, size_variation: fault.sizeVariationBytes, delay: fault.delayUs };
  }
}

function instanceKey(fault: NetworkFault, id: number): string {
  return `${id}/${fault.kind}/${fault.target}`;
}

function splitListen(listen: string | number): { host: string; port: number } {
  if (typeof listen === 'number') return { host: '127.0.0.1', port: listen };
  const colon = listen.lastIndexOf(':');
  const port = Number(listen.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port)) throw new Error(`listen address ${listen}: expected host:port`);
  return { host: listen.slice(0, colon), port };
}

function ignoreNotFound(err: unknown): void {
  if (err instanceof Error && /status code 404/.test(err.message)) return;
  throw err;
}
