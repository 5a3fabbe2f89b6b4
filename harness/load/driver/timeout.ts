import type { Clock } from '../../../lib/clock.ts';
import { SendTimeoutError } from './client.ts';

/** Resolves like promise, or rejects with SendTimeoutError after timeoutMs on the injected clock. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, clock: Clock): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.setTimer(timeoutMs, () => reject(new SendTimeoutError(timeoutMs)));
    promise.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (err) => {
        cancel();
        reject(err);
      },
    );
  });
}

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => (ms > 0 ? clock.setTimer(ms, resolve) : resolve()));
}

export function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
