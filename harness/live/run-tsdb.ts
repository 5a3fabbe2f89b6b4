/**
 * A finished run's TSDB (`<run>/prometheus/data`) served again by a Prometheus that scrapes nothing, and queried
 * through Prometheus' HTTP API: what the live tests (drill and capacity) read to prove that every dashboard panel has
 * data, and what a person reads a finished run with. Every request is bounded.
 */
import { join } from 'node:path';
import { PrometheusServer } from './prometheus.ts';

export interface PromResult {
  status: string;
  error?: string;
  data: { result: Array<{ metric: Record<string, string>; values?: Array<[number, string]> }> };
}

/** Epoch ms; the end is widened by endSlackMs (the run's Prometheus scrapes once more after its stop). */
export interface RunWindow {
  startMs: number;
  endMs: number;
}

const REQUEST_TIMEOUT_MS = 10_000;

export class RunTsdb {
  private constructor(private readonly prometheus: PrometheusServer) {}

  /** Serves `<runOut>/prometheus/data`; the reading Prometheus keeps its config and log in readerDir. */
  static async open(runOut: string, readerDir: string): Promise<RunTsdb> {
    const prometheus = await PrometheusServer.start({
      dir: readerDir,
      dataDir: join(runOut, 'prometheus', 'data'),
      jobs: [],
    });
    return new RunTsdb(prometheus);
  }

  get url(): string {
    return this.prometheus.url;
  }

  async api(path: string, params: Record<string, string>): Promise<PromResult> {
    const url = `${this.prometheus.url}/api/v1/${path}?${new URLSearchParams(params)}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return (await res.json()) as PromResult;
  }

  /** query_range over the window at a 1 s resolution, its end widened by endSlackMs. */
  queryRange(expr: string, window: RunWindow, endSlackMs = 10_000): Promise<PromResult> {
    return this.api('query_range', {
      query: expr,
      start: String(window.startMs / 1000),
      end: String((window.endMs + endSlackMs) / 1000),
      step: '1',
    });
  }

  /**
   * Each query evaluated over the window: the ones that failed (with Prometheus' error) and the ones that returned
   * no series, as `where: expr` lines; both lists empty means every query has data.
   */
  async emptyQueries(
    queries: ReadonlyArray<{ where: string; expr: string }>,
    window: RunWindow,
  ): Promise<{ failed: string[]; empty: string[] }> {
    const failed: string[] = [];
    const empty: string[] = [];
    for (const q of queries) {
      const r = await this.queryRange(q.expr, window);
      if (r.status !== 'success') failed.push(`${q.where}: ${q.expr}: ${r.error ?? r.status}`);
      else if (r.data.result.length === 0) empty.push(`${q.where}: ${q.expr}`);
    }
    return { failed, empty };
  }

  close(): Promise<void> {
    return this.prometheus.stop();
  }
}
