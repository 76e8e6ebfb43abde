/**
 * The paid server of the store benches, in its own process so its CPU can be read alone: Tollgate's paywall on
 * node:http (`serveFetch`) with one store (`memory`, `embedded` in a temporary data directory, `postgres` in a
 * schema of its own on 127.0.0.1:5432, `redis` under a key prefix of its own on 127.0.0.1:6379), analytics on or
 * off (`maxQueue: 0`: every record dropped before it is built or written). argv[2] is a JSON `StoreServerConfig`.
 * Serves `GET /paid` ($0.01) on the facilitator lane (the facilitator at `facilitatorUrl`) and the token lane, and
 * beside it: `GET /__cpu` (its CPU microseconds and dropped analytics records), `POST /__token` (issues a token
 * worth $1,000,000) and `POST /__close` (flushes analytics, closes the store, removes its data, exits).
 * Prints `URL http://…` once listening.
 */
import { serveFetch } from "@tollgate/server";
import { benchPaywall } from "./benchPaywall.js";
import { type BenchStoreKind, openBenchStore } from "./openBenchStore.js";

/** What `storeServer.ts` runs: its store, whether analytics records are kept, its facilitator and payee. */
export type StoreServerConfig = Readonly<{
  store: BenchStoreKind;
  analytics: boolean;
  facilitatorUrl: string;
  payTo: string;
}>;

const config = JSON.parse(process.argv[2] ?? "{}") as StoreServerConfig;

async function start(): Promise<string> {
  const opened = await openBenchStore(config.store);
  const paywall = benchPaywall({ ...config, store: opened.store });
  await paywall.ready();
  const app = paywall.fetch(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/__cpu") {
      const usage = process.cpuUsage();
      return Response.json({ micros: usage.user + usage.system, dropped: paywall.analytics.dropped() });
    }
    if (path === "/__token" && request.method === "POST") {
      const { token } = await paywall.issueToken({ amount: "1000000" });
      return Response.json({ token });
    }
    if (path === "/__close" && request.method === "POST") {
      setImmediate(async () => {
        await paywall.close();
        await opened.close();
        process.exit(0);
      });
      return Response.json({ closing: true });
    }
    return Response.json({ ok: true });
  });
  return (await serveFetch({ fetch: app })).url;
}

start().then(
  (url) => process.stdout.write(`URL ${url}\n`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
