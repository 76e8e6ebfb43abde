import { request as httpRequest } from "node:http";
import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import express from "express";
import fc from "fast-check";
import { createWalletClient, http } from "viem";
import { baseSepolia } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wrapFetchWithPayment as wrapFetchV1 } from "x402-fetch";
import {
  acceptingFacilitator,
  closeAll,
  listenOnLoopback,
  ourFacilitator,
  payee,
  paymentRequiredOf,
  receiptOf,
  serve,
  startChain,
  unsignedPayment,
} from "../../test/fixtures.js";
import { errorOf, sendRaw } from "../../test/rawHttp.js";
import { createPaywall, type Paywall } from "../paywall.js";
import { createMemoryStore } from "../store/memory.js";
import { tokenHash } from "../verify/prepaidTokens.js";
import { paywallMiddleware } from "./express.js";

let evm: TestEvmChain;
const closers: { close(): unknown }[] = [];
const secret = "the protected answer";

beforeAll(async () => {
  evm = await startChain();
});
afterAll(async () => {
  for (const c of closers) await c.close();
  await closeAll();
  await evm?.stop();
});

async function expressApp(facilitatorUrl: string): Promise<{ url: string; paywall: Paywall }> {
  const paywall = createPaywall({
    routes: {
      "GET /paid": "$0.01",
      "POST /items/:id": "$0.02",
      "/files/*": "$0.01",
      "GET /fails": "$0.01",
      "GET /api/inner": "$0.01",
    },
    networks: ["base-sepolia"],
    payTo: payee,
    settlementChecks: { "base-sepolia": false },
    facilitators: [{ url: facilitatorUrl }],
  });
  closers.push(paywall);
  const app = express();
  // Mounted inside a router: the paywall still prices the full path (req.originalUrl).
  const api = express.Router();
  api.use(paywallMiddleware({ paywall }));
  api.get("/inner", (_req, res) => {
    res.send(secret);
  });
  app.use("/api", api);
  app.use(paywallMiddleware({ paywall }));
  app.get("/paid", (_req, res) => {
    res.setHeader("x-handler", "yes");
    res.json({ secret });
  });
  app.post("/items/:id", express.json(), (req, res) => {
    res.json({ id: req.params.id, body: req.body, secret });
  });
  app.all("/files/{*rest}", (_req, res) => {
    res.send(secret);
  });
  app.get("/fails", (_req, _res) => {
    throw new Error("handler broke");
  });
  return { url: (await listenOnLoopback(app)).url, paywall };
}

async function pay(url: string, init: RequestInit = {}) {
  const requirement = paymentRequiredOf(await fetch(url, init)).accepts[0];
  if (!requirement) throw new Error("no requirement");
  const headers = new Headers(init.headers);
  headers.set("payment-signature", unsignedPayment(requirement));
  return fetch(url, { ...init, headers });
}

