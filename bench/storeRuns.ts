import type { ChildProcess } from "node:child_process";
import { reachable } from "../packages/server/test/services.js";
import { hasWrk, type LoadResult, load, wrkLoad } from "./load.js";
import { facilitatorRequirement, presign } from "./proofs.js";
import { startServerProcess } from "./servers/startPaidServer.js";
import type { StoreServerConfig } from "./servers/storeServer.js";

/** A running `storeServer.ts`. */
export type StoreServer = Readonly<{ name: string; url: string; child: ChildProcess }>;

/** One measured run: the server's CPU per request (µs), requests per second, and how many answered 200. */
export type RunFigures = Readonly<{
  cpuMicrosPerRequest: number;
  requestsPerSecond: number;
  ok: number;
  requests: number;
}>;

/** Which stores this machine can run: memory and embedded always, PostgreSQL and Redis when they listen. */
export async function availableStores(): Promise<StoreServerConfig["store"][]> {
  const stores: StoreServerConfig["store"][] = ["memory", "embedded"];
  for (const [store, port] of [
    ["postgres", 5432],
    ["redis", 6379],
  ] as const) {
    if (await reachable({ port })) stores.push(store);
    else if (process.env.CI === "true")
      throw new Error(`${store} is not reachable on 127.0.0.1:${port} (CI=true)`);
    else console.warn(`NOTE: ${store} is not reachable at 127.0.0.1:${port}; it is left out of this run.`);
  }
  return stores;
}

/** Starts `storeServer.ts` with `config` in its own process. */
export async function startStoreServer(name: string, config: StoreServerConfig): Promise<StoreServer> {
  const { url, child } = await startServerProcess({
    script: "storeServer.ts",
    args: [JSON.stringify(config)],
  });
  return { name, url, child };
}

/** Closes a store server: it flushes, closes its store and removes its schema, keys or data directory. */
export async function stopStoreServer(server: StoreServer): Promise<void> {
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  await fetch(`${server.url}/__close`, { method: "POST" }).catch(() => server.child.kill());
  await exited;
}

/** The server's CPU (user + system, µs) and analytics records dropped so far. */
export async function serverStats(server: StoreServer): Promise<{ micros: number; dropped: number }> {
  return (await (await fetch(`${server.url}/__cpu`)).json()) as { micros: number; dropped: number };
}

/** Issues `count` prepaid tokens on `server` (each worth far more than a run spends). */
export async function issueTokens(server: StoreServer, count: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const answer = (await (await fetch(`${server.url}/__token`, { method: "POST" })).json()) as {
        token: string;
      };
      return answer.token;
    }),
  );
}

/** Runs `drive` against `server` and reads the server's CPU around it. */
export async function measured(server: StoreServer, drive: () => Promise<LoadResult>): Promise<RunFigures> {
  const before = await serverStats(server);
  const run = await drive();
  const after = await serverStats(server);
  return {
    cpuMicrosPerRequest: (after.micros - before.micros) / run.requests,
    requestsPerSecond: run.requests / run.seconds,
    ok: run.ok,
    requests: run.requests,
  };
}

/**
 * A token-lane driver: every request spends one of `tokens` (`X-PAYMENT-TOKEN`, a debit of $0.01 each), 32 in
 * flight, through `wrk` for `seconds` when it is installed, else `count` requests from Node's `fetch`.
 */
export async function tokenDriver(
  parameters: Readonly<{ seconds: number; count: number }>,
): Promise<(server: StoreServer, tokens: readonly string[]) => Promise<LoadResult>> {
  const { seconds, count } = parameters;
  const viaWrk = await hasWrk();
  console.log(
    `token-lane load generator: ${viaWrk ? `wrk, ${seconds} s per run` : `Node fetch, ${count} requests per run`}`,
  );
  return (server, tokens) =>
    viaWrk
      ? wrkLoad({ url: `${server.url}/paid`, header: "X-PAYMENT-TOKEN", values: tokens, seconds })
      : load(`${server.url}/paid`, (i) => ({ "X-PAYMENT-TOKEN": tokens[i % tokens.length] ?? "" }), count);
}

/** A facilitator-lane run: `count` fresh proofs signed for `server`'s offer, then sent 32 in flight. */
export async function proofRun(
  server: StoreServer,
  count: number,
  payTo: `0x${string}`,
): Promise<RunFigures> {
  const signed = await presign(count, await facilitatorRequirement(`${server.url}/paid`), payTo);
  return measured(server, () =>
    load(`${server.url}/paid`, (i) => ({ "PAYMENT-SIGNATURE": signed[i] ?? "" }), count),
  );
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
