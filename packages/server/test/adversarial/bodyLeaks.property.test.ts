// The response side of every adapter under attack (issue 21, items 7 and 13): handlers that write, set
// cookies, stream, throw, destroy or lose their client at random points, on node:http, Express 5, Hono 4 and
// `serveFetch`, over real sockets on loopback. Invariants (settlement `after`): no byte the handler wrote reaches
// an unpaid or failed request, and nobody is charged (no `/settle`) for a response they did not get.
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline, Readable } from "node:stream";
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
import type { PaywallEvent } from "../../src/verify/laneContext.js";
import { acceptingFacilitator, closeAll, payee, paymentRequiredOf, unsignedPayment } from "../fixtures.js";

/** What a handler does before it ends: write a chunk of the paid body, or set a header carrying it. */
const stepArb = fc.constantFrom("write", "cookie", "header");
/** How it ends. `abort`: it waits until its client has closed the socket, then finishes normally. */
const endingArb = fc.constantFrom(
  "end",
  "pipe",
  "throw",
  "throwAsync",
  "statusAfterWrite",
  "destroy",
  "pipeError",
  "abort",
);
const behaviourArb = fc.record({
  steps: fc.array(stepArb, { minLength: 0, maxLength: 4 }),
  ending: endingArb,
  paid: fc.boolean(),
});
type Behaviour = Readonly<{
  steps: readonly ("write" | "cookie" | "header")[];
  ending: "end" | "pipe" | "throw" | "throwAsync" | "statusAfterWrite" | "destroy" | "pipeError" | "abort";
  paid: boolean;
}>;

const marker = "SECRET";

/** The behaviour a request asks for, read by the handler from the `x-behaviour` header. */
function behaviourOf(header: string | null | undefined): Behaviour {
  return JSON.parse(header ?? "{}") as Behaviour;
}

/** Resolves when the server has seen the client go: the paywall reports it as `not_charged` with status 499. */
type Watch = { events: PaywallEvent[]; waitFor(predicate: (e: PaywallEvent) => boolean): Promise<void> };
function watch(): Watch {
  const events: PaywallEvent[] = [];
  const waiters: { predicate: (e: PaywallEvent) => boolean; resolve: () => void }[] = [];
  return {
    events,
    waitFor(predicate) {
      if (events.some(predicate)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        // Bounded: a server that never sees the client go fails here, not at the test's timeout.
        const timer = setTimeout(
          () => reject(new Error("the paywall never reported the client gone")),
          10_000,
        );
        waiters.push({
          predicate,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    push(event: PaywallEvent) {
      events.push(event);
      for (const w of waiters.splice(0)) {
        if (w.predicate(event)) w.resolve();
        else waiters.push(w);
      }
    },
  } as Watch & { push(event: PaywallEvent): void };
}

/** A node:http-style handler acting out its request's behaviour. */
async function nodeHandler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const b = behaviourOf(req.headers["x-behaviour"] as string | undefined);
  let n = 0;
  for (const step of b.steps) {
    if (step === "write") res.write(`${marker}-${n++};`);
    else if (step === "cookie") res.setHeader("set-cookie", `session=${marker}`);
    else res.setHeader("x-paid", marker);
  }
  switch (b.ending) {
    case "throw":
      throw new Error("handler broke");
    case "throwAsync":
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error("handler broke later");
    case "statusAfterWrite":
      res.write(`${marker}-partial;`);
      res.statusCode = 500;
      res.end("failed");
      return;
    case "destroy":
      res.write(`${marker}-partial;`);
      res.destroy();
      return;
    case "pipe":
    case "pipeError": {
      // A stream piped into `res`, as `stream.pipeline` does it; the failing one errors after a chunk.
      const failing = b.ending === "pipeError";
      const source = Readable.from(
        (async function* () {
          yield `${marker}-end`;
          await new Promise((resolve) => setImmediate(resolve));
          if (failing) throw new Error("source broke");
        })(),
      );
      await new Promise<void>((resolve) => pipeline(source, res, () => resolve()));
      return;
    }
    case "abort":
      res.write(`${marker}-partial;`);
      (req as IncomingMessage & { signalWritten?: () => void }).signalWritten?.();
      await new Promise<void>((resolve) => res.once("close", () => resolve()));
      res.end(`${marker}-end`);
      return;
    default:
      res.end(`${marker}-end`);
  }
}

/** A Web handler acting out its request's behaviour with a streamed body. */
function webHandler(request: Request): Response {
  const b = behaviourOf(request.headers.get("x-behaviour"));
  const headers = new Headers();
  for (const step of b.steps) {
    if (step === "cookie") headers.append("set-cookie", `session=${marker}`);
    if (step === "header") headers.set("x-paid", marker);
  }
  if (b.ending === "throw") throw new Error("handler broke");
  const writes = b.steps.filter((s) => s === "write").length;
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (let n = 0; n < writes; n++) controller.enqueue(encoder.encode(`${marker}-${n};`));
      await new Promise((resolve) => setImmediate(resolve));
      if (["throwAsync", "statusAfterWrite", "destroy", "pipeError"].includes(b.ending)) {
        controller.enqueue(encoder.encode(`${marker}-partial;`));
        controller.error(new Error("stream broke"));
        return;
      }
      if (b.ending === "abort") {
        controller.enqueue(encoder.encode(`${marker}-partial;`));
        signalWritten.get(request.headers.get("x-request-id") ?? "")?.();
        await new Promise<void>((resolve) => {
          if (request.signal.aborted) resolve();
          else request.signal.addEventListener("abort", () => resolve(), { once: true });
        });
      }
      controller.enqueue(encoder.encode(`${marker}-end`));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers });
}

/** Web handlers tell the test they have written through this map (keyed by `x-request-id`). */
const signalWritten = new Map<string, () => void>();

type Raw = { status: number | undefined; headers: string; body: string; reset: boolean };

/**
 * A GET over a real socket; with `abortWhen`, the client destroys its socket once that resolves (before any
 * response arrives). Resolves with what reached the client, whatever happened.
 */
function rawGet(url: string, headers: Record<string, string>, abortWhen?: Promise<void>): Promise<Raw> {
  return new Promise((resolve) => {
    const out: Raw = { status: undefined, headers: "", body: "", reset: false };
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      out.status = res.statusCode;
      out.headers = JSON.stringify(res.headers);
      res.on("data", (chunk: Buffer) => {
        out.body += chunk.toString();
      });
      res.on("end", () => resolve(out));
      res.on("error", () => resolve({ ...out, reset: true }));
      res.on("aborted", () => resolve({ ...out, reset: true }));
    });
    req.on("error", () => resolve({ ...out, reset: true }));
    req.end();
    void abortWhen?.then(() => {
      req.destroy();
      resolve({ ...out, reset: true });
    });
  });
}

