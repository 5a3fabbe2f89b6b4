import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Counter } from 'prom-client';
import { type Clock, systemClock } from '../lib/clock.ts';
import { AuditLog } from './admin/audit.ts';
import { type AdminOperation, createAdminHandler } from './admin/http.ts';
import { type AuthConfig, Authenticator } from './auth/index.ts';
import { Broker } from './broker.ts';
import { ConnectionGate, type ConnectionLimits, defaultConnectionLimits } from './connections.ts';
import type { GroupTopicCheckpoint } from './delivery/group-topic.ts';
import { limits } from './limits.ts';
import { type GroupConfig, Metadata, type MetadataDocument, type TopicConfig } from './metadata.ts';
import { BrokerMetrics } from './metrics/index.ts';
import { applyGrpcServerPatches } from './protocol/grpc-patches.ts';
import { createMessagingService, type DeniedRequest } from './protocol/server.ts';
import { adminViewProxy } from './shard-admin.ts';
import { PowerLossFs, powerLossJournalPath } from './store/file/power-loss-fs.ts';
import { nodeStoreFs } from './store/file/store-fs.ts';
import './filter/sql92/index.ts';
import { CheckpointFile } from './store/checkpoint.ts';
import { clampGroupOffsets } from './store/group-offsets.ts';
import type { FlushPolicy, MessageStore } from './store/types.ts';

export interface BrokerConfig {
  dataDir: string;
  host: string;
  /** One port serves gRPC (HTTP/2) and the admin API (HTTP/1.1); 0 picks a free port. */
  port: number;
  /** Optional extra port for the admin API alone. */
  adminPort?: number;
  advertise?: string;
  brokerName: string;
  flush: FlushPolicy;
  flushIntervalMs: number;
  segmentBytesMax: number;
  retentionMs?: number;
  retentionBytesMax?: number;
  /** Sends are refused (retriable) while the data disk is fuller than this ratio; default 0.9. */
  diskUsedRatioMax?: number;
  diskCheckIntervalMs?: number;
  /** Bound of the store's pending-append queue; a send that does not fit gets TOO_MANY_REQUESTS. */
  pendingAppendsMax?: number;
  topics: Array<Partial<TopicConfig> & { name: string }>;
  groups: Array<Partial<GroupConfig> & { name: string }>;
  /** Create unknown consumer groups on first use, as RocketMQ's autoCreateSubscriptionGroup (default true). */
  autoCreateGroups: boolean;
  /**
   * The proxy's minimum long poll (RocketMQ grpcClientConsumerMinLongPollingTimeoutMillis, 5000): shorter polls are
   * raised to it, and a receive whose gRPC deadline leaves less is refused (BAD_REQUEST / ILLEGAL_POLLING_TIME).
   * 0 turns both off: any poll time is accepted and shortened to fit the deadline.
   */
  longPollingMinMs: number;
  /** Test-only canary faults (never on in a real run). */
  canary?: { dropAckedOneIn?: number; swapFifoOneIn?: number };
  /**
   * Test-only: a broker slowed on purpose. Every send holds one shared line for this many ms, so the broker takes at
   * most 1000 / testOnlySendDelayMs sends per second (broker/slow-send.ts). Absent or 0: off.
   */
  testOnlySendDelayMs?: number;
  /**
   * Test-only: journal what every store file held at its last fsync (<data>/power-loss-journal.ndjson), so a drill's
   * power-loss fault can kill the broker and roll its store back to what a power cut would leave
   * (broker/store/file/power-loss-fs.ts).
   */
  powerLossJournal?: boolean;
  auth?: AuthConfig;
  /** Handshake deadline, connection cap, idle and keepalive limits on the shared port (defaults in connections.ts). */
  connections?: Partial<ConnectionLimits>;
  /** Audit lines per second before the rest of that second is only counted (default 1000). */
  auditLinesPerSecondMax?: number;
  /** Bundled multi-node deployment: the other nodes (name and the address clients should use for each). */
  peers?: Array<{ name: string; endpoint: string }>;
  /**
   * Set by `mqdrill broker --shards N` on each shard: the supervisor's admin view port, which then answers admin
   * requests on this shard's shared port (so any shard's address administers the whole broker).
   */
  shardAdminViewPort?: number;
  /** PEM files; without them a self-signed certificate is made on first start and kept in <data>/tls/. */
  tls?: { certFile?: string; keyFile?: string };
  /** Longest delay of a DELAY message (default 24 h). */
  delayMsMax?: number;
  transactions?: {
    checkFirstMs?: number;
    checkIntervalMs?: number;
    checkMax?: number;
    defaultAction?: 'ROLLBACK' | 'COMMIT';
  };
}

