import { defineConfig } from "vitest/config";

/** Benchmarks run on demand (`pnpm bench`), never in the test run; they print figures and assert nothing on time. */
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  test: {
    include: ["**/*.bench.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    env: { RUST_LOG: "error" },
    fileParallelism: false,
  },
});
