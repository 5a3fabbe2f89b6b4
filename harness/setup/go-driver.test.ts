import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  checkGoPrograms,
  GO_CONFORMANCE_PROGRAM,
  GO_DRIVER_PROGRAM,
  goBuildSpecs,
  goProgramName,
} from './go-driver.ts';
import { toolsBinDir } from './paths.ts';

describe('programs of drivers/go', () => {
  test('cmd folders map to .tools/bin names: mqdrill-* kept, others prefixed with mqdrill-go-', () => {
    expect(goProgramName('conformance')).toBe(GO_CONFORMANCE_PROGRAM);
    expect(goProgramName(GO_DRIVER_PROGRAM)).toBe(GO_DRIVER_PROGRAM);
  });

  test('every ./cmd/* main package of the checkout gets its own build spec and stamp', () => {
    const conformance = goBuildSpecs().get(GO_CONFORMANCE_PROGRAM);
    expect(conformance).toMatchObject({
      packagePath: './cmd/conformance',
      outputPath: path.join(toolsBinDir(), GO_CONFORMANCE_PROGRAM),
    });
    expect(conformance?.stampPath).toMatch(/mqdrill-go-conformance\.sha256$/);
  });

  test('the check lists the load driver even before its cmd folder exists', async () => {
    const programs = (await checkGoPrograms()).map((p) => p.program);
    expect(programs).toContain(GO_DRIVER_PROGRAM);
    expect(programs).toContain(GO_CONFORMANCE_PROGRAM);
  });
});
