/**
 * The one paragraph printed before anything boots (like k6's GetDescription): what load, against what, with
 * which faults, until when, judged by which gates.
 */
import { formatDurationMs } from '../../lib/duration.ts';
import { describeFault } from '../faults/model.ts';
import { buildSchedule, type ScheduledFault } from '../faults/schedule.ts';
import { describe as describeLoad } from '../load/options.ts';
import type { DrillSpec } from './spec.ts';

/** The fault instances of a spec, in start order, times from the end of the warm-up. */
export function scheduleOf(spec: DrillSpec): ScheduledFault[] {
  return buildSchedule(spec.faults, {
    seed: spec.plan.seed,
    loadDurationMs: Math.max(1, spec.loadDurationMs - spec.warmUpMs),
  });
}

export function describeFaults(spec: DrillSpec): string {
  const schedule = scheduleOf(spec);
  if (schedule.length === 0) return 'no faults';
  const at = (ms: number) => formatDurationMs(spec.warmUpMs + ms);
  const items = schedule.map(
    (f) => `${describeFault(f.fault)} at ${at(f.startMs)} for ${formatDurationMs(f.endMs - f.startMs)}`,
  );
  return `faults (from the load start): ${items.join('; ')}`;
}

function describeTarget(spec: DrillSpec): string {
  if (spec.target.kind === 'external') return 'the external target (client-side network faults only)';
  if (spec.target.kind === 'containers') {
    const n = spec.target.nodes;
    const what =
      spec.target.broker === 'rocketmq'
        ? `a RocketMQ 5.3.3 name server and ${n} broker+proxy container${n === 1 ? '' : 's'}`
        : `${n} bundled broker container${n === 1 ? '' : 's'}`;
    return `${what} on a Docker network (faults in their network namespaces)`;
  }
  if (spec.target.kind === 'rocketmq') {
    return 'Apache RocketMQ 5.3.3 (name server + broker with its gRPC proxy) on loopback, behind toxiproxy';
  }
  const nodes = `${spec.target.nodes} bundled broker node${spec.target.nodes === 1 ? '' : 's'}`;
  const { dropAckedOneIn, swapFifoOneIn } = spec.target.canary ?? {};
  const modes = [
    dropAckedOneIn ? `dropping one acknowledged send in ${dropAckedOneIn}` : '',
    swapFifoOneIn ? `swapping two messages of a FIFO group in one receive batch in ${swapFifoOneIn}` : '',
  ].filter(Boolean);
  const canary = modes.length ? ` with the canary ${modes.join(' and ')}` : '';
  return `${nodes} behind toxiproxy${canary}`;
}

export function describeDrill(spec: DrillSpec): string {
  const intro = spec.description ? `${spec.name}: ${spec.description} ` : `${spec.name}: `;
  const topics = spec.topics.map((t) => `${t.name} (${t.type}, ${t.queues} queues)`).join(', ');
  const gates = spec.gateSources.length > 0 ? spec.gateSources.join(', ') : 'none';
  const slo = spec.drainSloMs === undefined ? '' : `, SLO ${formatDurationMs(spec.drainSloMs)}`;
  return (
    `${intro}Against ${describeTarget(spec)}, topics ${topics}. ` +
    `Load for ${formatDurationMs(spec.loadDurationMs)} (the first ${formatDurationMs(spec.warmUpMs)} is warm-up ` +
    `without faults): ${describeLoad(spec.plan)} ${capitalise(describeFaults(spec))}. ` +
    `Then every fault is healed and the drain waits for zero backlog and every acknowledged message delivered ` +
    `(deadline ${formatDurationMs(spec.drainDeadlineMs)}${slo}). Guarantee ${spec.guarantee}; gates: ${gates}.`
  );
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
