/**
 * A top-N self-time table of V8 CPU profiles (.cpuprofile, as `node --cpu-prof` or `bench/compare.ts --profile DIR`
 * writes them), plus the self time grouped by where the code lives (the broker's own directories, each dependency
 * package, node internals, GC, idle).
 *
 *   npx tsx bench/profile-summary.ts DIR_OR_FILE... [--top 30] [--all-threads]
 *
 * The format is a JSON tree of call frames with sample ids and time deltas; self time is the sum of a node's sample
 * deltas. Hand-rolled (about 60 lines) because the npm profile tools either render flame graphs (not tables) or pull
 * in a browser UI; this needs only JSON.parse.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '30' }, 'all-threads': { type: 'boolean', default: false } },
  allowPositionals: true,
});
if (positionals.length === 0) throw new Error('usage: npx tsx bench/profile-summary.ts DIR_OR_FILE... [--top 30]');

function files(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p).flatMap((f) => files(join(p, f)).filter((x) => x.endsWith('.cpuprofile')));
}

const load = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const idleOf = (p: CpuProfile) => {
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  return p.samples.reduce((a, id, i) => a + (idle.has(id) ? 0 : (p.timeDeltas[i] ?? 0)), 0);
};

/**
 * The profiles to count: every file given, and of each directory only the busiest file (a node process writes one
 * per thread; tsx's module loader thread is busy only at start-up), unless --all-threads.
 */
function profiles(paths: string[]): CpuProfile[] {
  return paths.flatMap((p) => {
    const ps = files(p).map(load);
    if (values['all-threads'] || !statSync(p).isDirectory()) return ps;
    return ps.sort((a, b) => idleOf(b) - idleOf(a)).slice(0, 1);
  });
}

/** Where a frame's code lives: a broker/bench/harness directory, an npm package, node internals, or V8 itself. */
function area(url: string, name: string): string {
  if (!url) return `(${name.replace(/[()]/g, '') || 'v8'})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] ?? url;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/(broker|harness|bench|lib)\/([^/]+)/.exec(url);
  if (own) return own[2]?.includes('.') ? (own[1] ?? url) : `${own[1]}/${own[2]}`;
  return url;
}

const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|broker|harness|bench|lib)\//, '$1/');

const self = new Map<string, number>();
const byArea = new Map<string, number>();
let total = 0;
for (const prof of profiles(positionals)) {
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    const f = nodes.get(id)?.callFrame;
    if (!f) return;
    const key = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const a = area(f.url, f.functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + dt);
    total += dt;
  });
}
const busy = total - (byArea.get('(idle)') ?? 0);
const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
const pctBusy = (us: number) => `${((100 * us) / Math.max(1, busy)).toFixed(1)}%`;
const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);

console.log(`profiled ${(total / 1e6).toFixed(1)} s, of it busy (not idle) ${(busy / 1e6).toFixed(1)} s\n`);
console.log('| area | self s | of all | of busy |\n| --- | --- | --- | --- |');
for (const [a, us] of sorted(byArea).slice(0, 20)) {
  console.log(`| ${a} | ${(us / 1e6).toFixed(2)} | ${pct(us)} | ${pctBusy(us)} |`);
}
console.log('\n| function | self s | of all | of busy |\n| --- | --- | --- | --- |');
for (const [k, us] of sorted(self).slice(0, Number(values.top))) {
  console.log(`| \`${k}\` | ${(us / 1e6).toFixed(2)} | ${pct(us)} | ${pctBusy(us)} |`);
}
