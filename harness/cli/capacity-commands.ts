/** `mqdrill capacity` and `mqdrill compare`: kept apart from commands.ts so their registration merges cleanly. */
import { type Command, Option } from 'commander';
import { DEFAULT_SLO } from '../capacity/slo.ts';
import { DEFAULT_TOLERANCES } from '../compare/tolerance.ts';
import { prometheusOption } from '../live/option.ts';
import { DRIVER_NAMES } from '../load/driver-names.ts';
import { DRILL_ENVIRONMENT, lazy } from './commands.ts';

const CAPACITY_HELP = `
How it searches:
  Each step runs the scenario's producers at one constant arrival rate (its producers share the rate in proportion
  to their own peak rates) with its consumers, for --warm-up (discarded) then --step (measured). A step holds when
  the measured window meets the SLO; the rate grows by --factor until a step breaks (or --max-rate holds), then
  bisects between the best rate that held and the lowest that broke until they are within --precision. A step that
  breaks is run once more before it counts (a stall of a busy machine breaks one short step, not two in a row).
  A step breaks for one of: generator (the load generator fell behind: dropped iterations while sends were fast,
  sends started late, or the generator used nearly every core; then the target's limit is NOT known), errors,
  latency, backlog (consumers did not keep up). Then a drain probe (producers alone leave a backlog, consumers alone
  drain it) measures the per-consumer rate, and the consumers needed to drain --backlog within --drain-within.

SLO file (--slo FILE, JSON; keys left out keep these defaults):
  ${JSON.stringify(DEFAULT_SLO).replaceAll(',', ', ').replaceAll(':', ': ')}
  sendP99Ms: send p99 of the measured window; errorShareMax: failed or unknown sends over all sends of the window;
  backlogGrowthShareMax: acknowledged sends minus first deliveries, over acknowledged sends;
  throughputShortfallMax: sends started in the window and not acknowledged within it, over those started;
  lostMax: lost messages over the whole run.

Output: the curve and the result on stdout; report.json and report.html (the curve as charts) in --out.
With --prometheus, a Prometheus scrapes the harness (rate steps, latency, errors, generator health) and the bundled
brokers for the whole search and keeps its TSDB in <out>/prometheus/data: the capacity dashboard
(dashboards/grafana/json/mqdrill-capacity.json) reads it, live or afterwards.
Exit codes: 0 the capacity was found (or --max-rate held), 6 the load generator was the limit (the target's is
unknown), 1 messages were lost, 99 no rate held the SLO (not even the lowest tried), 2 bad command line, 3 invalid
scenario or SLO file, 4 the target failed, 130 Ctrl-C.

Examples:
  mqdrill capacity flash-sale                                  # bundled broker, sync flush, default SLO
  mqdrill capacity flash-sale --flush async --slo slo.json --out runs/cap-async
  mqdrill capacity flash-sale --step 2s --warm-up 500ms --max-steps 8     # a short form
  mqdrill capacity flash-sale --prometheus                     # watched: the capacity dashboard's series
`;

export function registerCapacityCommands(program: Command): void {
  program
    .command('capacity [scenario]')
    .description('find the highest sustainable send and receive rate under an SLO: step the rate up, then bisect')
    .addOption(
      new Option('--target <kind>', "where to measure (default: the spec's, else bundled)").choices([
        'bundled',
        'rocketmq',
        'containers',
        'external',
      ]),
    )
    .option('--seed <n>', 'seed for keys and body sizes (the run is reproducible from it and the printed command)')
    .addOption(
      new Option('--flush <policy>', 'bundled and rocketmq: when a send is acknowledged').choices(['sync', 'async']),
    )
    .option('--slo <file>', 'JSON SLO file (see below; default send p99 < 50 ms, errors <= 0.1%, no backlog growth)')
    .option('--start-rate <n>', 'first step, messages per second', '100')
    .option('--factor <f>', 'multiply the rate by F after each step that held', '2')
    .option('--max-rate <n>', 'never ask for more than this many messages per second', '100000')
    .option('--precision <p>', 'stop bisecting when (broke - held) / broke <= P', '0.1')
    .option('--max-steps <n>', 'at most this many steps in all', '12')
    .option('--no-confirm', 'believe a step that breaks at once (default: run it again; it breaks only twice in a row)')
    .option('--step <d>', 'measured window of each step', '5s')
    .option('--warm-up <d>', 'discarded start of each step', '2s')
    .option('--vus <n>', 'generator VUs per producer (default: enough for the rate at 4x the SLO latency)')
    .option('--consumers <n>', "consumer clients per consumer scenario (default: the scenario's)")
    .option('--backlog <n>', 'consumer plan: the backlog to drain', '1000000')
    .option('--drain-within <d>', 'consumer plan: the time to drain it in', '10m')
    .addOption(
      new Option('--driver <driver>', 'which official client drives load').choices(DRIVER_NAMES).default('node'),
    )
    .option('--out <dir>', 'report folder (default runs/capacity-<scenario>-<time>)')
    .option(
      '--test-only-send-delay-ms <ms>',
      'TEST ONLY: slow the bundled broker on purpose (every send holds one shared line for MS)',
    )
    .addOption(prometheusOption())
    .addHelpText('after', CAPACITY_HELP + DRILL_ENVIRONMENT)
    .action(lazy(() => import('../capacity/cli.ts'), 'runCapacityCommand'));
}

