/**
 * Safety properties of the paying fetch that an adversarial review found broken (DESIGN.md §3): never pay twice
 * when a proof may have settled, never send credentials or a request across origins the caller did not send them
 * to, never move money for a proof that cannot be presented.
 */
import { isTollgateError } from "@tollgate/shared";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it } from "vitest";
import { type Loopback, serveLoopback } from "../test/loopback.js";
import { directOffer402, type PaidApi, refusal402, startPaidApi } from "../test/paidApi.js";
import type { PayingFetchEvent } from "./events.js";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createMemoryLedger } from "./ledger/ledger.js";
import { createPayingFetch } from "./payingFetch.js";
import type { PayingWallet } from "./wallet.js";

const account = privateKeyToAccount(`0x${"5e".repeat(32)}`);
const wallet = createEvmWallet({ account });
const servers: (PaidApi | Loopback)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function api(parameters: Parameters<typeof startPaidApi>[0] = {}): Promise<PaidApi> {
  const started = await startPaidApi(parameters);
  servers.push(started);
  return started;
}

async function loopback(handler: (request: Request) => Response | Promise<Response>): Promise<Loopback> {
  const started = await serveLoopback(handler);
  servers.push(started);
  return started;
}

/** A 402 refusal as an x402 v2 server sends it after its facilitator refused the proof. */
function refusal(error: string): Response {
  return refusal402({ error });
}

function hasProof(init: RequestInit | undefined): boolean {
  const headers = new Headers(init?.headers);
  return headers.has("payment-signature") || headers.has("x-payment");
}

async function settle<T>(promise: Promise<T>): Promise<T | unknown> {
  return promise.then(
    (v) => v,
    (e: unknown) => e,
  );
}

/**
 * A server that settles each nonce once and, asked again, answers as @x402/evm 2.27's facilitator (and Tollgate's
 * local checks) do: validBefore is checked before the nonce, so an expired authorization gets `..._valid_before`.
 * `clock.seconds` is its clock (the client's too, in these tests).
 */
async function settlingOnceServer() {
  const settled = new Set<string>();
  const clock = { seconds: Math.floor(Date.now() / 1000) };
  const server = await api({
    onPaid: (payment) => {
      const validBefore = Number((payment.payload.authorization as { validBefore: string }).validBefore);
      if (validBefore < clock.seconds + 6)
        return refusal("invalid_exact_evm_payload_authorization_valid_before");
      if (settled.has(payment.nonce)) return refusal("invalid_exact_evm_nonce_already_used");
      settled.add(payment.nonce);
      return new Response("paid");
    },
  });
  return { server, settled, clock };
}

/** A fetch that loses the answer to the first proof on its way back (connection reset after the server took it). */
function losingFirstProofAnswer(): typeof fetch {
  let lose = true;
  return async (input, init) => {
    const response = await fetch(input, init);
    if (lose && hasProof(init)) {
      lose = false;
      await response.body?.cancel();
      throw new TypeError("fetch failed", { cause: new Error("ECONNRESET") });
    }
    return response;
  };
}

describe("never pay twice: a re-sent proof refused only because it expired", () => {
  it("does not sign a second payment when the lost first proof may have settled", async () => {
    // The server settles each nonce once. Asked again about a settled nonce it answers as @x402/evm 2.27's
    // facilitator (and Tollgate's own localChecks) do: validBefore is checked before the nonce, so once the
    // authorization has expired the answer is `..._valid_before`, not `nonce_already_used`.
    const { server, settled, clock } = await settlingOnceServer();
    // The answer to the first proof is lost on the way back (connection reset after the server settled).
    const lossy = losingFirstProofAnswer();
    const ledger = createMemoryLedger();
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      ledger,
      fetch: lossy,
      now: () => clock.seconds * 1000,
    });
    const first = await settle(payingFetch(`${server.url}/r`, { headers: { "Idempotency-Key": "job-1" } }));
    expect(isTollgateError(first, "CLIENT__SETTLEMENT_PENDING")).toBe(true);
    expect(settled.size).toBe(1);

    // The agent retries the same logical request once the authorization's 60 s have passed (a backoff, a restart).
    clock.seconds += 120;
    await settle(payingFetch(`${server.url}/r`, { headers: { "Idempotency-Key": "job-1" } }));

    // The first authorization settled; the retry must not have settled a second one.
    expect(settled.size).toBe(1);
  });
});

