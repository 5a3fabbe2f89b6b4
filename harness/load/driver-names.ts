/** Which official client drives the load (`--driver`); kept apart from launchers.ts so the CLI loads it cheaply. */
export const DRIVER_NAMES = ['node', 'go', 'java', 'java-remoting'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];
