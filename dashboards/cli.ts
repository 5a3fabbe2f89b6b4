import fs from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../lib/exit-codes.ts';
import { brokerDashboard } from './broker.ts';

/** `mqdrill dashboards`: writes every dashboard as Grafana JSON (import it, or provision it from the folder). */
export function runDashboardsCommand(opts: { out: string }): number {
  fs.mkdirSync(opts.out, { recursive: true });
  for (const dashboard of [brokerDashboard()]) {
    const file = path.join(opts.out, `${dashboard.uid}.json`);
    fs.writeFileSync(file, `${JSON.stringify(dashboard, null, 2)}\n`);
    process.stdout.write(`wrote ${file} (${dashboard.panels?.length ?? 0} panels)\n`);
  }
  return ExitCode.OK;
}
