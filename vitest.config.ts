import { defineConfig } from "vitest/config";

// Workspace packages resolve to their sources (`source` export condition) unless TOLLGATE_TEST_BUILT=1.
const conditions = process.env.TOLLGATE_TEST_BUILT === "1" ? [] : ["source"];

/** One vitest run over every workspace package (each keeps its own config) and the workspace-wide tests. */
export default defineConfig({
  test: {
    projects: [
      "packages/*/vitest.config.ts",
      "examples/*/vitest.config.ts",
      {
        resolve: { conditions },
        ssr: { resolve: { conditions, externalConditions: conditions } },
        test: { name: "workspace", include: ["test/**/*.test.ts"], testTimeout: 60_000 },
      },
    ],
  },
});
