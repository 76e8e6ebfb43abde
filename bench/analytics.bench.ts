import { evmPayeeAccounts } from "@tollgate/testing";
import { expect, it } from "vitest";
import { benchPaywall } from "./servers/benchPaywall.js";
import { facilitatorStub } from "./servers/facilitatorStub.js";
import { openBenchStore } from "./servers/openBenchStore.js";
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
 * prepaid-token spends (about five records per request), in rounds alternating which copy goes first (ABBA); the
 * figure is the median over rounds of the on/off ratios of throughput and of server CPU per request. A server
 * that dropped records (its queue full: the store could not keep up) is reported, since a dropped record costs
 * nothing. Over HTTP on a shared machine the same server's CPU per request varied by 3× between runs here (the
 * socket writes' kernel time most of it), so the in-process test below is the one that resolves a few per cent.
 * (Driving both copies at once does not cancel the noise: the copy that falls behind pays more per write.)
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
    `Analytics on vs off, token spends: ${rounds} ABBA rounds over HTTP (wrk), medians of the rounds' ratios.`,
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
          for (const server of round % 4 === 0 || round % 4 === 3 ? [on, off] : [off, on])
            await run(server, true);
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

/**
 * Requests per in-process round, by store (a round takes a fraction of a second to a few seconds). A memory-store
 * round never yields to the event loop, so its queue is flushed only at the round's end: 1,500 spends are 7,500
 * records, within the queue's 10,000.
 */
const inProcessCount = { memory: 1500, redis: 1500, postgres: 800, embedded: 300 } as const;

/**
 * The same comparison without HTTP, which both copies pay alike: two paywalls in this process, each on its own
 * store of one kind, called through `paywall.fetch` with 32 token spends in flight, in short rounds alternating
 * which goes first (ABBA), each round ending with the analytics queue flushed, so its writes count in its own
 * round. This process's CPU per request (the store client's included) and requests/s; the median over rounds of
 * the on/off ratios. Without the HTTP layer's cost in both, the ratio is the larger (conservative) cost.
 */
it("analytics: the paywall core's token spends with analytics on vs off, in process, per store", async () => {
  const stub = await facilitatorStub(payTo);
  const only = process.env.BENCH_STORES?.split(",");
  const stores = (await availableStores()).filter((store) => only === undefined || only.includes(store));
  const inProcessRounds = Number(process.env.BENCH_ROUNDS ?? 12);
  const lines = [
    `Analytics on vs off, paywall core in process (no HTTP), token spends: ${inProcessRounds} ABBA rounds, medians of the rounds' ratios.`,
    "| store | req/s off | req/s on | req/s on/off | CPU µs/req off | CPU µs/req on | CPU on/off |",
    "|---|---|---|---|---|---|---|",
  ];
  try {
    for (const store of stores) {
      const copies = await Promise.all(
        [true, false].map(async (analytics) => {
          const opened = await openBenchStore(store);
          const paywall = benchPaywall({ store: opened.store, analytics, facilitatorUrl: stub.url, payTo });
          await paywall.ready();
          const app = paywall.fetch(async () => Response.json({ ok: true }));
          const tokens = await Promise.all(
            Array.from({ length: 32 }, async () => (await paywall.issueToken({ amount: "$1000000" })).token),
          );
          return { analytics, opened, paywall, app, tokens, runs: [] as RunFigures[] };
        }),
      );
      try {
        const count = inProcessCount[store];
        const round = async (copy: (typeof copies)[number], keep: boolean) => {
          let next = 0;
          let ok = 0;
          const cpuStart = process.cpuUsage();
          const t0 = performance.now();
          await Promise.all(
            Array.from({ length: 32 }, async () => {
              for (let i = next++; i < count; i = next++) {
                const response = await copy.app(
                  new Request("http://bench.test/paid", {
                    headers: { "X-PAYMENT-TOKEN": copy.tokens[i % copy.tokens.length] ?? "" },
                  }),
                );
                await response.arrayBuffer();
                if (response.status === 200) ok++;
              }
            }),
          );
          await copy.paywall.analytics.flush();
          const seconds = (performance.now() - t0) / 1000;
          const cpu = process.cpuUsage(cpuStart);
          expect(ok).toBe(count);
          if (keep) {
            copy.runs.push({
              cpuMicrosPerRequest: (cpu.user + cpu.system) / count,
              requestsPerSecond: count / seconds,
              ok,
              requests: count,
            });
          }
        };
        const [on, off] = copies as [(typeof copies)[number], (typeof copies)[number]];
        for (let i = 0; i < 3; i++) for (const copy of [on, off]) await round(copy, false); // warm-up
        for (let r = 0; r < inProcessRounds; r++) {
          for (const copy of r % 4 === 0 || r % 4 === 3 ? [on, off] : [off, on]) await round(copy, true);
        }
        const ratio = (pick: (f: RunFigures) => number) =>
          median(on.runs.map((f, i) => pick(f) / pick(off.runs[i] ?? f)));
        const med = (copy: typeof on, pick: (f: RunFigures) => number) =>
          median(copy.runs.map(pick)).toFixed(0);
        expect(on.paywall.analytics.dropped()).toBe(0);
        lines.push(
          `| ${store} | ${med(off, (f) => f.requestsPerSecond)} | ${med(on, (f) => f.requestsPerSecond)} | ${ratio((f) => f.requestsPerSecond).toFixed(3)} | ${med(off, (f) => f.cpuMicrosPerRequest)} | ${med(on, (f) => f.cpuMicrosPerRequest)} | ${ratio((f) => f.cpuMicrosPerRequest).toFixed(3)} |`,
        );
      } finally {
        for (const copy of copies) {
          await copy.paywall.close();
          await copy.opened.close();
        }
      }
    }
    console.log(lines.join("\n"));
  } finally {
    stub.close();
  }
});
