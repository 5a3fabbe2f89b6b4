/**
 * The shared test kit that tests of every area import: an in-process broker (broker.ts), a `mqdrill broker` child
 * process and the admin API (process.ts), official Node.js clients (clients.ts), free ports (lib/ports.ts), bounded
 * waits (wait.ts) and the pass/fault-hit assertions on a finished drill (drill-verdict.ts). It depends on the broker
 * and lib/ only, never on the harness.
 */

export { freePort } from '../../lib/ports.ts';
export { startTestBroker, stopTestBroker, type TestBroker } from './broker.ts';
export { quietLogger, receiveUntil, shutdownAll, startProducer, startSimpleConsumer } from './clients.ts';
export { ensureDockerd } from './dockerd.ts';
export {
  expectPassedWithHits,
  faultImpactOf,
  type TimingReported,
  type VerdictFaultImpact,
  type VerdictRun,
} from './drill-verdict.ts';
export {
  admin,
  type BrokerProcess,
  cliPath,
  pidAlive,
  processesMentioning,
  spawnBroker,
  waitForExit,
} from './process.ts';
export { eventually, withRetries } from './wait.ts';
