/**
 * CPU the load generator uses during a step's measured window: this process (the load engine and the node driver's
 * worker threads) plus the Go driver processes it started (found in /proc by parent pid and program name). The
 * bundled broker's processes are children too but are not counted: they are the target.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from '../../lib/clock.ts';
import { GO_DRIVER_PROGRAM } from '../load/launchers.ts';

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

/** Go driver children of this process and the CPU seconds each has used so far. */
function goDriverCpu(): Map<number, number> {
  const out = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  // /proc shows a program name cut to 15 characters.
  const comm = GO_DRIVER_PROGRAM.slice(0, 15);
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (name !== comm || Number(fields[1]) !== process.pid) continue;
      out.set(Number(pid), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export class GeneratorCpu {
  private startSeconds = 0;
  private startGo = new Map<number, number>();
  private startMs = 0;
  private used: number | undefined;

  constructor(private readonly clock: Clock) {}

  /** Samples at `afterMs` from now and again `windowMs` later. */
  arm(afterMs: number, windowMs: number): void {
    this.clock.setTimer(Math.max(0, afterMs), () => {
      this.startMs = this.clock.monotonicMs();
      this.startSeconds = ownCpuSeconds();
      this.startGo = goDriverCpu();
      this.clock.setTimer(windowMs, () => this.finish());
    });
  }

  private finish(): void {
    const elapsedS = (this.clock.monotonicMs() - this.startMs) / 1000;
    let seconds = ownCpuSeconds() - this.startSeconds;
    for (const [pid, s] of goDriverCpu()) seconds += s - (this.startGo.get(pid) ?? 0);
    this.used = elapsedS > 0 ? seconds / elapsedS : 0;
  }

  /** Cores used over the window (0 when the window was not sampled). */
  cores(): number {
    return this.used ?? 0;
  }
}
