import type { Settings__Output } from './protocol/messages.ts';

/** What the broker knows about a connected client, keyed by x-mq-client-id. */
export type ClientType = 'PRODUCER' | 'PUSH_CONSUMER' | 'SIMPLE_CONSUMER' | 'PULL_CONSUMER' | 'UNSPECIFIED';

export interface ClientSession {
  clientId: string;
  clientType: ClientType;
  group?: string;
  topics: string[];
  /** The client's settings as last received, for settings-driven behaviour. */
  settings?: Settings__Output;
  lastSeenMs: number;
  /** Open Telemetry streams: the client is alive while it has one (or heartbeats recently). */
  streams: Set<{ write(cmd: unknown): boolean; end(): void }>;
}

export const clientAliveWindowMs = 120_000;

export class ClientRegistry {
  private readonly sessions = new Map<string, ClientSession>();
  readonly sessionsMax = 100_000;
  /** With auth on: client id -> the access key that first used it, least recently used first (bounded). */
  private readonly owners = new Map<string, string>();
  readonly ownersMax = 200_000;

  /**
   * Binds a client id to the access key that first used it and returns undefined, or returns the owning key when
   * another key already holds the id. The binding outlives the session (a terminated client's id stays its key's);
   * when full, the binding used longest ago is forgotten, and the next key to use that id owns it.
   */
  claim(clientId: string, accessKey: string): string | undefined {
    const owner = this.owners.get(clientId);
    if (owner !== undefined && owner !== accessKey) return owner;
    this.owners.delete(clientId);
    if (this.owners.size >= this.ownersMax) {
      const oldest = this.owners.keys().next().value;
      if (oldest !== undefined) this.owners.delete(oldest);
    }
    this.owners.set(clientId, accessKey);
    return undefined;
  }

  get(clientId: string): ClientSession | undefined {
    return this.sessions.get(clientId);
  }

  touch(clientId: string, nowMs: number): ClientSession {
    let s = this.sessions.get(clientId);
    if (!s) {
      // Bounded: forget the longest-silent client when full (it will re-register on its next settings sync).
      if (this.sessions.size >= this.sessionsMax) this.evictOldest();
      s = { clientId, clientType: 'UNSPECIFIED', topics: [], lastSeenMs: nowMs, streams: new Set() };
      this.sessions.set(clientId, s);
    }
    s.lastSeenMs = nowMs;
    return s;
  }

  remove(clientId: string): ClientSession | undefined {
    const s = this.sessions.get(clientId);
    this.sessions.delete(clientId);
    return s;
  }

  isAlive(clientId: string, nowMs: number): boolean {
    const s = this.sessions.get(clientId);
    return !!s && (s.streams.size > 0 || nowMs - s.lastSeenMs < clientAliveWindowMs);
  }

  all(): IterableIterator<ClientSession> {
    return this.sessions.values();
  }

  countsByType(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.sessions.values()) out[s.clientType] = (out[s.clientType] ?? 0) + 1;
    return out;
  }

  private evictOldest(): void {
    let oldest: ClientSession | undefined;
    for (const s of this.sessions.values()) if (!oldest || s.lastSeenMs < oldest.lastSeenMs) oldest = s;
    if (oldest) this.sessions.delete(oldest.clientId);
  }
}
