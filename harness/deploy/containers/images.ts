/**
 * The containers target's images, built on this machine (no registry is reachable) and cached by a hash of their
 * inputs: an image whose tag (the hash) exists is reused; any change of an input gives a new tag and a build.
 *
 *   mqdrill-base:<h>      the host's runtimes as a root filesystem (`docker import`): node, the JRE `java` runs
 *                         from, and every shared library they link (found with ldd). Inputs: each file's path, size
 *                         and mtime (hashing ~300 MB of runtime on every drill would cost seconds for nothing).
 *   mqdrill-broker:<h>    FROM base + the bundled broker as one esbuild bundle (container-entry.ts) and the few
 *                         packages kept outside it (grpc-js, proto-loader and their dependencies, the client's
 *                         .proto files). Inputs: the base tag and the bytes of everything copied.
 *   mqdrill-rocketmq:<h>  FROM base + the RocketMQ 5.3.3 jars and our compiled ProxyLauncher/Admin classes that
 *                         `mqdrill setup --only rocketmq` resolves into .tools/maven. Inputs: the base tag, each jar's
 *                         name and size, and the hash of the Java sources the classes were built from.
 *
 * The two derived images are built with testcontainers (GenericContainer.fromDockerfile, offline: their FROM is the
 * local base image, never pulled). A debootstrap root filesystem was the other option; copying the host's runtimes
 * needs no download and builds in seconds, and the host is where `mqdrill setup` already put node and the JRE.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../setup/paths.ts';
import { rocketmqClassesDir, rocketmqLibDir } from '../../setup/rocketmq.ts';
import { DockerError, docker, dockerAvailable, imageExists } from './docker.ts';

const execFileP = promisify(execFile);
/** Bumped when what goes into an image changes in a way its inputs do not show. */
const RECIPE = 'mqdrill-images-1';
export const IMAGE_LABEL = 'mqdrill.image=1';

export type ImageName = 'base' | 'broker' | 'rocketmq';

export interface BuiltImage {
  name: ImageName;
  tag: string;
  /** True when the image already existed (cache hit). */
  cached: boolean;
  ms: number;
}

export type ImageLog = (line: string) => void;

/** Where the JRE is: the folder above the bin/ of the `java` on PATH (or $JAVA_HOME). */
export async function javaHome(): Promise<string> {
  if (process.env.JAVA_HOME && fs.existsSync(path.join(process.env.JAVA_HOME, 'bin/java'))) {
    return fs.realpathSync(process.env.JAVA_HOME);
  }
  const { stdout } = await execFileP('sh', ['-c', 'command -v java']).catch(() => ({ stdout: '' }));
  const java = stdout.trim();
  if (!java) throw new Error('no java on PATH and no JAVA_HOME: install a JRE 17 (`mqdrill setup` lists it)');
  return path.dirname(path.dirname(fs.realpathSync(java)));
}

/** Folders of the JRE left out of the image (compile-time and documentation files). */
const JRE_SKIP = new Set(['jmods', 'include', 'man', 'docs', 'legal', 'demo', 'sample', 'ct.sym', 'src.zip']);

function walk(dir: string, out: string[], skip: Set<string> = new Set()): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out, skip);
    else out.push(p);
  }
}

/** Shared libraries a binary or library links, as absolute paths (ldd; "not found" ones are left out). */
async function linkedLibraries(files: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const f of files) {
    const { stdout } = await execFileP('ldd', [f]).catch(() => ({ stdout: '' }));
    for (const line of stdout.split('\n')) {
      const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
      if (m?.[1]) found.add(m[1]);
    }
  }
  return [...found].sort();
}

export interface BaseInputs {
  /** Files copied as they are (symlinks kept). */
  files: string[];
  /** Libraries copied dereferenced, under their linked name in their real folder. */
  libraries: string[];
  node: string;
  javaHome: string;
}

