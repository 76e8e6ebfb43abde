import {
  directBindingMessage,
  directChainSchema,
  type NetworkInfo,
  type NetworkRegistry,
} from "@tollgate/shared";
import { maxBigint } from "../../internal/bigint.js";
import { withHeaders } from "../../respond/paymentRequired.js";
import { takeClaim } from "../../store/claimLife.js";
import type { LaneContext, LaneOutcome } from "../laneContext.js";
import { issueToken, laneReceiptHeader, refundReason, tokenHash, tokenHeaders } from "../prepaidTokens.js";
import { reportedChainCall } from "../reportedChainCall.js";
import { transferClaimKey } from "../transferClaimKey.js";
import type { DirectChain, DirectTransaction } from "./directChain.js";

/** One chain of the direct lane, resolved by `createPaywall`. */
export type DirectNetworkSettings = Readonly<{
  network: NetworkInfo;
  chain: DirectChain;
  payTo: string;
  /** Token contract or mint accepted (the network's USDC unless configured). */
  asset: string;
  confirmations: number;
  maxAgeSeconds: number;
}>;

/**
 * How far (seconds) a direct transfer's claim outlives the last second the age check takes it: servers' clocks
 * and the chain's block times disagree by this much at most.
 */
export const directClaimSkewSeconds = 300;

/**
 * When a direct transfer's claim may be forgotten (Unix seconds): its block time plus `maxAgeSeconds`, after
 * which the age check refuses the transfer (`direct_tx_too_old`) whether it is claimed or not, plus
 * `directClaimSkewSeconds`.
 *
 * @example
 * ```ts
 * directClaimExpiry({ timestamp: 1_700_000_000, maxAgeSeconds: 604_800 }); // 1_700_605_100
 * ```
 */
export function directClaimExpiry(
  parameters: Readonly<{ timestamp: number; maxAgeSeconds: number }>,
): number {
  return parameters.timestamp + parameters.maxAgeSeconds + directClaimSkewSeconds;
}

/** The direct lane's settings, resolved by `createPaywall`. */
export type DirectLaneSettings = Readonly<{
  /** By CAIP-2 id. */
  networks: ReadonlyMap<string, DirectNetworkSettings>;
  registry: Pick<NetworkRegistry, "find">;
  /** The least transfer accepted, atomic USDC units. */
  minAmount: bigint;
  /** Origins a binding may name; `undefined`: the request's own origin. */
  origins: readonly string[] | undefined;
  lookupTimeoutMs: number;
  tokenTtlSeconds: number;
  retryAfterSeconds: number;
}>;

/**
 * The direct-transfer lane for one request (DESIGN §4): the transfer is read on chain and must be a success,
 * move the configured asset to the payee, have the confirmations, be younger than the maximum age and, unless
 * the route turns binding off, carry an `X-PAYMENT-TX-SIG` by its sender over
 * `tollgate-direct:<CAIP-2>:<tx>:<origin>`. Only transfers the sender submitted itself count: a transfer relayed
 * on the sender's signed authorization (an EIP-3009 `transferWithAuthorization`, a Solana transaction whose fee
 * payer is not the sender) is how a facilitator settles an x402 payment, and one transfer pays for one thing
 * (`direct_tx_relayed`). Only then is it claimed, until `directClaimExpiry` (past it the age check refuses it). A transfer below the price or
 * the minimum is credited in full as a prepaid token (402 `direct_amount_below_minimum`); the surplus over the
 * price becomes a token on the paid response.
 */
