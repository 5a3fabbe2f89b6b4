import fs from 'node:fs';
import path from 'node:path';
import type { Dashboard } from '@grafana/schema';
import { ExitCode } from '../lib/exit-codes.ts';
import { brokerDashboard } from './broker.ts';
import { capacityDashboard } from './capacity.ts';
import { drillDashboard } from './drill.ts';

/** Where the rendered dashboards and provisioning files are committed (a test fails when they are stale). */
export const COMMITTED_DIR = 'dashboards/grafana';

export function allDashboards(): Dashboard[] {
  return [brokerDashboard(), drillDashboard(), capacityDashboard()];
}

/** The datasource: the run's Prometheus, whose address (printed by --prometheus) Grafana reads from its env. */
const DATASOURCE_YAML = `# Grafana datasource provisioning for the mqdrill dashboards (by \`mqdrill dashboards\`).
# Set MQDRILL_PROMETHEUS_URL in Grafana's environment to the Prometheus a run printed (--prometheus), or to a
# Prometheus started on a run's data: prometheus --storage.tsdb.path=<run>/prometheus/data
apiVersion: 1
datasources:
  - name: mqdrill Prometheus
    uid: mqdrill-prometheus
    type: prometheus
    access: proxy
    url: \${MQDRILL_PROMETHEUS_URL}
    isDefault: true
    jsonData:
      timeInterval: 1s
`;

/** The dashboards provider: Grafana loads every JSON file of the folder the json/ folder is mounted at. */
const DASHBOARDS_YAML = `# Grafana dashboard provisioning for the mqdrill dashboards (by \`mqdrill dashboards\`).
# Mount dashboards/grafana/json at /var/lib/grafana/dashboards/mqdrill and
# dashboards/grafana/provisioning at /etc/grafana/provisioning.
apiVersion: 1
providers:
  - name: mqdrill
    folder: mqdrill
    type: file
    disableDeletion: false
    allowUiUpdates: true
    updateIntervalSeconds: 30
    options:
      path: /var/lib/grafana/dashboards/mqdrill
      foldersFromFilesStructure: false
`;

/** Every file `mqdrill dashboards` writes, by path relative to --out. */
export function renderDashboardFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const d of allDashboards()) files.set(path.join('json', `${d.uid}.json`), `${JSON.stringify(d, null, 2)}\n`);
  files.set(path.join('provisioning', 'datasources', 'mqdrill.yaml'), DATASOURCE_YAML);
  files.set(path.join('provisioning', 'dashboards', 'mqdrill.yaml'), DASHBOARDS_YAML);
  return files;
}

/**
 * `mqdrill dashboards`: writes every dashboard as Grafana JSON under json/, and the Grafana provisioning files
 * (datasource and dashboards provider) under provisioning/.
 */
export function runDashboardsCommand(opts: { out: string }): number {
  for (const [rel, text] of renderDashboardFiles()) {
    const file = path.join(opts.out, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    process.stdout.write(`wrote ${file}\n`);
  }
  return ExitCode.OK;
}
