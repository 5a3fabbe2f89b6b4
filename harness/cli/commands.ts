import { type Command, Option } from 'commander';
import { prometheusOption } from '../live/option.ts';
import { DRIVER_NAMES } from '../load/driver-names.ts';
import { registerCapacityCommands, registerCompareCommand } from './capacity-commands.ts';

/**
 * Each subcommand's implementation is imported only when it runs, so `mqdrill --help` stays fast and a broken
 * subsystem cannot break the others' help. An implementation returns the exit code (or nothing for 0).
 */
// biome-ignore lint/suspicious/noExplicitAny: commander passes positional arguments and options untyped.
type Action = (...args: any[]) => Promise<number | undefined> | number | undefined;

export function lazy(load: () => Promise<Record<string, unknown>>, exportName: string) {
  // biome-ignore lint/suspicious/noExplicitAny: see Action.
  return async (...args: any[]) => {
    const mod = await load();
    const fn = mod[exportName] as Action;
    const code = await fn(...args.slice(0, -1));
    if (typeof code === 'number' && code !== 0) process.exitCode = code;
  };
}

export function registerCommands(program: Command): void {
  registerBrokerCommand(program);
  registerAdminCommands(program);
  registerHarnessCommands(program);
  registerCapacityCommands(program);
  registerCompareCommand(program);
}

function registerBrokerCommand(program: Command): void {
  program
    .command('broker')
    .description('start the bundled RocketMQ 5-compatible broker in this process (SIGTERM stops it gracefully)')
    .requiredOption('--data <dir>', 'data folder: commit log, index, offsets (created if missing)')
    .option('--port <port>', 'gRPC port (0 picks a free one)', '8081')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--advertise <host:port>', 'address put in routes instead of the one the client used')
    .option('--name <name>', 'broker name in routes (each node of a bundled cluster has its own)', 'broker-0')
    .option('--admin-port <port>', 'an extra port for the admin API alone (it is always served on --port too)')
    .option('--config <file>', 'JSON config: flush policy, retention, topics and groups to create at start')
    .addOption(new Option('--flush <policy>', 'when a send is acknowledged').choices(['sync', 'async']))
    .option('--ready-file <file>', 'write {grpcPort, adminPort, pid} as JSON here once serving (for harnesses)')
    .option(
      '--shards <n>',
      'run N broker processes (auto: one per core), each with its own queues and store, routes naming all',
      '1',
    )
    .action(lazy(() => import('../../broker/cli.ts'), 'runBrokerCommand'));
}

function registerAdminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description('manage topics and consumer groups of a running bundled broker through its admin API');
  const brokerOpt = () =>
    new Option('--broker <host:port>', 'the broker address (its gRPC port; the admin port is found from it)')
      .default('127.0.0.1:8081')
      .env('MQDRILL_BROKER');
  const topic = admin.command('topic').description('create, list and delete topics');
  topic
    .command('create <name>')
    .description('create a topic')
    .option('--queues <n>', 'number of queues', '4')
    .addOption(
      new Option('--type <type>', 'message type the topic accepts')
        .choices(['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION', 'MIXED'])
        .default('NORMAL'),
    )
    .addOption(brokerOpt())
    .action(lazy(() => import('../../broker/admin/cli.ts'), 'topicCreate'));
  topic
    .command('list')
    .description('list topics with their queues, type and message counts')
    .addOption(brokerOpt())
    .action(lazy(() => import('../../broker/admin/cli.ts'), 'topicList'));
  topic
    .command('delete <name>')
    .description('delete a topic')
    .addOption(brokerOpt())
    .action(lazy(() => import('../../broker/admin/cli.ts'), 'topicDelete'));
  const group = admin.command('group').description('create, list consumer groups; show backlog; reset offsets');
  group
    .command('create <name>')
    .description('create a consumer group')
    .option('--fifo', 'deliver each message group in order (consumeMessageOrderly)', false)
    .option('--max-attempts <n>', 'deliveries before a message goes to %DLQ%<group>', '17')
    .addOption(
      new Option('--retry <policy>', 'retry backoff policy sent to clients')
        .choices(['customized', 'exponential'])
        .default('customized'),
    )
    .addOption(brokerOpt())
    .action(lazy(() => import('../../broker/admin/cli.ts'), 'groupCreate'));
  group
    .command('list')
    .description('list consumer groups')
    .addOption(brokerOpt())
    .action(lazy(() => import('../../broker/admin/cli.ts'), 'groupList'));
  group
    .command('backlog <name>')
    .description("show a group's backlog per topic: ready, inflight, retry, DLQ")
    .addOption(brokerOpt())
    .action(lazy(() => import('../../broker/admin/cli.ts'), 'groupBacklog'));
  group
    .command('reset-offset <name>')
    .description("move a group's offsets on a topic to the first message stored at or after a time")
    .requiredOption('--topic <topic>', 'the topic')
    .requiredOption('--timestamp <time>', 'ISO-8601 time or epoch milliseconds')
    .addOption(brokerOpt())
    .action(lazy(() => import('../../broker/admin/cli.ts'), 'groupResetOffset'));
}