export const defaultBrokerConfig: Omit<BrokerConfig, 'dataDir'> = {
  host: '127.0.0.1',
  port: 8081,
  brokerName: 'broker-0',
  flush: 'sync',
  flushIntervalMs: 2,
  segmentBytesMax: 64 * 1024 * 1024,
  retentionMs: 72 * 3600_000,
  topics: [],
  groups: [],
  autoCreateGroups: true,
  longPollingMinMs: limits.longPollingMsMin,
};

export type LogFn = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface RunningBroker {
  broker: Broker;
  port: number;
  adminPort?: number;
  close(): Promise<void>;
}

interface GroupStateDocument {
  groups: Array<{ group: string; topic: string; state: GroupTopicCheckpoint }>;
}

const stateSaveIntervalMs = 1000;

/** Opens the store, recovers state, and serves gRPC + admin on one port. */
export async function startBroker(
  config: BrokerConfig,
  clock: Clock = systemClock,
  log: LogFn = () => {},
  storeOverride?: MessageStore,
): Promise<RunningBroker> {
  const t0 = performance.now();
  fs.mkdirSync(config.dataDir, { recursive: true });
  const store: MessageStore = storeOverride ?? (await createConfiguredStore(config, clock, log));
  const recovery = await store.open();
  for (const a of recovery.actions) if (a.case !== 'clean') log('warn', 'store recovery', { ...a });
  const metadataFile = new CheckpointFile<MetadataDocument>(path.join(config.dataDir, 'metadata.json'));
  const metadata = new Metadata((doc) => {
    metadataFile.save(doc).catch((err) => log('error', 'saving metadata failed', { error: String(err) }));
  });
  const loaded = metadataFile.loadSync();
  if (loaded.value) metadata.load(loaded.value);
  let broker: Broker | undefined;
  const metrics = new BrokerMetrics(() => ({
    backlog: broker?.backlog() ?? [],
    clients: broker?.clients.countsByType() ?? {},
    store: {
      quarantinedRecords: store.stats().quarantinedRecordCount ?? 0,
      quarantineEntries: store.quarantined().length,
      diskFullRejected: store.stats().diskFullRejectedCount ?? 0,
      writable: store.writeState().writable,
    },
  }));
  broker = new Broker({
    store,
    clock,
    metadata,
    metrics,
    log,
    autoCreateGroups: config.autoCreateGroups,
    canary: config.canary,
    ...(config.testOnlySendDelayMs ? { testOnlySendDelayMs: config.testOnlySendDelayMs } : {}),
  });
  for (const t of config.topics) metadata.upsertTopic(t);
  for (const g of config.groups) metadata.upsertGroup(g);
  const stateFile = new CheckpointFile<GroupStateDocument>(path.join(config.dataDir, 'group-state.json'));
  restoreGroupStates(broker, stateFile, store, log);
  clampGroupOffsets(broker.groupStates(), store, log);
  const system = broker.recoverSystemState();
  if (system.delayed || system.halfMessages) log('info', 'recovered pending delayed and half messages', system);
  const saveStates = () => saveGroupStates(broker as Broker, stateFile, clock.monotonicMs());
  const stateTimer = setInterval(() => {
    saveStates().catch((err) => log('error', 'saving group state failed', { error: String(err) }));
    try {
      store.applyRetention(clock.wallMs());
    } catch (err) {
      log('error', 'store retention failed; it runs again in a second', { error: String(err) });
    }
  }, stateSaveIntervalMs);
  stateTimer.unref();

  const listening = await listen(config, broker, clock, metrics, log);
  log('info', 'broker ready', {
    port: listening.port,
    adminPort: listening.adminPort,
    dataDir: config.dataDir,
    flush: config.flush,
    messages: recovery.messageCount,
    startMs: Math.round(performance.now() - t0),
  });
  return {
    broker,
    port: listening.port,
    adminPort: listening.adminPort,
    async close() {
      clearInterval(stateTimer);
      await closeInOrder(listening, broker as Broker, saveStates, store);
      log('info', 'broker stopped', { dataDir: config.dataDir });
    },
  };
}

/** Listeners first, then the broker, the group state and the store: every ack answered before is saved, even when
 *  closing the listeners failed. */
async function closeInOrder(
  listening: { close(): Promise<void> },
  broker: Broker,
  saveStates: () => Promise<void>,
  store: MessageStore,
): Promise<void> {
  try {
    await listening.close();
  } finally {
    await broker.close();
    await saveStates();
    await store.close();
  }
}

