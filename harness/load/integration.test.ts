/** The node driver (rocketmq-client-nodejs in worker threads) against the bundled broker: see driver-integration.ts. */
import { describeDriverAgainstBroker } from './driver-integration.ts';
import { nodeWorkerLauncher } from './launchers.ts';

describeDriverAgainstBroker('node driver', nodeWorkerLauncher, 'it');
