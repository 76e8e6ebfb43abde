// A direct transfer above the price returns a prepaid token (X-PAYMENT-TOKEN) on the paid response. With an
// Idempotency-Key the paywall keeps that response in the store; a token lives there only as its SHA-256
// (DESIGN §1), so the kept copy must not carry the secret: whoever reads the store could spend it.
// (The chain is a DirectChain value injected through the public options; no module of ours is mocked.)
import { tokenHeaderNames } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { createPaywall } from "../paywall.js";
import { createMemoryStore } from "../store/memory.js";
import type { Store, StoredResponse } from "../store/store.js";
import type { DirectChain } from "../verify/direct/directChain.js";

const payTo = "0x212Db1704a065a95D9ec34846fDA4b322B263b0d";
const usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"; // base-sepolia USDC in the registry
const tx = `0x${"ab".repeat(32)}`;

/** A chain on which `tx` paid $1 USDC to the payee, long confirmed. */
const chain: DirectChain = {
  network: "eip155:84532",
  isTransactionId: (t) => /^0x[0-9a-fA-F]{64}$/.test(t),
  canonicalTransactionId: (t) => t.toLowerCase(),
  getTransaction: async () => ({
    status: "success",
    transfers: [
      {
        asset: usdc,
        from: "0x1111111111111111111111111111111111111111",
        to: payTo,
        amount: 1_000_000n,
        submittedBySender: true,
      },
    ],
    confirmations: 10,
    timestamp: Math.floor(Date.now() / 1000) - 60,
  }),
  verifyBinding: async () => false,
  sameAddress: (a, b) => a.toLowerCase() === b.toLowerCase(),
};

describe("a kept idempotent response with a surplus token", () => {
  it("is never written to the store in clear, also not inside a kept idempotent response", async () => {
    const memory = createMemoryStore();
    const kept: StoredResponse[] = [];
    const store: Store = {
      ...memory,
      finishResponse: async (parameters) => {
        if (parameters.record.state === "kept") kept.push(parameters.record.response);
        return memory.finishResponse(parameters);
      },
    };
    const paywall = createPaywall({
      routes: { "GET /paid": { price: "$0.01", bindingRequired: false } },
      direct: { networks: [{ chain, payTo }], minAmount: "$0.01" },
      store,
    });
    const app = paywall.fetch(() => Response.json({ content: "paid" }));
    const request = () =>
      new Request("http://api.test/paid", {
        headers: { "x-payment-tx": tx, "x-payment-chain": "base-sepolia", "idempotency-key": "order-1" },
      });
    const response = await app(request());
    expect(response.status).toBe(200);
    const secret = response.headers.get(tokenHeaderNames.token);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(kept).toHaveLength(1);
    const storedValues = kept.flatMap((r) => r.headers.map(([, value]) => value));
    expect(storedValues).not.toContain(secret);

    // The replay carries the balance, not the secret.
    expect(response.headers.get(tokenHeaderNames.balance)).toMatch(/^[0-9]+$/);
    const replay = await app(request());
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.headers.get(tokenHeaderNames.token)).toBeNull();
    expect(replay.headers.get(tokenHeaderNames.balance)).toBe(response.headers.get(tokenHeaderNames.balance));
  });
});
