/**
 * Compiles and runs test/java/Conformance.java (the official RocketMQ 5 Java client, one named case per run) for
 * the broker tests. Nothing is built with Maven here: javac against the jars `mqdrill setup --only maven` copies.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
export const javaClientJarDir = path.join(repoRoot, '.tools/maven/rocketmq-client-java');
const setupHint = 'run `node bin/mqdrill.mjs setup --only maven` (docs/setup.md; needs Java 17 with javac)';

export interface JavaCaseResult {
  case: string;
  ok: boolean;
  detail: Record<string, unknown>;
  error?: string;
}

export interface JavaRun {
  name: string;
  code: number | null;
  result?: JavaCaseResult;
  stdout: string;
  stderr: string;
  /** The client's own log (ERROR/WARN lines, no stack frames), for failures. */
  clientLog: string;
  elapsedMs: number;
}

export interface CompiledConformance {
  classesDir: string;
  workDir: string;
  dispose(): void;
}

function requireTool(tool: 'java' | 'javac'): void {
  const r = spawnSync(tool, ['-version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`${tool} is not usable (${r.error?.message ?? r.stderr.trim()}): ${setupHint}`);
  }
}

/** Checks java, javac and the client jars, then compiles the program into a fresh temp dir. Throws with a hint. */
export function compileConformance(): CompiledConformance {
  requireTool('java');
  requireTool('javac');
  const jars = fs.existsSync(javaClientJarDir)
    ? fs.readdirSync(javaClientJarDir).filter((f) => f.endsWith('.jar'))
    : [];
  if (!jars.some((f) => f.startsWith('rocketmq-client-java'))) {
    throw new Error(`no rocketmq-client-java jar in ${javaClientJarDir}: ${setupHint}`);
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-java-'));
  const classesDir = path.join(workDir, 'classes');
  const sources = fs
    .readdirSync(here)
    .filter((f) => f.endsWith('.java'))
    .map((f) => path.join(here, f));
  const r = spawnSync('javac', ['-Xlint:all', '-cp', `${javaClientJarDir}/*`, '-d', classesDir, ...sources], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    fs.rmSync(workDir, { recursive: true, force: true });
    throw new Error(`javac failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  return { classesDir, workDir, dispose: () => fs.rmSync(workDir, { recursive: true, force: true }) };
}

export type CaseArgs = Record<string, string | number | boolean>;

/**
 * Runs one case: `java Conformance --endpoint E --case NAME --k v ...`. The JVM is killed if it outlives the case's
 * own --timeout-ms by 20 s. Never throws for a failing case; the result says what happened.
 */
export async function runJavaCase(
  compiled: CompiledConformance,
  endpoint: string,
  name: string,
  args: CaseArgs = {},
): Promise<JavaRun> {
  const all: CaseArgs = { 'timeout-ms': 60_000, ...args };
  const logDir = fs.mkdtempSync(path.join(compiled.workDir, `log-${name}-`));
  const flags = Object.entries(all).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const classpath = `${compiled.classesDir}${path.delimiter}${javaClientJarDir}/*`;
  const jvm = ['-XX:TieredStopAtLevel=1', `-Drocketmq.log.root=${logDir}`, '-cp', classpath];
  const t0 = Date.now();
  const child = spawn('java', [...jvm, 'Conformance', '--endpoint', endpoint, '--case', name, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), Number(all['timeout-ms']) + 20_000);
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      stderr += String(err);
      resolve(null);
    });
    child.on('close', (c) => resolve(c));
  });
  clearTimeout(killer);
  const line = stdout.split('\n').find((l) => l.startsWith('{"case"'));
  const result = line ? (JSON.parse(line) as JavaCaseResult) : undefined;
  return { name, code, result, stdout, stderr, clientLog: clientLog(logDir), elapsedMs: Date.now() - t0 };
}

const isProblem = (l: string | undefined) => / (ERROR|WARN) /.test(l ?? '');

function clientLog(logDir: string): string {
  const file = path.join(logDir, 'rocketmq-client.log');
  if (!fs.existsSync(file)) return '';
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const isEntry = (l: string | undefined) => /^\d{4}-\d\d-\d\d /.test(l ?? '');
  // An ERROR/WARN entry, the exception line right after it, and the stack's "Caused by" lines.
  return lines
    .filter((l, i) => / (ERROR|WARN) /.test(l) || l.startsWith('Caused by') || (isProblem(lines[i - 1]) && !isEntry(l)))
    .slice(-20)
    .join('\n');
}

/** A readable account of a run for assertion messages. */
export function explain(run: JavaRun): string {
  const parts = [`java case ${run.name}: exit ${run.code} after ${run.elapsedMs} ms`];
  if (run.result) parts.push(`result: ${JSON.stringify(run.result)}`);
  else parts.push(`no result line; stdout:\n${run.stdout.slice(-2000)}`);
  if (run.stderr.trim()) parts.push(`stderr:\n${run.stderr.slice(-2000)}`);
  if (!run.result?.ok && run.clientLog) parts.push(`client log (errors, warnings):\n${run.clientLog}`);
  return parts.join('\n');
}
