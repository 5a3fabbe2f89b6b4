import net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../lib/clock.ts';
import type { Account, Action, Authenticator } from '../auth/index.ts';
import type { Broker, Delivered } from '../broker.ts';
import type { ClientType } from '../clients.ts';
import { longPollTimeMs } from '../delivery/long-poll.ts';
import { DeniedError, fail } from '../errors.ts';
import { isSystemTopic, limits, systemTopicKind, validateGroupName, validateTopicName } from '../limits.ts';
import type { TopicConfig } from '../metadata.ts';
import type { BrokerMetrics } from '../metrics/index.ts';
import { isMalformed, MALFORMED, type Malformed, tolerantServiceDefinition } from './codec.ts';
import { durationToMs, msToTimestamp, statusOf, toDeliveredMessage, toStoredMessage } from './convert.ts';
import type {
  AckMessageRequest__Output,
  AckMessageResponse,
  AckMessageResultEntry,
  BrokerInfo,
  ChangeInvisibleDurationRequest__Output,
  ChangeInvisibleDurationResponse,
  Endpoints,
  Endpoints__Output,
  EndTransactionRequest__Output,
  EndTransactionResponse,
  ForwardMessageToDeadLetterQueueRequest__Output,
  ForwardMessageToDeadLetterQueueResponse,
  HeartbeatRequest__Output,
  HeartbeatResponse,
  Message__Output,
  MessageQueue,
  NotifyClientTerminationRequest__Output,
  NotifyClientTerminationResponse,
  QueryAssignmentRequest__Output,
  QueryAssignmentResponse,
  QueryRouteRequest__Output,
  QueryRouteResponse,
  ReceiveMessageRequest__Output,
  ReceiveMessageResponse,
  Resource__Output,
  SendMessageRequest__Output,
  SendMessageResponse,
  SendResultEntry,
  Settings__Output,
  Status,
  TelemetryCommand,
  TelemetryCommand__Output,
} from './messages.ts';
import { mergeSettings } from './settings.ts';

export interface ProtocolOptions {
  broker: Broker;
  clock: Clock;
  brokerName: string;
  /** Other broker nodes of a bundled cluster: routes list every node's queues (each node has its own 0..N-1). */
  peers?: Array<{ name: string; endpoint: string }>;
  /** host:port put in routes; when absent, the address the client used (so a TCP proxy stays in the path). */
  advertise?: string;
  /** The listen address, used when a request names no endpoints. */
  listenAddress: () => { host: string; port: number };
  metrics?: BrokerMetrics;
  /** Access keys and permissions; absent or disabled means anonymous access. */
  auth?: Authenticator;
  /** Told about every refused request (UNAUTHORIZED, FORBIDDEN): the audit log. */
  onDenied?: (denied: DeniedRequest) => void;
  /** The proxy's minimum long poll (default 5000); 0 accepts any poll time. See longPollTimeMs. */
  longPollingMinMs?: number;
}

export interface DeniedRequest {
  rpc: string;
  code: string;
  accessKey?: string;
  resource: string;
  reason: string;
  remote: string;
  clientId?: string;
}

const ok = { code: 'OK', message: 'OK' } as const;
/** A unary RPC's handler: the decoded request (never malformed here), its call, the authenticated account. */
type UnaryHandler<Req, Res> = (
  req: Req,
  call: grpc.ServerUnaryCall<Req | Malformed, Res>,
  account: Account | undefined,
) => Promise<Res> | Res;
/** Every reply of the service carries a status (and only optional fields, so `{status}` alone is a valid reply). */
type Reply = { status?: Status | null };

type Unary = <Req, Res extends Reply>(
  name: string,
  fn: UnaryHandler<Req, Res>,
) => grpc.handleUnaryCall<Req | Malformed, Res>;
type ReceiveCall = grpc.ServerWritableStream<ReceiveMessageRequest__Output | Malformed, ReceiveMessageResponse>;
type TelemetryCall = grpc.ServerDuplexStream<TelemetryCommand__Output | Malformed, TelemetryCommand>;
type Handlers = grpc.UntypedServiceImplementation;

