import { hybridPaymentRequiredSchema, paymentReceiptSchema, tokenHeaderNames } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { receiptOf } from "../../../test/fixtures.js";
import { type CreatePaywallParameters, createPaywall } from "../../paywall.js";
import { createMemoryStore } from "../../store/memory.js";
import { tokenHash } from "../prepaidTokens.js";

const start = 1_800_000_000_000;

function setup(parameters: Partial<CreatePaywallParameters> = {}) {
  let now = start;
  const store = createMemoryStore({ now: () => now });
  const paywall = createPaywall({
    routes: {
      "GET /paid": "$0.01",
      "GET /fails": "$0.01",
      "GET /dear": "$1",
      "GET /big": "$0.01",
      "GET /slow": "$0.01",
      "POST /submit": "$0.01",
    },
    store,
    now: () => now,
    ...parameters,
  });
  let calls = 0;
  let open: () => void = () => undefined;
  let gate = Promise.resolve();
  const app = paywall.fetch(async (request) => {
    calls++;
    const path = new URL(request.url).pathname;
    if (path === "/fails") return Response.json({ error: "broken" }, { status: 500 });
    // Too large to keep for Idempotency-Key replays (64 KiB by default).
    if (path === "/big") return new Response("x".repeat(70_000));
    if (path === "/slow") await gate;
    if (path === "/submit" && (await request.text()) !== "valid") {
      return Response.json({ error: "invalid_body" }, { status: 400 });
    }
    return Response.json({ content: path === "/dear" ? "dear" : "paid" });
  });
  const get = (path: string, headers: Record<string, string> = {}) =>
    app(new Request(`http://api.test${path}`, { headers }));
  /** Holds `/slow` handlers until the returned function is called. */
  const hold = () => {
    gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    return () => open();
  };
  return { paywall, store, app, get, hold, advance: (ms: number) => (now += ms), calls: () => calls };
}

const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

