// Review: a request that several priced routes match (through a method-override header or another path form)
// is priced by the FIRST route in config order, not by the route the app will actually run. A client can pick
// the cheap reading and reach the dear handler.
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, describe, expect, it } from "vitest";
import { paywallMiddleware } from "../adapters/express.js";
import { createPaywall } from "../paywall.js";
import { createMemoryStore } from "../store/memory.js";
import { tokenHash } from "../verify/prepaidTokens.js";

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

describe("review: a request matching several priced routes", () => {
  it("a POST with X-HTTP-Method-Override: GET is priced as the cheaper GET route but runs the POST handler", async () => {
    const store = createMemoryStore();
    const paywall = createPaywall({
      // A natural configuration: reading is cheap, the expensive operation shares the path.
      routes: { "GET /v1/report": "$0.01", "POST /v1/report": "$5" },
      store,
    });
    const app = paywall.fetch((request) =>
      // A plain Web handler with no method-override support: it runs by the real method.
      request.method === "POST"
        ? Response.json({ content: "the $5 report" })
        : Response.json({ content: "the $0.01 summary" }),
    );
    // A token worth one cheap request only.
    const { token } = await paywall.issueToken({ amount: "$0.01" });
    const response = await app(
      new Request("http://api.test/v1/report", {
        method: "POST",
        headers: { "x-payment-token": token, "x-http-method-override": "GET" },
      }),
    );
    const body = (await response.json()) as { content?: string };
    // Expected: the POST route's $5 price applies (402 token_insufficient_balance), or the request is refused.
    // Actual: 200 with the $5 report, and only $0.01 was debited.
    expect({ status: response.status, content: body.content }).not.toEqual({
      status: 200,
      content: "the $5 report",
    });
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(10_000n);
  });

  it("Express: a raw target /reports/../files/x is priced as /files/* ($0.01) but Express runs /reports/*", async () => {
    const store = createMemoryStore();
    const paywall = createPaywall({
      routes: { "GET /files/*": "$0.01", "GET /reports/*": "$5" },
      store,
    });
    const app = express();
    app.use(paywallMiddleware({ paywall }));
    app.get("/files/*rest", (_req, res) => {
      res.json({ content: "cheap file" });
    });
    app.get("/reports/*rest", (_req, res) => {
      res.json({ content: "the $5 report" });
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const { token } = await paywall.issueToken({ amount: "$0.01" });

    // A raw request target with a dot segment (curl --path-as-is sends it as is; fetch would resolve it).
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: "127.0.0.1", port, path: "/reports/../files/x", headers: { "x-payment-token": token } },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    // Expected: priced as /reports/* ($5): 402. Actual: 200 with the $5 report for $0.01.
    expect(answer.body).not.toContain("the $5 report");
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(10_000n);
  });
});
