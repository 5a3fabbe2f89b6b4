import type http from 'node:http';
import type net from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';

/** Connection hygiene on the shared gRPC/admin port (config key `connections`). */
export interface ConnectionLimits {
  /**
   * A new connection has this long to say what it is and finish its handshake: the whole HTTP/2 preface (plaintext
   * gRPC), the TLS handshake, or the first HTTP/1 request header (admin API). Slower ones are closed.
   */
  handshakeTimeoutMs: number;
  /** Open connections per process (all kinds); past it a new connection is closed at once, with a log line. */
  max: number;
  /** A gRPC connection with no call in progress for this long is closed with a GOAWAY (clients reconnect). */
  idleTimeoutMs: number;
  /** Server pings on gRPC connections this often; a peer that does not answer within keepaliveTimeoutMs is dropped. */
  keepaliveMs: number;
  keepaliveTimeoutMs: number;
  /** An admin HTTP request has this long from its first header byte to its answer (a slow body is cut off). */
  adminRequestTimeoutMs: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  handshakeTimeoutMs: 10_000,
  max: 10_000,
  idleTimeoutMs: 5 * 60_000,
  keepaliveMs: 2 * 60_000,
  keepaliveTimeoutMs: 20_000,
  adminRequestTimeoutMs: 30_000,
};

export function validateConnectionLimits(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return ['connections: must be an object (see README: connection limits)'];
  }
  const errors: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (!(key in defaultConnectionLimits)) {
      errors.push(`connections.${key}: unknown (known: ${Object.keys(defaultConnectionLimits).join(', ')})`);
    } else if (!(Number.isInteger(v) && (v as number) > 0)) {
      errors.push(`connections.${key}: must be a positive whole number`);
    }
  }
  return errors;
}

export type ConnectionKind = 'grpc' | 'grpc-tls' | 'http';
type LogFn = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** The HTTP/2 connection preface every plaintext gRPC connection starts with (RFC 9113 §3.4). */
const http2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const refusalLogEveryMs = 10_000;

/**
 * Admits connections to the shared port: counts them against the cap, tells their kind from the first bytes, and
 * holds each to its handshake deadline. The HTTP/2 preface is checked here in full before grpc-js sees the socket;
 * the TLS handshake deadline is Node's own (handshakeTimeout on the TLS server); HTTP/1 deadlines follow the admin
 * server's request and response events (it is never listen()ed, so Node's own header timeout checks never run).
 * Socket deadlines run on real timers, not the broker's injected clock: they bound real network waits, and a test
 * clock jumped forward must not cut connections.
 */
export class ConnectionGate {
  readonly sockets = new Set<net.Socket>();
  private refused = 0;
  private lastRefusalLogMs = Number.NEGATIVE_INFINITY;
  private readonly deadlines = new WeakMap<net.Socket, NodeJS.Timeout>();
  private readonly refusedTotal?: Counter;
  private readonly handshakeTimeouts?: Counter<'phase'>;

  constructor(
    readonly limits: ConnectionLimits,
    private readonly log: LogFn,
    private readonly nowMs: () => number = () => performance.now(),
    registry?: Registry,
  ) {
    if (!registry) return;
    const registers = [registry];
    this.refusedTotal = new Counter({
      name: 'mqdrill_connections_refused_total',
      help: 'Connections closed at once because connections.max were open',
      registers,
    });
    this.handshakeTimeouts = new Counter({
      name: 'mqdrill_connection_deadline_closed_total',
      help: 'Connections closed at their deadline: handshake (connections.handshakeTimeoutMs) or admin request',
      labelNames: ['phase'],
      registers,
    });
    const sockets = this.sockets;
    new Gauge({
      name: 'mqdrill_connections_open',
      help: 'Open connections on the shared gRPC/admin port',
      registers,
      collect() {
        this.set(sockets.size);
      },
    });
  }

  /** Handles a new TCP connection: refuse over the cap, else sniff and dispatch (or close at the deadline). */
  admit(socket: net.Socket, dispatch: (kind: ConnectionKind, socket: net.Socket) => void): void {
    if (this.sockets.size >= this.limits.max) {
      this.refuse(socket);
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.clearDeadline(socket);
    });
    socket.on('error', () => {}); // a reset peer; 'close' follows
    this.armDeadline(socket, 'handshake');
    sniff(socket, (head) => {
      if (head[0] === 0x16) {
        this.clearDeadline(socket); // from here Node's TLS handshakeTimeout holds it
        dispatch('grpc-tls', socket);
      } else if (head.subarray(0, http2Preface.length).equals(http2Preface)) {
        this.clearDeadline(socket); // from here grpc-js's idle and keepalive limits hold it
        dispatch('grpc', socket);
      } else dispatch('http', socket); // the admin API; anything else gets the HTTP parser's 400
    });
  }

  /** Deadlines for admin HTTP/1 connections on the shared port: request time, then the next request's header. */
  watchHttp(server: http.Server): void {
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = req.socket;
      if (!this.sockets.has(socket)) return; // the admin-only port: Node's own timeouts apply
      this.armDeadline(socket, 'request');
      res.on('finish', () => this.armDeadline(socket, 'handshake'));
    });
  }

  private armDeadline(socket: net.Socket, phase: 'handshake' | 'request'): void {
    this.clearDeadline(socket);
    const ms = phase === 'handshake' ? this.limits.handshakeTimeoutMs : this.limits.adminRequestTimeoutMs;
    const timer = setTimeout(() => {
      this.handshakeTimeouts?.inc({ phase });
      socket.destroy();
    }, ms);
    timer.unref();
    this.deadlines.set(socket, timer);
  }

  private clearDeadline(socket: net.Socket): void {
    const timer = this.deadlines.get(socket);
    if (timer) clearTimeout(timer);
    this.deadlines.delete(socket);
  }

  private refuse(socket: net.Socket): void {
    socket.on('error', () => {});
    socket.destroy();
    this.refused++;
    this.refusedTotal?.inc();
    const nowMs = this.nowMs();
    if (nowMs - this.lastRefusalLogMs < refusalLogEveryMs) return;
    this.lastRefusalLogMs = nowMs;
    this.log('warn', 'connection refused: the connection limit is reached', {
      open: this.sockets.size,
      limit: this.limits.max,
      refusedSinceLastLine: this.refused,
      remote: socket.remoteAddress,
      hint: 'raise connections.max in the broker config, or find the client that opens so many connections',
    });
    this.refused = 0;
  }
}

/**
 * Reads until the kind is known and, for plaintext HTTP/2, the whole 24-byte preface is in (a slicing proxy may
 * deliver one byte at a time), puts the bytes back and dispatches. The caller's deadline bounds the wait.
 */
function sniff(socket: net.Socket, dispatch: (head: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const onReadable = () => {
    for (let chunk: Buffer | null = socket.read(); chunk; chunk = socket.read()) {
      chunks.push(chunk);
      size += chunk.length;
    }
    if (size === 0) return;
    const head = Buffer.concat(chunks);
    // Wait only while the bytes so far are a proper start of the preface ("P" also starts POST, PUT, PATCH).
    if (size < http2Preface.length && head.equals(http2Preface.subarray(0, size))) return;
    socket.off('readable', onReadable);
    socket.unshift(head);
    dispatch(head);
  };
  socket.on('readable', onReadable);
}