describe("the prepaid-token lane", () => {
  it("offers the lane, and spends a token to exhaustion with the balance on every answer", async () => {
    const { paywall, store, get } = setup();
    const body = hybridPaymentRequiredSchema.parse(await (await get("/paid")).json());
    expect(body.payment_options).toEqual([
      {
        provider: "direct",
        type: "prepaid_token",
        priority: 3,
        recommended: false,
        header: "X-PAYMENT-TOKEN",
      },
    ]);
    const { token, balance, expiresAt } = await paywall.issueToken({ amount: "$0.025" });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(balance).toBe(25_000n);
    expect(expiresAt).toBe(start / 1000 + 2_592_000);
    // Only the SHA-256 of the token is kept.
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(25_000n);

    const balances: (string | null)[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await get("/paid", { "x-payment-token": token });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ content: "paid" });
      balances.push(response.headers.get(tokenHeaderNames.balance));
      expect(response.headers.get(tokenHeaderNames.expires)).toBe(String(expiresAt));
      expect(paymentReceiptSchema.parse(receiptOf(response))).toMatchObject({
        success: true,
        lane: "token",
        transaction: "",
        amount: "10000",
      });
    }
    expect(balances).toEqual(["15000", "5000"]);
    const short = await get("/paid", { "x-payment-token": token });
    expect(short.status).toBe(402);
    expect(short.headers.get(tokenHeaderNames.balance)).toBe("5000");
    expect(await errorOf(short)).toBe("token_insufficient_balance");
  });

  it("refuses unknown, malformed and expired tokens with their reasons", async () => {
    const { paywall, get, advance } = setup();
    expect(await errorOf(await get("/paid", { "x-payment-token": "A".repeat(43) }))).toBe("token_unknown");
    expect(await errorOf(await get("/paid", { "x-payment-token": "not a token" }))).toBe("token_unknown");
    const { token } = await paywall.issueToken({ amount: "$1", ttlSeconds: 60 });
    expect((await get("/paid", { "x-payment-token": token })).status).toBe(200);
    advance(60_000);
    expect(await errorOf(await get("/paid", { "x-payment-token": token }))).toBe("token_expired");
  });

  it("debits concurrent requests exactly once each and never below zero", async () => {
    const { paywall, store, get, calls } = setup();
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => get("/paid", { "x-payment-token": token })),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(5);
    expect(responses.filter((r) => r.status === 402)).toHaveLength(15);
    expect(calls()).toBe(5);
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(0n);
  });

  it("does not debit a retry with the same Idempotency-Key twice", async () => {
    const { paywall, store, get, calls } = setup();
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    const headers = { "x-payment-token": token, "idempotency-key": "job-7" };
    const first = await get("/paid", headers);
    const again = await get("/paid", headers);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get(tokenHeaderNames.balance)).toBe("40000");
    expect(calls()).toBe(1);
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(40_000n);
    const other = await get("/paid", { "x-payment-token": token, "idempotency-key": "job-8" });
    expect(other.headers.get(tokenHeaderNames.balance)).toBe("30000");
  });

  it("scopes an Idempotency-Key to its request: reused on a dearer route or another query it debits again", async () => {
    const { paywall, store, get, calls } = setup();
    const { token } = await paywall.issueToken({ amount: "$0.04" });
    const headers = { "x-payment-token": token, "idempotency-key": "k1" };
    const big = await get("/big", headers);
    expect(big.status).toBe(200);
    expect((await big.text()).length).toBe(70_000);
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(30_000n);
    // Not a retry of /big: the $1 route is charged in full, which the token cannot cover.
    const dear = await get("/dear", headers);
    expect(dear.status).toBe(402);
    expect(await errorOf(dear)).toBe("token_insufficient_balance");
    // Another query string is another request too.
    const other = await get("/big?page=2", headers);
    expect(other.status).toBe(200);
    await other.text();
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(20_000n);
    // The same request again is a retry: its one debit bought one run, whose response was too large to keep.
    const retry = await get("/big", headers);
    expect(retry.status).toBe(409);
    expect(await errorOf(retry)).toBe("idempotency_response_not_kept");
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(20_000n);
    expect(calls()).toBe(2);
  });

  it("runs the handler once for one debit: 20 retries with one key of a response too large to keep, also after expiry", async () => {
    const { paywall, store, get, advance, calls } = setup();
    const { token } = await paywall.issueToken({ amount: "$0.01", ttlSeconds: 60 });
    const headers = { "x-payment-token": token, "idempotency-key": "k" };
    const first = await get("/big", headers);
    expect(first.status).toBe(200);
    expect((await first.text()).length).toBe(70_000);
    for (let i = 0; i < 19; i++) {
      if (i === 10) advance(61_000); // the token has expired: still no run
      const retry = await get("/big", headers);
      expect(retry.status).toBe(409);
      expect(await errorOf(retry)).toBe("idempotency_response_not_kept");
    }
    expect(calls()).toBe(1);
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(0n);
  });

  it("runs the handler once for 100 concurrent requests with one token and one key; retries wait, then replay", async () => {
    const { paywall, store, get, hold, calls } = setup();
    const { token } = await paywall.issueToken({ amount: "$1" });
    const headers = { "x-payment-token": token, "idempotency-key": "burst" };
    const release = hold();
    const answered: Response[] = [];
    const pending = Array.from({ length: 100 }, () =>
      get("/slow", headers).then((response) => answered.push(response)),
    );
    // Every request but the running one is answered while it is held.
    for (let i = 0; answered.length < 99 && i < 10_000; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const early = [...answered];
    release();
    await Promise.all(pending);
    expect(early).toHaveLength(99);
    expect(early.every((r) => r.status === 402)).toBe(true);
    expect(new Set(await Promise.all(early.map(errorOf)))).toEqual(new Set(["settlement_pending"]));
    expect(early[0]?.headers.get("retry-after")).toBe("1");
    expect(answered[99]?.status).toBe(200);
    const replay = await get("/slow", headers);
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(calls()).toBe(1);
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(990_000n);
  });

  it("refunds only the run that was charged: a retry during a failing first request is not served for free", async () => {
    const { paywall, store, app, calls } = setup();
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    const headers = { "x-payment-token": token, "idempotency-key": "order-9" };
    let sendBody: (text: string) => void = () => undefined;
    const lateBody = new ReadableStream<Uint8Array>({
      start(controller) {
        sendBody = (text) => {
          controller.enqueue(new TextEncoder().encode(text));
          controller.close();
        };
      },
    });
    const post = (body: string | ReadableStream<Uint8Array>) =>
      app(
        new Request("http://api.test/submit", {
          method: "POST",
          headers,
          body,
          duplex: "half",
        } as RequestInit),
      );
    const a = post(lateBody);
    // A holds the key (debited, waiting for its body): B, the same key with a valid body, is not run on A's debit.
    while (calls() === 0) await new Promise((resolve) => setImmediate(resolve));
    const b = await post("valid");
    expect(b.status).toBe(402);
    expect(await errorOf(b)).toBe("settlement_pending");
    sendBody("invalid");
    const answered = await a;
    expect(answered.status).toBe(400);
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(50_000n);
    // Nothing was charged, so the key is free again: the retry runs and pays.
    const retried = await post("valid");
    expect(retried.status).toBe(200);
    expect(retried.headers.get(tokenHeaderNames.balance)).toBe("40000");
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(40_000n);
    expect(calls()).toBe(2);
  });

  it("does not run again on a debit remembered after its kept response expired", async () => {
    const { paywall, store, get, advance, calls } = setup({ idempotency: { ttlSeconds: 60 } });
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    const headers = { "x-payment-token": token, "idempotency-key": "k" };
    expect((await get("/paid", headers)).status).toBe(200);
    advance(61_000);
    const retry = await get("/paid", headers);
    expect(retry.status).toBe(409);
    expect(await errorOf(retry)).toBe("idempotency_response_not_kept");
    expect(calls()).toBe(1);
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(40_000n);
  });

  it("gives the debit back when the handler answers 400 or more", async () => {
    const { paywall, store, get } = setup();
    const { token } = await paywall.issueToken({ amount: "$0.05" });
    const failed = await get("/fails", { "x-payment-token": token });
    expect(failed.status).toBe(500);
    expect(failed.headers.get(tokenHeaderNames.balance)).toBe("50000");
    expect(failed.headers.get("payment-response")).toBeNull();
    expect(store.tokenBalance(tokenHash(token))?.balance).toBe(50_000n);
  });

  it("is refused with token_lane_disabled when switched off, per paywall or per route", async () => {
    const off = setup({ lanes: { token: false } });
    const { token } = await off.paywall.issueToken({ amount: "$1" });
    expect(await errorOf(await off.get("/paid", { "x-payment-token": token }))).toBe("token_lane_disabled");
    const perRoute = setup({ routes: { "GET /paid": { price: "$0.01", lanes: { token: false } } } });
    const issued = await perRoute.paywall.issueToken({ amount: "$1" });
    expect(await errorOf(await perRoute.get("/paid", { "x-payment-token": issued.token }))).toBe(
      "token_lane_disabled",
    );
  });
});
