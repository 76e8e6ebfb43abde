import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { transferWithAuthorizationTypes } from "@tollgate/server/evm";
import { encodeHeaderJson, readPaymentRequired } from "@tollgate/shared";
import { evmPayeeAccounts, evmPayerAccounts } from "@tollgate/testing";
import { toHex } from "viem";
import { expect, it } from "vitest";
import { startPaidServer } from "./servers/startPaidServer.js";

/**
 * Server CPU per paid request: Tollgate's paywall against @x402/express 2.27.0 and a bare node:http server, each
 * in its own process (its CPU read from inside), against a facilitator stub that answers at once, so the figure is
 * the SDK's own cost (DESIGN.md §7: ≤ 0.4 ms per paid request). Every request carries a unique pre-signed
 * authorization, since our replay claims refuse a reused one. 32 requests in flight.
 */
const payTo = evmPayeeAccounts[0].address;
const asset = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

async function facilitatorStub(): Promise<{ url: string; close(): void }> {
  const supported = JSON.stringify({
    kinds: [
      { x402Version: 2, scheme: "exact", network: "eip155:84532" },
      { x402Version: 1, scheme: "exact", network: "base-sepolia" },
    ],
    extensions: [],
    signers: { "eip155:*": [payTo] },
  });
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      if (req.url?.endsWith("/supported")) return res.end(supported);
      const payer = (/"from":"(0x[0-9a-fA-F]{40})"/.exec(body) ?? [])[1] ?? payTo;
      if (req.url?.endsWith("/verify")) return res.end(JSON.stringify({ isValid: true, payer }));
      return res.end(
        JSON.stringify({
          success: true,
          payer,
          // A settlement's own transaction: the paywall claims it, so one hash would pay once.
          transaction: `0x${randomBytes(32).toString("hex")}`,
          network: "eip155:84532",
        }),
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function cpuMicros(url: string): Promise<number> {
  return ((await (await fetch(`${url}/__cpu`)).json()) as { micros: number }).micros;
}

async function presign(count: number, requirement: Record<string, unknown>) {
  // The paywall refuses a validBefore beyond the requirement's maxTimeoutSeconds (plus 60 s of skew).
  const validBefore = BigInt(Math.floor(Date.now() / 1000) + Number(requirement.maxTimeoutSeconds));
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const payer = evmPayerAccounts[i % 4] ?? evmPayerAccounts[0];
      const message = {
        from: payer.address,
        to: payTo,
        value: 10_000n,
        validAfter: 0n,
        validBefore,
        nonce: toHex(randomBytes(32)),
      };
      const signature = await payer.signTypedData({
        domain: { name: "USDC", version: "2", chainId: 84532, verifyingContract: asset },
        types: transferWithAuthorizationTypes,
        primaryType: "TransferWithAuthorization",
        message,
      });
      return encodeHeaderJson({
        header: "PAYMENT-SIGNATURE",
        value: {
          x402Version: 2,
          resource: { url: "http://127.0.0.1/paid", description: "paid", mimeType: "" },
          accepted: requirement,
          payload: {
            signature,
            authorization: {
              ...message,
              value: "10000",
              validAfter: "0",
              validBefore: validBefore.toString(),
            },
          },
        },
      });
    }),
  );
}

async function load(
  url: string,
  headers: (i: number) => Record<string, string>,
  count: number,
  inFlight = 32,
) {
  let next = 0;
  let ok = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const response = await fetch(url, { headers: headers(i) });
      await response.arrayBuffer();
      if (response.status === 200) ok++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { ok, seconds: (performance.now() - t0) / 1000 };
}

it("paywall: server CPU per paid request, ours vs @x402/express 2.27.0 vs bare node:http", async () => {
  const stub = await facilitatorStub();
  const rows: string[] = [];
  const n = 1500;
  const results: Record<string, { cpuMs: number; rps: number }> = {};
  for (const kind of ["bare", "ours", "x402-express"]) {
    const server = await startPaidServer({ kind, facilitatorUrl: stub.url, payTo });
    try {
      const path = kind === "bare" ? "/free" : "/paid";
      let headers: (i: number) => Record<string, string> = () => ({});
      if (kind !== "bare") {
        const unpaid = await fetch(`${server.url}${path}`);
        const body = await unpaid.json().catch(() => undefined);
        const offer = readPaymentRequired({ headers: unpaid.headers, body }).offers.find(
          (o) => o.lane === "facilitator" && o.x402Version === 2,
        );
        expect(offer).toBeDefined();
        const signed = await presign(
          n + 200,
          (offer as { requirement: Record<string, unknown> }).requirement,
        );
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