export async function baseInputs(): Promise<BaseInputs> {
  const node = fs.realpathSync(process.execPath);
  const home = await javaHome();
  const files: string[] = [node];
  walk(home, files, JRE_SKIP);
  const etcJava = fs.existsSync('/etc/java-17-openjdk') ? '/etc/java-17-openjdk' : undefined;
  if (etcJava) walk(etcJava, files);
  const elf = files.filter((f) => f === node || /\.so$/.test(f) || f === path.join(home, 'bin/java'));
  return { files: files.sort(), libraries: await linkedLibraries(elf), node, javaHome: home };
}

function statKey(p: string): string {
  const s = fs.lstatSync(p);
  return `${p}\0${s.size}\0${Math.trunc(s.mtimeMs)}\0${s.isSymbolicLink() ? fs.readlinkSync(p) : ''}\n`;
}

export function baseHash(inputs: BaseInputs): string {
  const h = createHash('sha256').update(`${RECIPE}\nbase\n`);
  for (const f of inputs.files) h.update(statKey(f));
  for (const l of inputs.libraries) h.update(statKey(fs.realpathSync(l)));
  return h.digest('hex').slice(0, 16);
}

/** Lays out the root filesystem in `dir`. */
function stageBase(inputs: BaseInputs, dir: string): void {
  for (const link of ['bin', 'lib', 'lib64', 'sbin']) {
    const target =
      fs.existsSync(`/${link}`) && fs.lstatSync(`/${link}`).isSymbolicLink() ? fs.readlinkSync(`/${link}`) : '';
    if (target) fs.symlinkSync(target, path.join(dir, link));
  }
  for (const f of inputs.files) {
    const dest = path.join(dir, f);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    if (fs.lstatSync(f).isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(f), dest);
      continue;
    }
    fs.copyFileSync(f, dest);
    fs.chmodSync(dest, fs.statSync(f).mode & 0o7777);
  }
  for (const lib of inputs.libraries) {
    const dest = path.join(dir, fs.realpathSync(path.dirname(lib)), path.basename(lib));
    if (fs.existsSync(dest)) continue;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(fs.realpathSync(lib), dest);
    fs.chmodSync(dest, 0o755);
  }
  fs.mkdirSync(path.join(dir, 'tmp'), { mode: 0o1777 });
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/false\n');
  fs.writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\n');
  fs.mkdirSync(path.join(dir, 'root'), { recursive: true });
  const javaLink = path.join(dir, 'usr/local/bin');
  fs.mkdirSync(javaLink, { recursive: true });
  fs.symlinkSync(path.join(inputs.javaHome, 'bin/java'), path.join(javaLink, 'java'));
  if (inputs.node !== '/usr/local/bin/node') fs.symlinkSync(inputs.node, path.join(javaLink, 'node'));
}

/** `tar -C dir -c . | docker import - tag`, bounded. */
function importDir(dir: string, tag: string, timeoutMs = 600_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const args = ['import', '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', '--change', `LABEL ${IMAGE_LABEL}`];
    const imp = spawn('docker', [...args, '-', tag], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    imp.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // A failing import closes its stdin early; the error is reported from its exit code below.
    imp.stdin.on('error', () => tar.kill('SIGKILL'));
    tar.stdout.pipe(imp.stdin);
    const timer = setTimeout(() => {
      tar.kill('SIGKILL');
      imp.kill('SIGKILL');
    }, timeoutMs);
    imp.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new DockerError(['import', '-', tag], code, stderr || `killed after ${timeoutMs} ms`));
    });
  });
}

