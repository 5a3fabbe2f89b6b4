/**
 * The style rules every source file keeps, checked by test/tidy.test.ts: lines of at most 120 columns,
 * functions of at most 80 lines, to-do markers that name an issue, and no focused (`.only`) tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const LINE_COLUMNS_MAX = 120;
export const FUNCTION_LINES_MAX = 80;
/** A Go tab is shown this wide when counting columns. */
const GO_TAB_COLUMNS = 4;

export type TidyRule = 'line-length' | 'function-length' | 'todo-without-issue' | 'focused-test';

export interface Offence {
  file: string;
  line: number;
  rule: TidyRule;
  message: string;
  /** For function-length: the function's name. */
  functionName?: string;
}

export function formatOffence(offence: Offence): string {
  return `${offence.file}:${offence.line}: ${offence.rule}: ${offence.message}`;
}

/** Folders never scanned: dependencies, the tool cache, run output, build output, generated code. */
const skippedFolders = new Set([
  ...['node_modules', '.tools', 'runs', 'dist', 'test-artifacts', '.git', 'vendor'],
  'generated', // broker/protocol/generated: proto-loader-gen-types output, checked for staleness instead
]);
const scannedExtensions = ['.ts', '.mjs', '.go'];

/** Source files under root (paths relative to it, sorted). */
export function listSourceFiles(root: string, relativeDir = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(path.join(root, relativeDir), { withFileTypes: true })) {
    const relative = path.join(relativeDir, entry.name);
    if (entry.isDirectory()) {
      if (!skippedFolders.has(entry.name)) files.push(...listSourceFiles(root, relative));
    } else if (entry.isFile() && scannedExtensions.some((extension) => entry.name.endsWith(extension))) {
      files.push(relative);
    }
  }
  return files.sort();
}

export function scanRepository(root: string): Offence[] {
  return listSourceFiles(root).flatMap((file) => scanSource(file, readFileSync(path.join(root, file), 'utf8')));
}

/** Every offence in one file's text; `file` decides the language and whether it is a test. */
export function scanSource(file: string, text: string): Offence[] {
  const lines = text.split('\n');
  const offences = [...longLines(file, lines), ...todosWithoutIssue(file, lines), ...focusedTests(file, lines)];
  const functions = file.endsWith('.go') ? goFunctions(text) : scriptFunctions(file, text);
  for (const fn of functions) {
    if (fn.lineCount > FUNCTION_LINES_MAX) {
      offences.push({
        file,
        line: fn.startLine,
        rule: 'function-length',
        message: `${fn.name} has ${fn.lineCount} lines (max ${FUNCTION_LINES_MAX})`,
        functionName: fn.name,
      });
    }
  }
  return offences.sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule));
}

function longLines(file: string, lines: readonly string[]): Offence[] {
  const tabColumns = file.endsWith('.go') ? GO_TAB_COLUMNS : 1;
  const offences: Offence[] = [];
  lines.forEach((line, index) => {
    const columns = [...line.replace(/\r$/, '')].reduce((sum, char) => sum + (char === '\t' ? tabColumns : 1), 0);
    if (columns > LINE_COLUMNS_MAX) {
      const message = `line has ${columns} columns (max ${LINE_COLUMNS_MAX})`;
      offences.push({ file, line: index + 1, rule: 'line-length', message });
    }
  });
  return offences;
}

/** The markers are spelled in pieces so that this file does not flag itself. */
const todoMarkers = ['TO' + 'DO', 'FIX' + 'ME'];
const todoPattern = new RegExp(`\\b(${todoMarkers.join('|')})\\b(?!\\(#\\d+\\))`);

function todosWithoutIssue(file: string, lines: readonly string[]): Offence[] {
  const offences: Offence[] = [];
  lines.forEach((line, index) => {
    const match = todoPattern.exec(line);
    if (match) {
      const message = `${match[1]} without an issue number: write ${match[1]}(#<issue>)`;
      offences.push({ file, line: index + 1, rule: 'todo-without-issue', message });
    }
  });
  return offences;
}

const focusedPattern = new RegExp('\\.' + 'only\\(');

function isTestFile(file: string): boolean {
  return /\.(test|spec)\.(ts|mjs)$/.test(file);
}

function focusedTests(file: string, lines: readonly string[]): Offence[] {
  if (!isTestFile(file)) return [];
  const offences: Offence[] = [];
  lines.forEach((line, index) => {
    if (focusedPattern.test(line)) {
      const message = 'a focused test (.only) would skip every other test in the run';
      offences.push({ file, line: index + 1, rule: 'focused-test', message });
    }
  });
  return offences;
}

export interface FunctionSpan {
  name: string;
  startLine: number;
  lineCount: number;
}

/**
 * TS/JS functions, methods, constructors, accessors and arrow functions with a block body, measured from their first
 * line to their closing brace. Callbacks given to `describe` (and `describe.each`, `suite`, a shared-suite helper
 * such as `describeEachStore`) are exempt: they are test groupings rather than functions; each test inside them is
 * measured.
 */
