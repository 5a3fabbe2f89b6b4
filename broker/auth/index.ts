import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { DeniedError } from '../errors.ts';

export type Action = 'pub' | 'sub';

export interface Account {
  accessKey: string;
  secretKey: string;
  /** May use the admin API (control plane). */
  admin?: boolean;
  /** Grants: resource is `topic:<name>`, `group:<name>`, or `topic:*` / `group:*`. */
  allow: Array<{ resource: string; actions: Action[] }>;
}

export interface AuthConfig {
  enabled: boolean;
  accounts: Account[];
  /**
   * How far the signed x-mq-date-time may be from the broker's clock, either way (default 15 minutes). The signature
   * covers only that date, so without this window a header captured once (plaintext gRPC) would be a bearer token
   * forever; with it, a captured header expires with its window.
   */
  signatureWindowMs?: number;
  /**
   * UTC offsets, in minutes, at which clients format their signed date. The Java and Go clients write their local
   * time followed by a literal Z; the date is accepted when it is fresh read as UTC, as the broker's own local time,
   * or at one of these offsets (e.g. [540] for clients running in UTC+9 while the broker runs elsewhere).
   */
  clientUtcOffsetsMinutes?: number[];
}

export const defaultSignatureWindowMs = 15 * 60_000;

const deny = (
  code: 'UNAUTHORIZED' | 'FORBIDDEN',
  message: string,
  accessKey: string | undefined,
  resource: string,
): never => {
  throw new DeniedError(code, message, accessKey, resource);
};

/** Reads a metadata value from grpc-js Metadata or a plain header map. */
export type HeaderReader = (name: string) => string | undefined;

/**
 * Access keys as the RocketMQ 5 proxy checks them (the official clients sign in Java `rpc/Signature.java`, Go
 * `client.go`, Node.js `BaseClient.ts`, apache/rocketmq-clients):
 * `authorization: MQv2-HMAC-SHA1 Credential=<AK>[/...],
 * SignedHeaders=x-mq-date-time, Signature=<hex>` where the signature is HMAC-SHA1(secretKey, x-mq-date-time). Java and
 * Go send their local time with a literal Z, so the freshness check (which RocketMQ does not make) reads the date as
 * UTC, as the broker's local time and at the configured client offsets. Each failure names the key and, for
 * permissions, the resource, and is a DeniedError so the caller can audit it.
 */
export class Authenticator {
  private readonly accounts = new Map<string, Account>();
  readonly signatureWindowMs: number;

  constructor(
    readonly config: AuthConfig,
    private readonly clock: Clock = systemClock,
  ) {
    for (const a of config.accounts) this.accounts.set(a.accessKey, a);
    this.signatureWindowMs = config.signatureWindowMs ?? defaultSignatureWindowMs;
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Returns the caller's account, or undefined when auth is off (anonymous access). */
  authenticate(header: HeaderReader): Account | undefined {
    if (!this.config.enabled) return undefined;
    const authorization = header('authorization');
    if (!authorization) {
      return deny('UNAUTHORIZED', 'authorization header is required: this broker has auth enabled', undefined, 'auth');
    }
    const { accessKey, signature } = parseAuthorization(authorization);
    const account = this.accounts.get(accessKey);
    if (!account) return deny('UNAUTHORIZED', `access key "${accessKey}" is unknown`, accessKey, 'auth');
    const dateTime = header('x-mq-date-time') ?? '';
    const expected = createHmac('sha1', account.secretKey).update(dateTime, 'utf8').digest();
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      const message = `signature check failed for access key "${accessKey}" (wrong secret key?)`;
      return deny('UNAUTHORIZED', message, accessKey, 'auth');
    }
    this.checkFreshness(accessKey, dateTime);
    return account;
  }

  /** Refuses a signed date outside the window (checked after the signature, so the date is the client's own). */
  private checkFreshness(accessKey: string, dateTime: string): void {
    const nowMs = this.clock.wallMs();
    const readings = signedDateReadings(dateTime, this.config.clientUtcOffsetsMinutes ?? []);
    if (readings.length === 0) {
      const message = `x-mq-date-time "${dateTime.slice(0, 32)}" is not a date of the form yyyyMMddTHHmmssZ`;
      deny('UNAUTHORIZED', message, accessKey, 'auth');
    }
    const skewMs = Math.min(...readings.map((ms) => Math.abs(ms - nowMs)));
    if (skewMs <= this.signatureWindowMs) return;
    deny(
      'UNAUTHORIZED',
      `signed date ${dateTime} of access key "${accessKey}" is ${Math.round(skewMs / 60_000)} min from the broker's ` +
        `clock; at most ${this.signatureWindowMs / 60_000} min is accepted (check the client's clock and time zone, ` +
        'or auth.signatureWindowMs / auth.clientUtcOffsetsMinutes)',
      accessKey,
      'auth',
    );
  }

