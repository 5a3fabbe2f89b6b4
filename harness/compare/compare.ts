/**
 * Compares two reports' figures: a gate that passed and now fails, an anomaly count that rose, or a figure that moved
 * the wrong way beyond its tolerance is a regression. So is a gate or figure of the baseline that the current report
 * lacks (a renamed gate, a recovery that never came, no rate that held): what is not there cannot pass. A gate that
 * passed and is now unknown, or a figure whose value is unknown on either side (an undecided checker), cannot be
 * judged: the verdict is UNKNOWN (exit 6), never a silent pass. Output: rows for a side by side table.
 */
import type { Figure, ReportFigures } from './figures.ts';
import { beyond, type ToleranceOverrides, toleranceFor } from './tolerance.ts';

export type RowStatus = 'ok' | 'regressed' | 'improved' | 'new' | 'missing' | 'unknown';

export interface CompareRow {
  kind: 'gate' | 'figure';
  name: string;
  baseline: string;
  current: string;
  change: string;
  status: RowStatus;
  /** The tolerance applied, in words (figures only). */
  tolerance: string;
}

export interface Comparison {
  baselineTitle: string;
  currentTitle: string;
  rows: CompareRow[];
  /** Regressed rows and rows missing from the current report: each fails the comparison. */
  regressions: CompareRow[];
  /** Rows that could not be judged (unknown on a side): the verdict is UNKNOWN when nothing regressed. */
  unknowns: CompareRow[];
}

function show(f: Figure | undefined): string {
  if (!f) return '—';
  if (f.unknown !== undefined) return 'unknown';
  if (f.unit === 'count') return String(f.value);
  const v = f.value >= 100 ? Math.round(f.value).toLocaleString('en-US') : f.value.toFixed(1);
  return `${v}${f.unit === 'ms' ? ' ms' : '/s'}`;
}

function change(base: number, cur: number): string {
  if (base === cur) return '=';
  if (base === 0) return `+${cur}`;
  const pct = ((cur - base) / base) * 100;
  return `${pct > 0 ? '+' : ''}${pct.toFixed(pct > -10 && pct < 10 ? 1 : 0)}%`;
}

function gateRows(base: ReportFigures, cur: ReportFigures): CompareRow[] {
  const names = [...new Set([...base.gates.keys(), ...cur.gates.keys()])];
  return names.map((name) => {
    const b = base.gates.get(name);
    const c = cur.gates.get(name);
    let status: RowStatus = 'ok';
    if (b === undefined) status = 'new';
    else if (c === undefined) status = 'missing';
    else if (b === 'pass' && c === 'fail') status = 'regressed';
    else if (c !== 'pass' && c !== 'fail') status = 'unknown';
    else if (b !== 'pass' && c === 'pass') status = 'improved';
    const note = status === 'new' || status === 'missing' ? '' : b === c ? '=' : `${b} → ${c}`;
    return { kind: 'gate', name, baseline: b ?? '—', current: c ?? '—', change: note, status, tolerance: '' };
  });
}

function figureRow(name: string, b: Figure | undefined, c: Figure | undefined, o: ToleranceOverrides): CompareRow {
  const f = (c ?? b) as Figure;
  const t = toleranceFor(f, o);
  const tolerance =
    f.class === 'anomaly' && t.ratio === 1 && t.absolute === 0
      ? 'no rise'
      : `${f.better === 'lower' ? 'up to' : 'down to'} ${f.better === 'lower' ? `x${t.ratio}` : `/${t.ratio}`}` +
        (t.absolute > 0 ? ` and ${t.absolute}${f.unit === 'ms' ? ' ms' : f.unit === '/s' ? '/s' : ''}` : '');
  let status: RowStatus = 'ok';
  if (!b) status = c?.unknown !== undefined ? 'unknown' : 'new';
  else if (!c) status = 'missing';
  else if (b.unknown !== undefined || c.unknown !== undefined) status = 'unknown';
  else if (beyond(f, b.value, c.value, t)) status = 'regressed';
  else if (f.better === 'lower' ? c.value < b.value : c.value > b.value) status = 'improved';
  const why = [b?.unknown && `baseline: ${b.unknown}`, c?.unknown && `current: ${c.unknown}`].filter(Boolean);
  const delta = why.length > 0 ? why.join('; ') : b && c ? change(b.value, c.value) : '';
  return { kind: 'figure', name, baseline: show(b), current: show(c), change: delta, status, tolerance };
}

