import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  applyBaseline,
  type BaselineEntry,
  blankGoLiterals,
  FUNCTION_LINES_MAX,
  formatOffence,
  goFunctions,
  LINE_COLUMNS_MAX,
  listSourceFiles,
  type Offence,
  scanRepository,
  scanSource,
  scriptFunctions,
} from './tidy.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Spelled in pieces so this file does not trip the rules it tests. */
const todo = 'TO' + 'DO';
const fixme = 'FIX' + 'ME';
const only = '.' + 'only(';

function rulesAt(file: string, text: string): string[] {
  return scanSource(file, text).map((offence) => `${offence.line}:${offence.rule}`);
}

function tsFunction(name: string, bodyLines: number): string {
  const body = Array.from({ length: bodyLines }, (_, i) => `  const v${i} = ${i};`).join('\n');
  return `function ${name}() {\n${body}\n}\n`;
}

describe('tidy: the scanner catches each rule in synthetic source', () => {
  test('line-length: 121 columns fails, 120 passes, Go tabs count 4 columns', () => {
    const text = `const a = 1;\n// ${'x'.repeat(LINE_COLUMNS_MAX - 3)}\n// ${'y'.repeat(LINE_COLUMNS_MAX - 2)}\n`;
    expect(rulesAt('lib/a.ts', text)).toEqual(['3:line-length']);
    const goShort = `var b = 1 // ${'z'.repeat(LINE_COLUMNS_MAX - 20)}`;
    const goText = `package a\n\n${goShort}\n\t\t\t\tvar c = "${'z'.repeat(100)}"\n`;
    expect(rulesAt('drivers/go/a.go', goText)).toEqual(['4:line-length']);
    expect(formatOffence(scanSource('lib/a.ts', text)[0]!)).toBe(
      'lib/a.ts:3: line-length: line has 121 columns (max 120)',
    );
  });

  test('function-length: a TS function of 81 lines fails at its first line, one of 80 passes', () => {
    const short = tsFunction('short', FUNCTION_LINES_MAX - 2);
    const text = `export const x = 1;\n${short}${tsFunction('long', FUNCTION_LINES_MAX - 1)}`;
    const offences = scanSource('harness/a.ts', text);
    expect(offences.map((o) => o.rule)).toEqual(['function-length']);
    expect(offences[0]!.line).toBe(2 + FUNCTION_LINES_MAX);
    expect(offences[0]!.message).toBe(`long has ${FUNCTION_LINES_MAX + 1} lines (max ${FUNCTION_LINES_MAX})`);
  });

  test('function-length: methods, arrow bodies, constructors and nested callbacks are measured', () => {
    const lines = (n: number) => Array.from({ length: n }, () => '    work();').join('\n');
    const text = [
      'class Store {',
      `  constructor() {\n${lines(80)}\n  }`,
      `  append() {\n${lines(3)}\n  }`,
      '}',
      `export const handler = async () => {\n${lines(79)}\n};`,
      `it('a test', () => {\n${lines(79)}\n});`,
      `describe('a group', () => {\n  test('inside', () => {\n${lines(20)}\n  });\n${lines(90)}\n});`,
      `describeEachStore((makeStore) => {\n${lines(90)}\n});`,
    ].join('\n');
    const spans = scriptFunctions('a.test.ts', text).map((s) => `${s.name}:${s.lineCount}`);
    expect(spans).toEqual(['constructor:82', 'append:5', 'handler:81', 'callback of it:81', 'callback of test:22']);
    expect(scanSource('a.test.ts', text).map((o) => o.message)).toEqual([
      'constructor has 82 lines (max 80)',
      'handler has 81 lines (max 80)',
      'callback of it has 81 lines (max 80)',
    ]);
  });

  test('function-length: Go funcs by braces, ignoring braces in strings, runes and comments', () => {
    const body = (n: number) => Array.from({ length: n }, () => '\tx++').join('\n');
    const text = [
      'package main',
      `func short() {\n\ts := "}}}" // }\n\tr := '{'\n${body(3)}\n}`,
      `func (d *Driver) Run(ctx context.Context) error {\n\traw := \`\n}\n\`\n${body(80)}\n\treturn nil\n}`,
    ].join('\n');
    expect(goFunctions(text)).toEqual([
      { name: 'short', startLine: 2, lineCount: 7 },
      { name: 'Run', startLine: 9, lineCount: 86 },
    ]);
    expect(rulesAt('drivers/go/main.go', text)).toEqual(['9:function-length']);
    expect(blankGoLiterals('a := "{" // }\nb')).toBe(`a := ${' '.repeat(8)}\nb`);
  });

  test('todo-without-issue: a bare marker fails; one naming an issue passes', () => {
    const text = [
      `// ${todo} make this faster`,
      `// ${todo}(#12) make this faster`,
      `/* ${fixme}: broken */`,
      `// ${fixme}(#3)`,
      `// ${todo}(12) needs the hash`,
      '// todos in lower case are prose',
    ].join('\n');
    expect(rulesAt('broker/a.ts', text)).toEqual([
      '1:todo-without-issue',
      '3:todo-without-issue',
      '5:todo-without-issue',
    ]);
    expect(rulesAt('drivers/go/a.go', `package a\n// ${todo} later\n`)).toEqual(['2:todo-without-issue']);
  });

  test('focused-test: a focused test in a test file fails; outside test files it is allowed', () => {
    const text = `import { test } from 'vitest';\ntest${only}'x', () => {});\ndescribe${only}'y', () => {});\n`;
    expect(rulesAt('broker/store/a.test.ts', text)).toEqual(['2:focused-test', '3:focused-test']);
    expect(rulesAt('lib/a.ts', `const pick = options${only}1);\n`)).toEqual([]);
  });

  test('every offence is reported, each with file:line', () => {
    const text = `// ${todo} one\n// ${todo} two\nit${only}'a', () => {});\n// ${'x'.repeat(130)}\n`;
    expect(scanSource('x/y.test.ts', text).map(formatOffence)).toEqual([
      `x/y.test.ts:1: todo-without-issue: ${todo} without an issue number: write ${todo}(#<issue>)`,
      `x/y.test.ts:2: todo-without-issue: ${todo} without an issue number: write ${todo}(#<issue>)`,
      'x/y.test.ts:3: focused-test: a focused test (.only) would skip every other test in the run',
      'x/y.test.ts:4: line-length: line has 133 columns (max 120)',
    ]);
  });
});

