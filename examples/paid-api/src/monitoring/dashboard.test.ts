import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { monitoring } from "./monitoringFiles.js";

/** Grafana's reference to the dashboard's `datasource` variable. */
const datasourceVariable = ["$", "{datasource}"].join("");

/** The dashboard's shape as Grafana imports it: ids, layout, data source, queries. */
type Panel = Readonly<{
  id: number;
  type: string;
  title: string;
  gridPos: Readonly<{ x: number; y: number; w: number; h: number }>;
  datasource?: Readonly<{ type: string; uid: string }>;
  targets?: readonly Readonly<{ refId: string; expr: string; datasource?: Readonly<{ uid: string }> }>[];
}>;
const dashboard = JSON.parse(readFileSync(join(monitoring, "dashboard.json"), "utf8")) as Readonly<{
  uid: string;
  templating: Readonly<{ list: readonly Readonly<{ name: string; type: string; query: string }>[] }>;
  panels: readonly Panel[];
}>;

describe("dashboard.json", () => {
  it("has a fixed uid and a Prometheus data source variable that every panel and query uses", () => {
    expect(dashboard.uid).toBe("tollgate-paid-api");
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: "datasource", type: "datasource", query: "prometheus" }),
    );
    const queries = dashboard.panels.filter((p) => p.type !== "row");
    expect(queries.length).toBeGreaterThanOrEqual(20);
    for (const panel of queries) {
      expect({ title: panel.title, datasource: panel.datasource }).toEqual({
        title: panel.title,
        datasource: { type: "prometheus", uid: datasourceVariable },
      });
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(refIds.length, panel.title).toBeGreaterThan(0);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid).toBe(datasourceVariable);
    }
  });

  it("has unique panel ids and panels that fit 24 columns without overlapping", () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const taken = new Map<string, string>();
    const overlaps: string[] = [];
    for (const { title, gridPos } of dashboard.panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
        for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
          const other = taken.get(`${x},${y}`);
          if (other !== undefined) overlaps.push(`${title} over ${other}`);
          taken.set(`${x},${y}`, title);
        }
      }
    }
    expect([...new Set(overlaps)]).toEqual([]);
  });

  it.each([
    ["success rate", /tollgate_funnel_total\{stage="served"\}/],
    [
      "latency p50 / p95 / p99",
      /histogram_quantile\(0\.99, sum by \(le\) \(rate\(tollgate_payment_duration_seconds_bucket/,
    ],
    ["facilitator split", /sum by \(facilitator\) \(increase\(tollgate_facilitator_requests_total/],
    ["failure reasons", /sum by \(reason\) \(rate\(tollgate_refusals_total/],
    ["funnel", /tollgate_payment_required_total/],
    ["failovers", /tollgate_failovers_total/],
    ["volume", /tollgate_paid_atomic_total/],
    ["pending settlements", /tollgate_settlement_pending_total/],
    ["store up", /^tollgate_store_up$/],
    ["RPC up", /^tollgate_rpc_up$/],
    ["facilitator up", /^tollgate_facilitator_up$/],
  ])("shows the %s", (_, pattern) => {
    const expressions = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(expressions.some((e) => pattern.test(e))).toBe(true);
  });
});
