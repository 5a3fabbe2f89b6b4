/**
 * The repository's dependency boundaries, checked by test/boundaries.test.ts:
 *   - the broker (broker/) never imports the harness (harness/): it ships and runs alone;
 *   - lib/ (exit codes, clock, durations, random, bounded queues, free ports) imports only lib/: every area may use it;
 *   - the shared test kit (test/kit/) imports the broker and lib/, never the harness.
 * Imports are read from the source text (static, `export ... from` and dynamic `import('...')`) and resolved
 * against the importing file, so a relative path that climbs into a forbidden folder is caught.
 *
 * The repository also explains itself: no comment or doc points at a document a clone does not have (a design
 * document kept beside the repository, a numbered rule from it, a sibling `shared` folder). externalReferences()
 * finds them; docs/architecture.md and the other docs/ pages are where such explanations go.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { listSourceFiles } from './tidy.ts';

export interface BoundaryRule {
  /** Files this rule applies to (repository-relative prefix). */
  from: string;
  /** Folders those files may not import from (repository-relative prefixes). */
  forbidden: readonly string[];
  why: string;
}

export const BOUNDARY_RULES: readonly BoundaryRule[] = [
  { from: 'broker/', forbidden: ['harness/'], why: 'the broker runs without the harness' },
  {
    from: 'lib/',
    forbidden: ['broker/', 'harness/', 'reports/', 'dashboards/', 'scenarios/', 'test/', 'bench/'],
    why: 'lib/ is the shared layer every area imports; it depends on no area',
  },
  { from: 'test/kit/', forbidden: ['harness/'], why: 'the test kit serves every area, the broker included' },
];

export interface BoundaryOffence {
  file: string;
  line: number;
  specifier: string;
  message: string;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** Relative import specifiers in a source text, with their line numbers. */
export function importSpecifiers(text: string): Array<{ specifier: string; line: number }> {
  const found: Array<{ specifier: string; line: number }> = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] as string;
    if (!specifier.startsWith('.')) continue;
    found.push({ specifier, line: text.slice(0, match.index).split('\n').length });
  }
  return found;
}

/** Offences of one file (repository-relative path) against the rules. */
export function checkBoundaries(file: string, text: string, rules = BOUNDARY_RULES): BoundaryOffence[] {
  const offences: BoundaryOffence[] = [];
  for (const rule of rules.filter((r) => file.startsWith(r.from))) {
    for (const { specifier, line } of importSpecifiers(text)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      const hit = rule.forbidden.find((folder) => target.startsWith(folder));
      if (hit === undefined) continue;
      const why = `${rule.from} may not import ${hit} (${rule.why})`;
      const message = `${file}:${line} imports ${specifier} (${target}): ${why}`;
      offences.push({ file, line, specifier, message });
    }
  }
  return offences;
}

export function scanBoundaries(root: string): BoundaryOffence[] {
  return listSourceFiles(root)
    .filter((file) => file.endsWith('.ts') || file.endsWith('.mjs'))
    .flatMap((file) => checkBoundaries(file.split(path.sep).join('/'), readFileSync(path.join(root, file), 'utf8')));
}

/** Spelled in pieces so this file does not match its own patterns. */
const EXTERNAL_PATTERNS: ReadonlyArray<{ pattern: RegExp; what: string }> = [
  { pattern: new RegExp(['DESIGN', '\\.md'].join('')), what: 'a design document outside the repository' },
  { pattern: new RegExp(['\\bhabits?', ' \\d+'].join(''), 'i'), what: 'a numbered rule from outside the repository' },
  { pattern: new RegExp(['\\.\\./', 'shared\\b'].join('')), what: 'a folder beside the repository' },
  { pattern: new RegExp(['/work', '/'].join('')), what: 'a path on the development machine' },
  {
    pattern: new RegExp(['rocketmq-grpc', '\\.md|real-rocketmq', '\\.md'].join('')),
    what: 'a protocol note outside the repository',
  },
];

export interface ExternalReference {
  file: string;
  line: number;
  text: string;
  what: string;
}

/** Lines of one file that point at a document outside the repository. */
export function externalReferences(file: string, text: string): ExternalReference[] {
  const found: ExternalReference[] = [];
  text.split('\n').forEach((line, index) => {
    const hit = EXTERNAL_PATTERNS.find(({ pattern }) => pattern.test(line));
    if (hit) found.push({ file, line: index + 1, text: line.trim(), what: hit.what });
  });
  return found;
}

const DOC_SKIPPED = new Set(['node_modules', '.tools', 'runs', 'dist', 'test-artifacts', '.git', 'vendor']);
const DOC_EXTENSIONS = ['.ts', '.mjs', '.js', '.go', '.java', '.md', '.json', '.proto', '.yml', '.yaml'];

/** Every text file a maintainer reads: sources, docs, configs (lock files excluded). */
export function listTextFiles(root: string, relativeDir = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(path.join(root, relativeDir), { withFileTypes: true })) {
    const relative = path.join(relativeDir, entry.name);
    if (entry.isDirectory() && !DOC_SKIPPED.has(entry.name)) files.push(...listTextFiles(root, relative));
    const wanted = DOC_EXTENSIONS.some((extension) => entry.name.endsWith(extension));
    if (entry.isFile() && wanted && entry.name !== 'package-lock.json') files.push(relative);
  }
  return files.sort();
}

export function scanExternalReferences(root: string): ExternalReference[] {
  return listTextFiles(root).flatMap((file) => externalReferences(file, readFileSync(path.join(root, file), 'utf8')));
}