export function scriptFunctions(file: string, text: string): FunctionSpan[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, scriptKind(file));
  const spans: FunctionSpan[] = [];
  const visit = (node: ts.Node) => {
    if (isMeasuredFunction(node) && !isTestGrouping(node)) {
      const startLine = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      const endLine = source.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      spans.push({ name: functionName(node, source), startLine, lineCount: endLine - startLine + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return spans;
}

function scriptKind(file: string): ts.ScriptKind {
  if (file.endsWith('.tsx')) return ts.ScriptKind.TSX;
  return file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS;
}

function isMeasuredFunction(node: ts.Node): node is ts.FunctionLikeDeclaration {
  if (ts.isArrowFunction(node)) return ts.isBlock(node.body);
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

/** describe, describe.each(...), suite, context, and suite helpers named describe* (describeEachStore). */
function isGroupingCallee(name: string): boolean {
  return name.startsWith('describe') || name === 'suite' || name === 'context';
}

function isTestGrouping(node: ts.Node): boolean {
  const call = node.parent;
  if (call === undefined || !ts.isCallExpression(call) || !call.arguments.includes(node as ts.Expression)) return false;
  let callee: ts.Expression = call.expression;
  // describe.each(table)(name, fn), describe.skip(name, fn), describe.concurrent(...)
  while (ts.isCallExpression(callee) || ts.isPropertyAccessExpression(callee)) callee = callee.expression;
  return ts.isIdentifier(callee) && isGroupingCallee(callee.text);
}

function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (node.name !== undefined) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return parent.name.getText(source);
  }
  if (ts.isCallExpression(parent)) return `callback of ${parent.expression.getText(source).slice(0, 40)}`;
  return 'anonymous function';
}

/**
 * Go `func` declarations at the top level, measured by braces from the `func` line to the brace that closes it.
 * Strings, runes, raw strings and comments are blanked first so braces inside them do not count.
 */
export function goFunctions(text: string): FunctionSpan[] {
  const lines = blankGoLiterals(text).split('\n');
  const spans: FunctionSpan[] = [];
  for (let index = 0; index < lines.length; index++) {
    const header = /^func\s+(\([^)]*\)\s*)?([A-Za-z_]\w*)/.exec(lines[index]!);
    if (!header) continue;
    let depth = 0;
    let opened = false;
    let end = index;
    for (; end < lines.length; end++) {
      for (const char of lines[end]!) {
        if (char === '{') {
          depth++;
          opened = true;
        } else if (char === '}') {
          depth--;
        }
      }
      if (opened && depth === 0) break;
    }
    if (!opened) continue; // A declaration without a body (assembly stub).
    spans.push({ name: header[2]!, startLine: index + 1, lineCount: end - index + 1 });
    index = end;
  }
  return spans;
}

/** Replaces the contents of Go comments and literals with spaces, keeping every newline where it was. */
export function blankGoLiterals(text: string): string {
  const literal = /\/\/[^\n]*|\/\*[\s\S]*?\*\/|`[^`]*`|"(\\.|[^"\\\n])*"|'(\\.|[^'\\\n])*'/g;
  return text.replace(literal, (segment) => segment.replace(/[^\n]/g, ' '));
}

/**
 * Offences that were in the tree when the tidy test arrived, owned by other work: a long function by name, or up to
 * `count` long lines in a file. They are reported on every run and should be fixed and removed from the list; a new
 * offence of the same kind (another function, one more long line) still fails. To-do and `.only` markers are never
 * tolerated.
 */
export type BaselineEntry =
  | { file: string; rule: 'function-length'; functionName: string }
  | { file: string; rule: 'line-length'; count: number };

export interface BaselineResult {
  fresh: Offence[];
  tolerated: Offence[];
  /** Entries that no longer match anything (fixed): remove them from the baseline. */
  stale: BaselineEntry[];
}

export function applyBaseline(offences: readonly Offence[], baseline: readonly BaselineEntry[]): BaselineResult {
  const result: BaselineResult = { fresh: [], tolerated: [], stale: [] };
  const used = new Map<BaselineEntry, number>();
  for (const offence of offences) {
    const entry = baseline.find((candidate) => matches(candidate, offence, used.get(candidate) ?? 0));
    if (entry === undefined) {
      result.fresh.push(offence);
    } else {
      result.tolerated.push(offence);
      used.set(entry, (used.get(entry) ?? 0) + 1);
    }
  }
  result.stale = baseline.filter((entry) => {
    const count = used.get(entry) ?? 0;
    return entry.rule === 'line-length' ? count < entry.count : count === 0;
  });
  return result;
}

function matches(entry: BaselineEntry, offence: Offence, usedCount: number): boolean {
  if (entry.file !== offence.file || entry.rule !== offence.rule) return false;
  if (entry.rule === 'line-length') return usedCount < entry.count;
  return entry.functionName === offence.functionName;
}
