import {
  type AnnotationQuery,
  type Dashboard,
  type DataQuery,
  type DataSourceRef,
  defaultDashboard,
  defaultPanel,
  type FieldConfigSource,
  type Panel,
} from '@grafana/schema';

/**
 * What every mqdrill dashboard shares: the Prometheus datasource variable, the fault annotations, and panels
 * written as a title, a unit and PromQL queries (PanelSpec), laid out two per row. The queries are plain PromQL
 * (fixed range windows, no Grafana variables), so a test can evaluate each one through Prometheus' HTTP API.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax, not a template.
export const prometheus: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Grafana's built-in annotation source, filtered by tag. */
interface GrafanaTagQuery extends DataQuery {
  limit: number;
  matchAny: boolean;
  tags: string[];
  type: 'tags';
}

/** Fault windows a drill wrote as Grafana annotations (annotations.json in the run folder, tag mqdrill-fault). */
export const faultAnnotations: AnnotationQuery<GrafanaTagQuery> = {
  name: 'mqdrill faults',
  enable: true,
  iconColor: 'rgba(255, 96, 96, 1)',
  datasource: { type: 'grafana', uid: '-- Grafana --' },
  target: { refId: 'faults', limit: 100, matchAny: true, tags: ['mqdrill-fault'], type: 'tags' },
};

/** A Prometheus annotation query: one region per run of samples where expr has a value. */
interface PrometheusAnnotationQuery extends DataQuery {
  expr: string;
  step: string;
  titleFormat: string;
  textFormat: string;
  tagKeys: string;
  useValueForTime: boolean;
}

/** The PromQL of the fault-window annotation: the fault series while it is 1. */
export const FAULT_WINDOW_EXPR = 'max by (fault, target) (mqdrill_fault_active) == 1';

/** Fault windows live, from the harness's mqdrill_fault_active series (no annotation file needed). */
export const faultSeriesAnnotation: AnnotationQuery<PrometheusAnnotationQuery> = {
  name: 'fault windows (mqdrill_fault_active)',
  enable: true,
  iconColor: 'rgba(255, 152, 48, 1)',
  datasource: prometheus,
  target: {
    refId: 'fault-windows',
    expr: FAULT_WINDOW_EXPR,
    step: '1s',
    titleFormat: '{{fault}}',
    textFormat: 'fault {{fault}} in force on {{target}}',
    tagKeys: 'fault,target',
    useValueForTime: false,
  },
};

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  /** PromQL with the legend to show for each series. */
  queries: Array<{ expr: string; legend: string }>;
  /** Default timeseries. */
  type?: 'timeseries' | 'state-timeline' | 'stat';
  /** Series (by legend) drawn against a right-hand axis with this unit. */
  rightAxis?: { legend: string; unit: string };
  /** Full width instead of half. */
  wide?: boolean;
}

function fieldConfig(spec: PanelSpec): FieldConfigSource {
  const overrides = spec.rightAxis
    ? [
        {
          matcher: { id: 'byName', options: spec.rightAxis.legend },
          properties: [
            { id: 'custom.axisPlacement', value: 'right' },
            { id: 'unit', value: spec.rightAxis.unit },
          ],
        },
      ]
    : [];
  return { defaults: { unit: spec.unit }, overrides };
}

/** Panels laid out in order: half-width ones two per row, wide ones alone. */
export function panelsOf(specs: readonly PanelSpec[]): Panel[] {
  let x = 0;
  let y = 0;
  return specs.map((spec, index) => {
    const w = spec.wide ? 24 : 12;
    if (x + w > 24) {
      x = 0;
      y += 8;
    }
    const panel: Panel = {
      ...defaultPanel,
      id: index + 1,
      type: spec.type ?? 'timeseries',
      title: spec.title,
      description: spec.description,
      datasource: prometheus,
      gridPos: { h: 8, w, x, y },
      fieldConfig: fieldConfig(spec),
      targets: spec.queries.map((q, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource: prometheus,
        expr: q.expr,
        legendFormat: q.legend,
      })),
    };
    x += w;
    return panel;
  });
}

/** The settings every mqdrill dashboard has: datasource variable, refresh, editable, schema version. */
export function withDashboardDefaults(d: Pick<Dashboard, 'uid' | 'title' | 'description' | 'tags'>): Dashboard {
  return {
    ...defaultDashboard,
    ...d,
    editable: true,
    schemaVersion: 39,
    time: { from: 'now-15m', to: 'now' },
    refresh: '5s',
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }],
    },
  };
}

/** Every PromQL expression of a dashboard: panel targets and Prometheus annotations. */
export function dashboardQueries(d: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const p of d.panels ?? []) {
    for (const t of (p as Panel).targets ?? []) {
      const expr = (t as { expr?: unknown }).expr;
      if (typeof expr === 'string') out.push({ where: `${d.uid}: panel "${p.title}" ${t.refId}`, expr });
    }
  }
  for (const a of d.annotations?.list ?? []) {
    const expr = (a.target as { expr?: unknown } | undefined)?.expr;
    if (typeof expr === 'string') out.push({ where: `${d.uid}: annotation "${a.name}"`, expr });
  }
  return out;
}