describe("never pay twice: a paid response whose redirect could not be followed", () => {
  it("a retry after the follow-up GET of a paid 303 failed does not pay again", async () => {
    const server = await api({
      onPaid: () => new Response(null, { status: 303, headers: { location: "/result" } }),
    });
    let failFollow = true;
    const flaky: typeof fetch = async (input, init) => {
      if (failFollow && String(input).endsWith("/result")) {
        failFollow = false;
        throw new TypeError("fetch failed", { cause: new Error("ECONNRESET") });
      }
      return fetch(input, init);
    };
    const payingFetch = createPayingFetch({ wallets: [wallet], fetch: flaky });
    const init = { method: "POST", body: "{}", headers: { "Idempotency-Key": "order-7" } };
    const first = await settle(payingFetch(`${server.url}/orders`, init));
    // The caller sees a network error (an untyped TypeError, not a TollgateError), retries the same request...
    expect(first).toBeInstanceOf(Error);
    await settle(payingFetch(`${server.url}/orders`, init));
    // ...and the client signs and sends a second, different authorization for the same Idempotency-Key.
    expect(new Set(server.payments.map((p) => p.nonce)).size).toBe(1);
  });
});

describe("never pay twice: a gateway timeout after the proof was sent", () => {
  it("a 504 from a proxy leaves the proof pending, so the retry re-sends it", async () => {
    let answer504 = true;
    const server = await api({
      // The origin settled, but the proxy in front of it timed out: the client gets a 504 without a receipt.
      onPaid: () => {
        if (answer504) {
          answer504 = false;
          return new Response("upstream timed out", { status: 504 });
        }
        return new Response("paid");
      },
    });
    const payingFetch = createPayingFetch({ wallets: [wallet] });
    const init = { headers: { "Idempotency-Key": "report-3" } };
    expect((await payingFetch(`${server.url}/r`, init)).status).toBe(504);
    expect((await payingFetch(`${server.url}/r`, init)).status).toBe(200);
    expect(new Set(server.payments.map((p) => p.nonce)).size).toBe(1);
  });

  it("a total budget is not refilled by proofs answered with a 5xx (they may have settled)", async () => {
    // A server that takes the money and answers 500 without a receipt header.
    const server = await api({ onPaid: () => new Response("oops", { status: 500 }) });
    let clock = 1_700_000_000_000;
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      now: () => clock,
      policy: { budgets: [{ name: "lifetime", limit: 10_000n, window: "total" }] },
    });
    await payingFetch(`${server.url}/a`);
    clock += 120_000; // past the authorization's validBefore (maxTimeoutSeconds 60)
    const second = await settle(payingFetch(`${server.url}/b`));
    // The lifetime budget is 10000; one authorization of 10000 already left the wallet.
    expect(isTollgateError(second, "CLIENT__BUDGET_EXHAUSTED")).toBe(true);
    expect(server.payments).toHaveLength(1);
  });
});