export function compareFigures(base: ReportFigures, cur: ReportFigures, overrides: ToleranceOverrides): Comparison {
  if (base.kind !== cur.kind) {
    throw new NotComparableError(
      `the baseline is a ${base.kind} report and the current one a ${cur.kind} report: compare two drill reports ` +
        'or two capacity reports',
    );
  }
  const names = [...new Set([...base.figures.keys(), ...cur.figures.keys()])].sort();
  const rows = [
    ...gateRows(base, cur),
    ...names.map((n) => figureRow(n, base.figures.get(n), cur.figures.get(n), overrides)),
  ];
  const stamp = (r: ReportFigures) => `${r.title}, ${new Date(r.generatedMs).toISOString().slice(0, 16)}Z`;
  return {
    baselineTitle: stamp(base),
    currentTitle: stamp(cur),
    rows,
    regressions: rows.filter((r) => r.status === 'regressed' || r.status === 'missing'),
    unknowns: rows.filter((r) => r.status === 'unknown'),
  };
}

export class NotComparableError extends Error {}

const HEAD = ['', 'figure', 'baseline', 'current', 'change', 'tolerance'];
const MARK: Record<RowStatus, string> = {
  ok: ' ',
  regressed: '✗',
  improved: '↑',
  new: '+',
  missing: '✗',
  unknown: '?',
};

function cells(r: CompareRow): string[] {
  const name = r.kind === 'gate' ? `gate: ${r.name}` : r.name;
  return [MARK[r.status], name, r.baseline, r.current, r.change, r.tolerance];
}

function rowName(r: CompareRow): string {
  const name = r.kind === 'gate' ? `gate "${r.name}"` : r.name;
  return r.status === 'missing' ? `${name} (missing from the current report)` : name;
}

export function verdictLine(c: Comparison): string {
  if (c.regressions.length > 0) return `REGRESSED: ${c.regressions.map(rowName).join(', ')}`;
  if (c.unknowns.length > 0) {
    return `UNKNOWN: cannot judge ${c.unknowns.map(rowName).join(', ')} (unknown in a report: see the table)`;
  }
  return 'PASS: nothing regressed beyond its tolerance';
}

export function formatText(c: Comparison): string {
  const rows = c.rows.map(cells);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cs: string[]) =>
    cs
      .map((x, i) => x.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    `baseline: ${c.baselineTitle}`,
    `current:  ${c.currentTitle}`,
    '',
    line(HEAD),
    ...rows.map(line),
    '',
    '✗ regressed beyond tolerance or missing from current   ? unknown, cannot judge   ↑ improved   + only in current',
    verdictLine(c),
    '',
  ].join('\n');
}

export function formatMarkdown(c: Comparison): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const rows = c.rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`);
  return [
    `### mqdrill compare: ${
      c.regressions.length > 0
        ? `❌ ${c.regressions.length} regressed`
        : c.unknowns.length > 0
          ? `❔ ${c.unknowns.length} cannot be judged`
          : '✅ no regression'
    }`,
    '',
    `Baseline: ${esc(c.baselineTitle)}  `,
    `Current: ${esc(c.currentTitle)}`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `| ${HEAD.map(() => '---').join(' | ')} |`,
    ...rows,
    '',
    `**${esc(verdictLine(c))}**`,
    '',
  ].join('\n');
}