/** gRPC MessagingService handlers: thin translation between proto objects and the Broker core. */
export function createMessagingService(opts: ProtocolOptions): {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
} {
  const storeHost = () => `${opts.listenAddress().host}:${opts.listenAddress().port}`;
  opts.broker.onTransactionCheck = (stream, message, transactionId) => {
    const delivered = toDeliveredMessage(message, { namespace: '', storeHost: storeHost() });
    stream.write({ recoverOrphanedTransactionCommand: { message: delivered, transactionId } });
  };
  const unary = unaryWrapper(opts);
  const implementation: Handlers = {
    ...routeHandlers(opts, unary),
    ...producerHandlers(opts, unary),
    ...consumerHandlers(opts, unary),
    ReceiveMessage: (call: ReceiveCall) => receiveMessage(opts, call),
    Telemetry: (call: TelemetryCall) => telemetry(opts, call),
  };
  return { definition: tolerantServiceDefinition() as grpc.ServiceDefinition, implementation };
}

/** Every unary RPC: authenticate, reject malformed requests in-band, time it, and turn errors into a Status. */
function unaryWrapper(opts: ProtocolOptions): Unary {
  return <Req, Res extends Reply>(name: string, fn: UnaryHandler<Req, Res>) =>
    (call: grpc.ServerUnaryCall<Req | Malformed, Res>, callback: grpc.sendUnaryData<Res>) => {
      const t0 = performance.now();
      const finish = (res: Res) => {
        opts.metrics?.rpcLatency.observe(
          { protocol_type: 'grpc', request_code: name, response_code: res?.status?.code ?? 'OK' },
          performance.now() - t0,
        );
        callback(null, res);
      };
      const refuse = (err: unknown) => {
        reportDenied(opts, name, call, err);
        // A reply with only its status: every field of a generated reply type is optional.
        finish({ status: statusOf(err) } as Res);
      };
      try {
        const account = authenticateClient(opts, call);
        if (isMalformed(call.request)) {
          fail('MESSAGE_CORRUPTED', `malformed ${name} request: ${call.request[MALFORMED].message}`);
        }
        Promise.resolve(fn(call.request as Req, call, account)).then(finish, refuse);
      } catch (err) {
        refuse(err);
      }
    };
}

/** Audits a refusal (UNAUTHORIZED, FORBIDDEN) with key, resource and reason; other errors are not denials. */
function reportDenied(
  opts: ProtocolOptions,
  rpc: string,
  call: { metadata: grpc.Metadata; getPeer(): string },
  err: unknown,
) {
  if (!(err instanceof DeniedError) || !opts.onDenied) return;
  const clientId = call.metadata.get('x-mq-client-id')[0];
  opts.onDenied({
    rpc,
    code: err.code,
    accessKey: err.accessKey,
    resource: err.resource,
    reason: err.message,
    remote: call.getPeer(),
    clientId: typeof clientId === 'string' ? clientId.slice(0, 256) : undefined,
  });
}

const authz = (opts: ProtocolOptions, account: Account | undefined, resource: string, action: Action) =>
  opts.auth?.authorize(account, resource, action);

const queueOf = (
  topicRes: Resource__Output | undefined,
  id: number,
  broker: BrokerInfo,
  types?: AcceptedType[],
): MessageQueue => ({
  topic: topicRes,
  id,
  permission: 'READ_WRITE',
  broker,
  ...(types ? { acceptMessageTypes: types } : {}),
});

function endpointsFor(opts: ProtocolOptions, req: { endpoints?: Endpoints__Output }): Endpoints {
  if (opts.advertise) return endpointsOf(opts.advertise);
  const endpoints = req.endpoints;
  const first = endpoints?.addresses?.[0];
  if (endpoints && first?.host) return { scheme: endpoints.scheme ?? schemeOf(first.host), addresses: [first] };
  const { host, port } = opts.listenAddress();
  return { scheme: schemeOf(host), addresses: [{ host, port }] };
}