async function ensureBase(log: ImageLog): Promise<BuiltImage> {
  const started = performance.now();
  const inputs = await baseInputs();
  const tag = `mqdrill-base:${baseHash(inputs)}`;
  if (await imageExists(tag)) return { name: 'base', tag, cached: true, ms: performance.now() - started };
  log(`building ${tag} from the host's node and JRE (${inputs.files.length} files, ${inputs.libraries.length} libs)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-rootfs-'));
  try {
    stageBase(inputs, dir);
    await importDir(dir, tag);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'base', tag, cached: false, ms: performance.now() - started };
}

/** Packages the broker bundle keeps external: grpc-js is patched through its own module path (grpc-patches.ts). */
const BROKER_EXTERNALS = ['@grpc/grpc-js', '@grpc/proto-loader'];

/** The external packages and everything they depend on, as folder names under node_modules. */
function packageClosure(roots: readonly string[]): string[] {
  const modules = path.join(repoRoot(), 'node_modules');
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const pkg = path.join(modules, name, 'package.json');
    if (!fs.existsSync(pkg)) throw new Error(`broker image: package ${name} is not installed (run npm ci)`);
    seen.add(name);
    const json = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(json.dependencies ?? {})) visit(dep);
  };
  for (const r of roots) visit(r);
  return [...seen].sort();
}

async function bundleBroker(outFile: string): Promise<void> {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [path.join(repoRoot(), 'harness/deploy/containers/container-entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: outFile,
    external: BROKER_EXTERNALS,
    // Bundled CommonJS code calls require(): give the ES module one.
    banner: {
      js:
        "import { createRequire as mqdrillRequire } from 'node:module'; " +
        'const require = mqdrillRequire(import.meta.url);',
    },
    logLevel: 'silent',
    legalComments: 'none',
  });
}

function hashDir(h: ReturnType<typeof createHash>, dir: string): void {
  const files: string[] = [];
  walk(dir, files);
  for (const f of files.sort()) h.update(path.relative(dir, f)).update('\0').update(fs.readFileSync(f));
}

async function buildFrom(context: string, tag: string, dockerfile: string): Promise<void> {
  fs.writeFileSync(path.join(context, 'Dockerfile'), dockerfile);
  if (!(await imageExists('testcontainers/ryuk:0.14.0'))) process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const { GenericContainer } = await import('testcontainers');
  await GenericContainer.fromDockerfile(context)
    .withPullPolicy({ shouldPull: () => false })
    .build(tag, {
      deleteOnExit: false,
    });
  if (!(await imageExists(tag))) throw new Error(`building ${tag} ended without the image; see the docker log`);
}

async function ensureBroker(base: string, log: ImageLog): Promise<BuiltImage> {
  const started = performance.now();
  const context = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-broker-image-'));
  try {
    const app = path.join(context, 'app');
    fs.mkdirSync(app, { recursive: true });
    await bundleBroker(path.join(app, 'broker.mjs'));
    const modules = path.join(repoRoot(), 'node_modules');
    for (const name of packageClosure(BROKER_EXTERNALS))
      fs.cpSync(path.join(modules, name), path.join(app, 'node_modules', name), { recursive: true, dereference: true });
    const client = path.join(modules, 'rocketmq-client-nodejs');
    const clientOut = path.join(app, 'node_modules', 'rocketmq-client-nodejs');
    fs.cpSync(path.join(client, 'proto'), path.join(clientOut, 'proto'), { recursive: true });
    fs.copyFileSync(path.join(client, 'package.json'), path.join(clientOut, 'package.json'));
    const h = createHash('sha256').update(`${RECIPE}\nbroker\n${base}\n`);
    hashDir(h, app);
    const tag = `mqdrill-broker:${h.digest('hex').slice(0, 16)}`;
    if (await imageExists(tag)) return { name: 'broker', tag, cached: true, ms: performance.now() - started };
    log(`building ${tag} (the bundled broker on ${base})`);
    await buildFrom(
      context,
      tag,
      `FROM ${base}\nCOPY app /app\nLABEL ${IMAGE_LABEL}\nWORKDIR /app\n` +
        'ENTRYPOINT ["/usr/local/bin/node", "/app/broker.mjs"]\n',
    );
    return { name: 'broker', tag, cached: false, ms: performance.now() - started };
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

function rocketmqHash(base: string): string {
  const lib = rocketmqLibDir();
  const classes = rocketmqClassesDir();
  if (!fs.existsSync(lib) || !fs.existsSync(classes)) {
    throw new Error(`RocketMQ jars or classes missing (${lib}); run \`mqdrill setup --only rocketmq\``);
  }
  const h = createHash('sha256').update(`${RECIPE}\nrocketmq\n${base}\n`);
  for (const jar of fs.readdirSync(lib).sort()) h.update(`${jar}\0${fs.statSync(path.join(lib, jar)).size}\n`);
  const stamp = path.join(path.dirname(classes), 'source.sha256');
  h.update(fs.existsSync(stamp) ? fs.readFileSync(stamp) : 'no stamp');
  hashDir(h, classes);
  return h.digest('hex').slice(0, 16);
}

