/**
 * What `mqdrill drill --list` and `mqdrill drill X --dry-run` print, and the `--faults none|FILE` option's loading.
 * Nothing here boots a target.
 */
import { existsSync, readFileSync } from 'node:fs';
import { formatDurationMs } from '../../lib/duration.ts';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import { describeFault } from '../faults/model.ts';
import type { ScenarioPlan } from '../load/options.ts';
import { describeDrill, scheduleOf } from './describe.ts';
import { builtInScenarios, loadDrillModule, resolveDrill } from './load-spec.ts';
import { type DrillSpec, validateDrill } from './spec.ts';

/** `--faults none` → no faults; `--faults FILE` → the JSON list in FILE (or `{"faults": [...]}`), validated later. */
export function loadFaultsOption(value: string): unknown {
  if (value === 'none') return [];
  if (!existsSync(value)) {
    throw new CliError(`--faults: no file ${value} (give "none" or a JSON file with a faults list)`, ExitCode.USAGE);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(value, 'utf8'));
  } catch (err) {
    throw new CliError(`--faults ${value}: not JSON (${(err as Error).message})`, ExitCode.INVALID_SPEC);
  }
  if (Array.isArray(parsed)) return parsed;
  if (typeof parsed === 'object' && parsed !== null && 'faults' in parsed)
    return (parsed as { faults: unknown }).faults;
  throw new CliError(
    `--faults ${value}: expected a JSON list of faults (as drill.faults) or {"faults": [...]}`,
    ExitCode.INVALID_SPEC,
  );
}

/** The first sentence of a description, for one table row. */
function oneLine(text: string | undefined): string {
  if (!text) return '';
  const sentence = text.split(/(?<=\.)\s/)[0] ?? text;
  return sentence.length > 90 ? `${sentence.slice(0, 89)}…` : sentence;
}

/** Fault names of a spec's schedule, e.g. "latency broker-0 3s, kill broker-0 4s". */
function faultSummary(spec: DrillSpec): string {
  const schedule = scheduleOf(spec);
  if (schedule.length === 0) return 'none';
  return schedule.map((f) => `${f.fault.kind} ${f.fault.target} ${formatDurationMs(f.endMs - f.startMs)}`).join(', ');
}

/** One row per built-in scenario: name, load duration, faults, description. */
export async function listScenarios(): Promise<string> {
  const rows: string[][] = [['scenario', 'load', 'faults', 'description']];
  for (const name of builtInScenarios()) {
    const { path } = resolveDrill(name);
    const { spec, errors } = validateDrill(name, path, await loadDrillModule(path));
    if (!spec) {
      rows.push([name, '?', '?', `invalid: ${errors[0] ?? 'unknown problem'}`]);
      continue;
    }
    rows.push([name, formatDurationMs(spec.loadDurationMs), faultSummary(spec), oneLine(spec.description)]);
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell))
      .join('  ')
      .trimEnd(),
  );
  const hint = 'Run one: mqdrill drill <scenario>; see its plan first: mqdrill drill <scenario> --dry-run';
  return `${lines.join('\n')}\n\n${hint}\n`;
}

function scheduleLine(s: ScenarioPlan): string {
  const sc = s.schedule;
  const start = sc.startTimeMs > 0 ? ` from ${formatDurationMs(sc.startTimeMs)}` : '';
  const per = (unit: number) => (unit === 1000 ? '/s' : ` per ${formatDurationMs(unit)}`);
  const over = (target: number, ms: number, unit: string) => `${target}${unit} over ${formatDurationMs(ms)}`;
  switch (sc.executor) {
    case 'constant-arrival-rate': {
      const vus = `${sc.preAllocatedVUs}..${sc.maxVUs} VUs`;
      return `${sc.rate}${per(sc.timeUnitMs)} for ${formatDurationMs(sc.durationMs)}, ${vus}${start}`;
    }
    case 'ramping-arrival-rate': {
      const stages = sc.stages.map((st) => over(st.target, st.durationMs, per(sc.timeUnitMs)));
      const vus = `${sc.preAllocatedVUs}..${sc.maxVUs} VUs`;
      return `from ${sc.startRate}${per(sc.timeUnitMs)}: ${stages.join(', ')}; ${vus}${start}`;
    }
    case 'constant-vus':
      return `${sc.vus} VUs for ${formatDurationMs(sc.durationMs)}${start}`;
    case 'ramping-vus': {
      const stages = sc.stages.map((st) => over(st.target, st.durationMs, ' VUs'));
      return `from ${sc.startVUs} VUs: ${stages.join(', ')}${start}`;
    }
    case 'per-vu-iterations':
    case 'shared-iterations':
      return `${sc.vus} VUs, ${sc.iterations} iterations (at most ${formatDurationMs(sc.maxDurationMs)})${start}`;
  }
}

function bodyLine(s: ScenarioPlan): string {
  const b = s.message?.bodySizeBytes;
  if (!b) return '';
  switch (b.distribution) {
    case 'constant':
      return `, body ${b.value} B`;
    case 'uniform':
      return `, body ${b.min}..${b.max} B`;
    default:
      return `, body ${b.distribution} up to ${b.max} B`;
  }
}

/** `--dry-run`: the description, the resolved plan per scenario, the fault schedule with times, the gates. */
export function formatDryRun(spec: DrillSpec): string {
  const lines = [describeDrill(spec), '', `resolved plan (seed ${spec.plan.seed}):`];
  for (const s of spec.plan.scenarios) {
    const what = s.role === 'producer' ? `${s.message?.type} to ${s.message?.topic}` : `group ${s.consumer?.group}`;
    lines.push(`  ${s.name} (${s.role}, ${s.schedule.executor}): ${what}; ${scheduleLine(s)}${bodyLine(s)}`);
  }
  const schedule = scheduleOf(spec);
  lines.push('', 'fault schedule (from the load start; injected, then healed):');
  if (schedule.length === 0) lines.push('  none');
  for (const f of schedule) {
    const at = (ms: number) => formatDurationMs(spec.warmUpMs + ms);
    lines.push(`  #${f.id} ${f.name}: ${at(f.startMs)} – ${at(f.endMs)}  ${describeFault(f.fault)}`);
  }
  lines.push('', `gates: ${spec.gateSources.length ? spec.gateSources.join('; ') : 'none'}`);
  lines.push(`target: ${spec.target.kind}${spec.target.kind === 'bundled' ? `, ${spec.target.nodes} node(s)` : ''}`);
  lines.push('', 'dry run: valid; nothing was booted.', '');
  return lines.join('\n');
}