async function createConfiguredStore(config: BrokerConfig, clock: Clock, log: LogFn): Promise<MessageStore> {
  return (await import('./store/index.ts')).createStore({
    dataDir: path.join(config.dataDir, 'store'),
    flush: config.flush,
    flushIntervalMs: config.flushIntervalMs,
    segmentBytesMax: config.segmentBytesMax,
    retentionMs: config.retentionMs,
    retentionBytesMax: config.retentionBytesMax,
    diskUsedRatioMax: config.diskUsedRatioMax,
    diskCheckIntervalMs: config.diskCheckIntervalMs,
    pendingAppendsMax: config.pendingAppendsMax,
    clock,
    log,
    ...(config.powerLossJournal ? { fs: new PowerLossFs(nodeStoreFs, powerLossJournalPath(config.dataDir)) } : {}),
  });
}

function restoreGroupStates(
  broker: Broker,
  file: CheckpointFile<GroupStateDocument>,
  store: MessageStore,
  log: LogFn,
): void {
  const loaded = file.loadSync();
  if (!loaded.value) {
    const stored = storedMessageCount(store);
    if (stored > 0 || !/missing/.test(loaded.reason)) {
      log('warn', 'group state not restored: every consumer group starts again from the oldest retained message', {
        reason: loaded.reason,
        file: file.filePath,
        consequence: `a full redelivery of up to ${stored} stored messages to every group`,
      });
    }
    return;
  }
  for (const g of loaded.value.groups) {
    // Attempt counts saved for offsets the log no longer holds would be charged to the new messages reusing them.
    for (const [queueId, q] of Object.entries(g.state.queues)) {
      const end = store.queueRange(g.topic, Number(queueId)).maxOffset;
      q.attempts = q.attempts.filter(([offset]) => offset < end);
    }
    broker.restoreGroupState(g.group, g.topic, (s) => s.restore(g.state));
  }
}

function storedMessageCount(store: MessageStore): number {
  let count = 0;
  for (const { topic, queueId } of store.queues()) {
    const range = store.queueRange(topic, queueId);
    count += range.maxOffset - range.minOffset;
  }
  return count;
}

async function saveGroupStates(broker: Broker, file: CheckpointFile<GroupStateDocument>, nowMs: number): Promise<void> {
  const states = [...broker.groupStates()];
  if (!states.some((s) => s.dirty || s.staleAtMs <= nowMs)) return;
  const doc: GroupStateDocument = { groups: [] };
  for (const s of states) {
    s.dirty = false;
    doc.groups.push({ group: s.group, topic: s.topic, state: s.toCheckpoint(nowMs) });
  }
  await file.save(doc);
}

/**
 * One TCP port for everything: the first bytes of a connection say what it is. "PRI * HTTP/2.0" is gRPC (handed to
 * grpc-js through a connection injector); 0x16 is a TLS handshake (gRPC over TLS, as Java and Go clients default to);
 * anything else is HTTP/1.1 for the admin API.
 */
async function listen(config: BrokerConfig, broker: Broker, clock: Clock, metrics: BrokerMetrics, log: LogFn) {
  const auth = new Authenticator(config.auth ?? { enabled: false, accounts: [] }, clock);
  const limits: ConnectionLimits = { ...defaultConnectionLimits, ...config.connections };
  const tlsCredentials = await loadOrCreateCertificate(config, limits, log);
  const audit = auditSinks(config, clock, metrics, log);
  applyGrpcServerPatches();
  const grpcServer = new grpc.Server({
    'grpc.max_receive_message_length': 130 * 1024 * 1024,
    'grpc.max_send_message_length': 130 * 1024 * 1024,
    'grpc.max_connection_idle_ms': limits.idleTimeoutMs,
    'grpc.keepalive_time_ms': limits.keepaliveMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    // channelz (grpc-js's per-call and per-socket introspection) is served by nothing here; off, it costs nothing.
    'grpc.enable_channelz': 0,
  });
  let boundPort = config.port;
  const service = createMessagingService({
    broker,
    clock,
    metrics,
    brokerName: config.brokerName,
    peers: config.peers,
    advertise: config.advertise,
    listenAddress: () => ({ host: config.host, port: boundPort }),
    auth,
    onDenied: audit.grpc,
    longPollingMinMs: config.longPollingMinMs,
  });
  grpcServer.addService(service.definition, service.implementation);
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const tlsInjector = grpcServer.createConnectionInjector(tlsCredentials);
  const adminHandler = createAdminHandler({
    broker,
    metrics,
    startedWallMs: Date.now(),
    auth,
    onAdminOperation: audit.admin,
  });
  const viewPort = config.shardAdminViewPort;
  const httpServer = http.createServer(viewPort === undefined ? adminHandler : adminViewProxy(config.host, viewPort));
  const gate = new ConnectionGate(limits, log, () => clock.monotonicMs(), metrics.registry);
  gate.watchHttp(httpServer);
  const tcp = net.createServer((socket) => {
    gate.admit(socket, (kind) => {
      if (kind === 'grpc-tls') tlsInjector.injectConnection(socket);
      else if (kind === 'grpc') injector.injectConnection(socket);
      else httpServer.emit('connection', socket);
    });
  });
  tcp.on('error', (err) => log('error', 'listener error', { error: String(err) }));
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(config.port, config.host, () => resolve());
  });
  boundPort = (tcp.address() as net.AddressInfo).port;
  const adminServer = await listenAdminPort(config, limits, adminHandler);
  return {
    port: boundPort,
    adminPort: adminServer ? (adminServer.address() as net.AddressInfo).port : undefined,
    async close() {
      tcp.close();
      // End telemetry streams first: clients see a clean end instead of a dropped connection.
      for (const session of broker.clients.all()) for (const stream of session.streams) stream.end();
      adminServer?.close();
      injector.drain(1000);
      tlsInjector.drain(1000);
      await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      injector.destroy();
      tlsInjector.destroy();
      for (const s of gate.sockets) s.destroy();
      httpServer.close();
    },
  };
}

