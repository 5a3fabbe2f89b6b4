/**
 * The one table of process exit codes. Every mqdrill command exits with one of these; the README and
 * `mqdrill --help` print this table. 99 is k6's code for failed thresholds, kept so k6 users feel at home.
 */
export const ExitCode = {
  /** Everything passed. */
  OK: 0,
  /** A guarantee was violated: a checker's verdict is `fail` (lost, order, duplicate beyond its gate...). */
  GUARANTEE_VIOLATED: 1,
  /** Bad command line: unknown flag, missing argument, unknown subcommand. */
  USAGE: 2,
  /** The drill spec, scenario, gates file or config is invalid (every error is listed). */
  INVALID_SPEC: 3,
  /** The target (broker processes, containers, real RocketMQ) did not boot or became unreachable. */
  TARGET_FAILED: 4,
  /** A prerequisite is missing (run `mqdrill setup`), or setup itself failed. */
  SETUP_MISSING: 5,
  /** A checker could not decide (verdict `unknown`) and nothing failed. */
  CHECK_UNKNOWN: 6,
  /** The command is part of the design but not built yet. */
  NOT_BUILT: 7,
  /** `mqdrill compare`: a gate that passed now fails, an anomaly count rose, or a figure moved beyond tolerance. */
  REGRESSED: 8,
  /** A bug in mqdrill itself: an unexpected exception. */
  INTERNAL: 70,
  /** A k6-style threshold failed (same code as k6). */
  THRESHOLDS_FAILED: 99,
  /** Interrupted by SIGINT. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const exitCodeTable: ReadonlyArray<readonly [number, string]> = [
  [ExitCode.OK, 'pass: every gate and guarantee held'],
  [ExitCode.GUARANTEE_VIOLATED, 'a guarantee was violated (a checker failed: lost, order, ...)'],
  [ExitCode.USAGE, 'bad command line (unknown flag, missing argument)'],
  [ExitCode.INVALID_SPEC, 'invalid drill spec, scenario, gates file or config'],
  [ExitCode.TARGET_FAILED, 'the target failed to boot or became unreachable'],
  [ExitCode.SETUP_MISSING, 'a prerequisite is missing: run `mqdrill setup`'],
  [ExitCode.CHECK_UNKNOWN, 'a checker could not decide (unknown) and nothing failed'],
  [ExitCode.NOT_BUILT, 'the command is designed but not built yet'],
  [ExitCode.REGRESSED, 'compare: a figure regressed against the baseline (gate, anomaly, beyond tolerance, missing)'],
  [ExitCode.INTERNAL, 'internal error in mqdrill (a bug: please report it)'],
  [ExitCode.THRESHOLDS_FAILED, 'a k6-style threshold failed'],
  [ExitCode.INTERRUPTED, 'interrupted (SIGINT)'],
];

/** An error that carries the exit code the CLI should end with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
