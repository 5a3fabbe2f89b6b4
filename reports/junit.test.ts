/**
 * junit.xml against Jenkins' JUnit schema (reports/testdata/junit-10.xsd, xmllint from Debian's libxml2-utils, which
 * `mqdrill setup` installs), and the structure a GitLab or Jenkins parser reads: testsuites/testsuite/testcase with
 * failure, error and skipped children, a message with the measured value and the bound, a real timestamp and time.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { checkLedgers } from '../harness/checks/engine.ts';
import { evaluateGates, parseGates } from '../harness/checks/gates.ts';
import { computeLiveness, livenessGates } from '../harness/checks/liveness.ts';
import { buildReport } from '../harness/checks/report.ts';
import { renderJunit } from './junit.ts';
import { sampleHistory } from './sample.ts';
import type { Report } from './schema.ts';

const XMLLINT = '/usr/bin/xmllint';
const XSD = resolve(import.meta.dirname, 'testdata/junit-10.xsd');
const dir = mkdtempSync(join(tmpdir(), 'mqd-junit-'));

function validate(xml: string, name: string): { ok: boolean; output: string } {
  const file = join(dir, name);
  writeFileSync(file, xml);
  const run = spawnSync(XMLLINT, ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

function xpath(file: string, expr: string): string {
  return execFileSync(XMLLINT, ['--xpath', expr, file], { encoding: 'utf8' }).trim();
}

async function sampleReport(): Promise<Report> {
  const files = sampleHistory().write(mkdtempSync(join(tmpdir(), 'mqd-junit-ledgers-')));
  const result = await checkLedgers(files);
  const { gates } = parseGates(['lost == 0', 'duplicate.rate < 0.01', 'drain < 60s', 'send_duration: p(99)<200']);
  const liveness = computeLiveness({ timeline: result.timeline, faults: result.faults, phases: result.phases });
  const report = buildReport(result, [...evaluateGates(gates, result), ...livenessGates(liveness)], Date.now());
  report.liveness = liveness;
  report.run.meta.drill = {
    scenario: 'flash-sale',
    target: 'bundled',
    seed: 7,
    durationMs: 131_500,
    environment: { machine: 'ci-runner-3: linux', command: 'npx mqdrill drill flash-sale --seed 7', gitCommit: 'abc' },
  };
  return report;
}

describe('junit.xml', () => {
  let report: Report;
  let xml: string;
  let file: string;
  beforeAll(async () => {
    expect(existsSync(XMLLINT), `${XMLLINT} is missing: run \`mqdrill setup\` (Debian's libxml2-utils)`).toBe(true);
    report = await sampleReport();
    xml = renderJunit(report);
    file = join(dir, 'junit.xml');
    writeFileSync(file, xml);
  });

  test("is valid against Jenkins' JUnit schema; a broken document is not (the check can fail)", () => {
    const valid = validate(xml, 'valid.xml');
    expect(valid.output).toContain('validates');
    expect(valid.ok).toBe(true);
    const broken = validate(xml.replace(/<testcase name="[^"]*"/, '<testcase'), 'broken.xml');
    expect(broken.ok).toBe(false);
    expect(broken.output).toMatch(/attribute 'name' is required/);
  });

  test('one testsuite named after the scenario and target, with the real start and duration', () => {
    expect(xpath(file, 'count(/testsuites/testsuite)')).toBe('1');
    expect(xpath(file, 'string(/testsuites/testsuite/@name)')).toBe('flash-sale on bundled');
    expect(xpath(file, 'string(/testsuites/testsuite/@time)')).toBe('131.500');
    const stamp = xpath(file, 'string(/testsuites/testsuite/@timestamp)');
    expect(stamp).toBe(new Date(report.run.startMs).toISOString().slice(0, 19));
    expect(xpath(file, 'string(/testsuites/testsuite/@hostname)')).toBe('ci-runner-3');
    expect(xpath(file, 'string(//property[@name="command"]/@value)')).toBe('npx mqdrill drill flash-sale --seed 7');
  });

  test('one testcase per check and gate; counts match; not applicable is skipped, not passed', () => {
    const cases = Number(xpath(file, 'count(//testcase)'));
    expect(cases).toBe(report.anomalies.length + report.gates.length);
    expect(xpath(file, 'string(/testsuites/testsuite/@tests)')).toBe(String(cases));
    const failing = report.anomalies.filter((a) => a.verdict === 'fail').length;
    const failingGates = report.gates.filter((g) => g.status === 'fail').length;
    expect(failing + failingGates).toBeGreaterThan(0);
    expect(xpath(file, 'count(//testcase/failure)')).toBe(String(failing + failingGates));
    expect(xpath(file, 'string(/testsuites/testsuite/@failures)')).toBe(String(failing + failingGates));
    const notApplicable = report.anomalies.filter((a) => !a.applicable && a.verdict === 'pass');
    expect(notApplicable.length).toBeGreaterThan(0);
    expect(xpath(file, 'count(//testcase/skipped)')).toBe(String(notApplicable.length));
    expect(xpath(file, 'string(/testsuites/testsuite/@skipped)')).toBe(String(notApplicable.length));
    for (const a of notApplicable) {
      expect(xpath(file, `count(//testcase[@name="anomaly ${a.name}"]/skipped)`)).toBe('1');
    }
    expect(xpath(file, 'string(//testcase[1]/@classname)')).toBe('mqdrill.flash-sale.bundled.anomalies');
  });

  test('every case states the measured value and the bound, passing ones too', () => {
    const lost = xpath(file, 'string(//testcase[@name="anomaly lost"]/failure/@message)');
    expect(lost).toMatch(/^measured 1 of \d+ .*bound 0/);
    const p99 = report.gates.find((g) => g.source === 'send_duration: p(99)<200');
    const p99Case = p99?.status === 'pass' ? 'system-out' : 'failure/@message';
    const p99Text = xpath(file, `string(//testcase[@name="gate send_duration: p(99)<200"]/${p99Case})`);
    expect(p99Text).toMatch(/^measured [\d.]+ (ms|s), bound p\(99\) < 200 ms/);
    const drain = xpath(file, 'string(//testcase[@name="gate drain < 60s"]/system-out)');
    expect(drain).toMatch(/^measured [\d.]+ s, bound < 1m$/);
  });
});
