import { evmPayeeAccounts } from "@tollgate/testing";
import { expect, it } from "vitest";
import { facilitatorStub } from "./servers/facilitatorStub.js";
import {
  availableStores,
  issueTokens,
  measured,
  median,
  proofRun,
  type RunFigures,
  type StoreServer,
  startStoreServer,
  stopStoreServer,
  tokenDriver,
} from "./storeRuns.js";

/**
 * The paid path on each store (issue 12): the same paid server (`servers/storeServer.ts`, its own process, real
 * HTTP on loopback) on memory, embedded PGlite, PostgreSQL and Redis, with server-process CPU per request and
 * requests/s, each store as a ratio to the memory store of the same round. Two paths: prepaid-token spends (one
 * debit per request, the cheapest paid request to generate at volume) and facilitator-lane proofs (two claims, two
 * transitions and an idempotency-free settle per request, against a facilitator stub that answers at once).
 * Rounds interleave the stores (rotated order) and the ratio is the median of the rounds' ratios, since the
 * machine is shared. Analytics stay on (the default). CPU of PostgreSQL's and Redis's own processes is not counted.
 */
const payTo = evmPayeeAccounts[0].address;
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const tokenSeconds = Number(process.env.BENCH_SECONDS ?? 4);
const proofsPerRun = Number(process.env.BENCH_PROOFS ?? 800);

it("stores: server CPU per paid request and throughput on each store, as ratios to memory", async () => {
  const stub = await facilitatorStub(payTo);
  const stores = await availableStores();
  const servers: StoreServer[] = [];
  try {
    for (const store of stores) {
      servers.push(
        await startStoreServer(store, { store, analytics: true, facilitatorUrl: stub.url, payTo }),
      );
    }
    const drive = await tokenDriver({ seconds: tokenSeconds, count: 4000 });
    const tokens = new Map<string, string[]>();
    for (const server of servers) {
      tokens.set(server.name, await issueTokens(server, 32));
      await drive(server, tokens.get(server.name) ?? []); // warm-up
      await proofRun(server, 200, payTo);
    }
    const figures = { token: new Map<string, RunFigures[]>(), proof: new Map<string, RunFigures[]>() };
    for (let round = 0; round < rounds; round++) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length] as StoreServer);
      for (const server of order) {
        const run = await measured(server, () => drive(server, tokens.get(server.name) ?? []));
        expect(run.ok).toBe(run.requests);
        figures.token.set(server.name, [...(figures.token.get(server.name) ?? []), run]);
      }
      for (const server of order) {
        const run = await proofRun(server, proofsPerRun, payTo);
        expect(run.ok).toBe(run.requests);
        figures.proof.set(server.name, [...(figures.proof.get(server.name) ?? []), run]);
      }
    }
    const lines = [
      `Paid path per store: ${rounds} interleaved rounds; medians of each round's figure and of each round's ratio to memory.`,
      "Server-process CPU only (PostgreSQL's and Redis's own processes not counted). Shared 2-core machine: expect noise.",
    ];
    for (const [path, runs] of Object.entries(figures)) {
      const memory = runs.get("memory") ?? [];
      lines.push(
        "",
        path === "token"
          ? "Token spends (X-PAYMENT-TOKEN, one debit per request):"
          : "Facilitator-lane proofs (PAYMENT-SIGNATURE, facilitator stub):",
        "| store | server CPU µs/request | req/s | CPU × memory | req/s × memory |",
        "|---|---|---|---|---|",
      );
      for (const server of servers) {
        const own = runs.get(server.name) ?? [];
        const cpuRatio = median(
          own.map((r, i) => r.cpuMicrosPerRequest / (memory[i]?.cpuMicrosPerRequest ?? Number.NaN)),
        );
        const rpsRatio = median(
          own.map((r, i) => r.requestsPerSecond / (memory[i]?.requestsPerSecond ?? Number.NaN)),
        );
        lines.push(
          `| ${server.name} | ${median(own.map((r) => r.cpuMicrosPerRequest)).toFixed(0)} | ${median(own.map((r) => r.requestsPerSecond)).toFixed(0)} | ${cpuRatio.toFixed(2)} | ${rpsRatio.toFixed(2)} |`,
        );
      }
    }
    console.log(lines.join("\n"));
  } finally {
    for (const server of servers) await stopStoreServer(server);
    stub.close();
  }
});
