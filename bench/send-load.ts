/**
 * What the send benchmarks (compare.ts, scaling.ts, java-drivers.ts) share: the producer scenario (1 KiB sends at a
 * constant arrival rate above every ceiling, at most 256 in flight, so the achieved rate is the ceiling) and the
 * figures read from a run's summary.
 */
import type { LoadResult } from '../harness/load/engine.ts';

export type SendType = 'NORMAL' | 'FIFO';

/** A constant-arrival-rate producer of 1 KiB messages; FIFO sends spread over 100 message groups. */
export function sendScenario(topic: string, type: SendType, perS: number, seconds: number): Record<string, unknown> {
  return {
    executor: 'constant-arrival-rate',
    rate: perS,
    duration: `${seconds}s`,
    preAllocatedVUs: 128,
    maxVUs: 256,
    gracefulStop: '5s',
    role: 'producer',
    message: { type, topic, bodySizeBytes: 1024, ...(type === 'FIFO' ? { keys: { count: 100 } } : {}) },
  };
}

export interface SendFigures {
  /** Messages acknowledged during the run. */
  acked: number;
  ackedPerS: number;
  sendP50Ms: number;
  sendP99Ms: number;
  sendP999Ms: number;
}

/** The send figures of a run that lasted `seconds`, latencies rounded to 0.01 ms. */
export function sendFigures(result: LoadResult, seconds: number): SendFigures {
  const v = (name: string) => result.summary.metrics[name]?.values ?? {};
  const r2 = (x: number | undefined) => +(x ?? 0).toFixed(2);
  const acked = v('messages_acked').count ?? 0;
  return {
    acked,
    ackedPerS: Math.round(acked / seconds),
    sendP50Ms: r2(v('send_duration').med),
    sendP99Ms: r2(v('send_duration')['p(99)']),
    sendP999Ms: r2(v('send_duration')['p(99.9)']),
  };
}
