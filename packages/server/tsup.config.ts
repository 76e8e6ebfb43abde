import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "facilitator/index": "src/facilitator/index.ts",
    "evm/index": "src/evm/index.ts",
    "svm/index": "src/svm/index.ts",
    "express/index": "src/adapters/express.ts",
    "hono/index": "src/adapters/hono.ts",
    "postgres/index": "src/store/postgres/index.ts",
    "embedded/index": "src/store/embedded/index.ts",
    "redis/index": "src/store/redis/index.ts",
    "metrics/index": "src/metrics/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  external: [
    "viem",
    "@solana/web3.js",
    "@solana/spl-token",
    "express",
    "hono",
    "secp256k1",
    "undici",
    "pg",
    "@electric-sql/pglite",
    "ioredis",
    "prom-client",
  ],
});