/** This node (at the address the client used) and its peers, in name order so every node lists them alike. */
function brokersFor(opts: ProtocolOptions, req: { endpoints?: Endpoints__Output }): BrokerInfo[] {
  const brokers: Array<BrokerInfo & { name: string }> = [
    { name: opts.brokerName, id: 0, endpoints: endpointsFor(opts, req) },
    ...(opts.peers ?? []).map((p) => ({ name: p.name, id: 0, endpoints: endpointsOf(p.endpoint) })),
  ];
  return brokers.sort((a, b) => a.name.localeCompare(b.name));
}

function routeHandlers(opts: ProtocolOptions, unary: Unary): Handlers {
  const { broker } = opts;
  return {
    QueryRoute: unary<QueryRouteRequest__Output, QueryRouteResponse>('QueryRoute', (req, _call, account) => {
      const topic = broker.requireTopic(validateTopicName(req.topic?.name));
      authorizeEither(opts, account, `topic:${topic.name}`);
      const types = acceptTypes(topic);
      const queues = brokersFor(opts, req).flatMap((b) =>
        Array.from({ length: topic.queues }, (_, id) => queueOf(req.topic, id, b, types)),
      );
      return { status: ok, messageQueues: queues };
    }),
    QueryAssignment: unary<QueryAssignmentRequest__Output, QueryAssignmentResponse>(
      'QueryAssignment',
      (req, _call, account) => {
        const topic = broker.requireTopic(validateTopicName(req.topic?.name));
        const group = broker.requireGroup(validateGroupName(req.group?.name));
        authz(opts, account, `topic:${topic.name}`, 'sub');
        authz(opts, account, `group:${group.name}`, 'sub');
        const ids = group.fifo ? Array.from({ length: topic.queues }, (_, i) => i) : [-1];
        const assignments = brokersFor(opts, req).flatMap((b) =>
          ids.map((id) => ({ messageQueue: queueOf(req.topic, id, b) })),
        );
        return { status: ok, assignments };
      },
    ),
    Heartbeat: unary<HeartbeatRequest__Output, HeartbeatResponse>('Heartbeat', (req, call, account) => {
      if (req.group?.name) authz(opts, account, `group:${validateGroupName(req.group.name)}`, 'sub');
      const session = broker.clients.touch(clientIdOf(call), opts.clock.monotonicMs());
      if (req.clientType && req.clientType !== 'CLIENT_TYPE_UNSPECIFIED')
        session.clientType = clientTypeOf(req.clientType);
      if (req.group?.name) session.group = req.group.name;
      return { status: ok };
    }),
    NotifyClientTermination: unary<NotifyClientTerminationRequest__Output, NotifyClientTerminationResponse>(
      'NotifyClientTermination',
      (req, call, account) => {
        // The client id is the caller's own (bound to its key by authenticateClient); the group, if named, is checked.
        if (req.group?.name) authz(opts, account, `group:${validateGroupName(req.group.name)}`, 'sub');
        const clientId = clientIdOf(call);
        broker.releaseClient(clientId);
        // End the client's telemetry streams from our side: the clients close their channel right after this call,
        // and a stream still open then surfaces in the client as an unhandled "Connection dropped".
        for (const stream of broker.clients.get(clientId)?.streams ?? []) stream.end();
        broker.clients.remove(clientId);
        return { status: ok };
      },
    ),
  };
}

function producerHandlers(opts: ProtocolOptions, unary: Unary): Handlers {
  const { broker } = opts;
  return {
    SendMessage: unary<SendMessageRequest__Output, SendMessageResponse>('SendMessage', (req, call, account) => {
      for (const m of req.messages ?? []) {
        authz(opts, account, `topic:${m?.topic?.name}`, 'pub');
        refuseSystemTopicSend(String(m?.topic?.name ?? ''), account);
      }
      return sendMessage(broker, opts.clock, req, call);
    }),
    EndTransaction: unary<EndTransactionRequest__Output, EndTransactionResponse>(
      'EndTransaction',
      async (req, _call, account) => {
        const topic = validateTopicName(req.topic?.name);
        authz(opts, account, `topic:${topic}`, 'pub');
        const transactionId: string = req.transactionId ?? '';
        if (transactionId.trim() === '') fail('INVALID_TRANSACTION_ID', 'transaction id is blank');
        const resolution = req.resolution === 'COMMIT' || req.resolution === 'ROLLBACK' ? req.resolution : 'UNKNOWN';
        await broker.endTransaction(topic, req.messageId || transactionId, resolution);
        return { status: ok };
      },
    ),
  };
}