/** Environment variables read by the commands, named in their --help (and in the errors that need them). */
export const DRILL_ENVIRONMENT = `
Environment (for --target external; a value in the spec's drill.target wins):
  MQDRILL_ENDPOINT    the access point, host:port (required when the spec gives no drill.target.endpoint)
  MQDRILL_ACCESS_KEY  AK/SK credentials (give both or neither)
  MQDRILL_SECRET_KEY
  MQDRILL_NAMESPACE   the namespace to use
  MQDRILL_TLS=1       connect with TLS
`;

const LOAD_ENVIRONMENT = `
Environment:
  MQDRILL_ACCESS_KEY, MQDRILL_SECRET_KEY  AK/SK credentials (give both or neither)
  MQDRILL_NAMESPACE                       the namespace to use
  MQDRILL_TLS=1                           connect with TLS
  MQDRILL_NAMESRV                         the name server, host:port (--driver java-remoting)
`;

function registerHarnessCommands(program: Command): void {
  program
    .command('drill [scenario]')
    .description('boot a target, drive a scenario with faults, heal, drain, check and report (the main job)')
    .addOption(
      new Option('--target <kind>', "where to drill (default: the spec's, else bundled)").choices([
        'bundled',
        'rocketmq',
        'containers',
        'external',
      ]),
    )
    .addOption(
      new Option('--broker <kind>', 'with --target containers: the broker in the containers (default bundled)').choices(
        ['bundled', 'rocketmq'],
      ),
    )
    .option('--nodes <n>', "broker nodes (bundled, containers); replaces the spec's drill.target.nodes")
    .option('--seed <n>', 'seed for key choice, body sizes and the fault schedule')
    .option('--duration <d>', 'stretch or shrink the load phase to D (rates stay), e.g. 30s, 5m')
    .option('--rate-scale <f>', 'multiply every arrival rate by F, e.g. 0.5 or 10')
    .option('--vus <n>', 'virtual users of every scenario (arrival-rate: preallocated VUs; ramping-vus: the peak)')
    .option('--body-size <size>', 'every message body this size, e.g. 512, 4KiB, 1MiB')
    .option('--faults <none|file>', "'none', or a JSON file with a faults list (as drill.faults) replacing the spec's")
    .option('--out <dir>', 'report folder (default runs/<scenario>-<time>)')
    .addOption(
      new Option('--driver <driver>', 'which official client drives load').choices([...DRIVER_NAMES]).default('node'),
    )
    .option('--list', 'list the built-in scenarios (name, load duration, faults, description) and exit')
    .option('--dry-run', 'validate, print the resolved plan and fault schedule, and exit without booting anything')
    .addOption(prometheusOption())
    .option('--workers <n>', 'run the load in N worker processes, each its share of the plan (ledgers merged)')
    .addHelpText('after', DRILL_ENVIRONMENT)
    .action(lazy(() => import('../drill/cli.ts'), 'runDrillCommand'));

  program
    .command('load <scenario>')
    .description('run a k6-style load scenario against a running broker')
    .requiredOption('--endpoint <host:port>', 'the broker access point')
    .addOption(new Option('--driver <driver>', 'which official client drives load').choices([...DRIVER_NAMES]))
    .option('--out <dir>', 'folder for the ledger and the summary')
    .addOption(prometheusOption())
    .option('--workers <n>', 'split the plan across N local worker processes; summary and ledgers merged')
    .option(
      '--emit-k8s <dir>',
      'write a Kubernetes Job of --workers pods (ConfigMap plan, shared ledger volume); no run',
    )
    .option('--worker <k/n>', 'run as worker K of N (what --workers and the Kubernetes pods start)')
    .option('--barrier <dir>', "with --worker: the shared folder of the workers' coordinated start")
    .addHelpText('after', LOAD_ENVIRONMENT)
    .action(lazy(() => import('../load/cli.ts'), 'runLoadCommand'));

  program
    .command('check <ledger...>')
    .description('check ledgers for anomalies (lost, duplicate, order, ...), apply gates, write reports')
    .option('--gates <file>', 'gates file, e.g. {"lost": "== 0", "send_duration": ["p(99)<200"]}')
    .option('--out <dir>', 'report folder', 'runs/check')
    .action(lazy(() => import('../checks/cli.ts'), 'runCheckCommand'));

  program
    .command('report <report.json>')
    .description('render report.html, junit.xml and summary.md again from a report.json')
    .option('--out <dir>', 'report folder (default: beside report.json)')
    .action(lazy(() => import('../../reports/cli.ts'), 'runReportCommand'));

  program
    .command('setup')
    .description('install what the harness needs into .tools/ (idempotent): toxiproxy, Go driver, jars, packages')
    .option('--check', 'only print what is installed (tool, version, path, ok/missing); exit 5 if something is missing')
    .option('--only <names>', 'comma-separated subset of tools to install or check')
    .action(lazy(() => import('../setup/cli.ts'), 'runSetupCommand'));

  program
    .command('dashboards')
    .description('write the Grafana dashboards (typed with @grafana/schema) as JSON, to import or provision')
    .option('--out <dir>', 'folder to write to (the committed copy is dashboards/grafana)', 'dashboards/grafana')
    .action(lazy(() => import('../../dashboards/cli.ts'), 'runDashboardsCommand'));
}
