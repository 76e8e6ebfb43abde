import { TollgateError } from "@tollgate/shared";
import type { Claim, ClaimResult, ClaimState, NewClaim, Store } from "./store.js";

/** One named move of a claim: the states it leaves, the state it reaches, and who may ask for it. */
export type ClaimTransition = Readonly<{
  from: readonly ClaimState[];
  to: ClaimState;
  /**
   * `owner`: only the request that holds the claim; `same_proof`: a request presenting the same proof (same
   * `proofHash`), which becomes the owner.
   */
  by: "owner" | "same_proof";
  /** Only a claim nobody moved for the paywall's `staleClaimSeconds` (its process died). */
  stale?: true;
}>;

/**
 * THE claim / settlement state machine: every move a lane may ask of a claim, by name. A claim starts as
 * `pending` (a facilitator-lane proof being verified and settled) or `settled` (a direct transfer checked on
 * chain, a facilitator settlement's transaction); `releaseClaim` deletes a `pending` claim whose proof provably
 * stayed unspent. Anything else is illegal: `moveClaim` cannot be asked for it.
 *
 * | name | from | to | by |
 * |---|---|---|---|
 * | `settle` | pending | settled | owner |
 * | `awaitSettlement` | pending | pending_settlement | owner |
 * | `markDead` | pending | dead | owner |
 * | `hold` | pending | pending (refreshes `movedAt`) | owner |
 * | `resume` | pending_settlement | pending | same proof |
 * | `takeOverStale` | pending, unmoved for `staleClaimSeconds` | pending | same proof |
 * | release (`releaseClaim`) | pending | deleted | owner |
 *
 * `settled` and `dead` are final: the claim stays until it expires.
 */
export const claimTransitions = {
  /** The money moved: the proof is spent. */
  settle: { from: ["pending"], to: "settled", by: "owner" },
  /** A `/settle` may have reached a facilitator and its answer was lost: a retry of the proof may resume it. */
  awaitSettlement: { from: ["pending"], to: "pending_settlement", by: "owner" },
  /** The proof was never sent to `/settle` and never will be (every facilitator was unavailable). */
  markDead: { from: ["pending"], to: "dead", by: "owner" },
  /** The owner still works on the claim (before a `/settle` after a long handler): proves it still holds it. */
  hold: { from: ["pending"], to: "pending", by: "owner" },
  /** A retry of the same proof takes over a settlement whose answer was lost, to resolve it. */
  resume: { from: ["pending_settlement"], to: "pending", by: "same_proof" },
  /**
   * A retry of the same proof takes over a `pending` claim nobody moved for `staleClaimSeconds`: its process
   * died, maybe while its `/settle` was in flight, so it is resolved as a `pending_settlement` is.
   */
  takeOverStale: { from: ["pending"], to: "pending", by: "same_proof", stale: true },
} as const satisfies Record<string, ClaimTransition>;

/** The name of a legal move of a claim. */
export type ClaimTransitionName = keyof typeof claimTransitions;

/** The states a claim may start in. */
const startStates: readonly ClaimState[] = ["pending", "settled"];

/** The states a claim may be released (deleted) from. */
const releasableStates: readonly ClaimState[] = ["pending"];

/** Parameters of `moveClaim`: each move with the conditions it needs. */
export type MoveClaimParameters = Readonly<{ store: Store; key: string }> &
  (
    | Readonly<{ transition: "settle" | "awaitSettlement" | "markDead" | "hold"; owner: string }>
    | Readonly<{ transition: "resume"; owner: string; proofHash: string }>
    | Readonly<{ transition: "takeOverStale"; owner: string; proofHash: string; staleClaimSeconds: number }>
  );

/**
 * Asks the store for one named move of a claim (`claimTransitions`), as one atomic compare-and-set; answers
 * whether it moved (`false`: the claim is not in a state the move leaves, or not this owner's or proof's, or not
 * stale yet). A takeover (`resume`, `takeOverStale`) makes `owner` the claim's owner: of any number of
 * concurrent takeovers exactly one wins.
 *
 * @example
 * ```ts
 * import { moveClaim } from "./claimLife.js";
 * if (await moveClaim({ store, key, transition: "takeOverStale", owner: requestId, proofHash, staleClaimSeconds: 120 }))
 *   resolveAsPendingSettlement();
 * ```
 * @throws `SERVER__ILLEGAL_CLAIM_TRANSITION` for a move not in the table (a caller that got past the types).
 * @throws `SERVER__STORE_FAILED` from the store.
 */
