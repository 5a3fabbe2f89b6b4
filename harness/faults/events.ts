/**
 * What the fault runner reports: one event when a fault is in force and one when it is healed. The drill engine writes
 * them to the ledger (`fs` / `fe` records, docs/ledger.md) and turns each start/end pair into a Grafana-style region
 * annotation, so reports and dashboards shade the fault windows.
 */
import type { FaultEnd, FaultStart } from '../ledger/index.ts';
import { describeFault, type FaultKind, type FaultSpec, faultParameters } from './model.ts';

export interface FaultEvent {
  type: 'fault-start' | 'fault-end';
  /** The fault instance id (ScheduledFault.id). */
  id: number;
  name: string;
  kind: FaultKind;
  target: string;
  /** Wall-clock epoch ms when the inject or heal step finished (the fault in force / healed). */
  atWallMs: number;
  /** On `fault-end`: when the fault's start event happened, so the end event alone gives the whole window. */
  startWallMs?: number;
  fault: FaultSpec;
}

/** A fault step that failed; the runner reports it and goes on with the others. */
export interface FaultError {
  step: 'inject' | 'heal';
  id: number;
  name: string;
  kind: FaultKind;
  target: string;
  atWallMs: number;
  error: Error;
}

/** The ledger record for an event: `fs` with the kind, target and parameters as detail, or `fe`. */
export function faultLedgerRecord(event: FaultEvent): FaultStart | FaultEnd {
  if (event.type === 'fault-end') return { t: 'fe', ts: event.atWallMs, f: event.name, fid: event.id };
  const dt = { kind: event.kind, target: event.target, ...faultParameters(event.fault) };
  return { t: 'fs', ts: event.atWallMs, f: event.name, fid: event.id, dt };
}

/** A Grafana annotation (just data): a region from time to timeEnd, both epoch ms. */
export interface FaultAnnotation {
  time: number;
  timeEnd: number;
  text: string;
  tags: string[];
}

/**
 * The annotation an event yields: a `fault-end` gives the fault's whole window (startWallMs..atWallMs); a
 * `fault-start` gives a point at its start, tagged `active` (replace it with the end's region once healed).
 */
export function faultAnnotation(event: FaultEvent): FaultAnnotation {
  const tags = ['mqdrill-fault', event.kind, `target:${event.target}`, `fault-id:${event.id}`];
  const text = describeFault(event.fault);
  if (event.type === 'fault-start')
    return { time: event.atWallMs, timeEnd: event.atWallMs, text, tags: [...tags, 'active'] };
  return { time: event.startWallMs ?? event.atWallMs, timeEnd: event.atWallMs, text, tags };
}

/** One annotation per fault from a list of events: the healed ones as regions, the others as `active` points. */
export function faultAnnotations(events: readonly FaultEvent[]): FaultAnnotation[] {
  const ends = new Map(events.filter((e) => e.type === 'fault-end').map((e) => [e.id, e]));
  return events
    .filter((e) => e.type === 'fault-start')
    .map((start) => {
      const end = ends.get(start.id);
      return faultAnnotation(end === undefined ? start : { ...end, startWallMs: start.atWallMs });
    });
}