describe("no credentials to another origin after a paid redirect", () => {
  it("drops Authorization and Cookie when following a paid redirect across origins, as fetch does", async () => {
    const seen: { authorization: string | null; cookie: string | null }[] = [];
    const elsewhere = await loopback((request) => {
      seen.push({
        authorization: request.headers.get("authorization"),
        cookie: request.headers.get("cookie"),
      });
      return new Response("elsewhere");
    });
    const server = await api({
      onPaid: () => new Response(null, { status: 302, headers: { location: `${elsewhere.url}/landing` } }),
    });
    const payingFetch = createPayingFetch({ wallets: [wallet] });
    const response = await payingFetch(`${server.url}/r`, {
      headers: { authorization: "Bearer api-secret", cookie: "session=api-session" },
    });
    expect(await response.text()).toBe("elsewhere");
    expect(seen).toEqual([{ authorization: null, cookie: null }]);

    // What plain fetch does with the same cross-origin redirect:
    const plain = await loopback(
      () => new Response(null, { status: 302, headers: { location: `${elsewhere.url}/landing` } }),
    );
    await fetch(`${plain.url}/r`, { headers: { authorization: "Bearer api-secret", cookie: "session=x" } });
    expect(seen[1]).toEqual({ authorization: null, cookie: null });
  });
});

describe("a reused Idempotency-Key does not send one request to another origin", () => {
  it("a request to B never goes to A because an earlier request to A with the same key is pending", async () => {
    const a = await api();
    const bodiesAtA: string[] = [];
    const b = await api();
    let lose = true;
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).startsWith(a.url) && hasProof(init)) {
        const headers = new Headers(init?.headers);
        bodiesAtA.push(
          `${headers.get("authorization")} ${init?.body ? new TextDecoder().decode(init.body as Uint8Array) : ""}`,
        );
        if (lose) {
          lose = false;
          await response.body?.cancel();
          throw new TypeError("fetch failed");
        }
      }
      return response;
    };
    const payingFetch = createPayingFetch({ wallets: [wallet], fetch: lossy });
    await settle(
      payingFetch(`${a.url}/a`, { method: "POST", body: "for A", headers: { "Idempotency-Key": "step-1" } }),
    );
    // The agent uses one Idempotency-Key per step of its task, and the next step calls another API.
    const response = await payingFetch(`${b.url}/b`, {
      method: "POST",
      body: "secret for B",
      headers: { "Idempotency-Key": "step-1", authorization: "Bearer b-secret" },
    });
    expect(bodiesAtA.some((s) => s.includes("secret for B") || s.includes("b-secret"))).toBe(false);
    expect(response.url.startsWith(b.url) || b.payments.length === 1).toBe(true);
  });
});

describe("origin lists match every spelling of an origin", () => {
  it("a denied host is denied with a trailing dot too", async () => {
    const server = await api();
    // Route every host name to the loopback server (as DNS would for evil.example and evil.example.).
    const routed: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      return fetch(`${server.url}${url.pathname}${url.search}`, init);
    };
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      fetch: routed,
      policy: { deny: { origins: ["evil.example", "*.evil.example"] } },
    });
    const denied = await settle(payingFetch("http://evil.example/r"));
    expect(isTollgateError(denied, "CLIENT__NO_PAYABLE_OFFER")).toBe(true);
    const dotted = await settle(payingFetch("http://pay.evil.example./r"));
    expect(isTollgateError(dotted, "CLIENT__NO_PAYABLE_OFFER")).toBe(true);
    expect(server.payments).toHaveLength(0);
  });
});

