import { describe, expect, it } from "vitest";
import { createBudgetTracker } from "../policy/budgets.js";
import type { ExactProofState, PayingWallet } from "../wallet.js";
import type { LedgerEntry } from "./ledger.js";
import { createProofBook, proofTransitions } from "./proofLife.js";

function entry(key: string, claim: string, amount: bigint, validBefore = 1_000): LedgerEntry {
  return {
    key,
    idempotencyKey: "k",
    state: "pending",
    url: "http://127.0.0.1/r",
    method: "GET",
    lane: "facilitator",
    proof: { name: "PAYMENT-SIGNATURE", value: "x" },
    offer: { network: "eip155:84532", asset: "0xa", payTo: "0xb", amount: amount.toString() },
    claim,
    validBefore,
    laneData: { payer: "0xpayer" },
    createdAt: 0,
    updatedAt: 0,
  };
}

/** A wallet whose chain answers `state` for every proof. */
function chainWallet(state: { now: ExactProofState }): PayingWallet {
  return {
    family: "evm",
    address: "0xpayer",
    checkExactProof: async () => state.now,
  };
}

function setup(wallet: PayingWallet | undefined) {
  let clock = 0;
  const budgets = createBudgetTracker({ budgets: [{ limit: 30n, window: "total" }], now: () => clock });
  const proofs = createProofBook({ budgets, wallets: wallet ? [wallet] : [], now: () => clock });
  const pay = (e: LedgerEntry) => {
    const reserved = budgets.reserve(BigInt(e.offer.amount), "http://127.0.0.1");
    if (!("hold" in reserved)) throw new Error("no room");
    proofs.track({ entry: e, hold: reserved.hold, wallet });
  };
  return { budgets, proofs, pay, advance: (ms: number) => (clock += ms) };
}

describe("the proof-life book", () => {
  it("spent and dead are final", () => {
    expect(proofTransitions.spent).toEqual([]);
    expect(proofTransitions.dead).toEqual([]);
    expect(proofTransitions.doubtful).not.toContain("pending");
  });

  it("a served proof of one copy of a request leaves the other copies' live proofs committed to it", () => {
    const { proofs, pay } = setup(undefined);
    const served = entry("r", "copy-a", 10n);
    const refused = entry("r", "copy-b", 1n);
    const broken = entry("r", "copy-c", 5n);
    pay(served);
    pay(refused);
    pay(broken);
    proofs.refused(refused);
    proofs.served(served);
    // The served purchase is over; the refused authorization (doubtful) and the pending proof can still settle.
    expect(proofs.stateOf(served)).toBeUndefined();
    expect(proofs.stateOf(refused)).toBe("doubtful");
    expect(proofs.committed("r")).toBe(6n);
    proofs.served(broken);
    expect(proofs.committed("r")).toBe(1n);
  });

  it("a refused proof stays committed to its request and on the budget until the chain says it is dead", async () => {
    const chain = { now: "live" as ExactProofState };
    const { budgets, proofs, pay, advance } = setup(chainWallet(chain));
    const first = entry("r", "n1", 20n);
    pay(first);
    proofs.refused(first);
    expect(proofs.stateOf(first)).toBe("doubtful");
    expect(proofs.committed("r")).toBe(20n);
    expect(budgets.check(20n, "http://127.0.0.1")).toBeDefined();
    // Before its validBefore the chain is not even asked.
    chain.now = "dead";
    await proofs.settleDoubts(undefined);
    expect(proofs.stateOf(first)).toBe("doubtful");
    advance(1_000_000);
    await proofs.settleDoubts(undefined);
    expect(proofs.stateOf(first)).toBe("dead");
    expect(proofs.committed("r")).toBe(0n);
    expect(budgets.check(30n, "http://127.0.0.1")).toBeUndefined();
  });

  it("a refused proof the chain finds settled keeps counting, in its request and the budget", async () => {
    const { budgets, proofs, pay, advance } = setup(chainWallet({ now: "settled" }));
    const first = entry("r", "n1", 20n);
    pay(first);
    proofs.refused(first);
    advance(1_000_000);
    await proofs.settleDoubts(undefined);
    expect(proofs.stateOf(first)).toBe("spent");
    expect(proofs.committed("r")).toBe(20n);
    expect(budgets.check(20n, "http://127.0.0.1")).toBeDefined();
  });

  it("without chain access a refused proof never stops counting", async () => {
    const { budgets, proofs, pay, advance } = setup(undefined);
    const first = entry("r", "n1", 20n);
    pay(first);
    proofs.refused(first);
    advance(10_000_000_000);
    await proofs.settleDoubts(undefined);
    expect(proofs.committed("r")).toBe(20n);
    expect(budgets.check(20n, "http://127.0.0.1")).toBeDefined();
  });

  it("a proof that never left is dead at once; a served one closes its request but keeps its hold", () => {
    const { budgets, proofs, pay } = setup(undefined);
    const never = entry("a", "n1", 20n);
    pay(never);
    proofs.dead(never);
    expect(budgets.check(30n, "http://127.0.0.1")).toBeUndefined();
    const paid = entry("b", "n2", 20n);
    pay(paid);
    proofs.served(paid);
    expect(proofs.committed("b")).toBe(0n);
    expect(budgets.check(20n, "http://127.0.0.1")).toBeDefined();
    // Nothing revives it.
    proofs.dead(paid);
    expect(budgets.check(20n, "http://127.0.0.1")).toBeDefined();
  });

  it("a spent proof that bought nothing keeps counting against its request, with the request's other proofs, for the block window", () => {
    const { budgets, proofs, pay, advance } = setup(undefined);
    const refused = entry("r", "n1", 10n);
    pay(refused);
    proofs.refused(refused);
    const used = entry("r", "n2", 10n);
    pay(used);
    proofs.spent(used);
    expect(proofs.stateOf(used)).toBe("spent");
    expect(proofs.committed("r")).toBe(20n);
    // Re-sent later and called refused: a spent proof is not revived as doubtful, and still counts.
    proofs.track({ entry: used, hold: undefined, wallet: undefined });
    proofs.refused(used);
    expect(proofs.stateOf(used)).toBe("spent");
    expect(proofs.committed("r")).toBe(20n);
    // After the window the request may pay anew: only the doubtful proof still counts against it; the budget
    // still counts both.
    advance(3_600_000);
    expect(proofs.committed("r")).toBe(10n);
    expect(budgets.check(20n, "http://127.0.0.1")).toBeDefined();
  });
});
