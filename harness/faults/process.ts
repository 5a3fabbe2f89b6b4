/**
 * Process faults over a target's nodes. The target owns its processes (the bundled target: broker child processes)
 * and implements ProcessControl; this class turns fault kinds into signals and restarts, and keeps overlapping faults
 * on one node from undoing each other: a node killed by two faults is restarted when the last of them heals.
 */
import { ALL_TARGETS, type ProcessFault } from './model.ts';
import type { FaultInjector } from './runner.ts';

/** What a target provides for process faults. */
export interface ProcessControl {
  /**
   * Sends a signal to a node's process. For SIGKILL and SIGTERM, resolves once the process has exited; for SIGSTOP
   * and SIGCONT, once the signal is delivered.
   */
  kill(node: string, signal: NodeJS.Signals): Promise<void>;
  /** Starts a node that is not running again, with its data; resolves once it serves requests. */
  restart(node: string): Promise<void>;
  /** The node names, for faults whose target is `*`. */
  nodes?(): readonly string[];
  /**
   * For a node that is down: rolls its store back to what its last fsyncs covered (a power cut). Absent when the
   * target cannot (external targets). Resolves with the bytes dropped or restored.
   */
  loseUnsyncedWrites?(node: string): Promise<number>;
}

export class ProcessFaults implements FaultInjector<ProcessFault> {
  /** How many active faults hold each node down (kill) or stopped (pause). */
  private readonly downHolds = new Map<string, number>();
  private readonly pauseHolds = new Map<string, number>();

  constructor(private readonly control: ProcessControl) {}

  /** Applies the fault to each node; if one node fails, the nodes already done are healed again and it throws. */
  async inject(fault: ProcessFault, _id = 0): Promise<void> {
    const done: string[] = [];
    for (const node of this.nodesOf(fault)) {
      try {
        await this.injectNode(fault, node);
      } catch (err) {
        if (fault.kind !== 'restart') release(fault.kind === 'pause' ? this.pauseHolds : this.downHolds, node);
        for (const healed of done) await this.healNode(fault, healed).catch(() => undefined);
        throw err;
      }
      done.push(node);
    }
  }

  private async injectNode(fault: ProcessFault, node: string): Promise<void> {
    if (fault.kind === 'kill' && hold(this.downHolds, node) === 1) await this.control.kill(node, 'SIGKILL');
    if (fault.kind === 'stop' && hold(this.downHolds, node) === 1) await this.control.kill(node, 'SIGTERM');
    if (fault.kind === 'power-loss') {
      if (this.control.loseUnsyncedWrites === undefined) throw new Error('power-loss: this target cannot cut power');
      if (hold(this.downHolds, node) === 1) await this.control.kill(node, 'SIGKILL');
      await this.control.loseUnsyncedWrites(node);
    }
    if (fault.kind === 'pause' && hold(this.pauseHolds, node) === 1) await this.control.kill(node, 'SIGSTOP');
    if (fault.kind === 'restart' && !this.downHolds.has(node)) {
      await this.control.kill(node, 'SIGTERM');
      await this.control.restart(node);
    }
  }

  async heal(fault: ProcessFault, _id = 0): Promise<void> {
    const errors: unknown[] = [];
    for (const node of this.nodesOf(fault)) await this.healNode(fault, node).catch((err) => errors.push(err));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${fault.kind}: ${errors.length} nodes failed to heal`);
  }

  /** Undoes the fault on one node when it holds the last hold; the hold is released only once that worked. */
  private async healNode(fault: ProcessFault, node: string): Promise<void> {
    if (fault.kind === 'restart') return;
    const holds = fault.kind === 'pause' ? this.pauseHolds : this.downHolds;
    if (holds.get(node) === 1) {
      if (fault.kind !== 'pause') await this.control.restart(node);
      else await this.control.kill(node, 'SIGCONT');
    }
    release(holds, node);
  }

  /** Continues every paused node and restarts every killed one. */
  async healAll(): Promise<void> {
    const paused = [...this.pauseHolds.keys()];
    const down = [...this.downHolds.keys()];
    this.pauseHolds.clear();
    this.downHolds.clear();
    for (const node of paused) await this.control.kill(node, 'SIGCONT');
    for (const node of down) await this.control.restart(node);
  }

  private nodesOf(fault: ProcessFault): readonly string[] {
    if (fault.target !== ALL_TARGETS) return [fault.target];
    if (this.control.nodes === undefined) throw new Error(`${fault.kind} *: the target does not list its nodes`);
    return this.control.nodes();
  }
}

function hold(holds: Map<string, number>, node: string): number {
  const count = (holds.get(node) ?? 0) + 1;
  holds.set(node, count);
  return count;
}

function release(holds: Map<string, number>, node: string): void {
  const count = holds.get(node);
  if (count === undefined) return;
  if (count <= 1) holds.delete(node);
  else holds.set(node, count - 1);
}