describe("a resumed direct transfer is broadcast by the wallet of its network", () => {
  it("after a failed wait for confirmations, the retry uses the wallet that signed it, not the first EVM wallet", async () => {
    const sends: string[] = [];
    let rpcHiccup = true;
    const directWallet = (name: string, network: string): PayingWallet => ({
      family: "evm",
      address: `0x${name === "base" ? "01" : "02"}${"00".repeat(19)}`,
      networks: [network],
      checkDirectOffer: () => undefined,
      prepareDirectTransfer: async () => ({ tx: `0x${"cd".repeat(32)}`, network, raw: `0xraw-${name}` }),
      sendDirectTransfer: async (p) => {
        sends.push(`${name} ${p.network}`);
        if (name === "sepolia" && rpcHiccup) {
          rpcHiccup = false;
          throw new Error("RPC timed out while waiting for confirmations");
        }
      },
    });
    const received: string[] = [];
    const server = await loopback((request) => {
      const tx = request.headers.get("x-payment-tx");
      if (tx !== null) {
        received.push(tx);
        return new Response("paid directly");
      }
      return directOffer402();
    });
    const payingFetch = createPayingFetch({
      wallets: [directWallet("base", "eip155:8453"), directWallet("sepolia", "eip155:84532")],
    });
    const first = await settle(payingFetch(`${server.url}/r`));
    expect(isTollgateError(first, "CLIENT__SETTLEMENT_PENDING")).toBe(true);
    expect(await (await payingFetch(`${server.url}/r`)).text()).toBe("paid directly");
    // Both broadcasts of the Base Sepolia transfer go through the Base Sepolia wallet (its RPC).
    expect(sends).toEqual(["sepolia eip155:84532", "sepolia eip155:84532"]);
  });
});

describe("a direct offer whose proof cannot be sent is refused before any money moves", () => {
  it("does not broadcast a transfer when the offer names a header fetch cannot send", async () => {
    const broadcasts: string[] = [];
    const direct: PayingWallet = {
      family: "evm",
      address: `0x${"03".repeat(20)}`,
      networks: ["eip155:84532"],
      checkDirectOffer: () => undefined,
      prepareDirectTransfer: async () => ({
        tx: `0x${"ef".repeat(32)}`,
        network: "eip155:84532",
        raw: "0xraw",
      }),
      sendDirectTransfer: async (p) => {
        broadcasts.push(p.tx);
      },
    };
    // Not an HTTP token: `Headers.set` throws on it, after the transfer is on chain.
    const server = await loopback(() => directOffer402({ chainHeader: "X PAYMENT CHAIN" }));
    const payingFetch = createPayingFetch({ wallets: [direct] });
    const outcome = await settle(payingFetch(`${server.url}/r`));
    expect(isTollgateError(outcome)).toBe(true);
    // An unsendable header name is refused when the 402 is read, before any money moves.
    expect(isTollgateError(outcome, "CLIENT__SETTLEMENT_PENDING")).toBe(false);
    expect(broadcasts).toHaveLength(0);
  });
});

describe("no credentials to another origin when a 402 was reached through a redirect", () => {
  it("the paid request to the redirect target carries no Authorization meant for the first origin", async () => {
    const authorizationAtTarget: (string | null)[] = [];
    const target = await api({
      onPaid: (_payment, request) => {
        authorizationAtTarget.push(request.headers.get("authorization"));
        return new Response("paid at target");
      },
    });
    const first = await loopback(
      () => new Response(null, { status: 307, headers: { location: `${target.url}/r` } }),
    );
    const payingFetch = createPayingFetch({ wallets: [wallet] });
    const response = await payingFetch(`${first.url}/r`, {
      headers: { authorization: "Bearer first-secret" },
    });
    expect(await response.text()).toBe("paid at target");
    // fetch itself dropped it on the cross-origin hop of the unpaid request; the paid request must too.
    expect(authorizationAtTarget).toEqual([null]);
  });
});

describe("a 402 reached through a redirect", () => {
  it("is not paid for a POST: the redirect may have made a GET of it, so the paid request could not be the same", async () => {
    const paidRequests: string[] = [];
    const target = await api({
      onPaid: (payment, request) => {
        paidRequests.push(`${request.method} ${payment.body}`);
        return new Response("paid at target");
      },
    });
    const first = await loopback(
      () => new Response(null, { status: 303, headers: { location: `${target.url}/result` } }),
    );
    const payingFetch = createPayingFetch({ wallets: [wallet] });
    const outcome = await settle(
      payingFetch(`${first.url}/submit`, { method: "POST", body: "private form for the first origin" }),
    );
    expect(isTollgateError(outcome, "CLIENT__NO_PAYABLE_OFFER")).toBe(true);
    expect(
      (outcome as { context: { rejections: { reason: string }[] } }).context.rejections.map((r) => r.reason),
    ).toEqual(["redirected_request_not_replayable"]);
    expect(paidRequests).toEqual([]);
  });
});

