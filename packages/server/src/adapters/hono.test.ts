import type { AddressInfo } from "node:net";
import { serve as serveHono } from "@hono/node-server";
import { Hono } from "hono";
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
import { paywallMiddleware } from "./hono.js";

const secret = "the protected answer";
const closers: { close(): unknown }[] = [];
afterAll(async () => {
  for (const c of closers) await c.close();
  await closeAll();
});

function honoApp(facilitatorUrl: string): { app: Hono; paywall: Paywall } {
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01", "GET /fails": "$0.01", "POST /items/:id": "$0.02" },
    networks: ["base-sepolia"],
    payTo: payee,
    settlementChecks: { "base-sepolia": false },
    facilitators: [{ url: facilitatorUrl }],
  });
  closers.push(paywall);
  const app = new Hono();
  app.onError((_error, c) => c.json({ error: "internal" }, 500));
  app.use(paywallMiddleware({ paywall }));
  app.get("/paid", (c) => {
    c.header("x-secret", "s3cret");
    return c.json({ secret });
  });
  app.get("/fails", () => {
    throw new Error("handler broke");
  });
  app.post("/items/:id", async (c) => c.json({ id: c.req.param("id"), body: await c.req.json(), secret }));
  app.get("/free", (c) => c.text("free"));
  return { app, paywall };
}

async function pay(app: Hono, path: string, init: RequestInit = {}) {
  const url = `http://api.test${path}`;
  const requirement = paymentRequiredOf(await app.request(url, init)).accepts[0];
  if (!requirement) throw new Error("no requirement");
  const headers = new Headers(init.headers);
  headers.set("payment-signature", unsignedPayment(requirement));
  return app.request(url, { ...init, headers });
}

describe("paywallMiddleware (Hono 4)", () => {
  it("passes free routes, answers 402 unpaid, settles paid ones with the body intact", async () => {
    const facilitator = await acceptingFacilitator();
    const { app } = honoApp(facilitator.url);
    expect(await (await app.request("http://api.test/free")).text()).toBe("free");
    expect((await app.request("http://api.test/paid")).status).toBe(402);
    const paid = await pay(app, "/paid");
    expect(paid.status).toBe(200);
    expect(await paid.json()).toEqual({ secret });
    expect(receiptOf(paid)).toMatchObject({ success: true });
    const item = await pay(app, "/items/9", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ n: 2 }),
    });
    expect(await item.json()).toEqual({ id: "9", body: { n: 2 }, secret });
  });

  it("does not charge a failing handler, and drops the handler's headers and body when settlement fails", async () => {
    const accepting = await acceptingFacilitator();
    const failed = await pay(honoApp(accepting.url).app, "/fails");
    expect(failed.status).toBe(500);
    expect(accepting.calls).not.toContain("/settle");

    const refusing = await acceptingFacilitator({
      success: false,
      errorReason: "invalid_payload",
      transaction: "",
      network: "",
    });
    const refused = await pay(honoApp(refusing.url).app, "/paid");
    expect(refused.status).toBe(402);
    expect(refused.headers.get("x-secret")).toBeNull();
    expect(await refused.text()).not.toContain(secret);
  });

  it("works over real HTTP with @hono/node-server", async () => {
    const facilitator = await acceptingFacilitator();
    const { app } = honoApp(facilitator.url);
    const server = serveHono({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    closers.push(server);
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/paid`;
    const requirement = paymentRequiredOf(await fetch(url)).accepts[0];
    if (!requirement) throw new Error("no requirement");
    const paid = await fetch(url, { headers: { "payment-signature": unsignedPayment(requirement) } });
    expect(paid.status).toBe(200);
    expect(await paid.json()).toEqual({ secret });
  });
});
