import { Command, CommanderError } from 'commander';
import { CliError, ExitCode, exitCodeTable } from '../../lib/exit-codes.ts';
import { registerCommands } from './commands.ts';

/** Every environment variable mqdrill reads; each command's --help repeats the ones it uses. */
const ENVIRONMENT = `
Environment:
  MQDRILL_ENDPOINT    drill --target external: the access point, host:port
  MQDRILL_ACCESS_KEY  drill, load, admin: AK/SK credentials (give both or neither)
  MQDRILL_SECRET_KEY
  MQDRILL_NAMESPACE   drill, load: the namespace to use
  MQDRILL_TLS=1       drill, load: connect with TLS
  MQDRILL_BROKER      admin: the broker address (default 127.0.0.1:8081)
`;

export function buildProgram(): Command {
  const program = new Command('mqdrill')
    .description(
      'Drill a RocketMQ 5 deployment: boot it, drive load and faults through it, and prove from a ledger of every ' +
        'client operation that no acknowledged message was lost, order held and the backlog drained.',
    )
    .version(process.env.npm_package_version ?? '0.1.0')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `\nExit codes:\n${exitCodeTable.map(([code, text]) => `  ${String(code).padStart(3)}  ${text}`).join('\n')}\n` +
        ENVIRONMENT,
    );
  registerCommands(program);
  applyStrictParsing(program);
  return program;
}

/** Unknown flags, extra arguments and missing arguments end with a one-line error, the usage, and exit code 2. */
function applyStrictParsing(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({
    outputError: (text, write) => write(`${text.trim()}\n`),
  });
  cmd.showHelpAfterError(`usage: ${fullName(cmd)} ${cmd.usage()}\n(run '${fullName(cmd)} --help' for details)`);
  for (const sub of cmd.commands) applyStrictParsing(sub);
}

function fullName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? ExitCode.OK : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0 through commander's override path.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return ExitCode.OK;
      }
      return ExitCode.USAGE;
    }
    if (err instanceof CliError) {
      process.stderr.write(`mqdrill: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`mqdrill: internal error: ${err instanceof Error ? (err.stack ?? err.message) : err}\n`);
    return ExitCode.INTERNAL;
  }
}

/**
 * Runs the CLI for this process and exits with its code. The bin (bin/mqdrill.mjs) calls this unconditionally: no
 * guessing from argv[1], which is a symlink path under node_modules/.bin when npm or npx starts the command.
 */
export async function runCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  endQuietlyOnClosedStdout();
  const code = await main(argv);
  // Commands that keep servers running (broker) resolve only when they are done; then exit with the code. A handle
  // left open by a failed start (a store file, a timer) must not keep the process alive: give output 2 s to flush.
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2000).unref();
}

/**
 * `mqdrill --help | head -1` closes the pipe before the help is written: EPIPE on stdout (or stderr) means the reader
 * is gone, so the command ends quietly with the code it had, as Unix tools do, instead of an unhandled error event.
 */
function endQuietlyOnClosedStdout(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(Number(process.exitCode ?? 0));
      throw err;
    });
  }
}