describe("the confirm hook and the events are told where the money goes", () => {
  it("after a redirect to another origin's paywall, they name the paywall's URL, and the caller's URL beside it", async () => {
    const target = await api({ onPaid: () => new Response("paid at target") });
    const first = await loopback(
      () => new Response(null, { status: 302, headers: { location: `${target.url}/r` } }),
    );
    const asked: { url: string; requestUrl: string }[] = [];
    const events: PayingFetchEvent[] = [];
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      policy: {
        confirm: ({ url, requestUrl }) => {
          asked.push({ url, requestUrl });
          return true;
        },
      },
      onEvent: (e) => events.push(e),
    });
    const response = await payingFetch(`${first.url}/r`);
    expect(await response.text()).toBe("paid at target");
    expect(asked).toEqual([{ url: `${target.url}/r`, requestUrl: `${first.url}/r` }]);
    const told = events.map((e) => ({ type: e.type, url: e.url, requestUrl: e.requestUrl }));
    expect(told).toEqual(
      ["payment.required", "offer.selected", "payment.signed", "payment.settled"].map((type) => ({
        type,
        url: `${target.url}/r`,
        requestUrl: `${first.url}/r`,
      })),
    );
    expect(target.payments).toHaveLength(1);
    // quote too says where a payment would go.
    expect((await payingFetch.quote(`${first.url}/r`)).url).toBe(`${target.url}/r`);
  });
});

describe("a consumed proof of a request without an explicit Idempotency-Key", () => {
  it("a retry of the same request after CLIENT__PAYMENT_REFUSED (consumed) does not sign a second payment", async () => {
    // Same server as the safety test: settles each nonce once, checks validBefore before the nonce.
    const { server, settled, clock } = await settlingOnceServer();
    const lossy = losingFirstProofAnswer();
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      ledger: createMemoryLedger(),
      fetch: lossy,
      now: () => clock.seconds * 1000,
    });
    const url = `${server.url}/r`;
    const init = { method: "POST", body: '{"job":1}' }; // no Idempotency-Key: the ledger key is sha256(method, url, body)
    expect(isTollgateError(await settle(payingFetch(url, init)), "CLIENT__SETTLEMENT_PENDING")).toBe(true);
    expect(settled.size).toBe(1);
    clock.seconds += 120;
    // The re-sent proof: "may have settled" -> consumed, the call throws.
    expect(isTollgateError(await settle(payingFetch(url, init)), "CLIENT__PAYMENT_REFUSED")).toBe(true);
    // The agent retries the very same request again (a generic retry-on-error loop).
    await settle(payingFetch(url, init));
    // The first authorization settled (the payee has the money); the same logical request must not pay again.
    expect(settled.size).toBe(1);
  });
});

describe("a proof whose send could not connect", () => {
  it("is dead at once: its budget hold is released and the next call pays with a new proof", async () => {
    const server = await api();
    let refuse = true;
    const flaky: typeof fetch = async (input, init) => {
      if (refuse && hasProof(init)) {
        refuse = false;
        const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1"), { code: "ECONNREFUSED" });
        throw new TypeError("fetch failed", { cause });
      }
      return fetch(input, init);
    };
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      fetch: flaky,
      policy: { budgets: [{ name: "lifetime", limit: 10_000n, window: "total" }] },
    });
    const first = await settle(payingFetch(`${server.url}/r`));
    expect(first).toBeInstanceOf(TypeError);
    expect(isTollgateError(first)).toBe(false);
    // The budget of one payment still has room: the proof that never left does not count.
    const second = await payingFetch(`${server.url}/r`);
    expect(second.status).toBe(200);
    expect(server.payments).toHaveLength(1);
  });
});
