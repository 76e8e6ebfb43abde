// Reading the expressions of the dashboard and of the alerting rules, for their tests.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The monitoring folder beside the reference server: dashboard.json, alerts.yml, alerts.test.yml. */
export const monitoring = join(import.meta.dirname, "..", "..", "monitoring");

/** One query of a dashboard panel: its PromQL and its legend (`{{label}}` placeholders). */
export type DashboardTarget = Readonly<{ panel: string; expr: string; legendFormat: string }>;

/** Every query of the dashboard's panels (rows' panels included). */
export function dashboardTargets(): DashboardTarget[] {
  type Panel = Readonly<{
    title?: string;
    targets?: readonly Readonly<{ expr?: string; legendFormat?: string }>[];
    panels?: readonly Panel[];
  }>;
  const dashboard = JSON.parse(readFileSync(join(monitoring, "dashboard.json"), "utf8")) as {
    panels: Panel[];
  };
  const walk = (panels: readonly Panel[]): DashboardTarget[] =>
    panels.flatMap((p) => [
      ...(p.targets ?? []).flatMap((t) =>
        t.expr === undefined
          ? []
          : [{ panel: p.title ?? "", expr: t.expr, legendFormat: t.legendFormat ?? "" }],
      ),
      ...walk(p.panels ?? []),
    ]);
  return walk(dashboard.panels);
}

/** Every `expr` of the dashboard's panels. */
export function dashboardExpressions(): string[] {
  return dashboardTargets().map((t) => t.expr);
}

/** Every `expr:` of alerts.yml, one line or a block scalar (`|`, `>`) of the lines indented under it. */
export function ruleExpressions(): string[] {
  const lines = readFileSync(join(monitoring, "alerts.yml"), "utf8").split("\n");
  const expressions: string[] = [];
  lines.forEach((line, index) => {
    const match = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (match === null) return;
    const [, indent = "", value = ""] = match;
    if (!/^[|>][-+]?$/.test(value)) {
      expressions.push(value);
      return;
    }
    const block: string[] = [];
    for (const next of lines.slice(index + 1)) {
      if (next.trim() !== "" && next.search(/\S/) <= indent.length) break;
      block.push(next);
    }
    expressions.push(block.join("\n").trim());
  });
  return expressions;
}
