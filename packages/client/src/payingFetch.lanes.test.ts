import { encodeHeaderJson } from "@tollgate/shared";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it } from "vitest";
import { type Loopback, serveLoopback } from "../test/loopback.js";
import { failure, type PaidApi, refusal402, requirement, startPaidApi } from "../test/paidApi.js";
import type { PayingFetchEvent } from "./events.js";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createMemoryTokenStore } from "./lanes/token/tokenStore.js";
import { createMemoryLedger } from "./ledger/ledger.js";
import { createPayingFetch } from "./payingFetch.js";

const account = privateKeyToAccount(`0x${"33".repeat(32)}`);
const wallet = createEvmWallet({ account });
const servers: (PaidApi | Loopback)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function refusal(error: string, retryAfter?: string): Response {
  return refusal402({ error, ...(retryAfter === undefined ? {} : { retryAfter }) });
}

describe("settlement_pending", () => {
  it("re-sends the very same proof after Retry-After until it settles", async () => {
    let answers = 0;
    const server = await startPaidApi({
      onPaid: () => (++answers <= 2 ? refusal("settlement_pending", "3") : new Response("done")),
    });
    servers.push(server);
    const waits: number[] = [];
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const response = await payingFetch(`${server.url}/r`);
    expect(await response.text()).toBe("done");
    expect(waits).toEqual([3000, 3000]);
    expect(new Set(server.payments.map((p) => p.nonce)).size).toBe(1);
    expect(server.payments).toHaveLength(3);
    expect(new Set(server.payments.map((p) => p.idempotencyKey)).size).toBe(1);
    expect(payingFetch.getReceipt(response)?.reusedProof).toBe(true);
  });

  it("gives up with CLIENT__SETTLEMENT_PENDING and keeps the proof for the next call", async () => {
    let pending = true;
    const server = await startPaidApi({
      onPaid: () => (pending ? refusal("settlement_pending", "120") : new Response("done")),
    });
    servers.push(server);
    const waits: number[] = [];
    const ledger = createMemoryLedger();
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      ledger,
      settlementRetries: 1,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const error = await failure(payingFetch(`${server.url}/r`));
    expect(error.code).toBe("CLIENT__SETTLEMENT_PENDING");
    expect(error.context).toMatchObject({ retryAfterSeconds: 120 });
    expect(waits).toEqual([30_000]); // Retry-After is capped at 30 s
    expect(await ledger.pending()).toHaveLength(1);

    pending = false;
    expect(await (await payingFetch(`${server.url}/r`)).text()).toBe("done");
    expect(new Set(server.payments.map((p) => p.nonce)).size).toBe(1);
  });
});

describe("refusals", () => {
  it("a refused proof is reported with the server's reason, and a later call pays anew", async () => {
    let refuse = true;
    const server = await startPaidApi({
      onPaid: () => (refuse ? refusal("invalid_exact_evm_insufficient_balance") : new Response("ok")),
    });
    servers.push(server);
    const payingFetch = createPayingFetch({ wallets: [wallet] });
    const error = await failure(payingFetch(`${server.url}/r`));
    expect(error.code).toBe("CLIENT__PAYMENT_REFUSED");
    expect(error.context).toMatchObject({ reason: "invalid_exact_evm_insufficient_balance", status: 402 });
    refuse = false;
    expect((await payingFetch(`${server.url}/r`)).status).toBe(200);
    expect(new Set(server.payments.map((p) => p.nonce)).size).toBe(2);
  });

  it("facilitator_unavailable: the facilitator lane is dropped and the other lanes are tried", async () => {
    const server = await startPaidApi({ onPaid: () => refusal("facilitator_unavailable", "5") });
    servers.push(server);
    const events: PayingFetchEvent[] = [];
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      policy: { budgets: [{ limit: 10_000n, window: "total" }] },
      onEvent: (e) => events.push(e),
    });
    const error = await failure(payingFetch(`${server.url}/r`));
    expect(error.code).toBe("CLIENT__NO_PAYABLE_OFFER");
    expect(error.context).toMatchObject({ rejections: [{ reason: "facilitator_lane_failed" }] });
    expect(server.payments).toHaveLength(1);
    expect(events.filter((e) => e.type === "payment.refused")).toHaveLength(1);
  });
});