  /** Throws FORBIDDEN unless the account may do `action` on `resource` (`topic:orders`, `group:billing`). */
  authorize(account: Account | undefined, resource: string, action: Action): void {
    if (!this.config.enabled || !account) return;
    const [kind] = resource.split(':');
    const ok = account.allow.some(
      (g) => (g.resource === resource || g.resource === `${kind}:*`) && g.actions.includes(action),
    );
    if (!ok) {
      const message = `access key "${account.accessKey}" has no ${action} permission on ${resource}`;
      deny('FORBIDDEN', message, account.accessKey, resource);
    }
  }

  /** Admin API: HTTP Basic with access key and secret key of an admin account. */
  authenticateAdmin(authorization: string | undefined, resource = 'admin'): Account | undefined {
    if (!this.config.enabled) return undefined;
    const m = /^Basic\s+(.+)$/i.exec(authorization ?? '');
    if (!m) {
      return deny(
        'UNAUTHORIZED',
        'admin API needs HTTP Basic auth with an access key and secret key',
        undefined,
        resource,
      );
    }
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const accessKey = colon < 0 ? decoded : decoded.slice(0, colon);
    const secretKey = colon < 0 ? '' : decoded.slice(colon + 1);
    const account = this.accounts.get(accessKey);
    if (!account || !sameSecret(account.secretKey, secretKey)) {
      return deny('UNAUTHORIZED', `access key "${accessKey}" or its secret is wrong`, accessKey, resource);
    }
    if (!account.admin)
      return deny('FORBIDDEN', `access key "${accessKey}" is not an admin account`, accessKey, resource);
    return account;
  }
}

/** Constant-time comparison of two secrets (lengths may differ). */
function sameSecret(expected: string, given: string): boolean {
  const a = createHmac('sha256', 'admin').update(expected).digest();
  const b = createHmac('sha256', 'admin').update(given).digest();
  return timingSafeEqual(a, b);
}

/**
 * The instants a signed date may stand for: the clients write yyyyMMddTHHmmssZ, in UTC (nodejs) or in their local
 * time with a literal Z (Java, Go). Read as UTC, as the broker's local time and at each configured offset.
 */
export function signedDateReadings(dateTime: string, offsetsMinutes: number[]): number[] {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(dateTime);
  if (!m) return [];
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return [];
  const utcMs = Date.UTC(y, mo - 1, d, h, mi, s);
  const localMs = new Date(y, mo - 1, d, h, mi, s).getTime();
  return [utcMs, localMs, ...offsetsMinutes.map((off) => utcMs - off * 60_000)];
}

export function parseAuthorization(value: string): { accessKey: string; signature: string } {
  const space = value.indexOf(' ');
  if (space < 0 || !value.slice(0, space).startsWith('MQv2-HMAC-SHA1')) {
    return deny('UNAUTHORIZED', 'authorization header must start with MQv2-HMAC-SHA1', undefined, 'auth');
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKey = (fields.get('Credential') ?? '').split('/')[0] ?? '';
  const signature = fields.get('Signature') ?? '';
  if (!accessKey || !/^[0-9a-fA-F]+$/.test(signature)) {
    return deny(
      'UNAUTHORIZED',
      'authorization header lacks Credential or a hex Signature',
      accessKey || undefined,
      'auth',
    );
  }
  return { accessKey, signature };
}

export function validateAuthConfig(value: unknown): string[] {
  const errors: string[] = [];
  const v = value as Partial<AuthConfig>;
  if (typeof v !== 'object' || v === null) return ['auth: must be an object {enabled, accounts}'];
  if (typeof v.enabled !== 'boolean') errors.push('auth.enabled: must be true or false');
  if (v.signatureWindowMs !== undefined && !(Number.isInteger(v.signatureWindowMs) && v.signatureWindowMs > 0)) {
    errors.push('auth.signatureWindowMs: must be a positive whole number of milliseconds (default 900000)');
  }
  const offsets = v.clientUtcOffsetsMinutes;
  if (
    offsets !== undefined &&
    !(Array.isArray(offsets) && offsets.every((o) => Number.isInteger(o) && Math.abs(o) <= 840))
  ) {
    errors.push('auth.clientUtcOffsetsMinutes: must be a list of whole minutes from -840 to 840');
  }
  if (!Array.isArray(v.accounts)) return [...errors, 'auth.accounts: must be a list'];
  v.accounts.forEach((a, i) => {
    if (!a?.accessKey || !a?.secretKey) errors.push(`auth.accounts[${i}]: accessKey and secretKey are required`);
    if (!Array.isArray(a?.allow)) errors.push(`auth.accounts[${i}].allow: must be a list of {resource, actions}`);
    for (const [j, g] of (a?.allow ?? []).entries()) {
      if (!/^(topic|group):/.test(g?.resource ?? ''))
        errors.push(`auth.accounts[${i}].allow[${j}].resource: topic:<name> or group:<name>`);
      if (!Array.isArray(g?.actions) || g.actions.some((x) => x !== 'pub' && x !== 'sub')) {
        errors.push(`auth.accounts[${i}].allow[${j}].actions: a list of "pub" and "sub"`);
      }
    }
  });
  return errors;
}
