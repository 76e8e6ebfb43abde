import { createHash } from "node:crypto";
import { isTollgateError } from "@tollgate/shared";
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import {
  acceptingFacilitator,
  closeAll,
  payee,
  paymentRequiredOf,
  unsignedPayment,
} from "../../test/fixtures.js";
import { serveFetch } from "../adapters/node.js";
import { createRuntimeSwitches } from "../config/runtimeSwitches.js";
import { createPaywall } from "../paywall.js";
import { createMemoryStore } from "../store/memory.js";
import type { PaywallEvent } from "../verify/laneContext.js";
import { tokenHash } from "../verify/prepaidTokens.js";
import { adminKeyPlaceholder } from "./adminKey.js";
import { type AdminEvent, type CreateAdminApiParameters, createAdminApi } from "./createAdminApi.js";
import type { PendingSettlementResolver } from "./pendingSettlements.js";

const key = "pQ7mZ2xV9kL4nB8rT1wY6cF3hJ5sD0gA";
const start = 1_900_000_000_000;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(closeAll);

async function setup(options: Partial<CreateAdminApiParameters> = {}) {
  let now = start;
  const clock = () => now;
  const store = createMemoryStore({ now: clock });
  const switches = createRuntimeSwitches();
  const one = await acceptingFacilitator();
  const two = await acceptingFacilitator();
  const paywallEvents: PaywallEvent[] = [];
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01" },
    networks: ["base-sepolia"],
    payTo: payee,
    settlementChecks: { "base-sepolia": false },
    facilitators: [
      { url: one.url, name: "one" },
      { url: two.url, name: "two" },
    ],
    store,
    switches,
    now: clock,
    onEvent: (event) => paywallEvents.push(event),
  });
  await paywall.ready();
  const app = paywall.fetch(() => Response.json({ content: "paid" }));
  const events: AdminEvent[] = [];
  const admin = createAdminApi({
    key,
    store,
    switches,
    now: clock,
    onEvent: (event) => events.push(event),
    ...options,
  });
  const served = await serveFetch({ fetch: admin.fetch });
  closers.push(
    () => served.close(),
    () => paywall.close(),
  );
  const responses: string[] = [];
  /** One admin request on loopback; every answer is kept (the key-leak test reads them all). */
  const call = async (
    path: string,
    init: Readonly<{ method?: string; body?: unknown; key?: string; headers?: Record<string, string> }> = {},
  ) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.key !== undefined) headers.authorization = `Bearer ${init.key}`;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${served.url}${path}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    responses.push(JSON.stringify([...response.headers]), text);
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
  };
  const pay = (headers: Record<string, string> = {}) => app(new Request("http://api.test/paid", { headers }));
  return {
    store,
    switches,
    paywall,
    pay,
    call,
    events,
    paywallEvents,
    responses,
    advance: (ms: number) => (now += ms),
    url: served.url,
    one,
    two,
  };
}

