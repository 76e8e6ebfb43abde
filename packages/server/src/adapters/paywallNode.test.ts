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
