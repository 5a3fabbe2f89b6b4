import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { allDashboards, COMMITTED_DIR, renderDashboardFiles } from './cli.ts';
import { dashboardQueries } from './panels.ts';

/** The committed Grafana JSON and provisioning files are what the TypeScript dashboards render, byte for byte. */
const REGENERATE = 'run `npx mqdrill dashboards` (writes dashboards/grafana) and commit the result';

function committedFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? committedFiles(join(dir, e.name)) : [relative(COMMITTED_DIR, join(dir, e.name))],
  );
}

describe('dashboards: committed files are current', () => {
  test('every rendered file is committed with the same content', () => {
    const stale: string[] = [];
    for (const [rel, text] of renderDashboardFiles()) {
      const file = join(COMMITTED_DIR, rel);
      if (!existsSync(file)) stale.push(`${file}: missing`);
      else if (readFileSync(file, 'utf8') !== text) stale.push(`${file}: differs from its TypeScript source`);
    }
    expect(stale, REGENERATE).toEqual([]);
  });

  test('no committed file is left over from a dashboard that no longer exists', () => {
    const rendered = new Set(renderDashboardFiles().keys());
    expect(
      committedFiles(COMMITTED_DIR).filter((f) => !rendered.has(f)),
      REGENERATE,
    ).toEqual([]);
  });

  test('each dashboard has unique panel ids, non-overlapping grid positions and a fault-window annotation', () => {
    for (const d of allDashboards()) {
      const panels = d.panels ?? [];
      expect(new Set(panels.map((p) => p.id)).size, d.uid).toBe(panels.length);
      const cells = new Set<string>();
      for (const p of panels) {
        const g = p.gridPos;
        expect(g, `${d.uid}: ${p.title}`).toBeDefined();
        for (let x = g?.x ?? 0; x < (g?.x ?? 0) + (g?.w ?? 0); x++) {
          const cell = `${x},${g?.y}`;
          expect(cells.has(cell), `${d.uid}: ${p.title} overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
      }
      expect(
        dashboardQueries(d).some((q) => q.expr.includes('mqdrill_fault_active')),
        d.uid,
      ).toBe(true);
    }
  });
});
