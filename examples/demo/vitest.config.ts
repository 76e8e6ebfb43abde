import { defineProject } from "vitest/config";

// Tests import workspace packages from source (`source` export condition) unless
// TOLLGATE_TEST_BUILT=1 asks for the built `dist/` output, as a published package would be loaded.
const conditions = process.env.TOLLGATE_TEST_BUILT === "1" ? [] : ["source"];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: { env: { RUST_LOG: "error" }, testTimeout: 60_000, hookTimeout: 60_000 },
});
