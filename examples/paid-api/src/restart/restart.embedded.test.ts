import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeRestartScenarios } from "./restartScenarios.js";

// One data directory for the whole file: every restart reopens it (PGlite takes a few seconds per open).
const dataDir = mkdtempSync(join(tmpdir(), "tollgate-restart-"));

describeRestartScenarios({
  name: "embedded store (TOLLGATE_DATA_DIR)",
  storeEnvironment: () => ({ TOLLGATE_DATA_DIR: join(dataDir, "data") }),
  cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
});
