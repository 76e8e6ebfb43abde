import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
/**
 * The alerting rules checked by Prometheus' own tool: `promtool check rules` (syntax, PromQL, templates) and
 * `promtool test rules` (the unit tests in alerts.test.yml). Debian's `prometheus` package ships promtool
 * (.ci/run installs it); with CI=true a missing promtool fails, elsewhere these tests are skipped with a note.
 */
import { dashboardExpressions, monitoring } from "./monitoringFiles.js";

const promtool = (...args: string[]) =>
  spawnSync("promtool", args, { cwd: monitoring, encoding: "utf8", timeout: 60_000 });

const found = promtool("--version");
const installed = found.error === undefined && found.status === 0;
if (!installed && process.env.CI !== "true") {
  console.warn(
    "NOTE: promtool is not installed (Debian: apt-get install prometheus); the alert rule checks are skipped.",
  );
}

describe("promtool", () => {
  it.runIf(process.env.CI === "true")("is installed (required with CI=true)", () => {
    expect(found.error?.message ?? found.status).toBe(0);
  });

  it.runIf(installed)("check rules: alerts.yml is valid", () => {
    const result = promtool("check", "rules", "alerts.yml");
    expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toMatchObject({
      status: 0,
    });
    expect(result.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it.runIf(installed)("test rules: every case of alerts.test.yml passes", () => {
    const result = promtool("test", "rules", "alerts.test.yml");
    expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({
      status: 0,
      output: expect.stringContaining("SUCCESS"),
    });
  });

  it.runIf(installed)("test rules fails on a case that does not hold (the check can fail)", () => {
    // The same tests against rules whose failure-rate threshold is 1 %: the 4 % quiet cases must now fail.
    const rules = readFileSync(join(monitoring, "alerts.yml"), "utf8").replace(") > 0.05", ") > 0.01");
    expect(rules).toContain(") > 0.01");
    const dir = mkdtempSync(join(tmpdir(), "tollgate-promtool-"));
    try {
      writeFileSync(join(dir, "alerts.yml"), rules);
      copyFileSync(join(monitoring, "alerts.test.yml"), join(dir, "alerts.test.yml"));
      const result = spawnSync("promtool", ["test", "rules", "alerts.test.yml"], {
        cwd: dir,
        encoding: "utf8",
      });
      expect(result.status).not.toBe(0);
      expect(`${result.stdout}${result.stderr}`).toContain(
        "name: settlement_pending counted once in the failure rate",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(installed)("check rules: every expression of dashboard.json is valid PromQL", () => {
    // promtool 2.42 has no `promql` command: each expression becomes a recording rule, with Grafana's
    // interval variables replaced by durations, and `check rules` parses them all.
    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThanOrEqual(30);
    const rules = [
      "groups:",
      "  - name: dashboard",
      "    rules:",
      ...expressions.flatMap((expression, i) => [
        `      - record: dashboard:expression_${i}`,
        `        expr: ${JSON.stringify(expression.replaceAll("$__rate_interval", "5m").replaceAll("$__range", "6h"))}`,
      ]),
    ].join("\n");
    const dir = mkdtempSync(join(tmpdir(), "tollgate-promtool-"));
    try {
      writeFileSync(join(dir, "dashboard-rules.yml"), `${rules}\n`);
      const result = spawnSync("promtool", ["check", "rules", "dashboard-rules.yml"], {
        cwd: dir,
        encoding: "utf8",
      });
      expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({
        status: 0,
        output: expect.stringContaining(`SUCCESS: ${expressions.length} rules found`),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("alerts.test.yml", () => {
  it("has a firing and a quiet case for every alert of alerts.yml", () => {
    const rules = readFileSync(join(monitoring, "alerts.yml"), "utf8");
    const tests = readFileSync(join(monitoring, "alerts.test.yml"), "utf8");
    const alerts = [...rules.matchAll(/^\s*- alert: (\S+)$/gm)].map((m) => m[1]);
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    const cases = [...tests.matchAll(/alertname: (\S+)\n\s*exp_alerts:( \[\])?/g)].map((m) => ({
      alert: m[1],
      fires: m[2] === undefined,
    }));
    const coverage = Object.fromEntries(
      alerts.map((alert) => [
        alert,
        {
          firing: cases.some((c) => c.alert === alert && c.fires),
          quiet: cases.some((c) => c.alert === alert && !c.fires),
        },
      ]),
    );
    expect(coverage).toEqual(Object.fromEntries(alerts.map((a) => [a, { firing: true, quiet: true }])));
  });
});
