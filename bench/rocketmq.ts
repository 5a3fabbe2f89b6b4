/**
 * Apache RocketMQ 5.3.3 for benchmarks: the `rocketmq` target's launcher (harness/deploy/rocketmq/launcher.ts,
 * installed by `mqdrill setup --only rocketmq`) plus topic creation by one mqadmin JVM per topic, and a wait until
 * the name server lists the topics. The wait matters: a client that asks the proxy for a route before the broker has
 * registered the topic gets TOPIC_NOT_FOUND, and the proxy keeps answering that from its cache for about 20 s.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type RocketMq, startRocketMq } from '../harness/deploy/rocketmq/launcher.ts';
import { ROCKETMQ_VERSION, rocketmqClasspath } from '../harness/setup/rocketmq.ts';

export { ROCKETMQ_VERSION };

const run = promisify(execFile);

const jvm = [
  '-Xms128m',
  '-Xmx256m',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '-cp',
  rocketmqClasspath(),
  'org.apache.rocketmq.tools.command.MQAdminStartup',
];

async function mqadmin(args: string[]): Promise<string> {
  const { stdout } = await run('java', [...jvm, ...args], { timeout: 120_000 });
  return stdout;
}

export interface BenchRocketMq {
  endpoint: string;
  /** host:port of the name server, and of the broker's remoting port (remoting clients). */
  namesrv: string;
  brokerAddr: string;
  pids(): number[];
  stop(): Promise<void>;
}

/** Starts RocketMQ under dir with the given flush and the topics (8 queues each); ready for clients on return. */
export async function startBenchRocketMq(
  dir: string,
  flush: 'sync' | 'async',
  topics: Array<{ name: string; type: 'NORMAL' | 'FIFO' }>,
): Promise<BenchRocketMq> {
  const mq: RocketMq = await startRocketMq({ dir, flush });
  try {
    // updateTopic -c reaches the brokers the name server knows; right after start that may be none yet, so
    // topics the name server does not list are created again.
    let missing = [...topics];
    for (let attempt = 1; missing.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`RocketMQ: the name server does not list ${missing.map((t) => t.name)}`);
      for (const t of missing) {
        const where = ['-n', mq.namesrv, '-c', 'DefaultCluster', '-t', t.name];
        await mqadmin(['updateTopic', ...where, '-r', '8', '-w', '8', '-a', `+message.type=${t.type}`]);
      }
      const listed = new Set((await mqadmin(['topicList', '-n', mq.namesrv])).split(/\s+/));
      missing = missing.filter((t) => !listed.has(t.name));
      if (missing.length > 0) await new Promise((r) => setTimeout(r, 2000));
    }
  } catch (err) {
    await mq.stop();
    throw err;
  }
  return {
    endpoint: mq.grpcEndpoint,
    namesrv: mq.namesrv,
    brokerAddr: mq.brokerAddr,
    pids: () => {
      const p = mq.pids();
      return [p.namesrv, p.broker].filter((x): x is number => x !== undefined);
    },
    stop: () => mq.stop(),
  };
}
