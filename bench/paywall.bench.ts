import { evmPayeeAccounts } from "@tollgate/testing";
import { expect, it } from "vitest";
import { load } from "./load.js";
import { facilitatorRequirement, presign } from "./proofs.js";
import { facilitatorStub } from "./servers/facilitatorStub.js";
import { startPaidServer } from "./servers/startPaidServer.js";

/**
 * Server CPU per paid request: Tollgate's paywall against @x402/express 2.27.0 and a bare node:http server, each
 * in its own process (its CPU read from inside), against a facilitator stub that answers at once, so the figure is
 * the SDK's own cost (DESIGN.md §7: ≤ 0.4 ms per paid request). Every request carries a unique pre-signed
 * authorization, since our replay claims refuse a reused one. 32 requests in flight.
 */
const payTo = evmPayeeAccounts[0].address;

async function cpuMicros(url: string): Promise<number> {
  return ((await (await fetch(`${url}/__cpu`)).json()) as { micros: number }).micros;
}

it("paywall: server CPU per paid request, ours vs @x402/express 2.27.0 vs bare node:http", async () => {
  const stub = await facilitatorStub(payTo);
  const rows: string[] = [];
  const n = 1500;
  const results: Record<string, { cpuMs: number; rps: number }> = {};
  for (const kind of ["bare", "ours", "x402-express"]) {
    const server = await startPaidServer({ kind, facilitatorUrl: stub.url, payTo });
    try {
      const path = kind === "bare" ? "/free" : "/paid";
      let headers: (i: number) => Record<string, string> = () => ({});
      if (kind !== "bare") {
        const signed = await presign(n + 200, await facilitatorRequirement(`${server.url}${path}`), payTo);
        headers = (i) => ({ "PAYMENT-SIGNATURE": signed[i] ?? "" });
        await load(`${server.url}${path}`, (i) => headers(n + i), 200); // warm-up
      } else {
        await load(`${server.url}${path}`, headers, 200);
      }
      const before = await cpuMicros(server.url);
      const run = await load(`${server.url}${path}`, headers, n);
      const after = await cpuMicros(server.url);
      expect(run.ok).toBe(n);
      results[kind] = { cpuMs: (after - before) / 1000 / n, rps: n / run.seconds };
      rows.push(
        `| ${kind} ${path} | ${results[kind]?.cpuMs.toFixed(3)} | ${results[kind]?.rps.toFixed(0)} |`,
      );
    } finally {
      server.child.kill();
    }
  }
  stub.close();
  const ours = results.ours?.cpuMs ?? 1;
  const peer = results["x402-express"]?.cpuMs ?? 1;
  console.log(
    [
      "Server CPU per request (32 in flight, facilitator stub answering at once; client and stub CPU not counted)",
      "| server | CPU ms/request | req/s |",
      "|---|---|---|",
      ...rows,
      `ours uses ${(peer / ours).toFixed(1)}x less CPU per paid request than @x402/express`,
    ].join("\n"),
  );
});
