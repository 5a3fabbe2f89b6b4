/**
 * The bundled broker inside a container (bundled by esbuild into the mqdrill-broker image as /app/broker.mjs):
 * `mqdrill broker` with its settings from the environment the containers target sets, data on the /data volume.
 *
 *   MQDRILL_NAME       broker name in routes (broker-0 ...)
 *   MQDRILL_ADVERTISE  host:port routes name (the container's fixed address on the drill network)
 *   MQDRILL_FLUSH      sync | async
 *   MQDRILL_CONFIG     broker config as JSON (peers, extra settings); written to /tmp/config.json
 */
import fs from 'node:fs';
import { runBrokerCommand } from '../../../broker/cli.ts';

const env = process.env;
const configFile = '/tmp/config.json';
fs.writeFileSync(configFile, env.MQDRILL_CONFIG ?? '{}');
const flush = env.MQDRILL_FLUSH === 'async' ? 'async' : 'sync';
runBrokerCommand({
  data: '/data/store',
  port: env.MQDRILL_PORT ?? '8081',
  host: '0.0.0.0',
  config: configFile,
  flush,
  name: env.MQDRILL_NAME ?? 'broker-0',
  readyFile: '/data/ready.json',
  ...(env.MQDRILL_ADVERTISE ? { advertise: env.MQDRILL_ADVERTISE } : {}),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`broker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(4);
  },
);
