/**
 * junit.xml for CI test reporters (Jenkins, GitLab, GitHub test-report actions): one <testsuite> per drill, named
 * after the scenario and the target, with the run's real start (timestamp, UTC) and duration (time); one <testcase>
 * per anomaly check and per gate, classname `mqdrill.<scenario>.<target>.anomalies` / `.gates`. Every case states
 * the measured value and its bound: in <failure>/<error>/<skipped> message when it did not pass, in <system-out>
 * when it did. fail is a <failure>, unknown an <error> (the check could not decide), a check with nothing to judge
 * (not applicable) is <skipped>. The checks run in one pass over the ledger after the drill, so a case has no time of
 * its own (time="0"); the suite's time is the drill's. Valid against Jenkins' JUnit schema
 * (reports/testdata/junit-10.xsd, checked by reports/junit.test.ts).
 */
import { drillMeta, formatGateBound, formatGateValue, runTitle } from './format.ts';
import type { AnomalyReport, GateReport, Report } from './schema.ts';

/** Escapes text for XML; drops characters XML 1.0 cannot hold (control characters from a client's error text). */
function escapeXml(text: string): string {
  const clean = text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '');
  return clean.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

type Status = 'pass' | 'fail' | 'unknown' | 'skipped';

interface Case {
  name: string;
  classname: string;
  status: Status;
  /** measured value and bound, one line */
  message: string;
  type: string;
  body: string;
}

function anomalyCase(a: AnomalyReport, classname: string): Case {
  const bound = a.allowed ? 'allowed by the guarantee level (counted, not failed)' : 'bound 0';
  const message = a.error
    ? `checker error: ${a.error}`
    : `measured ${a.count} of ${a.checked} (${(a.rate * 100).toFixed(3)}%), ${bound}: ${a.description}`;
  const status: Status = !a.applicable && a.verdict === 'pass' ? 'skipped' : a.verdict;
  const body = [
    ...a.notes,
    ...a.examples.map((e) => `${e.file}:${e.line} ${e.id ?? ''} ${e.group ?? ''} ${e.detail}`.replace(/\s+/g, ' ')),
  ].join('\n');
  const skippedMessage = `not applicable: nothing to judge (${a.notes[0] ?? a.description})`;
  return {
    name: `anomaly ${a.name}`,
    classname,
    status,
    message: status === 'skipped' ? skippedMessage : message,
    type: a.name,
    body,
  };
}

function gateCase(g: GateReport, classname: string): Case {
  const measured = `measured ${formatGateValue(g)}, bound ${formatGateBound(g)}`;
  return {
    name: `gate ${g.source}`,
    classname,
    status: g.status,
    message: g.note ? `${measured} (${g.note})` : measured,
    type: g.metric,
    body: '',
  };
}

function renderCase(c: Case): string {
  const open = `    <testcase name="${escapeXml(c.name)}" classname="${escapeXml(c.classname)}" time="0">`;
  const body = c.body ? escapeXml(c.body) : '';
  if (c.status === 'pass') {
    const out = `${c.message}${c.body ? `\n${c.body}` : ''}`;
    return `${open}\n      <system-out>${escapeXml(out)}</system-out>\n    </testcase>`;
  }
  const tag = c.status === 'fail' ? 'failure' : c.status === 'unknown' ? 'error' : 'skipped';
  const attrs = `message="${escapeXml(c.message)}" type="${escapeXml(c.status === 'unknown' ? 'unknown' : c.type)}"`;
  return `${open}\n      <${tag} ${attrs}>${body}</${tag}>\n    </testcase>`;
}

/** "2026-11-30T05:41:07": ISO 8601 without a zone, as Ant and the JUnit schemas write it (this one is UTC). */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, '');
}

function property(name: string, value: unknown): string {
  if (value === undefined || value === null || value === '') return '';
  return `      <property name="${escapeXml(name)}" value="${escapeXml(String(value))}"/>\n`;
}

export function renderJunit(report: Report): string {
  const drill = drillMeta(report);
  const scenario = drill?.scenario ?? 'check';
  const target = drill?.target ?? 'ledgers';
  const base = `mqdrill.${scenario}.${target}`.replace(/[^\w.-]/g, '_');
  const cases = [
    ...report.anomalies.map((a) => anomalyCase(a, `${base}.anomalies`)),
    ...report.gates.map((g) => gateCase(g, `${base}.gates`)),
  ];
  const count = (s: Status) => cases.filter((c) => c.status === s).length;
  const seconds = ((drill?.durationMs ?? Math.max(0, report.run.endMs - report.run.startMs)) / 1000).toFixed(3);
  const name = runTitle(report).replace(/^mqdrill (drill|check) ?/, '') || 'check';
  const env = drill?.environment;
  const hostname = env?.machine?.split(':')[0] ?? 'localhost';
  const totals = `tests="${cases.length}" failures="${count('fail')}" errors="${count('unknown')}"`;
  const properties = [
    property('scenario', drill?.scenario),
    property('target', env?.target ?? drill?.target),
    property('seed', drill?.seed),
    property('verdict', report.verdict),
    property('exit code', report.exitCode),
    property('reason', report.exitReason),
    property('guarantee', report.guarantee),
    property('command', env?.command),
    property('mqdrill version', env?.mqdrillVersion),
    property('git commit', env?.gitCommit),
  ].join('');
  const summary = `${report.verdict.toUpperCase()}: ${report.exitReason} (exit code ${report.exitCode})`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(runTitle(report))}" ${totals} time="${seconds}">`,
    `  <testsuite name="${escapeXml(name)}" package="${escapeXml(base)}" id="0" ${totals} ` +
      `skipped="${count('skipped')}" time="${seconds}" timestamp="${timestamp(report.run.startMs)}" ` +
      `hostname="${escapeXml(hostname)}">`,
    `    <properties>\n${properties}    </properties>`,
    ...cases.map(renderCase),
    `    <system-out>${escapeXml(summary)}</system-out>`,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
