import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // The anvil launcher is resolved with createRequire(import.meta.url): give the CJS build a real import.meta.url.
  shims: true,
});