describe("the admin API's key", () => {
  it("refuses to start without a good key", () => {
    const store = createMemoryStore();
    for (const weak of ["", "short", "changeme", "admin", "secret", "x".repeat(40), adminKeyPlaceholder]) {
      let caught: unknown;
      try {
        createAdminApi({ key: weak, store });
      } catch (error) {
        caught = error;
      }
      expect(isTollgateError(caught, "SERVER__WEAK_ADMIN_KEY")).toBe(true);
    }
  });

  it("refuses a basePath that is not a path and lockout limits that are not positive integers", () => {
    const store = createMemoryStore();
    for (const options of [
      { basePath: "admin" },
      { basePath: "/admin?x" },
      { maxRecords: 0 },
      { lockout: { maxFailures: 0 } },
      { lockout: { lockoutMs: Number.NaN } },
    ]) {
      let caught: unknown;
      try {
        createAdminApi({ key, store, ...options });
      } catch (error) {
        caught = error;
      }
      expect(isTollgateError(caught, "SERVER__INVALID_CONFIG")).toBe(true);
    }
  });

  it("answers 401 without `Authorization: Bearer <the key>`, whatever the path", async () => {
    const { call } = await setup({ lockout: { maxFailures: 10 } });
    expect((await call("/stats")).status).toBe(401);
    expect((await call("/stats", { key: `${key}x` })).status).toBe(401);
    expect((await call("/stats", { headers: { authorization: `Basic ${key}` } })).status).toBe(401);
    expect((await call(`/stats?key=${key}`)).status).toBe(401);
    const unknownPath = await call("/nothing-here", { key: key.slice(0, -1) });
    expect(unknownPath.status).toBe(401);
    expect(unknownPath.headers.get("www-authenticate")).toBe('Bearer realm="tollgate-admin"');
    expect((await call("/stats", { key })).status).toBe(200);
    expect((await call("/nothing-here", { key })).status).toBe(404);
  });

  it("locks an address out after 5 failures: 429 with Retry-After even for the good key, until it ends", async () => {
    const { call, advance, events } = await setup();
    for (let i = 0; i < 4; i++) expect((await call("/stats", { key: `wrong-${i}` })).status).toBe(401);
    const fifth = await call("/stats", { key: "wrong-5" });
    expect(fifth.status).toBe(429);
    expect(fifth.headers.get("retry-after")).toBe("900");
    const good = await call("/stats", { key });
    expect(good.status).toBe(429);
    expect(events.filter((e) => e.type === "admin_locked_out")).toEqual([
      { type: "admin_locked_out", address: "127.0.0.1", scope: "address", retryAfterSeconds: 900 },
    ]);
    advance(900_000);
    expect((await call("/stats", { key })).status).toBe(200);
  });

  it("a success resets no one's count; rotating addresses meets the global budget", async () => {
    const { call } = await setup({
      // As a deployment behind a proxy reads the address its proxy forwards.
      clientAddress: (request) => request.headers.get("x-client") ?? undefined,
    });
    const from = (client: string, k: string) => call("/stats", { key: k, headers: { "x-client": client } });
    for (let i = 0; i < 4; i++) await from("b", "wrong");
    expect((await from("a", key)).status).toBe(200);
    expect((await from("b", "wrong")).status).toBe(429);
    expect((await from("a", key)).status).toBe(200);
    // 5 failures so far; 45 more, 4 from each of 12 addresses (none locked on its own), reach 50.
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await from(`rotating-${Math.floor(i / 4)}`, "wrong")).status);
    expect(statuses.slice(0, 44).every((s) => s === 401)).toBe(true);
    expect(statuses[44]).toBe(429);
    const fresh = await from("never-seen", key);
    expect(fresh.status).toBe(429);
    expect(fresh.headers.get("retry-after")).toBe("900");
  });

  it("never shows the key or its digest in a log line, an event, an error or an answer", async () => {
    const lines: string[] = [];
    const capture =
      (name: string) =>
      (...args: unknown[]) => {
        lines.push(
          `${name} ${args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : String(a))).join(" ")}`,
        );
      };
    for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
      vi.spyOn(console, method).mockImplementation(capture(method));
    }
    const write = (name: string) => (chunk: unknown) => {
      lines.push(`${name} ${String(chunk)}`);
      return true;
    };
    vi.spyOn(process.stdout, "write").mockImplementation(write("stdout"));
    vi.spyOn(process.stderr, "write").mockImplementation(write("stderr"));
    try {
      const { call, events, paywallEvents, responses, paywall } = await setup({
        // A store failure on one route: its error event must not carry the key either.
        store: {
          ...createMemoryStore(),
          readRecords: () => Promise.reject(new Error("records unavailable")),
        },
      });
      const { token } = await paywall.issueToken({ amount: "$1" });
      await call("/stats", { key });
      await call("/report?format=markdown", { key });
      await call("/tokens/lookup", { key, body: { token } });
      await call("/switches", { key, body: { lanes: { direct: false } } });
      await call("/settlements/pending", { key });
      await call("/stats", { key: key.slice(0, 16) });
      await call("/stats", { key: `${key} ` });
      await call("/stats", { headers: { authorization: key } });
      for (let i = 0; i < 5; i++) await call("/stats", { key: `${key.slice(0, -1)}${i}` });
      await call("/stats", { key });
      const digests = [
        createHash("sha256").update(key).digest("hex"),
        createHash("sha256").update(key).digest("base64"),
        createHash("sha256").update(key).digest("base64url"),
      ];
      const seen = [
        ...lines,
        ...responses,
        ...[...events, ...paywallEvents].map((event) =>
          JSON.stringify(event, (_name, value: unknown) =>
            value instanceof Error
              ? `${value.message} ${value.stack}`
              : typeof value === "bigint"
                ? String(value)
                : value,
          ),
        ),
      ];
      expect(events.some((e) => e.type === "admin_error")).toBe(true);
      expect(events.some((e) => e.type === "admin_locked_out")).toBe(true);
      expect(seen.length).toBeGreaterThan(20);
      for (const line of seen) {
        // Every guess above shares the key's first half: a guess logged (an operator's typo) would show it.
        expect(line).not.toContain(key.slice(0, 16));
        for (const digest of digests) expect(line).not.toContain(digest);
      }
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe("the admin API's routes", () => {
  it("reports stats and the report over the store's records, as JSON or Markdown", async () => {
    const { call, pay, paywall, events } = await setup();
    const { token } = await paywall.issueToken({ amount: "$1" });
    expect((await pay({ "x-payment-token": token })).status).toBe(200);
    expect((await pay()).status).toBe(402);
    await paywall.analytics.flush();
    const stats = await call(`/stats?since=${start - 1}&until=${start + 1}`, { key });
    expect(events).toEqual([]);
    expect(stats.status).toBe(200);
    expect(stats.json()).toMatchObject({
      since: start - 1,
      until: start + 1,
      truncated: false,
      total: { attempts: 1, successes: 1 },
      byLane: { token: { attempts: 1, successes: 1 } },
      switches: {
        lanes: { facilitator: true, direct: true, token: true },
        facilitators: { one: true, two: true },
      },
    });
    const report = await call("/report", { key });
    expect(report.json()).toMatchObject({ total: { attempts: 1, successes: 1 }, funnel: expect.any(Array) });
    const markdown = await call("/report?format=markdown", { key });
    expect(markdown.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
    expect(markdown.text).toMatch(/^#/);
    const byAccept = await call("/report", { key, headers: { accept: "text/markdown" } });
    expect(byAccept.text).toBe(markdown.text);
    // Outside the window: nothing.
    expect((await call(`/stats?since=${start + 1}&until=${start + 2}`, { key })).json()).toMatchObject({
      total: { attempts: 0 },
    });
    for (const bad of ["?since=abc", "?until=-1", "?since=5&until=4", "?format=html", "?other=1"]) {
      expect((await call(`/report${bad}`, { key })).status).toBe(400);
    }
    // All time: the window may end at the latest instant a Date holds (it once answered 500 from the Markdown),
    // not one millisecond later.
    for (const format of ["json", "markdown"]) {
      const allTime = await call(`/report?since=0&until=8640000000000000&format=${format}`, { key });
      expect(allTime.status, allTime.text).toBe(200);
      expect(allTime.text).toContain(format === "json" ? '"attempts":' : "to +275760-09-13T00:00:00.000Z.");
    }
    expect((await call("/report?until=8640000000000001", { key })).status).toBe(400);
  });

  it("looks a token up by itself or its hash, never answering it; a revoked token is refused by the paywall", async () => {
    const { call, pay, paywall, events } = await setup();
    const { token, expiresAt } = await paywall.issueToken({ amount: "$0.05" });
    expect((await pay({ "x-payment-token": token })).status).toBe(200);
    const hash = tokenHash(token);
    const byToken = await call("/tokens/lookup", { key, body: { token } });
    expect(byToken.json()).toEqual({ tokenHash: hash, balance: "40000", expiresAt, expired: false });
    expect(byToken.text).not.toContain(token);
    expect((await call("/tokens/lookup", { key, body: { tokenHash: hash } })).json()).toEqual(byToken.json());
    expect((await call("/tokens/lookup", { key, body: { tokenHash: "0".repeat(64) } })).status).toBe(404);
    for (const body of [
      {},
      { token: "short" },
      { tokenHash: hash.toUpperCase() },
      { token, tokenHash: hash },
    ]) {
      expect((await call("/tokens/lookup", { key, body })).status).toBe(400);
    }
    expect((await call("/tokens/lookup", { key })).status).toBe(405);

    const revoked = await call("/tokens/revoke", { key, body: { token } });
    expect(revoked.json()).toEqual({ tokenHash: hash, revoked: true });
    expect(events).toContainEqual({ type: "admin_token_revoked", tokenHash: hash, known: true });
    const refused = await pay({ "x-payment-token": token });
    expect(refused.status).toBe(402);
    expect(((await refused.json()) as { error: string }).error).toBe("token_unknown");
    expect((await call("/tokens/revoke", { key, body: { tokenHash: hash } })).status).toBe(404);
    expect((await call("/tokens/lookup", { key, body: { token } })).status).toBe(404);
  });

  it("refuses a body over 4 KiB or not JSON", async () => {
    const { url } = await setup();
    const post = (body: string) =>
      fetch(`${url}/tokens/lookup`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body });
    expect((await post(JSON.stringify({ token: "a".repeat(5_000) }))).status).toBe(413);
    expect((await post("{not json")).status).toBe(400);
  });

  it("switches lanes and facilitators at run time; the paywall follows from the next request", async () => {
    const { call, pay, paywall, one, two } = await setup();
    const { token } = await paywall.issueToken({ amount: "$1" });
    const off = await call("/switches", {
      key,
      body: { lanes: { token: false }, facilitators: { one: false } },
    });
    expect(off.json()).toEqual({
      lanes: { facilitator: true, direct: true, token: false },
      facilitators: { one: false, two: true },
    });
    const refused = await pay({ "x-payment-token": token });
    expect(((await refused.json()) as { error: string }).error).toBe("token_lane_disabled");
    const [requirement] = paymentRequiredOf(await pay()).accepts;
    if (requirement === undefined) throw new Error("no requirement");
    const paid = await pay({
      "payment-signature": unsignedPayment(requirement, { nowSeconds: start / 1000 }),
    });
    expect(paid.status).toBe(200);
    // Facilitator "one" is off: the payment went to "two".
    expect(one.calls.filter((c) => c !== "/supported")).toEqual([]);
    expect(two.calls.filter((c) => c !== "/supported")).toEqual(["/verify", "/settle"]);

    const typo = await call("/switches", {
      key,
      body: { lanes: { token: true }, facilitators: { onee: true } },
    });
    expect(typo.status).toBe(404);
    expect(typo.json()).toEqual({ error: "unknown_facilitator", facilitators: ["onee"] });
    expect((await call("/switches", { key })).json()).toMatchObject({ lanes: { token: false } });
    for (const body of [{ lanes: { tokens: false } }, { lanes: { token: "no" } }, { other: 1 }]) {
      expect((await call("/switches", { key, body })).status).toBe(400);
    }

    await call("/switches", { key, body: { lanes: { token: true } } });
    expect((await pay({ "x-payment-token": token })).status).toBe(200);
  });

  it("lists pending settlements with what their chain says, and what cannot be known on Solana", async () => {
    const resolved: string[] = [];
    const resolver: PendingSettlementResolver = async ({ parts }) => {
      resolved.push(parts.network);
      return { status: "authorization_used", detail: "used" };
    };
    const { call, store } = await setup({
      resolvers: {
        "eip155:84532": resolver,
        "eip155:8453": () => Promise.reject(new Error("RPC down")),
      },
    });
    const payer = `0x${"ab".repeat(20)}`;
    const nonce = `0x${"12".repeat(32)}`;
    const keys = [
      `x402:eip155:84532:${payer}:${nonce}`,
      `x402:eip155:8453:${payer}:${nonce}`,
      `x402:eip155:1:${payer}:${nonce}`,
      `x402:solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1:${"c".repeat(64)}`,
    ];
    for (const claimKey of keys) {
      await store.claim({
        key: claimKey,
        claim: { state: "pending_settlement", owner: "o", proofHash: "p" },
        expiresAt: start / 1000 + 120,
      });
    }
    await store.claim({
      key: "x402:eip155:84532:other",
      claim: { state: "pending", owner: "o", proofHash: "p" },
    });
    const listed = (await call("/settlements/pending", { key })).json() as {
      settlements: { key: string; resolution: { status: string } }[];
      complete: boolean;
    };
    expect(listed.complete).toBe(true);
    const byKey = Object.fromEntries(listed.settlements.map((s) => [s.key, s]));
    expect(Object.keys(byKey).sort()).toEqual([...keys].sort());
    expect(byKey[keys[0] as string]).toEqual({
      key: keys[0],
      network: "eip155:84532",
      family: "evm",
      payer,
      nonce,
      expiresAt: start / 1000 + 120,
      resolution: { status: "authorization_used", detail: "used" },
    });
    expect(byKey[keys[1] as string]?.resolution.status).toBe("lookup_failed");
    expect(byKey[keys[2] as string]?.resolution).toEqual({
      status: "unresolvable",
      detail: "no resolver configured for eip155:1",
    });
    expect(byKey[keys[3] as string]).toMatchObject({ family: "svm", resolution: { status: "unresolvable" } });
    expect(resolved).toEqual(["eip155:84532"]);
    const one = (await call("/settlements/pending?limit=1", { key })).json() as { complete: boolean };
    expect(one.complete).toBe(false);
    for (const bad of ["?limit=0", "?limit=1001", "?limit=x"]) {
      expect((await call(`/settlements/pending${bad}`, { key })).status).toBe(400);
    }
  });

  it("mounts at a path prefix beside an app: only its own paths are its", async () => {
    const store = createMemoryStore();
    const admin = createAdminApi({ key, store, basePath: "/admin/" });
    const app = async (request: Request, client: { address?: string }) =>
      admin.owns(request) ? admin.fetch(request, client) : new Response("the app");
    const served = await serveFetch({ fetch: app });
    closers.push(() => served.close());
    const get = (path: string) =>
      fetch(`${served.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    expect((await get("/admin/stats")).status).toBe(200);
    expect(await (await get("/administrator")).text()).toBe("the app");
    expect(await (await get("/stats")).text()).toBe("the app");
    expect((await get("/admin/switches")).status).toBe(404);
    expect((await get("/admin")).status).toBe(404);
  });
});

describe("the admin API's inputs", () => {
  it("answers any query or body with 200, 400, 404 or 413, never a failure", async () => {
    const store = createMemoryStore();
    const switches = createRuntimeSwitches({ facilitators: { one: true } });
    const events: AdminEvent[] = [];
    const admin = createAdminApi({ key, store, switches, onEvent: (e) => events.push(e) });
    const authorization = `Bearer ${key}`;
    const query = fc.dictionary(
      fc.constantFrom("since", "until", "format", "limit", "other"),
      fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String), fc.constant("markdown")),
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/stats", "/report", "/settlements/pending"),
        query,
        async (path, params) => {
          const response = await admin.fetch(
            new Request(`http://admin.test${path}?${new URLSearchParams(params)}`, {
              headers: { authorization },
            }),
          );
          return [200, 400].includes(response.status);
        },
      ),
      { numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/tokens/lookup", "/tokens/revoke", "/switches"),
        fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 100 })),
        async (path, body) => {
          const response = await admin.fetch(
            new Request(`http://admin.test${path}`, { method: "POST", headers: { authorization }, body }),
          );
          return [200, 400, 404, 413].includes(response.status);
        },
      ),
      { numRuns: 300 },
    );
    expect(events.filter((e) => e.type === "admin_error")).toEqual([]);
  });
});
