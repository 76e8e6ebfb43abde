import { evmPayeeAccounts } from "@tollgate/testing";
import { expect, it } from "vitest";
import { facilitatorStub } from "./servers/facilitatorStub.js";
import {
  availableStores,
  issueTokens,
  measured,
  median,
  type RunFigures,
  type StoreServer,
  serverStats,
  startStoreServer,
  stopStoreServer,
  tokenDriver,
} from "./storeRuns.js";

/**
 * What analytics cost the paid path (issue 13: at most 3 %): on each store, two copies of the same paid server
 * (`servers/storeServer.ts`), one with analytics on (the default queue: every event's record written to the store
 * in batches) and one with them off (`analytics: { maxQueue: 0 }`: no record built or written), driven by
 * prepaid-token spends (about five records per request). Rounds alternate which copy runs first; the figure is the
 * median of the rounds' on/off ratios of throughput and of server CPU per request. A server that dropped records
 * (its queue full: the store could not keep up) is reported, since a dropped record costs nothing.
 */
const payTo = evmPayeeAccounts[0].address;
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

it("analytics: paid-path throughput and server CPU with analytics on vs off, per store", async () => {
  const stub = await facilitatorStub(payTo);
  const only = process.env.BENCH_STORES?.split(",");
  const stores = (await availableStores()).filter((store) => only === undefined || only.includes(store));
  const drive = await tokenDriver({ seconds, count: 3000 });
  const lines = [
    `Analytics on vs off, token spends: ${rounds} rounds alternating on/off, medians of the rounds' ratios.`,
    "Server-process CPU only. Shared 2-core machine: expect noise of a few per cent between rounds.",
    "| store | req/s off | req/s on | req/s on/off | CPU µs/req off | CPU µs/req on | CPU on/off | records dropped (on) |",
    "|---|---|---|---|---|---|---|---|",
  ];
  try {
    for (const store of stores) {
      const on = await startStoreServer(`${store}+analytics`, {
        store,
        analytics: true,
        facilitatorUrl: stub.url,
        payTo,
      });
      const off = await startStoreServer(store, { store, analytics: false, facilitatorUrl: stub.url, payTo });
      try {
        const tokens = new Map<StoreServer, string[]>([
          [on, await issueTokens(on, 32)],
          [off, await issueTokens(off, 32)],
        ]);
        const runs = new Map<StoreServer, RunFigures[]>([
          [on, []],
          [off, []],
        ]);
        const run = async (server: StoreServer, keep: boolean) => {
          const figures = await measured(server, () => drive(server, tokens.get(server) ?? []));
          expect(figures.ok).toBe(figures.requests);
          if (keep) runs.get(server)?.push(figures);
        };
        await run(on, false); // warm-up
        await run(off, false);
        for (let round = 0; round < rounds; round++) {
          const order = round % 2 === 0 ? [on, off] : [off, on];
          for (const server of order) await run(server, true);
        }
        const onRuns = runs.get(on) ?? [];
        const offRuns = runs.get(off) ?? [];
        const rpsRatio = median(
          onRuns.map((r, i) => r.requestsPerSecond / (offRuns[i]?.requestsPerSecond ?? Number.NaN)),
        );
        const cpuRatio = median(
          onRuns.map((r, i) => r.cpuMicrosPerRequest / (offRuns[i]?.cpuMicrosPerRequest ?? Number.NaN)),
        );
        const { dropped } = await serverStats(on);
        lines.push(
          `| ${store} | ${median(offRuns.map((r) => r.requestsPerSecond)).toFixed(0)} | ${median(onRuns.map((r) => r.requestsPerSecond)).toFixed(0)} | ${rpsRatio.toFixed(3)} | ${median(offRuns.map((r) => r.cpuMicrosPerRequest)).toFixed(0)} | ${median(onRuns.map((r) => r.cpuMicrosPerRequest)).toFixed(0)} | ${cpuRatio.toFixed(3)} | ${dropped} |`,
        );
      } finally {
        await stopStoreServer(on);
        await stopStoreServer(off);
      }
    }
    console.log(lines.join("\n"));
  } finally {
    stub.close();
  }
});
