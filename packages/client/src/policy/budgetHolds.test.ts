import { describe, expect, it } from "vitest";
import type { LedgerEntry } from "../ledger/ledger.js";
import { createProofBook } from "../ledger/proofLife.js";
import type { ExactProofState, PayingWallet } from "../wallet.js";
import { createBudgetHolds } from "./budgetHolds.js";
import { type BudgetStore, budgetBuckets } from "./budgetStore.js";
import type { Budget } from "./budgets.js";
import { createMemoryBudgetStore } from "./memoryBudgetStore.js";

const origin = "http://127.0.0.1:8080";
const budgets: readonly Budget[] = [
  { limit: 30n, window: "total" },
  { limit: 25n, window: "hour", perOrigin: true },
];

function entry(holdId: string | undefined, amount: bigint): LedgerEntry {
  return {
    key: "idem:order-1",
    idempotencyKey: "order-1",
    state: "pending",
    url: `${origin}/r`,
    method: "GET",
    lane: "facilitator",
    proof: { name: "PAYMENT-SIGNATURE", value: "x" },
    offer: { network: "eip155:84532", asset: "0xa", payTo: "0xb", amount: amount.toString() },
    claim: "0xnonce",
    validBefore: 10,
    laneData: { payer: "0xpayer" },
    ...(holdId === undefined ? {} : { holdId }),
    createdAt: 0,
    updatedAt: 0,
  };
}

const used = (store: BudgetStore, at: number) =>
  store.used({ buckets: budgetBuckets({ budgets, origin }), at });

describe("createBudgetHolds over a shared store", () => {
  it("a crashed process's hold keeps counting, until another process proves its proof dead and releases it", async () => {
    const store = createMemoryBudgetStore();
    let clock = 0;
    const now = () => clock;
    // Process A reserves, records its proof (with the hold's id) and dies before any answer.
    const a = createBudgetHolds({ budgets, now, store });
    const reservation = await a.reserve(20n, origin);
    if (!("hold" in reservation)) throw new Error("room expected");
    const recorded = entry(reservation.hold.id, 20n);
    expect(await used(store, clock)).toEqual([20n, 20n]);

    // Process B sees A's hold: only 10 (total) and 5 (this origin's hour) are left.
    const b = createBudgetHolds({ budgets, now, store });
    expect(await b.reserve(6n, origin)).toEqual({ violation: { budget: "hour/origin", remaining: 5n } });

    // B re-sends A's proof; the server refuses it; the chain later says it can never settle.
    const chain: { now: ExactProofState } = { now: "live" };
    const wallet: PayingWallet = {
      family: "evm",
      address: "0xpayer",
      checkExactProof: async () => chain.now,
    };
    const proofs = createProofBook({ budgets: b, wallets: [wallet], now });
    proofs.track({ entry: recorded, hold: b.holdOf(recorded), wallet: undefined });
    proofs.refused(recorded);
    clock = 11_000;
    await proofs.settleDoubts(undefined);
    expect(await used(store, clock)).toEqual([20n, 20n]); // still live on chain: still counted
    chain.now = "dead";
    clock = 20_000;
    await proofs.settleDoubts(undefined);
    await new Promise((resolve) => setTimeout(resolve, 0)); // the release is written in the background
    expect(await used(store, clock)).toEqual([0n, 0n]);
  });

  it("a release the store fails keeps the hold counting, and is tried again before the next reservation", async () => {
    const inner = createMemoryBudgetStore();
    let failing = true;
    const store: BudgetStore = {
      ...inner,
      release: async (parameters) => {
        if (failing) throw new Error("store down");
        return inner.release(parameters);
      },
    };
    const holds = createBudgetHolds({ budgets, now: () => 0, store });
    const first = await holds.reserve(20n, origin);
    if (!("hold" in first)) throw new Error("room expected");
    holds.release(first.hold);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await used(inner, 0)).toEqual([20n, 20n]);
    failing = false;
    // The retried release lands in the background; the reservation after it finds the room.
    await holds.reserve(1n, origin);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await used(inner, 0)).toEqual([1n, 1n]);
  });

  it("holds nothing in the store when no budget applies to the origin", async () => {
    const store = createMemoryBudgetStore();
    const holds = createBudgetHolds({
      budgets: [{ limit: 1n, window: "total", origins: ["https://api.example.com"] }],
      now: () => 0,
      store,
    });
    const reservation = await holds.reserve(1_000n, origin);
    expect("hold" in reservation && reservation.hold.id).toBe(undefined);
  });
});
