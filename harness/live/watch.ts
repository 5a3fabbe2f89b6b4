/**
 * Live watching of a run (`--prometheus` on `mqdrill drill`, `mqdrill load`, and any command that runs the load
 * engine): the harness's metrics on a loopback endpoint, and a real Prometheus scraping it and the brokers, keeping
 * its data in `<run>/prometheus`. A command creates the watch before it starts, calls watch() once it knows the
 * brokers, and stop() in a finally block (failure and Ctrl-C included). stop() waits for one last scrape, so the
 * final values (gates, healed faults) are in the TSDB.
 */
import { join } from 'node:path';
import { toolPath } from '../setup/index.ts';
import { LiveMetrics, MetricsEndpoint } from './exporter.ts';
import { PrometheusServer, type ScrapeJob } from './prometheus.ts';

export interface LiveWatchOptions {
  /** The run folder: Prometheus keeps its config, log and data in <out>/prometheus. */
  out: string;
  say: (line: string) => void;
  scrapeIntervalMs?: number;
  /** The Prometheus binary (default: from PATH). */
  binary?: string;
}

export class LiveWatch {
  private prometheus: PrometheusServer | undefined;
  private stopped = false;

  private constructor(
    readonly metrics: LiveMetrics,
    private readonly endpoint: MetricsEndpoint,
    private readonly opts: LiveWatchOptions,
  ) {}

  /** Starts the endpoint; Prometheus starts at watch(). A missing prometheus binary fails here (exit 5), early. */
  static async start(opts: LiveWatchOptions): Promise<LiveWatch> {
    const binary = opts.binary ?? toolPath('prometheus');
    const metrics = new LiveMetrics();
    return new LiveWatch(metrics, await MetricsEndpoint.start(metrics), { ...opts, binary });
  }

  /** The harness's /metrics address (host:port). */
  get address(): string {
    return this.endpoint.address;
  }

  get prometheusUrl(): string | undefined {
    return this.prometheus?.url;
  }

  /** Starts Prometheus scraping the harness and the given brokers (host:port serving /metrics). Once. */
  async watch(brokers: readonly string[]): Promise<void> {
    if (this.prometheus || this.stopped) return;
    const jobs: ScrapeJob[] = [{ job: 'mqdrill-harness', targets: [this.address] }];
    if (brokers.length > 0) jobs.push({ job: 'mqdrill-broker', targets: [...brokers] });
    this.prometheus = await PrometheusServer.start({
      dir: join(this.opts.out, 'prometheus'),
      jobs,
      ...(this.opts.scrapeIntervalMs !== undefined ? { scrapeIntervalMs: this.opts.scrapeIntervalMs } : {}),
      ...(this.opts.binary !== undefined ? { binary: this.opts.binary } : {}),
    });
    // The load starts only once Prometheus has scraped every target: the run's first values (the faults scheduled at
    // 0, the phases) are in the TSDB before anything changes them.
    const p = this.prometheus;
    const scraped = await p.waitScraped(0, 4 * p.scrapeIntervalMs + 5000).catch(() => false);
    if (!scraped) this.opts.say('prometheus: no first scrape of every target in time; the first values may be missing');
    this.opts.say(
      `prometheus: ${this.prometheus.url} scraping the harness (${this.address})` +
        `${brokers.length > 0 ? ` and ${brokers.join(', ')}` : ''}; data in ${this.prometheus.dir}`,
    );
  }

  /** One last scrape of everything (bounded), then Prometheus and the endpoint stop. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const p = this.prometheus;
    if (p) {
      const scraped = await p.waitScraped(Date.now(), 4 * p.scrapeIntervalMs + 2000).catch(() => false);
      if (!scraped)
        this.opts.say('prometheus: the last scrape did not happen in time; the final values may be missing');
      await p.stop();
      this.opts.say(`prometheus stopped; its data is in ${join(p.dir, 'data')} (prometheus --storage.tsdb.path=...)`);
    }
    await this.endpoint.close();
  }
}
