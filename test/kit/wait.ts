/** Polls until pred() holds, at most timeoutMs of real time; returns whether it held. Bounded, never infinite. */
export async function eventually(pred: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return pred();
}

/**
 * Runs fn until it resolves, at most `attempts` times with `pauseMs` of real time between tries; rethrows the last
 * error. For clients started right after a broker restart at the same address: grpc-js shares connections between
 * the clients of one process, and one broken by the restart may still be in its reconnect backoff.
 */
export async function withRetries<T>(fn: () => Promise<T>, attempts: number, pauseMs: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}