function consumerHandlers(opts: ProtocolOptions, unary: Unary): Handlers {
  const { broker } = opts;
  const groupTopicOf = (req: { group?: Resource__Output; topic?: Resource__Output }, account: Account | undefined) => {
    const group = validateGroupName(req.group?.name);
    const topic = validateTopicName(req.topic?.name);
    authz(opts, account, `topic:${topic}`, 'sub');
    authz(opts, account, `group:${group}`, 'sub');
    return { group, topic };
  };
  return {
    AckMessage: unary<AckMessageRequest__Output, AckMessageResponse>('AckMessage', (req, _call, account) => {
      const { group, topic } = groupTopicOf(req, account);
      const entries = (req.entries ?? []).map((e): AckMessageResultEntry & { status: StatusOf } => {
        try {
          broker.ack(group, topic, e.receiptHandle ?? '');
          return { messageId: e.messageId, receiptHandle: e.receiptHandle, status: ok };
        } catch (err) {
          return { messageId: e.messageId, receiptHandle: e.receiptHandle, status: statusOf(err) };
        }
      });
      if (entries.length === 0) fail('BAD_REQUEST', 'ack request has no entries');
      return { status: commonStatus(entries), entries };
    }),
    ChangeInvisibleDuration: unary<ChangeInvisibleDurationRequest__Output, ChangeInvisibleDurationResponse>(
      'ChangeInvisibleDuration',
      (req, _call, account) => {
        const { group, topic } = groupTopicOf(req, account);
        const invisibleMs = durationToMs(req.invisibleDuration);
        if (invisibleMs === undefined) fail('ILLEGAL_INVISIBLE_TIME', 'invisible_duration is missing');
        const handle = broker.changeInvisibleDuration(group, topic, req.receiptHandle ?? '', invisibleMs as number);
        return { status: ok, receiptHandle: handle };
      },
    ),
    ForwardMessageToDeadLetterQueue: unary<
      ForwardMessageToDeadLetterQueueRequest__Output,
      ForwardMessageToDeadLetterQueueResponse
    >('ForwardMessageToDeadLetterQueue', async (req, _call, account) => {
      const { group, topic } = groupTopicOf(req, account);
      await broker.forwardToDlq(group, topic, req.receiptHandle ?? '');
      return { status: ok };
    }),
  };
}

/** Direct sends to a system topic (%DLQ%..., %RETRY%..., %SYS_TIMER%, %SYS_HALF%) are refused, as RocketMQ does. */
function refuseSystemTopicSend(topic: string, account: Account | undefined): void {
  if (!isSystemTopic(topic)) return;
  throw new DeniedError(
    'FORBIDDEN',
    `Sending message to topic ${topic} is forbidden: it is a system topic (${systemTopicKind(topic)}) that only the ` +
      'broker writes; send to an ordinary topic',
    account?.accessKey,
    `topic:${topic}`,
  );
}

function stringHeader(call: { metadata: grpc.Metadata }, name: string): string | undefined {
  const v = call.metadata.get(name)[0];
  return typeof v === 'string' ? v : undefined;
}

function clientIdOf(call: { metadata: grpc.Metadata }): string {
  const id = call.metadata.get('x-mq-client-id')[0];
  if (typeof id !== 'string' || id === '') return fail('CLIENT_ID_REQUIRED', 'x-mq-client-id header is required');
  return checkClientIdLength(id);
}

