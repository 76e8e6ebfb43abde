// StrykerJS configuration for `pnpm mutation` (scripts/mutation.mjs). The target comes from the environment
// (TOLLGATE_MUTATION_TARGET, optionally TOLLGATE_MUTATION_FILE to mutate one file of it) so one file serves
// every target; scripts/mutationTargets.mjs lists them.
import { targets } from "./scripts/mutationTargets.mjs";

const name = process.env.TOLLGATE_MUTATION_TARGET ?? "shared";
const target = targets[name];
if (target === undefined) throw new Error(`unknown mutation target ${name}`);
const only = process.env.TOLLGATE_MUTATION_FILE;
const breakAt = process.env.TOLLGATE_MUTATION_BREAK;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: `${target.package}/vitest.config.ts`, dir: target.package, related: true },
  mutate: only ? [only] : target.mutate,
  coverageAnalysis: process.env.TOLLGATE_MUTATION_COVERAGE ?? "perTest",
  concurrency: Number(process.env.TOLLGATE_MUTATION_CONCURRENCY ?? 1),
  timeoutMS: 10_000,
  // Static mutants (code that runs while a module loads: module-level constants, the default registry's
  // construction) are reported Survived by the vitest runner even when a test kills them, because it activates a
  // mutant after the module was imported (stryker-js #6144, #6209 on 9.6.1). They are ignored, not scored; where
  // such code also runs inside tests (the registry's `add`), its mutants were applied by hand and failed tests.
  ignoreStatic: true,
  // Incremental mode: a run re-tests only the mutants whose code or covering tests changed since the last
  // run on this machine. The cache lives in reports/mutation/ (git-ignored), never committed.
  incremental: process.env.TOLLGATE_MUTATION_INCREMENTAL !== "0",
  incrementalFile: `reports/mutation/${name}${only ? `-${only.replaceAll("/", "_")}` : ""}.incremental.json`,
  thresholds: {
    high: 90,
    low: 85,
    break: breakAt !== undefined ? Number(breakAt) : target.breakAt,
  },
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // Only what the tests load is copied into the sandbox.
  ignorePatterns: ["bench", "examples", "docs", "reports", ".vitest-results", "**/coverage"],
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