/** The audit log and the refusal counter, for admin operations and refused gRPC calls. */
function auditSinks(config: BrokerConfig, clock: Clock, metrics: BrokerMetrics, log: LogFn) {
  const auditLog = new AuditLog(path.join(config.dataDir, 'audit.ndjson'), clock, log, config.auditLinesPerSecondMax);
  const denied = new Counter({
    name: 'mqdrill_requests_denied_total',
    help: 'Requests refused with UNAUTHORIZED or FORBIDDEN, admin or gRPC',
    labelNames: ['kind', 'code'],
    registers: [metrics.registry],
  });
  return {
    admin(op: AdminOperation): void {
      if (op.status === 401 || op.status === 403) denied.inc({ kind: 'admin', code: String(op.status) });
      if (auditLog.write({ kind: 'admin', ...op })) log('info', 'admin', { ...op } as Record<string, unknown>);
    },
    grpc(refusal: DeniedRequest): void {
      denied.inc({ kind: 'grpc', code: refusal.code });
      if (auditLog.write({ kind: 'grpc', ...refusal })) log('warn', 'denied', { ...refusal });
    },
  };
}

/** The optional admin-only port: a listening http.Server, so Node's own header and request timeouts apply. */
async function listenAdminPort(
  config: BrokerConfig,
  limits: ConnectionLimits,
  handler: http.RequestListener,
): Promise<http.Server | undefined> {
  if (config.adminPort === undefined || config.adminPort < 0) return undefined;
  const server = http.createServer(handler);
  server.headersTimeout = Math.min(limits.handshakeTimeoutMs, limits.adminRequestTimeoutMs);
  server.requestTimeout = limits.adminRequestTimeoutMs;
  server.maxConnections = limits.max;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.adminPort, config.host, () => resolve());
  });
  return server;
}

/** The configured certificate, or a self-signed one made on first start and reused afterwards. */
async function loadOrCreateCertificate(
  config: BrokerConfig,
  limits: ConnectionLimits,
  log: LogFn,
): Promise<grpc.ServerCredentials> {
  let certFile = config.tls?.certFile;
  let keyFile = config.tls?.keyFile;
  if (!certFile || !keyFile) {
    const dir = path.join(config.dataDir, 'tls');
    certFile = path.join(dir, 'cert.pem');
    keyFile = path.join(dir, 'key.pem');
    if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) {
      const { generate } = await import('selfsigned');
      const pems = await generate([{ name: 'commonName', value: 'mqdrill-broker' }], {
        keyType: 'ec',
        notAfterDate: new Date(Date.now() + 3650 * 86_400_000),
        algorithm: 'sha256',
        extensions: [
          {
            name: 'subjectAltName',
            altNames: [
              { type: 2, value: 'localhost' },
              { type: 7, ip: '127.0.0.1' },
            ],
          },
        ],
      });
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(keyFile, pems.private, { mode: 0o600 });
      fs.writeFileSync(certFile, pems.cert);
      log('info', 'generated a self-signed TLS certificate', { certFile });
    }
  }
  const cert = fs.readFileSync(certFile);
  const key = fs.readFileSync(keyFile);
  const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
  // grpc-js passes its credentials' constructor options to the TLS server it makes (http2.createSecureServer); it
  // has no option of its own for the handshake deadline, so it is set there (Node's default is 120 s).
  const serverOptions = (
    credentials as unknown as { _getConstructorOptions?(): Record<string, unknown> | null }
  )._getConstructorOptions?.();
  if (!serverOptions) throw new Error('grpc-js internals changed: TLS server options not found');
  serverOptions.handshakeTimeout = limits.handshakeTimeoutMs;
  return credentials;
}