/** Sends a raw request target, as a client that does not normalise URLs would (curl --path-as-is). */
function rawRequest(
  parameters: Readonly<{ url: string; target: string; method?: string; headers?: Record<string, string> }>,
): Promise<{ status: number; body: string }> {
  const { url, target, method = "GET", headers = {} } = parameters;
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: target, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("paywallMiddleware (Express 5)", () => {
  it("is paid by x402-fetch 1.2.0 through our facilitator, on anvil", async () => {
    const facilitator = await serve(ourFacilitator(evm).fetch);
    const { url } = await expressApp(facilitator.url);
    const payer = evmPayerAccounts[0];
    const wallet = createWalletClient({ account: payer, chain: baseSepolia, transport: http(evm.rpcUrl) });
    const payingFetch = wrapFetchV1(fetch, wallet as unknown as Parameters<typeof wrapFetchV1>[1]);
    const before = await evm.balanceOf(payer.address);
    const response = await payingFetch(`${url}/paid`);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-handler")).toBe("yes");
    expect(await response.json()).toEqual({ secret });
    expect(receiptOf(response, "x-payment-response")).toMatchObject({ success: true });
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
  });

  it("leaves the body to the app's parsers, prices mounted routers by their full path, passes free routes", async () => {
    const facilitator = await acceptingFacilitator();
    const { url } = await expressApp(facilitator.url);
    const item = await pay(`${url}/items/7`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ n: 1 }),
    });
    expect(item.status).toBe(200);
    expect(await item.json()).toEqual({ id: "7", body: { n: 1 }, secret });
    expect((await fetch(`${url}/api/inner`)).status).toBe(402);
    const inner = await pay(`${url}/api/inner`);
    expect(await inner.text()).toBe(secret);
    expect((await fetch(`${url}/nothing-here`)).status).toBe(404);
  });

  it("does not charge when the handler throws, and never leaks a body when settlement fails", async () => {
    const accepting = await acceptingFacilitator();
    const { url } = await expressApp(accepting.url);
    const failed = await pay(`${url}/fails`);
    expect(failed.status).toBe(500);
    expect(accepting.calls).not.toContain("/settle");

    const refusing = await acceptingFacilitator({
      success: false,
      errorReason: "invalid_payload",
      transaction: "",
      network: "",
    });
    const other = await expressApp(refusing.url);
    const refused = await pay(`${other.url}/paid`);
    expect(refused.status).toBe(402);
    expect(refused.headers.get("x-handler")).toBeNull();
    expect(await refused.text()).not.toContain(secret);
  });

  it("never lets a raw request target reach a paid Express route unpaid (fast-check)", async () => {
    const facilitator = await acceptingFacilitator();
    const { url } = await expressApp(facilitator.url);
    const segment = fc.constantFrom(
      "paid",
      "PAID",
      "%70aid",
      "Paid",
      "items",
      "7",
      "files",
      "api",
      "inner",
      "..",
      ".",
      "",
      "%2e%2e",
      "%2F",
      "%252F",
      "x",
      ";a",
      "%00",
      "paid%20",
    );
    const target = fc
      .tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.constantFrom("", "/", "?q=1", "#f", "//"))
      .map(([parts, tail]) => `/${parts.join("/")}${tail}`);
    await fc.assert(
      fc.asyncProperty(target, fc.constantFrom("GET", "POST", "HEAD", "PUT"), async (path, method) => {
        let response: { status: number; body: string };
        try {
          response = await rawRequest({ url, target: path, method });
        } catch {
          return; // A target node's client refuses to send.
        }
        expect(response.status).not.toBe(500);
        expect(response.body).not.toContain(secret);
      }),
      { numRuns: 400 },
    );
    expect(facilitator.calls.filter((c) => c !== "/supported")).toEqual([]);
  });

  it("refuses a raw target that one reading prices cheaply and Express routes to a dearer route", async () => {
    const store = createMemoryStore();
    const paywall = createPaywall({ routes: { "GET /files/*": "$0.01", "GET /reports/*": "$5" }, store });
    closers.push(paywall);
    const app = express();
    app.use(paywallMiddleware({ paywall }));
    app.get("/files/*rest", (_req, res) => {
      res.json({ content: "cheap file" });
    });
    app.get("/reports/*rest", (_req, res) => {
      res.json({ content: "the $5 report" });
    });
    const { url } = await listenOnLoopback(app);
    const { token } = await paywall.issueToken({ amount: "$0.01" });

    // The URL parser resolves the dot segment (/files/x, $0.01); Express routes the raw path (/reports/*, $5).
    const answer = await rawRequest({
      url,
      target: "/reports/../files/x",
      headers: { "x-payment-token": token },
    });
    expect(answer.body).not.toContain("the $5 report");
    expect({ status: answer.status, body: JSON.parse(answer.body) }).toEqual({
      status: 400,
      body: { error: "ambiguous_route" },
    });
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(10_000n);

    // The unambiguous form is priced and served as before.
    const file = await fetch(`${url}/files/x`, { headers: { "x-payment-token": token } });
    expect(await file.json()).toEqual({ content: "cheap file" });
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(0n);
  });
});

describe("paywallMiddleware (Express 5): targets and Host values Express reads differently", () => {
  async function rewritingApp(): Promise<{ port: number; paywall: Paywall }> {
    const paywall = createPaywall({ routes: { "GET /paid": "$0.01", "GET /files/:name": "$0.01" } });
    closers.push(paywall);
    const app = express();
    app.set("trust proxy", true);
    // A versioned alias, rewritten before the paywall: /v2/paid is routed as /paid.
    app.use((req, _res, next) => {
      if (req.url.startsWith("/v2/")) req.url = req.url.slice(3);
      next();
    });
    app.use(paywallMiddleware({ paywall }));
    app.get("/paid", (_req, res) => {
      res.send(secret);
    });
    app.get("/files/:name", (req, res) => {
      res.send(`${secret} ${req.params.name}`);
    });
    return { port: (await listenOnLoopback(app)).port, paywall };
  }

  it("prices the path a rewrite before it routes on (/v2/paid routed as /paid), and serves it paid", async () => {
    const { port, paywall } = await rewritingApp();
    const unpaid = await sendRaw({ port, target: "/v2/paid" });
    expect(unpaid.text).not.toContain(secret);
    expect(unpaid.status).toBe(402);
    const { token } = await paywall.issueToken({ amount: "$0.01" });
    const paid = await sendRaw({
      port,
      target: "/v2/paid",
      headers: [
        ["host", "127.0.0.1"],
        ["x-payment-token", token],
      ],
    });
    expect(paid.status).toBe(200);
    expect(paid.text).toContain(secret);
  });

  it.each(["/files/a\\b", "/files/%61\\b", "//files/a"])(
    "prices %s, which Express routes to /files/:name",
    async (target) => {
      const { port } = await rewritingApp();
      const answer = await sendRaw({ port, target });
      expect(answer.text).not.toContain(secret);
      expect(answer.status).toBe(402);
    },
  );

  it.each([
    [[["host", "a:99999"]]],
    [[["host", "x:abc"]]],
    [[["host", ""]]],
    [
      [
        ["host", "127.0.0.1"],
        ["host", "a:99999"],
      ],
    ],
    [
      [
        ["host", "127.0.0.1"],
        ["x-forwarded-proto", "a b"],
      ],
    ],
  ] as (readonly (readonly [string, string])[])[][])(
    "refuses GET /paid with headers %j: 400 invalid_host, never the paid body",
    async (headers) => {
      const { port } = await rewritingApp();
      const answer = await sendRaw({ port, target: "/paid", headers });
      expect({ status: answer.status, error: errorOf(answer) }).toEqual({
        status: 400,
        error: "invalid_host",
      });
      expect(answer.text).not.toContain(secret);
    },
  );
});