describe('tidy: the baseline of known offences', () => {
  const long = (file: string, line: number): Offence => ({ file, line, rule: 'line-length', message: 'long' });
  const fn = (file: string, functionName: string): Offence => ({
    file,
    line: 1,
    rule: 'function-length',
    message: `${functionName} is long`,
    functionName,
  });

  test('tolerates the listed functions and up to count long lines per file; anything more is fresh', () => {
    const baseline: BaselineEntry[] = [
      { file: 'a.ts', rule: 'function-length', functionName: 'big' },
      { file: 'a.ts', rule: 'line-length', count: 2 },
    ];
    const offences = [fn('a.ts', 'big'), fn('a.ts', 'bigger'), long('a.ts', 3), long('a.ts', 4), long('a.ts', 5)];
    const result = applyBaseline(offences, baseline);
    expect(result.fresh).toEqual([fn('a.ts', 'bigger'), long('a.ts', 5)]);
    expect(result.tolerated).toHaveLength(3);
    expect(result.stale).toEqual([]);
  });

  test('entries that match nothing any more are reported as stale; markers are never tolerated', () => {
    const baseline: BaselineEntry[] = [
      { file: 'a.ts', rule: 'function-length', functionName: 'gone' },
      { file: 'b.ts', rule: 'line-length', count: 3 },
    ];
    const marker: Offence = { file: 'b.ts', line: 2, rule: 'todo-without-issue', message: 'x' };
    const result = applyBaseline([long('b.ts', 1), marker], baseline);
    expect(result.fresh).toEqual([marker]);
    expect(result.stale).toEqual(baseline);
  });
});

describe('tidy: the repository', () => {
  test('the scan covers .ts, .mjs and .go files and skips node_modules, .tools and run output', () => {
    const files = listSourceFiles(repoRoot);
    expect(files).toContain('test/tidy.ts');
    expect(files).toContain(path.join('bin', 'mqdrill.mjs'));
    const skipped = ['node_modules', '.tools', 'runs', 'dist', 'test-artifacts'];
    expect(files.filter((file) => skipped.includes(file.split(path.sep)[0]!))).toEqual([]);
  });

  test('has no offences against the style rules (beyond the listed baseline)', () => {
    const baselinePath = path.join(repoRoot, 'test', 'tidy-baseline.json');
    const baseline = (JSON.parse(readFileSync(baselinePath, 'utf8')) as { entries: BaselineEntry[] }).entries;
    const { fresh, tolerated, stale } = applyBaseline(scanRepository(repoRoot), baseline);
    if (tolerated.length > 0) {
      const listed = tolerated.map(formatOffence).join('\n');
      console.warn(`tidy: ${tolerated.length} known offences from test/tidy-baseline.json, to fix:\n${listed}`);
    }
    if (stale.length > 0) {
      console.warn(
        `tidy: fixed, remove from test/tidy-baseline.json:\n${stale.map((e) => JSON.stringify(e)).join('\n')}`,
      );
    }
    const offences = fresh.map(formatOffence);
    expect(offences, `style offences:\n${offences.join('\n')}`).toEqual([]);
  });
});
