/**
 * Generates the TypeScript types of the RocketMQ v2 protobuf messages (broker/protocol/generated/) from the .proto
 * files that ship in the official Node.js client's package, with @grpc/proto-loader's proto-loader-gen-types and the
 * same options the broker loads them with (codec.ts): camelCase fields, enums as strings, int64 as numbers, oneofs.
 * The output is committed; broker/protocol/generated.test.ts regenerates it and fails when it is stale.
 *
 *   npm run proto:types        # after upgrading rocketmq-client-nodejs or @grpc/proto-loader
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GENERATED_DIR = path.join(repoRoot, 'broker/protocol/generated');

/** Writes the generated types into outDir (emptied first); throws with the generator's output when it fails. */
export function generateProtoTypes(outDir: string = GENERATED_DIR): void {
  const generator = path.join(path.dirname(require.resolve('@grpc/proto-loader/package.json')), 'build/bin');
  const protoRoot = path.join(path.dirname(require.resolve('rocketmq-client-nodejs/package.json')), 'proto');
  rmSync(outDir, { recursive: true, force: true });
  const args = [
    path.join(generator, 'proto-loader-gen-types.js'),
    ...['--longs=Number', '--enums=String', '--oneofs', '--grpcLib=@grpc/grpc-js', '--importFileExtension=.ts'],
    ...['-I', path.relative(repoRoot, protoRoot), '-O', outDir, 'apache/rocketmq/v2/service.proto'],
  ];
  const run = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) {
    throw new Error(`proto-loader-gen-types failed (exit ${run.status}):\n${run.stdout}${run.stderr}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  generateProtoTypes(process.argv[2] ? path.resolve(process.argv[2]) : GENERATED_DIR);
}
