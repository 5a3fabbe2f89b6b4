import type { Report } from './schema.ts';

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

interface Case {
  name: string;
  classname: string;
  status: 'pass' | 'fail' | 'unknown';
  message: string;
  body: string;
}

/**
 * junit.xml: one test case per anomaly (suite `mqdrill.anomalies`) and one per gate (suite `mqdrill.gates`).
 * fail is a <failure>, unknown is an <error> (the check could not decide), an allowed anomaly passes with its count
 * in <system-out>.
 */
export function renderJunit(report: Report): string {
  const anomalyCases: Case[] = report.anomalies.map((a) => ({
    name: a.name,
    classname: 'mqdrill.anomalies',
    status: a.verdict,
    message: a.error ?? `${a.count} of ${a.checked} (${a.description})`,
    body: [
      `${a.name}: ${a.verdict}${a.allowed ? ' (allowed by the guarantee level)' : ''}, ` +
        `count ${a.count} of ${a.checked}`,
      ...a.notes,
      ...a.examples.map((e) => `${e.file}:${e.line} ${e.id ?? ''} ${e.group ?? ''} ${e.detail}`.replace(/\s+/g, ' ')),
    ].join('\n'),
  }));
  const gateCases: Case[] = report.gates.map((g) => ({
    name: g.source,
    classname: 'mqdrill.gates',
    status: g.status,
    message: `${g.metric} ${g.expression}: actual ${g.actual ?? 'none'}${g.note ? ` (${g.note})` : ''}`,
    body: '',
  }));
  const suite = (name: string, cases: Case[]) => {
    const failures = cases.filter((c) => c.status === 'fail').length;
    const errors = cases.filter((c) => c.status === 'unknown').length;
    const body = cases.map((c) => renderCase(c)).join('\n');
    const open = `  <testsuite name="${name}" tests="${cases.length}" failures="${failures}" errors="${errors}">`;
    return `${open}\n${body}\n  </testsuite>`;
  };
  const all = [...anomalyCases, ...gateCases];
  const failures = all.filter((c) => c.status === 'fail').length;
  const errors = all.filter((c) => c.status === 'unknown').length;
  const seconds = (report.checkStats.durationMs / 1000).toFixed(3);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mqdrill check" tests="${all.length}" failures="${failures}" errors="${errors}" ` +
      `time="${seconds}">`,
    suite('mqdrill.anomalies', anomalyCases),
    suite('mqdrill.gates', gateCases),
    '</testsuites>',
    '',
  ].join('\n');
}

function renderCase(c: Case): string {
  const open = `    <testcase name="${escapeXml(c.name)}" classname="${c.classname}">`;
  const out = c.body ? `\n      <system-out>${escapeXml(c.body)}</system-out>` : '';
  if (c.status === 'pass') return `${open}${out}\n    </testcase>`;
  const tag = c.status === 'fail' ? 'failure' : 'error';
  return `${open}\n      <${tag} message="${escapeXml(c.message)}" type="${c.status}"/>${out}\n    </testcase>`;
}