describe("prepaid token lane", () => {
  /**
   * A server with a facilitator lane and a token lane: the first paid request also issues a token worth
   * `credit`; each token request debits `price` and answers the new balance.
   */
  async function tokenServer(credit: bigint, price = 10_000n) {
    const token = "A".repeat(43);
    const state = { balance: credit, debits: 0, tokenRequests: [] as (string | null)[] };
    const paid = await startPaidApi({
      body: {
        x402Version: 1,
        error: "payment_required",
        accepts: [],
        payment_options: [
          {
            provider: "direct",
            type: "prepaid_token",
            priority: 3,
            recommended: false,
            header: "X-PAYMENT-TOKEN",
          },
        ],
      },
      onPaid: () =>
        new Response("paid by signature", {
          headers: {
            "X-PAYMENT-TOKEN": token,
            "X-PAYMENT-TOKEN-BALANCE": String(state.balance),
            "X-PAYMENT-TOKEN-EXPIRES": "4102444800",
          },
        }),
    });
    const front = await serveLoopback(async (request) => {
      const presented = request.headers.get("x-payment-token");
      if (presented === null) {
        return fetch(new URL(new URL(request.url).pathname, paid.url), {
          method: request.method,
          headers: request.headers,
        });
      }
      state.tokenRequests.push(request.headers.get("idempotency-key"));
      if (presented !== token) return refusal("token_unknown");
      if (state.balance < price) return refusal("token_insufficient_balance");
      state.balance -= price;
      state.debits += 1;
      return new Response("paid by token", {
        headers: {
          "X-PAYMENT-TOKEN-BALANCE": String(state.balance),
          "PAYMENT-RESPONSE": encodeHeaderJson({
            header: "PAYMENT-RESPONSE",
            value: {
              success: true,
              transaction: "",
              network: "eip155:84532",
              amount: String(price),
              lane: "token",
            },
          }),
        },
      });
    });
    servers.push(paid, front);
    return { url: front.url, paid, state };
  }

  it("keeps the token a server issues and spends it before signing again, per origin", async () => {
    const server = await tokenServer(20_000n);
    const tokens = createMemoryTokenStore();
    const payingFetch = createPayingFetch({ wallets: [wallet], tokens });
    expect(await (await payingFetch(`${server.url}/a`)).text()).toBe("paid by signature");
    const origin = new URL(server.url).origin;
    expect((await tokens.get(origin))?.balance).toBe(20_000n);

    const first = await payingFetch(`${server.url}/b`);
    expect(await first.text()).toBe("paid by token");
    expect(payingFetch.getReceipt(first)).toMatchObject({ lane: "token", amount: 10_000n });
    expect(await (await payingFetch(`${server.url}/c`)).text()).toBe("paid by token");
    expect((await tokens.get(origin))?.balance).toBe(0n);
    expect(server.state.debits).toBe(2);
    expect(server.paid.payments).toHaveLength(1);

    // Empty: the next request pays with a signature again.
    expect(await (await payingFetch(`${server.url}/d`)).text()).toBe("paid by signature");
    expect(server.paid.payments).toHaveLength(2);
  });

  it("quote names the stored token as the way it would pay", async () => {
    const server = await tokenServer(20_000n);
    const tokens = createMemoryTokenStore();
    const payingFetch = createPayingFetch({ wallets: [wallet], tokens });
    expect((await payingFetch.quote(`${server.url}/a`)).chosen?.offer.lane).toBe("facilitator");
    await payingFetch(`${server.url}/a`);
    const quote = await payingFetch.quote(`${server.url}/b`);
    expect(quote.chosen).toMatchObject({ offer: { lane: "token" }, amount: 0n, wallet: "prepaid-token" });
    expect(quote.alternatives.map((o) => o.lane)).toEqual(["facilitator"]);
    expect(server.state.debits).toBe(0);
  });

  it("quote and fetch agree that a token for a denied origin is not used", async () => {
    const server = await tokenServer(20_000n);
    const tokens = createMemoryTokenStore();
    const origin = new URL(server.url).origin;
    await tokens.put({ origin, token: "A".repeat(43), balance: 50_000n, expiresAt: 4_102_444_800 });
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      tokens,
      policy: { deny: { origins: [origin] } },
    });
    expect((await payingFetch.quote(`${server.url}/a`)).chosen).toBeUndefined();
    const error = await failure(payingFetch(`${server.url}/a`));
    expect(error.code).toBe("CLIENT__NO_PAYABLE_OFFER");
    expect(server.state.tokenRequests).toHaveLength(0);
  });

  it("a refused token is forgotten and the next lane pays", async () => {
    const server = await tokenServer(0n);
    const tokens = createMemoryTokenStore();
    const origin = new URL(server.url).origin;
    await tokens.put({ origin, token: "B".repeat(43), balance: 50_000n, expiresAt: 4_102_444_800 });
    const payingFetch = createPayingFetch({ wallets: [wallet], tokens });
    expect(await (await payingFetch(`${server.url}/a`)).text()).toBe("paid by signature");
    expect(server.state.tokenRequests).toHaveLength(1);
    expect((await tokens.get(origin))?.token).toBe("A".repeat(43));
  });

  it("a token is never sent to another origin", async () => {
    const server = await tokenServer(0n);
    const tokens = createMemoryTokenStore();
    await tokens.put({
      origin: "http://127.0.0.2:1",
      token: "C".repeat(43),
      balance: 50_000n,
      expiresAt: 4_102_444_800,
    });
    const payingFetch = createPayingFetch({ wallets: [wallet], tokens });
    await payingFetch(`${server.url}/a`);
    expect(server.state.tokenRequests).toHaveLength(0);
  });
});

