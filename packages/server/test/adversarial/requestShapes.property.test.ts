// Adversarial request shapes (issue 21, items 1, 4, 8 and their class): raw request lines written over a TCP
// socket to a real node:http paywall listener, Express 5 app, Hono 4 app (on @hono/node-server) and `serveFetch`
// of `paywall.fetch`, on loopback, with random methods, method overrides, targets and Host values.
// Invariant: the paid body is never in a response unless a valid payment (a funded prepaid token) was
// presented; no response is a 500; every request is answered before a bounded timeout.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serve as serveHono } from "@hono/node-server";
import express from "express";
import fc from "fast-check";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paywallMiddleware as expressPaywall } from "../../src/adapters/express.js";
import { paywallMiddleware as honoPaywall } from "../../src/adapters/hono.js";
import { serveFetch } from "../../src/adapters/node.js";
import { paywallListener } from "../../src/adapters/paywallNode.js";
import { createPaywall, type Paywall } from "../../src/paywall.js";
import { sendRaw } from "../rawHttp.js";

const paidBody = "PAID-BODY-7f3a";

/** The priced routes of every app here; each app routes the same paths its own way. */
const routes = {
  "GET /paid": "$0.01",
  "GET /files/:name": "$0.01",
  "/any/*": "$0.01",
  "POST /items/:id": "$0.02",
} as const;

/** A listener (and fetch handler) that routes on the path alone, in one of the ways such code reads it. */
function servesPaid(path: string): boolean {
  return (
    /^\/paid\/?$/i.test(path) ||
    /^\/files\/[^/]+\/?$/i.test(path) ||
    /^\/any(\/|$)/i.test(path) ||
    /^\/items\/[^/]+\/?$/i.test(path)
  );
}

type App = Readonly<{ name: string; port: number; paywall: Paywall; close(): Promise<void> }>;
const apps: App[] = [];

async function listening(server: Server): Promise<number> {
  if (!server.listening) await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  return (server.address() as AddressInfo).port;
}

function closer(server: Server, paywall: Paywall): () => Promise<void> {
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await paywall.close();
  };
}

async function nodeApp(): Promise<App> {
  const paywall = createPaywall({ routes });
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    // Path only, by three readings at once: raw, slashes collapsed, and new URL(req.url, base).
    const raw = (req.url ?? "").split("?")[0] ?? "";
    let resolved = "";
    try {
      resolved = new URL(req.url ?? "", "http://localhost").pathname;
    } catch {
      resolved = "";
    }
    const hit = [raw, raw.replace(/[\\/]+/g, "/"), resolved].some(servesPaid);
    res.statusCode = hit ? 200 : 404;
    res.end(hit ? paidBody : "free");
  };
  const server = createServer(paywallListener({ paywall, listener })).listen(0, "127.0.0.1");
  return { name: "node:http", port: await listening(server), paywall, close: closer(server, paywall) };
}

async function expressApp(): Promise<App> {
  const paywall = createPaywall({ routes });
  const app = express();
  app.set("trust proxy", true);
  app.use((req, _res, next) => {
    if (req.url.startsWith("/v2/")) req.url = req.url.slice(3); // A rewrite before the paywall.
    next();
  });
  app.use(expressPaywall({ paywall }));
  const send = (_req: express.Request, res: express.Response) => {
    res.send(paidBody);
  };
  app.get("/paid", send);
  app.get("/files/:name", send);
  app.all("/any{/*rest}", send);
  app.post("/items/:id", send);
  const server = app.listen(0, "127.0.0.1");
  return { name: "Express 5", port: await listening(server), paywall, close: closer(server, paywall) };
}

