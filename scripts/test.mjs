#!/usr/bin/env node
// Runs every test of the workspace once and ends with the line `N passed, N failed`.
// Builds the packages first so the export-snapshot tests can also check the published dist/ output.
// Usage: node scripts/test.mjs [--no-build] [--built] [vitest args…]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const noBuild = args.includes("--no-build");
// --built: load workspace packages from their dist/ output (as published) instead of their sources.
const built = args.includes("--built");
const vitestArgs = args.filter((a) => a !== "--no-build" && a !== "--built");
const resultsDir = join(root, ".vitest-results");
const resultsFile = join(resultsDir, "results.json");

function run(cmd, cmdArgs, env = {}) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  return r.status ?? 1;
}

if (!noBuild && run("pnpm", ["-r", "--filter", "./packages/*", "build"]) !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}

rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });
const status = run(
  join(root, "node_modules/.bin/vitest"),
  ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${resultsFile}`, ...vitestArgs],
  built ? { TOLLGATE_TEST_BUILT: "1" } : {},
);

let passed = 0;
let failed = 0;
if (existsSync(resultsFile)) {
  const report = JSON.parse(readFileSync(resultsFile, "utf8"));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  // A test file that fails to load counts as a failure even when it declared no tests.
  for (const suite of report.testResults ?? []) {
    if (suite.status === "failed" && (suite.assertionResults ?? []).length === 0) failed += 1;
  }
}
if (status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(status === 0 && failed === 0 ? 0 : 1);