type Adapter = Readonly<{ name: string; url: string; paywall: Paywall; watch: Watch; nodeStyle: boolean }>;

const closers: { close(): unknown }[] = [];
let facilitator: { url: string; calls: string[] };
const adapters: Adapter[] = [];

function newPaywall(w: Watch): Paywall {
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01" },
    networks: ["base-sepolia"],
    payTo: payee,
    facilitators: [{ url: facilitator.url }],
    settlementChecks: { "base-sepolia": false },
    onEvent: (event) => (w as Watch & { push(e: PaywallEvent): void }).push(event),
  });
  closers.push(paywall);
  return paywall;
}

async function listening(server: Server): Promise<string> {
  if (!server.listening) await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  closers.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Node handlers tell the test they have written through `req.signalWritten`, set from this map. */
function withWrittenSignal(req: IncomingMessage): void {
  const id = req.headers["x-request-id"];
  if (typeof id === "string") {
    (req as IncomingMessage & { signalWritten?: () => void }).signalWritten = signalWritten.get(id);
  }
}

beforeAll(async () => {
  facilitator = await acceptingFacilitator();
  {
    const w = watch();
    const paywall = newPaywall(w);
    const server = createServer(
      paywallListener({
        paywall,
        listener: (req, res) => {
          withWrittenSignal(req);
          return nodeHandler(req, res);
        },
      }),
    ).listen(0, "127.0.0.1");
    adapters.push({ name: "node:http", url: await listening(server), paywall, watch: w, nodeStyle: true });
  }
  {
    const w = watch();
    const paywall = newPaywall(w);
    const app = express();
    app.use(expressPaywall({ paywall }));
    app.get("/paid", async (req, res) => {
      withWrittenSignal(req);
      await nodeHandler(req, res);
    });
    const server = app.listen(0, "127.0.0.1");
    adapters.push({ name: "express", url: await listening(server), paywall, watch: w, nodeStyle: true });
  }
  {
    const w = watch();
    const paywall = newPaywall(w);
    const app = new Hono();
    app.onError((_error, c) => c.json({ error: "internal" }, 500));
    app.use(honoPaywall({ paywall }));
    app.get("/paid", (c) => webHandler(c.req.raw));
    const server = serveHono({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
    adapters.push({ name: "hono", url: await listening(server), paywall, watch: w, nodeStyle: false });
  }
  {
    const w = watch();
    const paywall = newPaywall(w);
    const served = await serveFetch({ fetch: paywall.fetch(webHandler) });
    closers.push(served);
    adapters.push({ name: "serveFetch", url: served.url, paywall, watch: w, nodeStyle: false });
  }
});

afterAll(async () => {
  for (const c of closers) await c.close();
  await closeAll();
});

let requestCount = 0;

/** One request acting out `b` on `adapter`; checks both invariants. */
async function attack(adapter: Adapter, b: Behaviour, proof?: string): Promise<void> {
  const url = `${adapter.url}/paid`;
  const id = `r${++requestCount}`;
  const headers: Record<string, string> = { "x-behaviour": JSON.stringify(b), "x-request-id": id };
  let written: () => void = () => undefined;
  const wasWritten = new Promise<void>((resolve) => {
    written = resolve;
  });
  signalWritten.set(id, written);
  if (b.paid && proof !== undefined) headers["payment-signature"] = proof;
  else if (b.paid) {
    const offer = await fetch(url);
    const requirement = paymentRequiredOf(offer).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    headers["payment-signature"] = unsignedPayment(requirement);
  }
  const settlesBefore = facilitator.calls.filter((c) => c.endsWith("/settle")).length;
  const aborting = b.paid && b.ending === "abort";
  const got = await rawGet(url, headers, aborting ? wasWritten : undefined);
  if (aborting) {
    // The server sees the client go and finishes the request: the paywall reports it not charged.
    await adapter.watch.waitFor(
      (e) => e.type === "not_charged" && e.status === 499 && e.lane === "facilitator",
    );
    adapter.watch.events.length = 0;
  }
  signalWritten.delete(id);
  const settles = facilitator.calls.filter((c) => c.endsWith("/settle")).length - settlesBefore;
  const leaked = got.body.includes(marker) || got.headers.includes(marker);
  const context = { adapter: adapter.name, behaviour: b, got };

  if (!b.paid) {
    expect({ ...context, status: got.status, leaked, settles }).toEqual({
      ...context,
      status: 402,
      leaked: false,
      settles: 0,
    });
    return;
  }
  if (b.ending === "end" || b.ending === "pipe") {
    // Paid and whole: everything the handler wrote, settled exactly once.
    const writes = b.steps.filter((s) => s === "write").length;
    const expected = `${Array.from({ length: writes }, (_, n) => `${marker}-${n};`).join("")}${marker}-end`;
    expect({ ...context, status: got.status, body: got.body, settles }).toEqual({
      ...context,
      status: 200,
      body: expected,
      settles: 1,
    });
    return;
  }
  // Failed or abandoned: nothing of the handler's output reaches the client, and nothing is settled.
  expect({ ...context, leaked, settles }).toEqual({ ...context, leaked: false, settles: 0 });
}

describe("adversarial: the handler's output never outruns the payment", () => {
  it("holds every byte and header until settled, on node:http, Express, Hono and serveFetch", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1, 2, 3), behaviourArb, async (index, b) => {
        const adapter = adapters[index];
        if (adapter === undefined) throw new Error("no adapter");
        await attack(adapter, b);
      }),
      { numRuns: 120 },
    );
  });

  it("answers the Express partial write then async throw with a bare 500, unsettled, for the same proof again and again", async () => {
    const adapter = adapters.find((a) => a.name === "express") as Adapter;
    const requirement = paymentRequiredOf(await fetch(`${adapter.url}/paid`)).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const proof = unsignedPayment(requirement);
    for (let i = 0; i < 3; i++) {
      await attack(adapter, { steps: ["write", "cookie"], ending: "throwAsync", paid: true }, proof);
    }
    // The proof was never charged, so it still pays for one whole response.
    await attack(adapter, { steps: ["write"], ending: "end", paid: true }, proof);
  });

  it("settles nothing for a client that closed its socket mid-handler, on every adapter", async () => {
    for (const adapter of adapters) {
      await attack(adapter, { steps: ["write"], ending: "abort", paid: true });
    }
  });
});

describe("adversarial: a framework's error handler cannot turn a failure into a sale", () => {
  it("does not charge a Hono handler that threw, even when the app's onError answers 200", async () => {
    const w = watch();
    const paywall = newPaywall(w);
    const app = new Hono();
    app.onError((_error, c) => c.json({ error: "handled", partial: marker }, 200));
    app.use(honoPaywall({ paywall }));
    app.get("/paid", () => {
      throw new Error("handler broke");
    });
    const requirement = paymentRequiredOf(await app.request("http://api.test/paid")).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const settlesBefore = facilitator.calls.filter((c) => c.endsWith("/settle")).length;
    const response = await app.request("http://api.test/paid", {
      headers: { "payment-signature": unsignedPayment(requirement) },
    });
    const body = await response.text();
    expect({
      status: response.status,
      leaked: body.includes(marker),
      settles: facilitator.calls.filter((c) => c.endsWith("/settle")).length - settlesBefore,
    }).toEqual({ status: 500, leaked: false, settles: 0 });
  });
});
