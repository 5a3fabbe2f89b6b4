/**
 * The Go driver (drivers/go/cmd/mqdrill-go-driver, official Go client) against the bundled broker, the same
 * scenarios as the node driver (driver-integration.ts). A missing binary fails here rather than skipping.
 */
import { describe, expect, test } from 'vitest';
import { toolPath } from '../setup/index.ts';
import { describeDriverAgainstBroker } from './driver-integration.ts';
import { GO_DRIVER_PROGRAM, goDriverLauncher } from './launchers.ts';

describe('go driver binary', () => {
  test('the driver binary is built (`mqdrill setup --only go-driver`); a missing binary fails here', () => {
    expect(toolPath(GO_DRIVER_PROGRAM)).toMatch(/mqdrill-go-driver$/);
  });
});

describeDriverAgainstBroker('go driver', goDriverLauncher, 'go-it');
