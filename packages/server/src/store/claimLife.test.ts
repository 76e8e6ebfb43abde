import { isTollgateError } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import {
  type ClaimTransition,
  type ClaimTransitionName,
  claimTransitions,
  type MoveClaimParameters,
  moveClaim,
  nextStepForExistingClaim,
  releaseClaim,
  takeClaim,
} from "./claimLife.js";
import { createMemoryStore } from "./memory.js";
import type { Claim, ClaimState } from "./store.js";

const states: readonly ClaimState[] = ["pending", "pending_settlement", "settled", "dead"];
const start = 1_900_000_000_000;

/** A memory store on a clock the test moves, holding one claim of `owner` with proof "p" in `state`. */
async function storeWith(state: ClaimState) {
  let clock = start;
  const store = createMemoryStore({ now: () => clock });
  await store.claim({ key: "k", claim: { state, owner: "a", proofHash: "p" } });
  return { store, later: (seconds: number) => (clock += seconds * 1000) };
}

/** Asks for move `name` as request `owner` presenting proof `proofHash` (stale after 120 s). */
const ask = (
  store: MoveClaimParameters["store"],
  name: ClaimTransitionName,
  owner: string,
  proofHash = "p",
) =>
  moveClaim({
    store,
    key: "k",
    transition: name,
    owner,
    proofHash,
    staleClaimSeconds: 120,
  } as MoveClaimParameters);

describe("the claim state machine", () => {
  it.each(Object.keys(claimTransitions) as ClaimTransitionName[])(
    "%s moves a claim only from its listed states, and only for whom it names",
    async (name) => {
      const transition: ClaimTransition = claimTransitions[name];
      for (const state of states) {
        const { store, later } = await storeWith(state);
        later(120);
        const listed = transition.from.includes(state);
        // Someone else: another owner with another proof never moves it.
        expect(await ask(store, name, "b", "q")).toBe(false);
        if (transition.by === "owner") {
          expect(await ask(store, name, "b", "p")).toBe(false);
          expect(await ask(store, name, "a", "q")).toBe(listed);
        } else {
          expect(await ask(store, name, "b", "p")).toBe(listed);
        }
        const after = await store.getClaim("k");
        expect(after?.state).toBe(listed ? transition.to : state);
        expect(after?.owner).toBe(listed && transition.by === "same_proof" ? "b" : "a");
      }
    },
  );

  it("takes over a pending claim only once it has not moved for staleClaimSeconds", async () => {
    const { store, later } = await storeWith("pending");
    later(119);
    expect(await ask(store, "takeOverStale", "b")).toBe(false);
    later(1);
    expect(await ask(store, "takeOverStale", "b")).toBe(true);
    // Taken over: fresh again for the next one; a hold by the new owner restarts the clock.
    later(119);
    expect(await ask(store, "hold", "b")).toBe(true);
    later(119);
    expect(await ask(store, "takeOverStale", "c")).toBe(false);
    later(1);
    expect(await ask(store, "takeOverStale", "c")).toBe(true);
    expect(await ask(store, "hold", "b")).toBe(false);
    expect(await store.getClaim("k")).toMatchObject({ state: "pending", owner: "c" });
  });

  it("releases only a pending claim of its owner", async () => {
    for (const state of states) {
      const { store } = await storeWith(state);
      await releaseClaim({ store, key: "k", owner: "b" });
      expect(await store.getClaim("k")).toBeDefined();
      await releaseClaim({ store, key: "k", owner: "a" });
      expect(await store.getClaim("k")).toEqual(
        state === "pending" ? undefined : expect.objectContaining({ state }),
      );
    }
  });

  it("refuses a move that is not in the table, a stale takeover without staleClaimSeconds, and a bad start state", async () => {
    const { store } = await storeWith("pending");
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return isTollgateError(error, "SERVER__ILLEGAL_CLAIM_TRANSITION")
          ? error.context.transition
          : "other";
      }
      return "none";
    };
    const illegal = (parameters: unknown) => () => moveClaim(parameters as MoveClaimParameters);
    expect(code(illegal({ store, key: "k", transition: "revive", owner: "a" }))).toBe("revive");
    expect(code(illegal({ store, key: "k", transition: "toString", owner: "a" }))).toBe("toString");
    expect(code(illegal({ store, key: "k", transition: "takeOverStale", owner: "a", proofHash: "p" }))).toBe(
      "takeOverStale",
    );
    expect(
      code(
        illegal({
          store,
          key: "k",
          transition: "takeOverStale",
          owner: "a",
          proofHash: "p",
          staleClaimSeconds: 0,
        }),
      ),
    ).toBe("takeOverStale");
    expect(code(illegal({ store, key: "k", transition: "resume", owner: "a" }))).toBe("resume");
    const dead = { state: "dead", owner: "a", proofHash: "p" } as unknown as Parameters<
      typeof takeClaim
    >[0]["claim"];
    expect(code(() => takeClaim({ store, key: "x", claim: dead }))).toBe("start:dead");
    expect(await store.getClaim("x")).toBeUndefined();
    expect(await store.getClaim("k")).toMatchObject({ state: "pending", owner: "a" });
  });

  it("reads a found claim the same way for every lane", () => {
    const claim = (state: ClaimState, extra: Partial<Claim> = {}): Claim => ({
      state,
      owner: "a",
      proofHash: "p",
      idempotencyKey: "ik",
      movedAt: 0,
      ...extra,
    });
    const next = (existing: Claim, proofHash = "p", idempotencyKey?: string) =>
      nextStepForExistingClaim({ existing, proofHash, ...(idempotencyKey ? { idempotencyKey } : {}) });
    expect(next(claim("dead"))).toEqual({ step: "refuse", refusal: "dead" });
    expect(next(claim("dead"), "q")).toEqual({ step: "refuse", refusal: "dead" });
    expect(next(claim("settled"))).toEqual({ step: "refuse", refusal: "replayed" });
    expect(next(claim("pending_settlement"))).toEqual({ step: "resume" });
    expect(next(claim("pending_settlement"), "q")).toEqual({ step: "refuse", refusal: "replayed" });
    expect(next(claim("pending"))).toEqual({ step: "take_over_if_stale", otherwise: "replayed" });
    expect(next(claim("pending"), "p", "ik")).toEqual({ step: "take_over_if_stale", otherwise: "in_flight" });
    expect(next(claim("pending"), "q", "ik")).toEqual({ step: "refuse", refusal: "in_flight" });
    expect(next(claim("pending"), "q")).toEqual({ step: "refuse", refusal: "replayed" });
  });
});