/** The defaults as the code has them, so the help cannot drift from them. */
function defaultTolerances(): string {
  const unit: Record<string, string> = { latency: ' ms', drain: ' ms', recovery: ' ms', throughput: '/s' };
  return Object.entries(DEFAULT_TOLERANCES)
    .filter(([c]) => c !== 'anomaly')
    .map(([c, t]) => {
      const higher = c === 'throughput' || c === 'capacity';
      return `${c} ${higher ? '/' : 'x'}${t.ratio} and ${t.absolute}${unit[c] ?? '/s'}`;
    })
    .join(', ');
}

const COMPARE_HELP = `
A regression is: a gate that passed in the baseline and fails now; an anomaly count that rose (lost, duplicate,
order, ...); a latency, throughput, drain, recovery or capacity figure worse than the baseline by more than its
tolerance (both its ratio and its absolute amount); a gate or figure of the baseline missing from the current report
(renamed, a recovery that never came, no rate that held). A gate unknown now, or an anomaly whose checker could not
decide, cannot be judged: UNKNOWN, exit 6 (unless something regressed). Reports are drill or capacity report.json
files, both of one kind.

Tolerance file (--tolerance FILE, JSON): per class (latency, throughput, drain, recovery, capacity, anomaly) or per
figure name as printed in the table; keys left out keep the defaults (docs/ci.md: how they were measured):
  {"latency": {"ratio": 1.5, "absolute": 20}, "latency.send_duration.p99": {"ratio": 2},
   "anomaly.duplicate": {"absolute": 5}}
Defaults: ${defaultTolerances()}; anomaly counts no rise.
A key that is neither a class nor a figure name is refused (exit 3).

Output: the side by side table on stdout; as Markdown to --markdown FILE, else appended to $GITHUB_STEP_SUMMARY
when set (the GitHub Actions job summary).
Exit codes: 0 nothing regressed, 8 something regressed or is missing (named in the last line), 6 nothing regressed
but something cannot be judged (named), 2 bad command line, 3 a file is not a report.json, the two are of different
kinds, or the tolerance file is invalid.

Examples:
  mqdrill compare baseline/report.json runs/nightly/report.json --markdown compare.md
  mqdrill compare --history nightly-reports/          # writes nightly-reports/trend.html
`;

export function registerCompareCommand(program: Command): void {
  program
    .command('compare [baseline] [current]')
    .description(
      'compare two report.json files (drill or capacity); exit 8 when a figure regressed or is missing, 6 when one ' +
        'cannot be judged',
    )
    .option('--tolerance <file>', 'JSON tolerances per class or figure (see below)')
    .option('--markdown <file>', 'also write the table as Markdown here (for a CI job summary)')
    .option('--history <dir>', 'instead: draw every report.json under DIR as trend charts (trend.html)')
    .option('--out <file>', 'with --history: where to write the page (default DIR/trend.html)')
    .addHelpText('after', COMPARE_HELP)
    .action(lazy(() => import('../compare/cli.ts'), 'runCompareCommand'));
}
