/**
 * Runs a fault schedule against the injectors on an injected clock, Jepsen-nemesis style: one step at a time, in time
 * order (at equal times heals go first, the latest-started fault healed first), each step reported as an event when
 * it has taken effect. A failing step is reported and never stops the others; healAll() ends the schedule and heals
 * whatever is still in force.
 */
import type { Clock } from '../../lib/clock.ts';
import type { FaultError, FaultEvent } from './events.ts';
import {
  type ConsumerFault,
  type FaultFamily,
  type FaultSpec,
  faultFamily,
  type NetworkFault,
  type ProcessFault,
} from './model.ts';
import type { ScheduledFault } from './schedule.ts';

/** Applies and undoes one family of faults. `id` tells overlapping instances of the same fault apart. */
export interface FaultInjector<F extends FaultSpec = FaultSpec> {
  inject(fault: F, id: number): Promise<void>;
  heal(fault: F, id: number): Promise<void>;
}

/** The drill engine wires one injector per family the schedule uses (consumer faults go to the load engine). */
export interface FaultInjectors {
  network?: FaultInjector<NetworkFault>;
  process?: FaultInjector<ProcessFault>;
  consumer?: FaultInjector<ConsumerFault>;
}

export interface FaultRunnerOptions {
  clock: Clock;
  schedule: readonly ScheduledFault[];
  injectors: FaultInjectors;
  onEvent?: (event: FaultEvent) => void;
  onError?: (error: FaultError) => void;
  /** A step still running after this long is reported as failed and the runner moves on (default 30 s). */
  stepTimeoutMs?: number;
}

interface Step {
  atMs: number;
  action: 'inject' | 'heal';
  scheduled: ScheduledFault;
}

const STEP_TIMEOUT_MS_DEFAULT = 30_000;

export class FaultRunner {
  readonly events: FaultEvent[] = [];
  readonly errors: FaultError[] = [];
  private readonly steps: Step[];
  /** Faults in force; startWallMs undefined = an inject that timed out: maybe in force, healed anyway. */
  private readonly active = new Map<number, { scheduled: ScheduledFault; startWallMs: number | undefined }>();
  private queue: Promise<void> = Promise.resolve();
  private originMs: number | undefined;
  private cancelTimer: (() => void) | undefined;
  private ended = false;

  constructor(private readonly options: FaultRunnerOptions) {
    const missing = new Set<FaultFamily>();
    for (const { fault } of options.schedule) {
      if (options.injectors[faultFamily(fault.kind)] === undefined) missing.add(faultFamily(fault.kind));
    }
    if (missing.size > 0) throw new Error(`FaultRunner: no injector for ${[...missing].join(', ')} faults`);
    this.steps = options.schedule
      .flatMap((scheduled): Step[] => [
        { atMs: scheduled.startMs, action: 'inject', scheduled },
        { atMs: scheduled.endMs, action: 'heal', scheduled },
      ])
      .sort(compareSteps);
  }

  /** Starts the schedule: its times count from now. */
  start(): void {
    if (this.originMs !== undefined) throw new Error('FaultRunner: already started');
    this.originMs = this.options.clock.monotonicMs();
    this.armNext();
  }

  /** Resolves when every step queued so far has finished. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Faults in force now, in start order. */
  activeFaults(): ScheduledFault[] {
    return [...this.active.values()].map((a) => a.scheduled);
  }

  /** Cancels the steps still to come and heals every fault in force, latest first. Safe to call more than once. */
  async healAll(): Promise<void> {
    this.ended = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.steps.length = 0;
    await this.queue;
    const healing = this.activeFaults().reverse();
    for (const scheduled of healing) this.enqueue({ atMs: scheduled.endMs, action: 'heal', scheduled });
    await this.queue;
  }

  private armNext(): void {
    const next = this.steps[0];
    if (next === undefined || this.ended || this.originMs === undefined) return;
    const delayMs = this.originMs + next.atMs - this.options.clock.monotonicMs();
    this.cancelTimer = this.options.clock.setTimer(delayMs, () => {
      this.cancelTimer = undefined;
      const nowMs = this.options.clock.monotonicMs() - (this.originMs as number);
      while (this.steps[0] !== undefined && this.steps[0].atMs <= nowMs) this.enqueue(this.steps.shift() as Step);
      this.armNext();
    });
  }

  private enqueue(step: Step): void {
    this.queue = this.queue.then(() => this.run(step));
  }

  private async run(step: Step): Promise<void> {
    const { scheduled, action } = step;
    const isActive = this.active.has(scheduled.id);
    if ((action === 'inject') === isActive) return; // a heal for a fault whose inject failed, or a repeated heal
    const injector = this.options.injectors[faultFamily(scheduled.fault.kind)] as FaultInjector;
    try {
      await this.withTimeout(injector[action](scheduled.fault, scheduled.id), `${action} ${scheduled.name}`);
    } catch (err) {
      this.report(step, err);
      if (err instanceof StepTimeoutError && action === 'inject')
        this.active.set(scheduled.id, { scheduled, startWallMs: undefined });
      return;
    }
    const atWallMs = this.options.clock.wallMs();
    const { id, name, fault } = scheduled;
    const base = { id, name, kind: fault.kind, target: fault.target, atWallMs, fault };
    let event: FaultEvent;
    if (action === 'inject') {
      this.active.set(id, { scheduled, startWallMs: atWallMs });
      event = { type: 'fault-start', ...base };
    } else {
      const startWallMs = this.active.get(id)?.startWallMs;
      this.active.delete(id);
      if (startWallMs === undefined) return; // no start was reported, so no end either
      event = { type: 'fault-end', ...base, startWallMs };
    }
    this.events.push(event);
    try {
      this.options.onEvent?.(event);
    } catch (err) {
      this.report(step, err);
    }
  }

  private withTimeout(work: Promise<void>, what: string): Promise<void> {
    const timeoutMs = this.options.stepTimeoutMs ?? STEP_TIMEOUT_MS_DEFAULT;
    return new Promise((resolve, reject) => {
      const cancel = this.options.clock.setTimer(timeoutMs, () => reject(new StepTimeoutError(what, timeoutMs)));
      work.then(resolve, reject).finally(cancel);
    });
  }

  private report(step: Step, err: unknown): void {
    const { id, name, fault } = step.scheduled;
    const error = err instanceof Error ? err : new Error(String(err));
    const faultError: FaultError = {
      step: step.action,
      id,
      name,
      kind: fault.kind,
      target: fault.target,
      atWallMs: this.options.clock.wallMs(),
      error,
    };
    this.errors.push(faultError);
    try {
      this.options.onError?.(faultError);
    } catch {
      // The error is in this.errors; a failing callback must not stop the steps after it.
    }
  }
}

class StepTimeoutError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`${what}: no answer in ${timeoutMs}ms (the fault may be in force; it is healed at its end)`);
    this.name = 'StepTimeoutError';
  }
}

/** Time order; at equal times heals before injects, heals latest-started first, injects in id order. */
function compareSteps(a: Step, b: Step): number {
  if (a.atMs !== b.atMs) return a.atMs - b.atMs;
  if (a.action !== b.action) return a.action === 'heal' ? -1 : 1;
  return a.action === 'heal' ? b.scheduled.id - a.scheduled.id : a.scheduled.id - b.scheduled.id;
}