export async function directLane(
  ctx: LaneContext,
  proof: Readonly<{ tx: string | null; chain: string | null; signature: string | null }>,
  settings: DirectLaneSettings,
  bindingRequired: boolean,
): Promise<LaneOutcome> {
  const { store, offer, requestId } = ctx;
  const refuse = (
    reason: string,
    extra: { retryAfterSeconds?: number; headers?: Record<string, string>; status?: number } = {},
  ): LaneOutcome => ({ kind: "respond", response: ctx.refuse({ reason, lane: "direct", ...extra }) });

  const chainName = proof.chain?.trim() ?? "";
  const caip2 = directChainSchema.safeParse(chainName).success
    ? settings.registry.find(chainName)?.caip2
    : undefined;
  const net = caip2 === undefined ? undefined : settings.networks.get(caip2);
  if (net === undefined || !offer.direct.some((d) => d.network === net.network.caip2)) {
    return refuse("direct_chain_unsupported");
  }
  const tx = proof.tx?.trim() ?? "";
  if (!net.chain.isTransactionId(tx)) return refuse("direct_tx_malformed");
  const canonicalTx = net.chain.canonicalTransactionId(tx);
  const network = net.network.caip2;
  const claimKey = transferClaimKey({ network, family: net.network.family, transaction: canonicalTx });
  if ((await store.getClaim(claimKey)) !== undefined) return refuse("replayed_payment");
  const signature = proof.signature?.trim() || undefined;
  if (bindingRequired && signature === undefined) return refuse("direct_binding_missing");

  ctx.emit({ type: "proof_checked", route: ctx.route, lane: "direct", network });
  let found: DirectTransaction;
  try {
    found = await reportedChainCall(ctx, () => net.chain.getTransaction({ tx: canonicalTx }), {
      network,
      operation: "getTransaction",
      timeoutMs: settings.lookupTimeoutMs,
    });
  } catch (error) {
    ctx.emit({ type: "error", where: "direct.getTransaction", error });
    return refuse("internal_error", { status: 503, retryAfterSeconds: settings.retryAfterSeconds });
  }
  if (found.status === "not_found") {
    return refuse("direct_tx_not_found", { retryAfterSeconds: settings.retryAfterSeconds });
  }
  if (found.status === "failed") return refuse("direct_tx_failed");
  const toPayee = found.transfers.filter(
    (t) => net.chain.sameAddress(t.asset, net.asset) && net.chain.sameAddress(t.to, net.payTo),
  );
  if (toPayee.length === 0) return refuse("direct_no_qualifying_transfer");
  // A transfer someone else submitted on the sender's signature is a facilitator's settlement: it paid (or pays)
  // for a facilitator-lane request, here or on another server of this payee, so it never pays here too.
  const qualifying = toPayee.filter((t) => t.submittedBySender);
  if (qualifying.length === 0) return refuse("direct_tx_relayed");
  if (found.confirmations < net.confirmations) {
    return refuse("direct_insufficient_confirmations", { retryAfterSeconds: settings.retryAfterSeconds });
  }
  const nowSeconds = Math.floor(ctx.now() / 1000);
  if (nowSeconds - found.timestamp > net.maxAgeSeconds) return refuse("direct_tx_too_old");

  // The sender: the one whose binding signature verifies (or, without binding, the first sender).
  const senders = [...new Set(qualifying.map((t) => t.from))];
  let sender: string | undefined;
  if (signature === undefined) {
    sender = senders[0];
  } else {
    const origins = settings.origins ?? [new URL(ctx.request.url).origin];
    search: for (const origin of origins) {
      const message = directBindingMessage({ network, tx: canonicalTx, origin });
      for (const candidate of senders) {
        if (await net.chain.verifyBinding({ message, signature, signer: candidate })) {
          sender = candidate;
          break search;
        }
      }
    }
    if (sender === undefined) return refuse("direct_binding_invalid");
  }
  const from = sender as string;
  const amount = qualifying
    .filter((t) => net.chain.sameAddress(t.from, from))
    .reduce((sum, t) => sum + t.amount, 0n);

  ctx.emit({
    type: "verified",
    route: ctx.route,
    lane: "direct",
    network,
    durationMs: ctx.now() - ctx.receivedAt,
  });
  // Every check passed: claim the transfer while the age check would still take it (then it refuses it anyway).
  const claim = await takeClaim({
    store,
    key: claimKey,
    claim: {
      state: "settled",
      owner: requestId,
      proofHash: ctx.proofHash,
      ...(ctx.idempotencyKey === undefined ? {} : { idempotencyKey: ctx.idempotencyKey }),
    },
    expiresAt: directClaimExpiry({ timestamp: found.timestamp, maxAgeSeconds: net.maxAgeSeconds }),
  });
  if (!claim.claimed) return refuse("replayed_payment");

  const issue = (value: bigint) =>
    issueToken({ store, amount: value, nowSeconds, ttlSeconds: settings.tokenTtlSeconds }).then((token) => {
      ctx.emit({ type: "token_issued", route: ctx.route, amount: value, network });
      return token;
    });
  const required = maxBigint(offer.price, settings.minAmount);
  if (amount < required) {
    const token = await issue(amount);
    return refuse("direct_amount_below_minimum", { headers: tokenHeaders(token, token.token) });
  }
  const surplus = amount - offer.price;
  let token = surplus > 0n ? await issue(surplus) : undefined;
  const payment = {
    route: ctx.route,
    lane: "direct" as const,
    amount: offer.price,
    network,
    asset: net.asset,
    payer: from,
    transaction: canonicalTx,
  };
  ctx.emit({ type: "settled", ...payment, durationMs: ctx.now() - ctx.receivedAt });
  return {
    kind: "serve",
    lane: "direct",
    async finish(response: Response): Promise<Response> {
      if (ctx.settlement === "after" && response.status >= 400) {
        // Not charged: the price joins the token, so the transfer is never lost.
        if (token === undefined) token = await issue(offer.price);
        else {
          const balance = await store.credit({
            tokenHash: tokenHash(token.token),
            amount: offer.price,
            expiresAt: token.expiresAt,
          });
          token = { ...token, ...balance };
        }
        ctx.emit({
          type: "refunded",
          route: ctx.route,
          lane: "direct",
          amount: offer.price,
          network,
          reason: refundReason(response.status),
        });
        return withHeaders(response, tokenHeaders(token, token.token));
      }
      ctx.emit({ type: "paid", ...payment });
      return withHeaders(response, {
        ...(token === undefined ? {} : tokenHeaders(token, token.token)),
        ...laneReceiptHeader({
          lane: "direct",
          transaction: canonicalTx,
          network,
          amount: offer.price,
          payer: from,
        }),
      });
    },
  };
}