export function moveClaim(parameters: MoveClaimParameters): Promise<boolean> {
  const { store, key, transition: name } = parameters;
  const transition: ClaimTransition | undefined = Object.hasOwn(claimTransitions, name)
    ? claimTransitions[name]
    : undefined;
  if (transition === undefined) throw illegal(String(name));
  const staleSeconds = parameters.transition === "takeOverStale" ? parameters.staleClaimSeconds : undefined;
  if (transition.stale === true && !(Number.isSafeInteger(staleSeconds) && (staleSeconds ?? 0) > 0))
    throw illegal(name);
  const { from, to } = transition;
  if (transition.by === "owner") return store.transitionClaim({ key, from, to, owner: parameters.owner });
  const proofHash = "proofHash" in parameters ? parameters.proofHash : undefined;
  if (proofHash === undefined) throw illegal(name);
  return store.transitionClaim({
    key,
    from,
    to,
    proofHash,
    newOwner: parameters.owner,
    ...(staleSeconds === undefined ? {} : { unmovedForSeconds: staleSeconds }),
  });
}

/** Parameters of `takeClaim`. */
export type TakeClaimParameters = Readonly<{
  store: Store;
  key: string;
  claim: NewClaim & Readonly<{ state: "pending" | "settled" }>;
  /** Unix seconds; without it the claim is permanent. */
  expiresAt?: number;
}>;

/**
 * Claims a proof or transaction in a state a claim may start in: `pending` (being verified and settled) or
 * `settled` (already spent on chain).
 * @throws `SERVER__ILLEGAL_CLAIM_TRANSITION` for another start state.
 * @throws `SERVER__STORE_FAILED` / `SERVER__STORE_FULL` from the store.
 */
export function takeClaim(parameters: TakeClaimParameters): Promise<ClaimResult> {
  const { store, key, claim, expiresAt } = parameters;
  if (!startStates.includes(claim.state)) throw illegal(`start:${claim.state}`);
  return store.claim({ key, claim, ...(expiresAt === undefined ? {} : { expiresAt }) });
}

/**
 * Deletes the owner's `pending` claim: its proof provably stayed unspent, so it may be presented again. A claim
 * in any other state stays.
 * @throws `SERVER__STORE_FAILED` from the store.
 */
export function releaseClaim(
  parameters: Readonly<{ store: Store; key: string; owner: string }>,
): Promise<void> {
  const { store, key, owner } = parameters;
  return store.releaseClaim({ key, owner, from: releasableStates });
}

/** How a request refuses when its proof is held by another request: 402 with this reason. */
export type ClaimRefusal =
  /** The proof was never settled and never will be: `facilitator_unavailable`. */
  | "dead"
  /** The same request (`Idempotency-Key`) still runs: `settlement_pending`, retry in a second. */
  | "in_flight"
  /** Spent, or held by another proof: `replayed_payment`. */
  | "replayed";

/** What a request that found its proof claimed already does next. */
export type ExistingClaimStep =
  | Readonly<{ step: "refuse"; refusal: ClaimRefusal }>
  /** Take the lost settlement over (`resume`) and resolve it. */
  | Readonly<{ step: "resume" }>
  /** Try to take a stale `pending` claim over (`takeOverStale`) and resolve it; when it is not stale, refuse. */
  | Readonly<{ step: "take_over_if_stale"; otherwise: ClaimRefusal }>;

/**
 * What to do with a claim found on the key of a presented proof: the one reading of the state machine every
 * lane shares. Only a retry of the same proof (same `proofHash`) may take a claim over.
 *
 * @example
 * ```ts
 * const next = nextStepForExistingClaim({ existing, proofHash, idempotencyKey });
 * if (next.step === "resume") await moveClaim({ store, key, transition: "resume", owner, proofHash });
 * ```
 */
export function nextStepForExistingClaim(
  parameters: Readonly<{ existing: Claim; proofHash: string; idempotencyKey?: string }>,
): ExistingClaimStep {
  const { existing, proofHash, idempotencyKey } = parameters;
  if (existing.state === "dead") return { step: "refuse", refusal: "dead" };
  const sameProof = existing.proofHash === proofHash;
  if (existing.state === "pending_settlement" && sameProof) return { step: "resume" };
  if (existing.state !== "pending") return { step: "refuse", refusal: "replayed" };
  const sameRequest = idempotencyKey !== undefined && existing.idempotencyKey === idempotencyKey;
  const otherwise: ClaimRefusal = sameRequest ? "in_flight" : "replayed";
  return sameProof ? { step: "take_over_if_stale", otherwise } : { step: "refuse", refusal: otherwise };
}

function illegal(transition: string): TollgateError {
  return new TollgateError("SERVER__ILLEGAL_CLAIM_TRANSITION", { context: { transition } });
}