function checkClientIdLength(id: string): string {
  if (id.length <= limits.clientIdLengthMax) return id;
  return fail('BAD_REQUEST', `x-mq-client-id has ${id.length} characters; at most ${limits.clientIdLengthMax}`);
}

function namespaceOf(call: { metadata: grpc.Metadata }, res?: Resource__Output | null): string {
  return res?.resourceNamespace ?? String(call.metadata.get('x-mq-namespace')[0] ?? '');
}

function schemeOf(host: string): 'IPv4' | 'IPv6' | 'DOMAIN_NAME' {
  return net.isIPv4(host) ? 'IPv4' : net.isIPv6(host) ? 'IPv6' : 'DOMAIN_NAME';
}

export function endpointsOf(hostPort: string): Endpoints {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  return { scheme: schemeOf(host), addresses: [{ host, port: Number(hostPort.slice(i + 1)) }] };
}

type AcceptedType = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION';

function acceptTypes(topic: TopicConfig): AcceptedType[] {
  return topic.type === 'MIXED' ? ['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION'] : [topic.type];
}

type StatusOf = ReturnType<typeof statusOf> | typeof ok;

function commonStatus(entries: Array<{ status: StatusOf }>): Status {
  const first = entries[0]?.status ?? ok;
  return entries.every((e) => e.status.code === first.code) ? first : { code: 'MULTIPLE_RESULTS', message: 'mixed' };
}

async function sendMessage(
  broker: Broker,
  clock: Clock,
  req: SendMessageRequest__Output,
  call: { metadata: grpc.Metadata },
): Promise<SendMessageResponse> {
  const clientId = clientIdOf(call);
  const messages: Message__Output[] = req.messages ?? [];
  if (messages.length === 0) fail('MESSAGE_CORRUPTED', 'send request carries no message');
  const entries = await Promise.all(
    messages.map(async (m): Promise<SendResultEntry & { status: StatusOf }> => {
      try {
        const input = toStoredMessage(m, clock.wallMs());
        const r = await broker.send({ ...input, clientId });
        return { status: ok, messageId: r.messageId, transactionId: r.messageId, offset: r.queueOffset };
      } catch (err) {
        return { status: statusOf(err), messageId: m?.systemProperties?.messageId ?? '', offset: 0 };
      }
    }),
  );
  return { status: commonStatus(entries), entries };
}

async function receiveMessage(opts: ProtocolOptions, call: ReceiveCall): Promise<void> {
  const { broker, clock } = opts;
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort());
  const end = (status: Status, delivered: Delivered[] = [], req?: ReceiveMessageRequest__Output) => {
    if (abort.signal.aborted) return releaseUnsent(opts, req, delivered);
    call.write({ status });
    const storeHost = `${opts.listenAddress().host}:${opts.listenAddress().port}`;
    for (const d of delivered) {
      const message = toDeliveredMessage(d.message, {
        receiptHandle: d.receiptHandle,
        attempt: d.attempt,
        namespace: namespaceOf(call, req?.group),
        storeHost,
      });
      call.write({ message });
    }
    call.write({ deliveryTimestamp: msToTimestamp(clock.wallMs()) });
    call.end();
  };
  const t0 = performance.now();
  let code = 'OK';
  try {
    const req = call.request;
    if (isMalformed(req)) {
      return fail('MESSAGE_CORRUPTED', `malformed ReceiveMessage request: ${req[MALFORMED].message}`);
    }
    const account = authenticateClient(opts, call);
    const input = receiveInputOf(opts, call, req);
    opts.auth?.authorize(account, `topic:${input.topic}`, 'sub');
    opts.auth?.authorize(account, `group:${input.group}`, 'sub');
    input.pollMs = pollTimeOf(opts, call, req);
    const delivered = await broker.receive(input, abort.signal);
    code = delivered.length ? 'OK' : 'MESSAGE_NOT_FOUND';
    end(delivered.length ? ok : { code: 'MESSAGE_NOT_FOUND', message: 'no new message' }, delivered, req);
  } catch (err) {
    reportDenied(opts, 'ReceiveMessage', call, err);
    const status = statusOf(err);
    code = status.code;
    end(status);
  } finally {
    opts.metrics?.rpcLatency.observe(
      { protocol_type: 'grpc', request_code: 'ReceiveMessage', response_code: code },
      performance.now() - t0,
    );
  }
}