describe("redirects", () => {
  it("a redirect after payment is followed without the proof, and never paid again", async () => {
    const seenAtTarget: (string | null)[] = [];
    const target = await serveLoopback((request) => {
      seenAtTarget.push(request.headers.get("payment-signature"));
      return refusal("payment_required");
    });
    servers.push(target);
    const server = await startPaidApi({
      onPaid: () => new Response(null, { status: 302, headers: { location: `${target.url}/final` } }),
    });
    servers.push(server);
    const payingFetch = createPayingFetch({ wallets: [wallet] });
    const response = await payingFetch(`${server.url}/r`);
    expect(response.status).toBe(402);
    expect(response.url).toBe(`${target.url}/final`);
    expect(seenAtTarget).toEqual([null]);
    expect(server.payments).toHaveLength(1);
    expect(payingFetch.getReceipt(response)).toMatchObject({ lane: "facilitator", amount: 10_000n });
  });
});

describe("requirement cache", () => {
  it("pays a known requirement with the first request: one round trip", async () => {
    const server = await startPaidApi();
    servers.push(server);
    let clock = 1_700_000_000_000;
    const payingFetch = createPayingFetch({ wallets: [wallet], requirementCache: true, now: () => clock });
    await payingFetch(`${server.url}/r?q=1`);
    expect(server.state.unpaid).toBe(1);
    await payingFetch(`${server.url}/r?q=2`);
    await payingFetch(`${server.url}/r?q=3`);
    expect(server.state.unpaid).toBe(1);
    expect(server.payments).toHaveLength(3);
    // Other paths and methods are not known yet.
    await payingFetch(`${server.url}/other`);
    expect(server.state.unpaid).toBe(2);
    // A requirement is remembered for its maxTimeoutSeconds (60 s) only.
    clock += 60_001;
    await payingFetch(`${server.url}/r`);
    expect(server.state.unpaid).toBe(3);
  });

  it("a stale requirement is refused and the live 402 is paid once", async () => {
    let price = 10_000n;
    const server = await startPaidApi({
      accepts: [requirement()],
      onPaid: (payment) =>
        payment.amount === price
          ? new Response("ok")
          : refusalWithPrice("No matching payment requirements", price),
    });
    servers.push(server);
    const payingFetch = createPayingFetch({ wallets: [wallet], requirementCache: true });
    await payingFetch(`${server.url}/r`);
    price = 20_000n;
    const response = await payingFetch(`${server.url}/r`);
    expect(await response.text()).toBe("ok");
    expect(server.payments.map((p) => p.amount)).toEqual([10_000n, 10_000n, 20_000n]);
    expect(server.state.unpaid).toBe(1);
  });

  it("does not remember a requirement reached through a redirect under the redirecting URL", async () => {
    const server = await startPaidApi({ onPaid: () => new Response("paid at the target") });
    servers.push(server);
    const moved = await serveLoopback(
      () => new Response(null, { status: 302, headers: { location: `${server.url}/r` } }),
    );
    servers.push(moved);
    const payingFetch = createPayingFetch({ wallets: [wallet], requirementCache: true });
    for (const _ of [1, 2]) {
      const response = await payingFetch(`${moved.url}/old`);
      expect(await response.text()).toBe("paid at the target");
    }
    expect(server.payments).toHaveLength(2);
    expect(server.state.unpaid).toBe(2);
  });

  it("is off by default", async () => {
    const server = await startPaidApi();
    servers.push(server);
    const payingFetch = createPayingFetch({ wallets: [wallet] });
    await payingFetch(`${server.url}/r`);
    await payingFetch(`${server.url}/r`);
    expect(server.state.unpaid).toBe(2);
  });
});

function refusalWithPrice(error: string, price: bigint): Response {
  return refusal402({ error, accepts: [requirement({ amount: price.toString() })] });
}
