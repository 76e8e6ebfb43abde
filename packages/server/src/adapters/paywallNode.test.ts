import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import {
  acceptingFacilitator,
  closeAll,
  payee,
  paymentRequiredOf,
  receiptOf,
  unsignedPayment,
} from "../../test/fixtures.js";
import { errorOf, sendRaw } from "../../test/rawHttp.js";
import { createPaywall, type Paywall } from "../paywall.js";
import { paywallListener } from "./paywallNode.js";

const servers: Server[] = [];
const paywalls: Paywall[] = [];
afterAll(async () => {
  for (const server of servers) server.close();
  await Promise.all(paywalls.map((p) => p.close()));
  await closeAll();
});

async function listen(
  facilitatorUrl: string,
  listener: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
): Promise<string> {
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01", "POST /upload": "$0.01" },
    networks: ["base-sepolia"],
    payTo: payee,
    settlementChecks: { "base-sepolia": false },
    facilitators: [{ url: facilitatorUrl }],
  });
  paywalls.push(paywall);
  const server = createServer(paywallListener({ paywall, listener }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function pay(url: string, init: RequestInit = {}) {
  const requirement = paymentRequiredOf(await fetch(url, init)).accepts[0];
  if (!requirement) throw new Error("no requirement");
  const headers = new Headers(init.headers);
  headers.set("payment-signature", unsignedPayment(requirement));
  return fetch(url, { ...init, headers });
}

describe("paywallListener (node:http)", () => {
  it("passes free requests, answers 402 unpaid, and holds a paid response until it settles", async () => {
    const facilitator = await acceptingFacilitator();
    const url = await listen(facilitator.url, (req, res) => {
      res.setHeader("x-handler", "yes");
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("paid ");
      res.end(req.url === "/free" ? "free" : "content");
    });
    const free = await fetch(`${url}/free`);
    expect(await free.text()).toBe("paid free");
    expect((await fetch(`${url}/paid`)).status).toBe(402);
    const paid = await pay(`${url}/paid`);
    expect(paid.status).toBe(200);
    expect(paid.headers.get("x-handler")).toBe("yes");
    expect(await paid.text()).toBe("paid content");
    expect(receiptOf(paid)).toMatchObject({ success: true });
    expect(facilitator.calls.filter((c) => c !== "/supported")).toEqual(["/verify", "/settle"]);
  });

  it("leaves the request body unread for the handler", async () => {
    const facilitator = await acceptingFacilitator();
    const url = await listen(facilitator.url, async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      res.end(`got ${Buffer.concat(chunks).toString()}`);
    });
    const response = await pay(`${url}/upload`, { method: "POST", body: "hello" });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("got hello");
  });

  it("does not settle a handler answer of 400 or more, and never leaks a body when settlement fails", async () => {
    const accepting = await acceptingFacilitator();
    const failing = await listen(accepting.url, (_req, res) => {
      res.statusCode = 503;
      res.end("down");
    });
    const down = await pay(`${failing}/paid`);
    // A 5xx is a failed handler: its status reaches the client, nothing it wrote does (issue 21 item 7).
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: "handler_failed" });
    expect(accepting.calls.filter((c) => c !== "/supported")).toEqual(["/verify"]);

    const refusing = await acceptingFacilitator({
      success: false,
      errorReason: "invalid_payload",
      transaction: "",
      network: "",
    });
    const url = await listen(refusing.url, (_req, res) => {
      res.setHeader("x-secret", "s3cret");
      res.end("the protected answer");
    });
    const refused = await pay(`${url}/paid`);
    expect(refused.status).toBe(402);
    expect(refused.headers.get("x-secret")).toBeNull();
    const text = await refused.text();
    expect(text).not.toContain("protected");
    expect(JSON.parse(text).error).toBe("settlement_failed");
  });

  it("answers 500 without charging when the handler throws", async () => {
    const facilitator = await acceptingFacilitator();
    const url = await listen(facilitator.url, () => {
      throw new Error("boom");
    });
    const response = await pay(`${url}/paid`);
    expect(response.status).toBe(500);
    expect(facilitator.calls).not.toContain("/settle");
  });
});

