import { defineConfig } from "vitest/config";

/** One vitest run over every workspace package (each keeps its own config) and the workspace-wide tests. */
export default defineConfig({
  test: {
    projects: [
      "packages/*",
      "examples/*",
      { test: { name: "workspace", include: ["test/**/*.test.ts"], testTimeout: 60_000 } },
    ],
  },
});
