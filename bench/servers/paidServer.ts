/**
 * A paid server for the benchmark, in its own process so its CPU can be read alone: `ours` (Tollgate's paywall on
 * node:http), `ours-inproc` (the same with an in-process facilitator that accepts at once, for client benches),
 * `x402-express` (@x402/express 2.27.0) or `bare` (node:http, no paywall). Prints its URL, serves
 * `GET /paid` ($0.01, facilitator at argv[3]) and `GET /free`, and answers `GET /__cpu` with its CPU microseconds.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createPaywall, serveFetch } from "@tollgate/server";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { ExactEvmScheme } from "@x402/evm/exact/server";
import { paymentMiddleware, x402ResourceServer } from "@x402/express";
import express from "express";

const [kind = "bare", facilitatorUrl = "", payTo = ""] = process.argv.slice(2);
const cpu = () => {
  const usage = process.cpuUsage();
  return JSON.stringify({ micros: usage.user + usage.system });
};

/** A facilitator in the server's own process that accepts every payment at once: the paywall's cost alone. */
const acceptingFacilitator = {
  verify: async (body: unknown) => ({ status: 200, body: { isValid: true, payer: payerOf(body) } }),
  settle: async (body: unknown) => ({
    status: 200,
    body: {
      success: true,
      payer: payerOf(body),
      transaction: `0x${"ab".repeat(32)}`,
      network: "eip155:84532",
    },
  }),
  supported: () => ({
    kinds: [{ x402Version: 2 as const, scheme: "exact", network: "eip155:84532" }],
    extensions: [],
    signers: { "eip155:*": [payTo] },
  }),
};

function payerOf(body: unknown): string {
  return (/"from":"(0x[0-9a-fA-F]{40})"/.exec(JSON.stringify(body)) ?? [])[1] ?? payTo;
}

async function start(): Promise<string> {
  if (kind === "ours-inproc") {
    const paywall = createPaywall({
      routes: { "GET /paid": { price: "$0.01", description: "paid" } },
      networks: ["eip155:84532"],
      payTo,
      settlementChecks: { "base-sepolia": false },
      selfSettle: acceptingFacilitator,
      lanes: { direct: false },
    });
    await paywall.ready();
    return (await serveFetch({ fetch: paywall.fetch(() => Response.json({ ok: true })) })).url;
  }
  if (kind === "ours") {
    const paywall = createPaywall({
      routes: { "GET /paid": { price: "$0.01", description: "paid" } },
      networks: ["eip155:84532"],
      payTo,
      settlementChecks: { "base-sepolia": false },
      facilitators: [{ url: facilitatorUrl }],
      lanes: { direct: false, token: false },
    });
    const app = paywall.fetch(async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/__cpu") return new Response(cpu());
      return Response.json({ ok: true });
    });
    return (await serveFetch({ fetch: app })).url;
  }
  if (kind === "x402-express") {
    const server = new x402ResourceServer(new HTTPFacilitatorClient({ url: facilitatorUrl })).register(
      "eip155:84532",
      new ExactEvmScheme(),
    );
    const app = express();
    app.get("/__cpu", (_req, res) => {
      res.type("json").send(cpu());
    });
    app.use(
      paymentMiddleware(
        {
          "GET /paid": {
            accepts: { scheme: "exact", price: "$0.01", network: "eip155:84532", payTo },
            description: "paid",
          },
        },
        server,
      ),
    );
    app.get(["/paid", "/free"], (_req, res) => {
      res.json({ ok: true });
    });
    const listening = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => listening.once("listening", () => resolve()));
    return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  }
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(req.url === "/__cpu" ? cpu() : '{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

start().then((url) => process.stdout.write(`URL ${url}\n`));
