import { $, which } from 'zx';

/** zx with quiet output and no throw: setup decides itself what a non-zero exit means and what to print. */
export const sh = $({ quiet: true, nothrow: true, verbose: false });

/** Absolute path of a program on PATH, or undefined. */
export async function findOnPath(program: string): Promise<string | undefined> {
  const found = await which(program, { nothrow: true });
  return typeof found === 'string' ? found : undefined;
}

/** Same as findOnPath, synchronously (for toolPath(), which the harness calls in plain code). */
export function findOnPathSync(program: string): string | undefined {
  const found = which.sync(program, { nothrow: true });
  return typeof found === 'string' ? found : undefined;
}

/** The first non-empty line of a command's stdout + stderr, or undefined when the command failed to run. */
export async function firstLine(pieces: readonly string[], env?: NodeJS.ProcessEnv): Promise<string | undefined> {
  const [program, ...args] = pieces;
  if (program === undefined) throw new Error('firstLine: empty command');
  const result = await $({ quiet: true, nothrow: true, env: env ?? process.env })`${program} ${args}`;
  if (result.exitCode !== 0) return undefined;
  const text = `${result.stdout}\n${result.stderr}`;
  return text
    .split('\n')
    .find((line) => line.trim() !== '')
    ?.trim();
}

/** Prints a step of setup as it happens. */
export type Log = (message: string) => void;

export const consoleLog: Log = (message) => process.stdout.write(`setup: ${message}\n`);