function receiveInputOf(opts: ProtocolOptions, call: ReceiveCall, req: ReceiveMessageRequest__Output) {
  const clientId = clientIdOf(call);
  const group = validateGroupName(req.group?.name);
  const topic = validateTopicName(req.messageQueue?.topic?.name);
  const autoRenew = req.autoRenew === true;
  let invisibleMs: number = limits.autoRenewInitialMs;
  if (!autoRenew) {
    const requested = durationToMs(req.invisibleDuration);
    if (
      requested === undefined ||
      requested < limits.invisibleDurationMsMin ||
      requested > limits.invisibleDurationMsMax
    ) {
      fail('ILLEGAL_INVISIBLE_TIME', `invisible duration ${requested ?? 'absent'}ms is outside 10s..12h`);
    }
    invisibleMs = requested as number;
  }
  const filterType = req.filterExpression?.type === 'SQL' ? 'SQL92' : 'TAG';
  broker_touch(opts, clientId);
  return {
    group,
    topic,
    clientId,
    batchSize: Number(req.batchSize ?? 0),
    invisibleMs,
    autoRenew,
    filter: { kind: filterType, expression: req.filterExpression?.expression ?? '*' } as const,
    pollMs: 0,
    attemptId: req.attemptId ?? undefined,
  };
}

/** The long-poll time this receive gets, checked against the caller's deadline as RocketMQ's proxy does. */
function pollTimeOf(opts: ProtocolOptions, call: ReceiveCall, req: ReceiveMessageRequest__Output): number {
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  return longPollTimeMs({
    requestedMs: durationToMs(req.longPollingTimeout),
    remainingMs: Number.isFinite(deadlineMs) && deadlineMs > 0 ? deadlineMs - Date.now() : Infinity,
    minMs: opts.longPollingMinMs ?? limits.longPollingMsMin,
    maxMs: limits.longPollingMsMax,
    clientVersion: stringHeader(call, 'x-mq-client-version'),
  });
}

function broker_touch(opts: ProtocolOptions, clientId: string): void {
  opts.broker.clients.touch(clientId, opts.clock.monotonicMs());
}

/** The client went away mid-receive: what it did not get becomes visible again after 1 s (as the proxy does). */
function releaseUnsent(
  opts: ProtocolOptions,
  req: ReceiveMessageRequest__Output | undefined,
  delivered: Delivered[],
): void {
  if (!req || delivered.length === 0) return;
  for (const d of delivered) {
    try {
      opts.broker.changeInvisibleDuration(
        req.group?.name ?? '',
        d.message.topic,
        d.receiptHandle,
        limits.releaseOnClientGoneMs,
      );
    } catch {
      // already acked or expired: nothing held
    }
  }
}

function telemetry(opts: ProtocolOptions, call: TelemetryCall): void {
  const { broker, clock } = opts;
  let clientId: string;
  let account: Account | undefined;
  try {
    account = authenticateClient(opts, call);
    clientId = clientIdOf(call);
  } catch (err) {
    reportDenied(opts, 'Telemetry', call, err);
    call.write({ status: statusOf(err) });
    call.end();
    return;
  }
  const session = broker.clients.touch(clientId, clock.monotonicMs());
  // The broker writes TelemetryCommand objects only (the check-back set up in createMessagingService).
  const stream = { write: (cmd: unknown) => call.write(cmd as TelemetryCommand), end: () => call.end() };
  session.streams.add(stream);
  const closed = () => {
    if (!session.streams.delete(stream)) return;
    if (session.streams.size === 0) broker.releaseClient(clientId);
  };
  call.on('data', (cmd: TelemetryCommand__Output | Malformed) => {
    if (isMalformed(cmd)) {
      call.write({
        status: { code: 'MESSAGE_CORRUPTED', message: `malformed telemetry command: ${cmd[MALFORMED].message}` },
      });
      return;
    }
    broker.clients.touch(clientId, clock.monotonicMs());
    if (!cmd.settings) return; // thread stack traces, verify results: nothing to do
    const settings = cmd.settings;
    session.settings = settings;
    if (settings.clientType) session.clientType = clientTypeOf(settings.clientType);
    const claims = permittedClaims(opts, account, settings, (err) => reportDenied(opts, 'Telemetry', call, err));
    if (claims.group) session.group = claims.group;
    session.topics = claims.topics;
    const group = claims.group ? broker.metadata.group(claims.group) : undefined;
    call.write({ status: ok, settings: mergeSettings(settings, group) });
  });
  call.on('end', () => {
    closed();
    call.end();
  });
  call.on('error', closed);
  call.on('cancelled', closed);
  call.on('close', closed);
}

