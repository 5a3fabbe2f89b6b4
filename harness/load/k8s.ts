/**
 * `mqdrill load PLAN --workers N --emit-k8s DIR`: the load as a Kubernetes Indexed Job of N pods, built with the
 * typed models of the official client (@kubernetes/client-node) and written as YAML (docs/distributed-load.md):
 * - a ConfigMap with the resolved plan (plan.json) and the run id;
 * - a PersistentVolumeClaim (ReadWriteMany) for the ledgers, shared by every pod;
 * - the Job: pod K runs `mqdrill load /plan/plan.json --worker K/N --barrier /ledgers/RUN/barrier
 *   --out /ledgers/RUN/worker-K`, K from JOB_COMPLETION_INDEX. The barrier folder on the shared volume is the
 *   coordinated start (as k6-operator's starter, without a starter pod: the last pod ready sets the start time).
 * Nothing is applied: `kubectl apply -f DIR` does that.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dumpYaml, V1ConfigMap, V1Job, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { ExitCode } from '../../lib/exit-codes.ts';
import type { DriverName } from './driver-names.ts';
import type { LoadPlan } from './options.ts';

export interface EmitK8sOptions {
  plan: LoadPlan;
  /** The scenario name: resource names derive from it. */
  name: string;
  workers: number;
  dir: string;
  endpoint: string;
  driver?: DriverName | undefined;
  /** The image with mqdrill installed (npm ci, `mqdrill setup`); default: MQDRILL_IMAGE, else mqdrill:local. */
  image?: string;
  /** Run id: the folder of this run on the shared volume. Default from the clock. */
  runId?: string;
  /** Where the file is written and printed. */
  write?: (text: string) => void;
}

/** Mount points inside each pod. */
export const PLAN_MOUNT = '/plan';
export const LEDGER_MOUNT = '/ledgers';
export const MANIFEST_FILE = 'mqdrill-load.yaml';

/** A DNS-1123 name: lower case, digits and dashes, at most 63 characters. */
function dnsName(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50) || 'load'
  );
}

/** The shell line a pod runs; JOB_COMPLETION_INDEX is set by Kubernetes for each pod of an Indexed Job. */
export function podCommand(o: { workers: number; runId: string; driver?: DriverName | undefined }): string {
  const run = `${LEDGER_MOUNT}/${o.runId}`;
  return [
    'exec npx mqdrill load',
    `${PLAN_MOUNT}/plan.json`,
    '--endpoint "$MQDRILL_ENDPOINT"',
    `--worker "$JOB_COMPLETION_INDEX/${o.workers}"`,
    `--barrier ${run}/barrier`,
    `--out "${run}/worker-$JOB_COMPLETION_INDEX"`,
    ...(o.driver ? [`--driver ${o.driver}`] : []),
  ].join(' ');
}

export function buildManifests(o: EmitK8sOptions): {
  configMap: V1ConfigMap;
  pvc: V1PersistentVolumeClaim;
  job: V1Job;
} {
  const base = `mqdrill-${dnsName(o.name)}`;
  const runId = o.runId ?? `${dnsName(o.name)}-${Date.now().toString(36)}`;
  const labels = { 'app.kubernetes.io/name': 'mqdrill', 'mqdrill/run': runId };
  const configMap = Object.assign(new V1ConfigMap(), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${base}-plan`, labels },
    data: { 'plan.json': `${JSON.stringify(o.plan, null, 2)}\n`, 'run-id': runId },
  });
  const pvc = Object.assign(new V1PersistentVolumeClaim(), {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `${base}-ledgers`, labels },
    spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '2Gi' } } },
  });
  const job = Object.assign(new V1Job(), {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: base, labels },
    spec: {
      completionMode: 'Indexed',
      completions: o.workers,
      parallelism: o.workers,
      backoffLimit: 0,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'worker',
              image: o.image ?? process.env.MQDRILL_IMAGE ?? 'mqdrill:local',
              command: ['sh', '-c', podCommand({ workers: o.workers, runId, driver: o.driver })],
              env: [{ name: 'MQDRILL_ENDPOINT', value: o.endpoint }],
              volumeMounts: [
                { name: 'plan', mountPath: PLAN_MOUNT, readOnly: true },
                { name: 'ledgers', mountPath: LEDGER_MOUNT },
              ],
            },
          ],
          volumes: [
            { name: 'plan', configMap: { name: `${base}-plan` } },
            { name: 'ledgers', persistentVolumeClaim: { claimName: `${base}-ledgers` } },
          ],
        },
      },
    },
  });
  return { configMap, pvc, job };
}

export function emitK8s(o: EmitK8sOptions): number {
  const { configMap, pvc, job } = buildManifests(o);
  mkdirSync(o.dir, { recursive: true });
  const file = join(o.dir, MANIFEST_FILE);
  const header =
    `# mqdrill load as a Kubernetes Job of ${o.workers} pods (docs/distributed-load.md).\n` +
    `# Apply: kubectl apply -f ${file}\n`;
  writeFileSync(file, header + [configMap, pvc, job].map((m) => dumpYaml(m)).join('---\n'));
  (o.write ?? ((t: string) => process.stderr.write(t)))(
    `wrote ${file}: ConfigMap ${configMap.metadata?.name}, PersistentVolumeClaim ${pvc.metadata?.name}, ` +
      `Job ${job.metadata?.name} (${o.workers} pods, run ${configMap.data?.['run-id']})\n`,
  );
  return ExitCode.OK;
}
