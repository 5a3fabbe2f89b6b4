/** The node driver's worker entry: the plan protocol over parentPort, messaging through rocketmq-client-nodejs. */
import { parentPort } from 'node:worker_threads';
import { systemClock } from '../../../lib/clock.ts';
import type { EngineToDriver } from '../protocol.ts';
import { RocketmqClientFactory } from './rocketmq-client.ts';
import { DriverRuntime } from './runtime.ts';

const port = parentPort;
if (!port) throw new Error('node-worker.ts must run in a worker thread');
const factory = new RocketmqClientFactory((level, message) =>
  port.postMessage({ type: 'log', driverId: 'node-driver', level, message }),
);
const runtime = new DriverRuntime(systemClock, factory, (m) => port.postMessage(m));
// The engine terminates this worker after `done`.
port.on('message', (m: EngineToDriver) => void runtime.handle(m));
