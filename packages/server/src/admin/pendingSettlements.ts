import { isTollgateError } from "@tollgate/shared";
import { withChainTimeout } from "../internal/deadline.js";
import type { ListedClaim, StoreAdmin } from "../store/store.js";
import { type ClaimKeyParts, claimKeyParts } from "../verify/facilitator/claimKeyParts.js";

/**
 * What the chain says of a claim in `pending_settlement` (a `/settle` whose answer was lost):
 * - `authorization_used`: the payer's EIP-3009 authorization was used on chain (settled, or cancelled by the
 *   payer: `authorizationState` cannot tell them apart; the paywall's settlement check reads the logs when the
 *   same proof comes back);
 * - `not_settled`: not used yet: the payer was not charged so far, but a facilitator holding it may still settle
 *   it until its `validBefore` (the claim's `expiresAt` is a minute after it);
 * - `unresolvable`: the chain cannot be asked with what the claim keeps (Solana), or no resolver for its network;
 * - `lookup_failed`: the chain was asked and did not answer.
 */
export type PendingSettlementResolution = Readonly<{
  status: "authorization_used" | "not_settled" | "unresolvable" | "lookup_failed";
  /** Why, in a sentence. */
  detail: string;
}>;

/**
 * Asks the chain about one pending settlement of its network, e.g. `createEvmPendingSettlementResolver` of
 * `@tollgate/server/evm`. Rejects only when the chain cannot be asked (then `lookup_failed`).
 */
export type PendingSettlementResolver = (
  parameters: Readonly<{ parts: ClaimKeyParts; claim: ListedClaim; nowSeconds: number }>,
) => Promise<PendingSettlementResolution>;

/** One pending settlement as the admin API lists it: never a proof or a token, only what the claim key names. */
export type PendingSettlement = Readonly<{
  key: string;
  network?: string;
  family?: "evm" | "svm";
  payer?: string;
  nonce?: string;
  /** Unix seconds: when the claim (and so the authorization) expires. */
  expiresAt?: number;
  resolution: PendingSettlementResolution;
}>;

const solanaUnresolvable: PendingSettlementResolution = {
  status: "unresolvable",
  detail:
    "a Solana claim keeps the hash of the transaction's message, not a signature: the transaction's id is its fee payer's signature, added by the facilitator, so the chain cannot be asked from the claim alone; the same proof sent again is checked by the paywall",
};

/** Lists the store's `pending_settlement` claims (at most `limit`) with what each one's chain says of it. */
export async function listPendingSettlements(
  parameters: Readonly<{
    store: StoreAdmin;
    limit: number;
    resolvers: Readonly<Record<string, PendingSettlementResolver>>;
    nowSeconds: number;
    /** Deadline of one chain look-up, in milliseconds. */
    timeoutMs: number;
  }>,
): Promise<Readonly<{ settlements: readonly PendingSettlement[]; complete: boolean }>> {
  const { store, limit, resolvers, nowSeconds, timeoutMs } = parameters;
  const listed = await store.listClaims({ state: "pending_settlement", limit });
  const settlements = await Promise.all(
    listed.claims.map(async (claim): Promise<PendingSettlement> => {
      const parts = claimKeyParts(claim.key);
      const named = {
        key: claim.key,
        ...(parts === undefined
          ? {}
          : {
              network: parts.network,
              family: parts.family,
              ...(parts.family === "evm" ? { payer: parts.payer, nonce: parts.nonce } : {}),
            }),
        ...(claim.expiresAt === undefined ? {} : { expiresAt: claim.expiresAt }),
      };
      if (parts === undefined) {
        return {
          ...named,
          resolution: { status: "unresolvable", detail: "not a facilitator-lane claim key" },
        };
      }
      if (parts.family === "svm") return { ...named, resolution: solanaUnresolvable };
      const resolve = resolvers[parts.network];
      if (resolve === undefined) {
        return {
          ...named,
          resolution: { status: "unresolvable", detail: `no resolver configured for ${parts.network}` },
        };
      }
      return { ...named, resolution: await resolveWithin({ resolve, parts, claim, nowSeconds, timeoutMs }) };
    }),
  );
  return { settlements, complete: listed.complete };
}

/** One resolver call, bounded by `timeoutMs`; a failure or a timeout is `lookup_failed` (never thrown). */
async function resolveWithin(
  parameters: Readonly<{
    resolve: PendingSettlementResolver;
    parts: ClaimKeyParts;
    claim: ListedClaim;
    nowSeconds: number;
    timeoutMs: number;
  }>,
): Promise<PendingSettlementResolution> {
  const { resolve, parts, claim, nowSeconds, timeoutMs } = parameters;
  try {
    return await withChainTimeout(() => resolve({ parts, claim, nowSeconds }), {
      network: parts.network,
      operation: "resolvePendingSettlement",
      timeoutMs,
    });
  } catch (error) {
    const code = isTollgateError(error, "CHAIN__TIMEOUT") ? "CHAIN__TIMEOUT" : "CHAIN__CALL_FAILED";
    return { status: "lookup_failed", detail: `${code}: the chain did not answer` };
  }
}