/**
 * What a client's settings claim (its consumer group, the topics it publishes to) is recorded on its session only
 * where its key has the permission: the session's topics choose who gets transaction check-backs (which carry the
 * message), so a claim on another tenant's topic must not count. A refused claim is audited, and the client still
 * gets its settings: its sends and receives are then refused one by one with FORBIDDEN, as without the claim.
 */
function permittedClaims(
  opts: ProtocolOptions,
  account: Account | undefined,
  settings: Settings__Output,
  onDenied: (err: unknown) => void,
): { group?: string; topics: string[] } {
  const permitted = (resource: string, action: Action) => {
    try {
      authz(opts, account, resource, action);
      return true;
    } catch (err) {
      onDenied(err);
      return false;
    }
  };
  const groupName: string | undefined = settings.subscription?.group?.name || undefined;
  const topics = (settings.publishing?.topics ?? []).map((t) => String(t?.name ?? ''));
  return {
    group: groupName && permitted(`group:${groupName}`, 'sub') ? groupName : undefined,
    topics: topics.filter((t: string) => permitted(`topic:${t}`, 'pub')),
  };
}

/** The session's client type from the proto enum name (CLIENT_TYPE_UNSPECIFIED and unknown values: UNSPECIFIED). */
function clientTypeOf(type: string): ClientType {
  const known: readonly ClientType[] = ['PRODUCER', 'PUSH_CONSUMER', 'SIMPLE_CONSUMER', 'PULL_CONSUMER'];
  return (known as readonly string[]).includes(type) ? (type as ClientType) : 'UNSPECIFIED';
}

/**
 * Authenticates the caller and binds its client id to its access key: a client id belongs to the key that first
 * used it, so no tenant can heartbeat, terminate or receive as another tenant's client (which would release that
 * client's in-flight messages early or keep them invisible).
 */
function authenticateClient(opts: ProtocolOptions, call: { metadata: grpc.Metadata }): Account | undefined {
  if (!opts.auth?.enabled) return undefined;
  const account = opts.auth.authenticate((name) => {
    const v = call.metadata.get(name)[0];
    return v === undefined ? undefined : String(v);
  });
  const clientId = call.metadata.get('x-mq-client-id')[0];
  if (account && typeof clientId === 'string' && clientId !== '') {
    if (opts.broker.clients.claim(checkClientIdLength(clientId), account.accessKey) !== undefined) {
      throw new DeniedError(
        'FORBIDDEN',
        `client id "${clientId.slice(0, 128)}" belongs to another access key: a client id is bound to the key that ` +
          'first used it; give each client its own id',
        account.accessKey,
        `client:${clientId.slice(0, 128)}`,
      );
    }
  }
  return account;
}

/** QueryRoute serves producers and consumers alike: either permission on the topic will do. */
function authorizeEither(opts: ProtocolOptions, account: Account | undefined, resource: string): void {
  if (!opts.auth?.enabled) return;
  try {
    opts.auth.authorize(account, resource, 'pub');
  } catch {
    opts.auth.authorize(account, resource, 'sub');
  }
}
