import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this file lives in (harness/setup/ is two levels below it). */
export function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** The cache folder `mqdrill setup` installs into: `<checkout>/.tools` (ignored by git). */
export function toolsDir(): string {
  return path.join(repoRoot(), '.tools');
}

/** Programs built or installed by setup: toxiproxy-server, toxiproxy-cli, mqdrill-go-driver. */
export function toolsBinDir(): string {
  return path.join(toolsDir(), 'bin');
}

/** Stamp files recording what a build was made from (source hashes). */
export function toolsStampDir(): string {
  return path.join(toolsDir(), 'stamps');
}

/** Maven Central jars, one folder per set: `.tools/maven/<name>/`. */
export function toolsMavenDir(): string {
  return path.join(toolsDir(), 'maven');
}

/** Shows a path relative to the checkout when it is inside it, so messages stay short. */
export function displayPath(absolutePath: string): string {
  const relative = path.relative(repoRoot(), absolutePath);
  return relative.startsWith('..') || path.isAbsolute(relative) ? absolutePath : relative;
}
