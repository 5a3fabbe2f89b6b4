import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../lib/clock.ts';
import { validateConnectionLimits } from '../connections.ts';
import { DeniedError } from '../errors.ts';
import { Authenticator, signedDateReadings, validateAuthConfig } from './index.ts';

const account = { accessKey: 'ak', secretKey: 'sk', allow: [] };

function headers(dateTime: string): (name: string) => string | undefined {
  const signature = createHmac('sha1', 'sk').update(dateTime).digest('hex');
  const values: Record<string, string> = {
    authorization: `MQv2-HMAC-SHA1 Credential=ak//Rocketmq, SignedHeaders=x-mq-date-time, Signature=${signature}`,
    'x-mq-date-time': dateTime,
  };
  return (name) => values[name];
}

describe('Authenticator: signed-date window', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));

  test('the window is inclusive at its edge and refuses one second past it, either way', () => {
    const auth = new Authenticator({ enabled: true, accounts: [account], signatureWindowMs: 60_000 }, clock);
    expect(auth.authenticate(headers('20260115T120100Z'))?.accessKey).toBe('ak');
    expect(auth.authenticate(headers('20260115T115900Z'))?.accessKey).toBe('ak');
    expect(() => auth.authenticate(headers('20260115T120101Z'))).toThrow(/at most 1 min is accepted/);
    expect(() => auth.authenticate(headers('20260115T115859Z'))).toThrow(DeniedError);
  });

  test('the default window is 15 minutes', () => {
    const auth = new Authenticator({ enabled: true, accounts: [account] }, clock);
    expect(auth.signatureWindowMs).toBe(900_000);
    expect(auth.authenticate(headers('20260115T121500Z'))?.accessKey).toBe('ak');
    expect(() => auth.authenticate(headers('20260115T121501Z'))).toThrow(/is 15 min from the broker's clock/);
  });

  test('a date is read as UTC, as local time and at each configured offset; nonsense has no reading', () => {
    const utc = Date.UTC(2026, 0, 15, 12, 0, 0);
    expect(signedDateReadings('20260115T120000Z', [60, -300])).toEqual([
      utc,
      new Date(2026, 0, 15, 12, 0, 0).getTime(),
      utc - 3_600_000,
      utc + 18_000_000,
    ]);
    expect(signedDateReadings('', [])).toEqual([]);
    expect(signedDateReadings('2026-01-15T12:00:00Z', [])).toEqual([]);
    expect(signedDateReadings('20261399T990000Z', [])).toEqual([]); // no roll-over into a valid-looking date
  });
});

describe('config validation', () => {
  test('auth.signatureWindowMs and auth.clientUtcOffsetsMinutes are checked with a message each', () => {
    const errors = validateAuthConfig({
      enabled: true,
      accounts: [],
      signatureWindowMs: -1,
      clientUtcOffsetsMinutes: [60, 9999],
    });
    expect(errors).toEqual([
      'auth.signatureWindowMs: must be a positive whole number of milliseconds (default 900000)',
      'auth.clientUtcOffsetsMinutes: must be a list of whole minutes from -840 to 840',
    ]);
  });

  test('connections: unknown keys and non-positive values are named', () => {
    expect(validateConnectionLimits({ handshakeTimeoutMs: 0, maxx: 3 })).toEqual([
      'connections.handshakeTimeoutMs: must be a positive whole number',
      expect.stringMatching(/^connections\.maxx: unknown \(known: handshakeTimeoutMs, max, /),
    ]);
    expect(validateConnectionLimits([])).toHaveLength(1);
    expect(validateConnectionLimits({ max: 100 })).toEqual([]);
  });
});
