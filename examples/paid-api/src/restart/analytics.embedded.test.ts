import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeAnalyticsScenarios } from "./analyticsScenarios.js";

// A data directory per scenario under one of this file: every restart reopens the scenario's own.
const dataDir = mkdtempSync(join(tmpdir(), "tollgate-analytics-"));

describeAnalyticsScenarios({
  name: "embedded store (TOLLGATE_DATA_DIR)",
  storeEnvironment: (store) => ({ TOLLGATE_DATA_DIR: join(dataDir, store) }),
  cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  // An embedded data directory is locked by the process that opened it: it cannot be shared.
  shared: false,
});
