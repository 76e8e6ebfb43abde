#!/usr/bin/env node
// `pnpm mutation [target…] [--file <path>] [--break <score>] [--concurrency <n>] [--full] [--list]`
// Runs StrykerJS (vitest runner) on each named target in turn (all targets when none is named), one at a
// time, and ends with one line per target `mutation <target>: <score> % (break <n>)` and, when a target is
// under its break threshold, exits non-zero. Targets: scripts/mutationTargets.mjs. Config: stryker.config.mjs.
//   --file <path>      mutate only this file of the (single) target
//   --break <score>    override the target's break threshold (0 = report only)
//   --concurrency <n>  Stryker test-runner processes (default 1: the machine is shared)
//   --full             ignore the incremental cache (reports/mutation/*.incremental.json) and re-test all
//   --list             print the targets and their files
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { targets } from "./mutationTargets.mjs";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const names = [];
const env = {};
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--file") env.TOLLGATE_MUTATION_FILE = args[++i];
  else if (arg === "--break") env.TOLLGATE_MUTATION_BREAK = args[++i];
  else if (arg === "--concurrency") env.TOLLGATE_MUTATION_CONCURRENCY = args[++i];
  else if (arg === "--full") env.TOLLGATE_MUTATION_INCREMENTAL = "0";
  else if (arg === "--list") {
    for (const [name, t] of Object.entries(targets))
      console.log(`${name} (${t.package}):\n  ${t.mutate.join("\n  ")}`);
    process.exit(0);
  } else if (arg.startsWith("--")) {
    console.error(`unknown option ${arg}`);
    process.exit(2);
  } else names.push(arg);
}
const chosen = names.length > 0 ? names : Object.keys(targets);
for (const name of chosen) {
  if (targets[name] === undefined) {
    console.error(`unknown mutation target ${name}; known: ${Object.keys(targets).join(", ")}`);
    process.exit(2);
  }
}

/** Mutation score (killed + timeout over all valid mutants, as Stryker counts it) from a JSON report. */
function scoreOf(reportFile) {
  const report = JSON.parse(readFileSync(reportFile, "utf8"));
  let detected = 0;
  let valid = 0;
  for (const file of Object.values(report.files)) {
    for (const m of file.mutants) {
      if (m.status === "Killed" || m.status === "Timeout") detected++;
      if (m.status !== "CompileError" && m.status !== "RuntimeError" && m.status !== "Ignored") valid++;
    }
  }
  return valid === 0 ? 100 : (100 * detected) / valid;
}

const summary = [];
let failed = false;
for (const name of chosen) {
  const reportFile = join(root, "reports/mutation", `${name}.json`);
  rmSync(reportFile, { force: true });
  const started = Date.now();
  const r = spawnSync(join(root, "node_modules/.bin/stryker"), ["run", "stryker.config.mjs"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, ...env, TOLLGATE_MUTATION_TARGET: name },
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  const breakAt = env.TOLLGATE_MUTATION_BREAK ?? targets[name].breakAt ?? 0;
  const score = existsSync(reportFile) ? scoreOf(reportFile).toFixed(2) : "n/a";
  if (r.status !== 0) failed = true;
  summary.push(
    `mutation ${name}: ${score} % (break ${breakAt}) in ${seconds} s${r.status !== 0 ? " FAILED" : ""}`,
  );
}
for (const line of summary) console.log(line);
process.exit(failed ? 1 : 0);
