import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "evm/index": "src/evm/index.ts",
    "svm/index": "src/svm/index.ts",
    "node/index": "src/node/index.ts",
    "postgres/index": "src/postgres/index.ts",
    "redis/index": "src/redis/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  external: ["viem", "@solana/web3.js", "@solana/spl-token", "pg", "ioredis"],
});