async function ensureRocketmq(base: string, log: ImageLog): Promise<BuiltImage> {
  const started = performance.now();
  const tag = `mqdrill-rocketmq:${rocketmqHash(base)}`;
  if (await imageExists(tag)) return { name: 'rocketmq', tag, cached: true, ms: performance.now() - started };
  log(`building ${tag} (RocketMQ jars and the ProxyLauncher on ${base})`);
  const context = fs.mkdtempSync(path.join(os.tmpdir(), 'mqdrill-rocketmq-image-'));
  try {
    fs.cpSync(rocketmqLibDir(), path.join(context, 'lib'), { recursive: true, dereference: true });
    fs.cpSync(rocketmqClassesDir(), path.join(context, 'classes'), { recursive: true, dereference: true });
    await buildFrom(
      context,
      tag,
      `FROM ${base}\nCOPY lib /opt/rocketmq/lib\nCOPY classes /opt/rocketmq/classes\nLABEL ${IMAGE_LABEL}\n`,
    );
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  return { name: 'rocketmq', tag, cached: false, ms: performance.now() - started };
}

/** Builds (or finds) the images a broker kind needs; base first. */
export async function ensureImages(
  kinds: readonly ('bundled' | 'rocketmq')[],
  log: ImageLog = () => {},
): Promise<BuiltImage[]> {
  if (!(await dockerAvailable())) {
    throw new Error('the docker daemon does not answer (`docker info` fails): start it (e.g. `dockerd &`) and retry');
  }
  const base = await ensureBase(log);
  const built: BuiltImage[] = [base];
  if (kinds.includes('bundled')) built.push(await ensureBroker(base.tag, log));
  if (kinds.includes('rocketmq')) built.push(await ensureRocketmq(base.tag, log));
  return built;
}

/** The tags the current inputs give, and whether each image exists (for `setup --check`). */
export async function imageStates(): Promise<Array<{ name: ImageName; tag: string; present: boolean }>> {
  const inputs = await baseInputs();
  const base = `mqdrill-base:${baseHash(inputs)}`;
  const rows: Array<{ name: ImageName; tag: string; present: boolean }> = [
    { name: 'base', tag: base, present: await imageExists(base) },
  ];
  try {
    const rmq = `mqdrill-rocketmq:${rocketmqHash(base)}`;
    rows.push({ name: 'rocketmq', tag: rmq, present: await imageExists(rmq) });
  } catch {
    rows.push({ name: 'rocketmq', tag: 'mqdrill-rocketmq:(jars missing)', present: false });
  }
  return rows;
}

/** Removes images of ours other than the given tags (old hashes), so rebuilt images do not pile up. */
export async function pruneImages(keep: readonly string[]): Promise<string[]> {
  const out = await docker(['images', '--filter', `label=${IMAGE_LABEL}`, '--format', '{{.Repository}}:{{.Tag}}']);
  const stale = out
    .split('\n')
    .filter((t) => t.trim() !== '' && !keep.includes(t) && /^mqdrill-(base|broker|rocketmq):/.test(t));
  for (const t of stale) await docker(['rmi', t]).catch(() => undefined);
  return stale;
}
