import { createHmac, timingSafeEqual } from 'node:crypto';
import { fail } from '../errors.ts';

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
}

/** Reads a metadata value from grpc-js Metadata or a plain header map. */
export type HeaderReader = (name: string) => string | undefined;

/**
 * Access keys as RocketMQ 5 checks them (rocketmq-grpc.md §0.3): `authorization: MQv2-HMAC-SHA1 Credential=<AK>[/...],
 * SignedHeaders=x-mq-date-time, Signature=<hex>` where the signature is HMAC-SHA1(secretKey, x-mq-date-time). Java and
 * Go send their local time with a literal Z, so no clock-skew check is made (as in RocketMQ). Each failure names the
 * key and, for permissions, the resource.
 */
export class Authenticator {
  private readonly accounts = new Map<string, Account>();

  constructor(readonly config: AuthConfig) {
    for (const a of config.accounts) this.accounts.set(a.accessKey, a);
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Returns the caller's account, or undefined when auth is off (anonymous access). */
  authenticate(header: HeaderReader): Account | undefined {
    if (!this.config.enabled) return undefined;
    const authorization = header('authorization');
    if (!authorization) return fail('UNAUTHORIZED', 'authorization header is required: this broker has auth enabled');
    const { accessKey, signature } = parseAuthorization(authorization);
    const account = this.accounts.get(accessKey);
    if (!account) return fail('UNAUTHORIZED', `access key "${accessKey}" is unknown`);
    const dateTime = header('x-mq-date-time') ?? '';
    const expected = createHmac('sha1', account.secretKey).update(dateTime, 'utf8').digest();
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return fail('UNAUTHORIZED', `signature check failed for access key "${accessKey}" (wrong secret key?)`);
    }
    return account;
  }

  /** Throws FORBIDDEN unless the account may do `action` on `resource` (`topic:orders`, `group:billing`). */
  authorize(account: Account | undefined, resource: string, action: Action): void {
    if (!this.config.enabled || !account) return;
    const [kind] = resource.split(':');
    const ok = account.allow.some(
      (g) => (g.resource === resource || g.resource === `${kind}:*`) && g.actions.includes(action),
    );
    if (!ok) fail('FORBIDDEN', `access key "${account.accessKey}" has no ${action} permission on ${resource}`);
  }

  /** Admin API: HTTP Basic with access key and secret key of an admin account. */
  authenticateAdmin(authorization: string | undefined): Account | undefined {
    if (!this.config.enabled) return undefined;
    const m = /^Basic\s+(.+)$/i.exec(authorization ?? '');
    if (!m) return fail('UNAUTHORIZED', 'admin API needs HTTP Basic auth with an access key and secret key');
    const [accessKey = '', secretKey = ''] = Buffer.from(m[1] as string, 'base64')
      .toString('utf8')
      .split(':');
    const account = this.accounts.get(accessKey);
    if (!account || account.secretKey !== secretKey)
      return fail('UNAUTHORIZED', `access key "${accessKey}" or its secret is wrong`);
    if (!account.admin) return fail('FORBIDDEN', `access key "${accessKey}" is not an admin account`);
    return account;
  }
}

export function parseAuthorization(value: string): { accessKey: string; signature: string } {
  const space = value.indexOf(' ');
  if (space < 0 || !value.slice(0, space).startsWith('MQv2-HMAC-SHA1')) {
    return fail('UNAUTHORIZED', 'authorization header must start with MQv2-HMAC-SHA1');
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKey = (fields.get('Credential') ?? '').split('/')[0] ?? '';
  const signature = fields.get('Signature') ?? '';
  if (!accessKey || !/^[0-9a-fA-F]+$/.test(signature)) {
    return fail('UNAUTHORIZED', 'authorization header lacks Credential or a hex Signature');
  }
  return { accessKey, signature };
}

export function validateAuthConfig(value: unknown): string[] {
  const errors: string[] = [];
  const v = value as Partial<AuthConfig>;
  if (typeof v !== 'object' || v === null) return ['auth: must be an object {enabled, accounts}'];
  if (typeof v.enabled !== 'boolean') errors.push('auth.enabled: must be true or false');
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
