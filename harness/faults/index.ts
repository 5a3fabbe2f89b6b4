/**
 * The fault layer's public surface (docs/faults.md): the fault model and its validation, schedules, the runner, the
 * network (Toxiproxy) and process injectors, and the ledger records and annotations fault events turn into.
 */

export { freePort } from '../../lib/ports.ts';
export {
  type FaultAnnotation,
  type FaultError,
  type FaultEvent,
  faultAnnotation,
  faultAnnotations,
  faultLedgerRecord,
} from './events.ts';
export {
  ALL_TARGETS,
  type ConsumerFault,
  describeFault,
  FAULT_KINDS,
  type FaultFamily,
  type FaultKind,
  type FaultSpec,
  faultFamily,
  type KnownTargets,
  type NetworkFault,
  type ProcessFault,
  type Stream,
  validateFault,
} from './model.ts';
export { type CreateProxyOptions, NetworkFaults, type ProxyAddress } from './network.ts';
export { type ProcessControl, ProcessFaults } from './process.ts';
export { type FaultInjector, type FaultInjectors, FaultRunner, type FaultRunnerOptions } from './runner.ts';
export {
  type BuildScheduleOptions,
  buildSchedule,
  describeSchedule,
  type FaultScheduleSpec,
  FaultSpecError,
  faultName,
  parseFaultSchedule,
  type ScheduledFault,
  validateFaultSchedule,
} from './schedule.ts';
export { ToxiproxyServer, type ToxiproxyServerOptions } from './toxiproxy-server.ts';
