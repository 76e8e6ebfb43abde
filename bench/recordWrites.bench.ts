import type { StoreRecord } from "@tollgate/server";
import { expect, it } from "vitest";
import { openBenchStore } from "./servers/openBenchStore.js";
import { availableStores, median } from "./storeRuns.js";

/**
 * The store's share of analytics' cost, without HTTP or the paywall: on each store, this process's CPU to write
 * one token spend's five analytics records (`recordBatch`, in batches of 256 as the paywall's queue writes them)
 * against its CPU for the spend's own debit (`debit`, 32 in flight), alternating rounds, medians. The store
 * client's CPU and, for the embedded store, PGlite's (in process); not PostgreSQL's or Redis's own processes.
 */
const spends = 1_000;
const recordsPerSpend = 5;
const batchSize = 256;
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

const recordOf = (i: number): StoreRecord => ({
  at: 1_800_000_000_000 + i,
  type: ["proof_received", "proof_checked", "verified", "settled", "paid"][i % recordsPerSpend] ?? "paid",
  route: "GET /paid",
  lane: "token",
  ...(i % recordsPerSpend >= 3 ? { amount: 10_000n } : {}),
  ...(i % recordsPerSpend === 2 || i % recordsPerSpend === 3 ? { durationMs: 0.4 } : {}),
});

const cpuOf = async (run: () => Promise<void>) => {
  const start = process.cpuUsage();
  await run();
  const cpu = process.cpuUsage(start);
  return cpu.user + cpu.system;
};

it("analytics writes: CPU of a token spend's five records vs its debit, per store", async () => {
  const lines = [
    `Analytics records vs the debit, per token spend (${spends} spends per round, ${rounds} rounds, medians):`,
    "| store | debit µs/spend | 5 records µs/spend | records / debit |",
    "|---|---|---|---|",
  ];
  for (const kind of await availableStores()) {
    const { store, close } = await openBenchStore(kind);
    try {
      await store.credit({ tokenHash: "bench-token", amount: 10n ** 15n, expiresAt: 4_000_000_000 });
      const debits = () =>
        cpuOf(async () => {
          let next = 0;
          await Promise.all(
            Array.from({ length: 32 }, async () => {
              for (let i = next++; i < spends; i = next++) {
                const result = await store.debit({
                  tokenHash: "bench-token",
                  amount: 10_000n,
                  nowSeconds: 1,
                });
                expect(result.ok).toBe(true);
              }
            }),
          );
        });
      const records = () =>
        cpuOf(async () => {
          const all = Array.from({ length: spends * recordsPerSpend }, (_, i) => recordOf(i));
          for (let first = 0; first < all.length; first += batchSize) {
            await store.recordBatch(all.slice(first, first + batchSize));
          }
        });
      await debits();
      await records();
      const debit: number[] = [];
      const written: number[] = [];
      for (let round = 0; round < rounds; round++) {
        if (round % 2 === 0) {
          debit.push((await debits()) / spends);
          written.push((await records()) / spends);
        } else {
          written.push((await records()) / spends);
          debit.push((await debits()) / spends);
        }
      }
      const ratio = median(written.map((w, i) => w / (debit[i] ?? w)));
      lines.push(
        `| ${kind} | ${median(debit).toFixed(1)} | ${median(written).toFixed(1)} | ${ratio.toFixed(3)} |`,
      );
    } finally {
      await close();
    }
  }
  console.log(lines.join("\n"));
});
