import type { Schedule } from './options.ts';

/** Sends per second an arrival-rate schedule asks for at ms after the load start; undefined for VU executors. */
export function scheduledRate(schedule: Schedule, ms: number): number | undefined {
  const t = ms - schedule.startTimeMs;
  switch (schedule.executor) {
    case 'constant-arrival-rate':
      return t >= 0 && t < schedule.durationMs ? (schedule.rate * 1000) / schedule.timeUnitMs : 0;
    case 'ramping-arrival-rate': {
      const perS = (r: number) => (r * 1000) / schedule.timeUnitMs;
      if (t < 0) return 0;
      let from = schedule.startRate;
      let at = 0;
      for (const st of schedule.stages) {
        if (t < at + st.durationMs) return perS(from + ((st.target - from) * (t - at)) / Math.max(1, st.durationMs));
        at += st.durationMs;
        from = st.target;
      }
      return 0;
    }
    default:
      return undefined;
  }
}
