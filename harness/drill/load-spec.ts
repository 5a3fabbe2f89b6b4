/**
 * Finds and loads a drill: a built-in scenario name (`flash-sale` → scenarios/flash-sale.ts) or a spec file path
 * (a .ts/.js module exporting `options` and `drill`, or a JSON file `{"options": ..., "drill": ...}`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { CliError, ExitCode } from '../../lib/exit-codes.ts';
import type { DrillModule } from './spec.ts';

export const SCENARIOS_DIR = resolve(import.meta.dirname, '../../scenarios');
export const DEFAULT_SCENARIO = 'flash-sale';

/** The built-in scenario names (files in scenarios/). */
export function builtInScenarios(): string[] {
  if (!existsSync(SCENARIOS_DIR)) return [];
  return readdirSync(SCENARIOS_DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** A name in scenarios/ or a path; throws exit 3 naming the built-ins when neither exists. */
export function resolveDrill(nameOrPath: string): { name: string; path: string } {
  const builtIn = join(SCENARIOS_DIR, `${nameOrPath}.ts`);
  if (/^[\w-]+$/.test(nameOrPath) && existsSync(builtIn)) return { name: nameOrPath, path: builtIn };
  if (existsSync(nameOrPath)) {
    const path = resolve(nameOrPath);
    return { name: basename(path, extname(path)), path };
  }
  throw new CliError(
    `no drill "${nameOrPath}": neither a spec file nor a built-in scenario (${builtInScenarios().join(', ')})`,
    ExitCode.INVALID_SPEC,
  );
}

export async function loadDrillModule(path: string): Promise<DrillModule> {
  if (path.endsWith('.json')) return loadJson(path);
  let mod: Record<string, unknown>;
  try {
    mod = (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`cannot load drill ${path}: ${(err as Error).message}`, ExitCode.INVALID_SPEC);
  }
  const { options, drill } = specExports(mod);
  if (options === undefined) {
    throw new CliError(
      `drill ${path} exports neither \`options\` nor a default \`defineDrill({options, drill})\``,
      ExitCode.INVALID_SPEC,
    );
  }
  return { options, drill };
}

/**
 * `options` and `drill` of a loaded spec module: named exports, or the default export (`export default
 * defineDrill(...)`). A .ts file outside a `"type": "module"` package is loaded as CommonJS, where the default export
 * arrives one level deeper (`default.default`); both are accepted.
 */
export function specExports(mod: Record<string, unknown>): { options: unknown; drill: unknown } {
  let fallback = (mod.default ?? {}) as Record<string, unknown>;
  if (fallback.options === undefined && typeof fallback.default === 'object' && fallback.default !== null) {
    fallback = fallback.default as Record<string, unknown>;
  }
  return { options: mod.options ?? fallback.options, drill: mod.drill ?? fallback.drill };
}

function loadJson(path: string): DrillModule {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read drill ${path}: ${(err as Error).message}`, ExitCode.INVALID_SPEC);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`drill ${path}: must be a JSON object {"options": ..., "drill": ...}`, ExitCode.INVALID_SPEC);
  }
  const record = parsed as Record<string, unknown>;
  const unknownKeys = Object.keys(record).filter((k) => k !== 'options' && k !== 'drill');
  return { options: record.options, drill: record.drill, unknownKeys };
}