describe("paywallListener: requests a router could read differently from the paywall", () => {
  const paidBody = "the paid body";
  // Three listeners that route the same paths by different readings of req.url.
  const readings: Record<string, (url: string) => string> = {
    "collapses slashes": (url) => url.split("?")[0]?.replace(/[\\/]+/g, "/") ?? "",
    "resolves new URL(req.url, base)": (url) => new URL(url, "http://localhost").pathname,
    "splits the raw req.url": (url) => url.split("?")[0] ?? "",
  };

  async function listenRaw(read: (url: string) => string): Promise<{ port: number; paywall: Paywall }> {
    const paywall = createPaywall({ routes: { "GET /paid": "$0.01", "GET /files/:name": "$0.01" } });
    paywalls.push(paywall);
    const server = createServer(
      paywallListener({
        paywall,
        listener: (req, res) => {
          const path = read(req.url ?? "");
          if (/^\/paid\/?$/i.test(path) || /^\/files\/[^/]+$/i.test(path)) res.end(paidBody);
          else {
            res.statusCode = 404;
            res.end("free 404");
          }
        },
      }),
    );
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { port: (server.address() as AddressInfo).port, paywall };
  }

  it.each(["a:99999", "x:abc", "[", "a b", "%", "", "a/b", "a@b", "[::1"])(
    "refuses GET /paid with Host %j: 400 invalid_host, never the paid body",
    async (host) => {
      const { port } = await listenRaw(readings["collapses slashes"] as (url: string) => string);
      const answer = await sendRaw({ port, target: "/paid", headers: [["host", host]] });
      expect({ status: answer.status, error: errorOf(answer) }).toEqual({
        status: 400,
        error: "invalid_host",
      });
      expect(answer.text).not.toContain(paidBody);
    },
  );

  it("refuses a repeated Host header (RFC 9112 §3.2) with 400 invalid_host", async () => {
    const { port } = await listenRaw(readings["collapses slashes"] as (url: string) => string);
    const answer = await sendRaw({
      port,
      target: "/paid",
      headers: [
        ["host", "a:99999"],
        ["host", "127.0.0.1"],
      ],
    });
    expect({ status: answer.status, error: errorOf(answer) }).toEqual({ status: 400, error: "invalid_host" });
    expect(answer.text).not.toContain(paidBody);
  });

  it.each(
    Object.keys(readings).flatMap((listener) =>
      [
        "//paid",
        "///paid",
        "/\\paid",
        "//a/paid",
        "/\\a/paid",
        "http://a/paid",
        "HTTP://A/PAID?x=1",
        "/files/a\\b",
        "//x/files/a",
      ].map((target) => [listener, target] as const),
    ),
  )("a listener that %s: %s is priced (402), not served unpaid", async (listener, target) => {
    const { port } = await listenRaw(readings[listener] as (url: string) => string);
    const answer = await sendRaw({ port, target });
    expect(answer.text).not.toContain(paidBody);
    expect(answer.status).toBe(402);
  });

  it.each([
    ["http://a:99999/paid", "GET"],
    ["ftp://x/paid", "GET"],
    ["http://x:abc/paid", "GET"],
    ["*", "GET"],
  ])("refuses the target %s (%s) with 400 invalid_request_target", async (target, method) => {
    const { port } = await listenRaw(readings["collapses slashes"] as (url: string) => string);
    const answer = await sendRaw({ port, target, method });
    expect({ status: answer.status, error: errorOf(answer) }).toEqual({
      status: 400,
      error: "invalid_request_target",
    });
    expect(answer.text).not.toContain(paidBody);
  });

  it("serves an odd but valid target once it is paid, and prices OPTIONS * as /* (free here)", async () => {
    const { port, paywall } = await listenRaw(
      readings["resolves new URL(req.url, base)"] as (url: string) => string,
    );
    const { token } = await paywall.issueToken({ amount: "$0.01" });
    const paid = await sendRaw({
      port,
      target: "http://a/paid",
      headers: [
        ["host", "127.0.0.1"],
        ["x-payment-token", token],
      ],
    });
    expect(paid.status).toBe(200);
    expect(paid.text).toContain(paidBody);
    expect((await sendRaw({ port, target: "*", method: "OPTIONS" })).status).toBe(404);
  });
});