async function honoApp(): Promise<App> {
  const paywall = createPaywall({ routes });
  const app = new Hono();
  app.use(honoPaywall({ paywall }));
  app.get("/paid", (c) => c.text(paidBody));
  app.get("/files/:name", (c) => c.text(paidBody));
  app.all("/any/*", (c) => c.text(paidBody));
  app.all("/any", (c) => c.text(paidBody));
  app.post("/items/:id", (c) => c.text(paidBody));
  const server = serveHono({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
  return { name: "Hono 4", port: await listening(server), paywall, close: closer(server, paywall) };
}

async function fetchApp(): Promise<App> {
  const paywall = createPaywall({ routes });
  const handler = paywall.fetch((request) => {
    const { pathname } = new URL(request.url);
    const hit = servesPaid(pathname) || servesPaid(pathname.replace(/\/+/g, "/"));
    return new Response(hit ? paidBody : "free", { status: hit ? 200 : 404 });
  });
  const served = await serveFetch({ fetch: handler });
  return {
    name: "serveFetch",
    port: served.port,
    paywall,
    close: async () => {
      served.server.closeAllConnections();
      await served.close();
      await paywall.close();
    },
  };
}

/** A valid payment for each app: a prepaid token worth far more than this file spends. */
const tokens = new Map<string, string>();

beforeAll(async () => {
  apps.push(await nodeApp(), await expressApp(), await honoApp(), await fetchApp());
  for (const app of apps) tokens.set(app.name, (await app.paywall.issueToken({ amount: "$100" })).token);
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

// --- What a client may send ---------------------------------------------------------------------------------
const method = fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get", "FOO");
const segment = fc.constantFrom(
  "paid",
  "PAID",
  "p%61id",
  "files",
  "any",
  "items",
  "7",
  "a\\b",
  "..",
  ".",
  "%2e%2e",
  "%2F",
  "%5C",
  "%252F",
  "paid;x",
  "",
  "x",
  "v2",
  "%00",
);
const prefix = fc.constantFrom(
  "/",
  "//",
  "///",
  "/\\",
  "\\",
  "//x/",
  "/v2/",
  "http://a/",
  "HTTP://x:80/",
  "http://a:99999/",
  "https://[::1]/",
  "ftp://x/",
  "",
);
const tail = fc.constantFrom("", "/", "?q=1", "?_method=GET", "?_method=POST", "#f", "//", "\\");
/** Printable ASCII without space (a space ends the target), plus a few bytes parsers treat specially. */
const targetChar = fc.constantFrom(
  ..."!\"#$%&'()*+,-./0123456789:;<=>?@ABCPQZ[\\]^_`abcdfipsxyz{|}~".split(""),
  "\t",
  "\u00e9",
  "\u007f",
);
const target = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(prefix, fc.array(segment, { maxLength: 4 }), tail) },
  { weight: 1, arbitrary: fc.string({ unit: targetChar, minLength: 1, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constantFrom("*", "paid", "?x", "/paid") },
);
const hostChar = fc.constantFrom(..."ab.:[]%@/ 0129-_~*".split(""));
const host = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("127.0.0.1", "localhost:80", "[::1]:8080", "A.EXAMPLE") },
  {
    weight: 3,
    arbitrary: fc.constantFrom("a:99999", "x:abc", "[", "a b", "%", "", "a/b", "a@b", "[::1", "a:", "-"),
  },
  { weight: 1, arbitrary: fc.string({ unit: hostChar, maxLength: 12 }) },
);
const override = fc.option(fc.constantFrom("GET", "POST", "PUT", "DELETE", "get, post"), { nil: undefined });
const forwarded = fc.option(fc.constantFrom("https", "a b", "http, https", "", "ftp"), { nil: undefined });
const payment = fc.constantFrom("none", "valid", "unknown");

type Shape = Readonly<{
  method: string;
  target: string;
  hosts: readonly string[];
  override: string | undefined;
  forwarded: string | undefined;
  payment: "none" | "valid" | "unknown";
}>;

const shape: fc.Arbitrary<Shape> = fc.record({
  method,
  target: target.map((t) => (typeof t === "string" ? t : `${t[0]}${t[1].join("/")}${t[2]}`)),
  // Usually one Host; sometimes none (node refuses an HTTP/1.1 request without one), sometimes two.
  hosts: fc.oneof(
    { weight: 6, arbitrary: host.map((h) => [h]) },
    { weight: 1, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.tuple(host, host) },
  ),
  override,
  forwarded,
  payment,
});

function headersOf(app: App, s: Shape): [string, string][] {
  const headers: [string, string][] = s.hosts.map((h) => ["host", h]);
  if (s.override !== undefined) headers.push(["x-http-method-override", s.override]);
  if (s.forwarded !== undefined) headers.push(["x-forwarded-proto", s.forwarded]);
  if (s.payment === "valid") headers.push(["x-payment-token", tokens.get(app.name) as string]);
  if (s.payment === "unknown") headers.push(["x-payment-token", "A".repeat(43)]);
  return headers;
}

describe("adversarial request shapes over raw TCP (fast-check)", () => {
  it.each(["node:http", "Express 5", "Hono 4", "serveFetch"])(
    "%s: never the paid body unpaid, never a 500, never a hang",
    async (name) => {
      const app = apps.find((a) => a.name === name) as App;
      await fc.assert(
        fc.asyncProperty(shape, async (s) => {
          const answer = await sendRaw({
            port: app.port,
            method: s.method,
            target: s.target,
            headers: headersOf(app, s),
            timeoutMs: 4_000,
          });
          expect(answer.timedOut).toBe(false);
          expect(answer.status).toBeDefined();
          expect(answer.status).not.toBe(500);
          if (s.payment !== "valid") expect(answer.text).not.toContain(paidBody);
        }),
        { numRuns: 150 },
      );
    },
  );

  it.each(["node:http", "Express 5", "Hono 4", "serveFetch"])(
    "%s: the known bypasses of issue 21 are refused or priced",
    async (name) => {
      const app = apps.find((a) => a.name === name) as App;
      const cases: [string, string, string][] = [
        ["GET", "/paid", "a:99999"],
        ["GET", "/paid", "x:abc"],
        ["GET", "/paid", ""],
        ["GET", "//paid", "127.0.0.1"],
        ["GET", "/\\paid", "127.0.0.1"],
        ["GET", "http://a:99999/paid", "127.0.0.1"],
        ["GET", "/v2/paid", "127.0.0.1"],
        ["GET", "/files/a\\b", "127.0.0.1"],
        ["POST", "/paid", "127.0.0.1"],
        ["DELETE", "/files/x", "127.0.0.1"],
        ["OPTIONS", "/paid", "127.0.0.1"],
      ];
      for (const [m, t, h] of cases) {
        const answer = await sendRaw({ port: app.port, method: m, target: t, headers: [["host", h]] });
        expect(answer.text, `${m} ${t} Host: ${h}`).not.toContain(paidBody);
        expect([400, 402, 404, 405], `${m} ${t} Host: ${h}`).toContain(answer.status);
      }
      // The suite is not vacuous: a valid payment on a plain request is served.
      const paid = await sendRaw({
        port: app.port,
        target: "/paid",
        headers: [
          ["host", "127.0.0.1"],
          ["x-payment-token", tokens.get(app.name) as string],
        ],
      });
      expect(paid.status).toBe(200);
      expect(paid.text).toContain(paidBody);
    },
  );
});
