/**
 * Re-sending a recorded proof: a consumed proof (it may have settled) keeps the same request from paying again,
 * and a proof the server finally promises never settles gives its budget hold back.
 */
import { encodeHeaderJson, isTollgateError } from "@tollgate/shared";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it } from "vitest";
import { type PaidApi, requirement, startPaidApi } from "../test/paidApi.js";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createMemoryLedger } from "./ledger/ledger.js";
import { createPayingFetch } from "./payingFetch.js";

const account = privateKeyToAccount(`0x${"5e".repeat(32)}`);
const wallet = createEvmWallet({ account });
const servers: PaidApi[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function api(parameters: Parameters<typeof startPaidApi>[0] = {}): Promise<PaidApi> {
  const started = await startPaidApi(parameters);
  servers.push(started);
  return started;
}
function refusal(error: string): Response {
  return new Response("{}", {
    status: 402,
    headers: {
      "PAYMENT-REQUIRED": encodeHeaderJson({
        header: "PAYMENT-REQUIRED",
        value: { x402Version: 2, error, resource: { url: "http://127.0.0.1/r" }, accepts: [requirement()] },
      }),
    },
  });
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

describe("a consumed proof of a request without an explicit Idempotency-Key", () => {
  it("a retry of the same request after CLIENT__PAYMENT_REFUSED (consumed) does not sign a second payment", async () => {
    // Same server as the safety test: settles each nonce once, checks validBefore before the nonce.
    const settled = new Set<string>();
    let serverClock = Math.floor(Date.now() / 1000);
    const server = await api({
      onPaid: (payment) => {
        const validBefore = Number((payment.payload.authorization as { validBefore: string }).validBefore);
        if (validBefore < serverClock + 6)
          return refusal("invalid_exact_evm_payload_authorization_valid_before");
        if (settled.has(payment.nonce)) return refusal("invalid_exact_evm_nonce_already_used");
        settled.add(payment.nonce);
        return new Response("paid");
      },
    });
    let lose = true;
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (lose && hasProof(init)) {
        lose = false;
        await response.body?.cancel();
        throw new TypeError("fetch failed", { cause: new Error("ECONNRESET") });
      }
      return response;
    };
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      ledger: createMemoryLedger(),
      fetch: lossy,
      now: () => serverClock * 1000,
    });
    const url = `${server.url}/r`;
    const init = { method: "POST", body: '{"job":1}' }; // no Idempotency-Key: the ledger key is sha256(method, url, body)
    expect(isTollgateError(await settle(payingFetch(url, init)), "CLIENT__SETTLEMENT_PENDING")).toBe(true);
    expect(settled.size).toBe(1);
    serverClock += 120;
    // The re-sent proof: "may have settled" -> consumed, the call throws.
    expect(isTollgateError(await settle(payingFetch(url, init)), "CLIENT__PAYMENT_REFUSED")).toBe(true);
    // The agent retries the very same request again (a generic retry-on-error loop).
    await settle(payingFetch(url, init));
    // The first authorization settled (the payee has the money); the same logical request must not pay again.
    expect(settled.size).toBe(1);
  });
});

describe("the budget hold of a pending proof the server later promises never settles", () => {
  it("is released (at the proof's validBefore at the latest), so a later payment fits the budget", async () => {
    let mode: "gateway" | "unavailable" | "ok" = "gateway";
    const server = await api({
      onPaid: () => {
        if (mode === "gateway") return new Response("bad gateway", { status: 502 });
        if (mode === "unavailable") return refusal("facilitator_unavailable");
        return new Response("paid");
      },
    });
    let clock = 1_700_000_000_000;
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      now: () => clock,
      policy: { budgets: [{ name: "lifetime", limit: 10_000n, window: "total" }] },
    });
    const url = `${server.url}/r`;
    const init = { headers: { "Idempotency-Key": "job-7" } };
    // A gateway 502: the proof stays pending (and on the budget). Correct so far.
    expect((await payingFetch(url, init)).status).toBe(502);
    // The re-sent proof is answered facilitator_unavailable: the server promises it never settles it.
    mode = "unavailable";
    await settle(payingFetch(url, init));
    // Well past the first proof's validBefore (60 s): it can never settle now. The facilitator is back.
    clock += 3_600_000;
    mode = "ok";
    const third = await settle(payingFetch(url, init));
    // Nothing ever left the wallet, yet the lifetime budget is still held by the dead proof.
    expect(isTollgateError(third, "CLIENT__BUDGET_EXHAUSTED")).toBe(false);
    expect((third as Response).status).toBe(200);
  });
});
