import { defineProject } from "vitest/config";

// Tests import workspace packages from source (`source` export condition) unless
// TOLLGATE_TEST_BUILT=1 asks for the built `dist/` output, as a published package would be loaded.
const conditions = process.env.TOLLGATE_TEST_BUILT === "1" ? [] : ["source"];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  // The restart tests start the reference server as a child process up to six times in one test (each start
  // opens the embedded store): on a loaded 2-core machine one such test has taken 65 s.
  test: { env: { RUST_LOG: "error" }, testTimeout: 180_000, hookTimeout: 60_000 },
});
