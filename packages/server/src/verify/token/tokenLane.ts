import { prepaidTokenSchema, tokenHeaderNames } from "@tollgate/shared";
import { withHeaders } from "../../respond/paymentRequired.js";
import type { LaneContext, LaneOutcome } from "../laneContext.js";
import { laneReceiptHeader, refundReason, tokenHash, tokenHeaders } from "../prepaidTokens.js";

/**
 * The prepaid-token lane for one request (DESIGN §1): an all-or-nothing debit of the price, keyed by token
 * hash + `Idempotency-Key` so a retried request is not debited twice, and never run twice on one debit (a debit
 * already made under the key is answered 409 `idempotency_response_not_kept`); with settlement `after`, a handler
 * answer of 400 or more gives this request's debit back.
 */
export async function tokenLane(ctx: LaneContext, token: string): Promise<LaneOutcome> {
  const { store, offer } = ctx;
  const refuse = (reason: string, headers: Record<string, string> = {}): LaneOutcome => ({
    kind: "respond",
    response: ctx.refuse({ reason, lane: "token", headers }),
  });
  if (!prepaidTokenSchema.safeParse(token).success) return refuse("token_unknown");
  const hash = tokenHash(token);
  const operationKey = ctx.idempotencyKey === undefined ? undefined : `${hash}:${ctx.idempotencyKey}`;
  const nowSeconds = Math.floor(ctx.now() / 1000);
  const debit = await store.debit({
    tokenHash: hash,
    amount: offer.price,
    nowSeconds,
    ...(operationKey === undefined ? {} : { operationKey }),
  });
  if (!debit.ok) {
    // Known and live, but short: its checks passed and the debit refused.
    if (debit.reason === "insufficient") ctx.emit({ type: "proof_checked", route: ctx.route, lane: "token" });
    const balance: Record<string, string> =
      debit.balance === undefined ? {} : { [tokenHeaderNames.balance]: debit.balance.toString() };
    const reason =
      debit.reason === "unknown"
        ? "token_unknown"
        : debit.reason === "expired"
          ? "token_expired"
          : "token_insufficient_balance";
    return refuse(reason, balance);
  }
  // One debit buys one handler run: a debit already made under this key paid for the run that made it. (The paywall
  // answers a retry of a finished key before the lane; this is the key's reservation that outlived its record.)
  if (debit.replayed) {
    return {
      kind: "respond",
      response: ctx.refuse({ reason: "idempotency_response_not_kept", status: 409, lane: "token" }),
    };
  }
  // The debit is the token's check, verification and settlement at once.
  const durationMs = ctx.now() - ctx.receivedAt;
  ctx.emit({ type: "proof_checked", route: ctx.route, lane: "token" });
  ctx.emit({ type: "verified", route: ctx.route, lane: "token", durationMs });
  ctx.emit({ type: "settled", route: ctx.route, lane: "token", amount: offer.price, durationMs });
  return {
    kind: "serve",
    lane: "token",
    async finish(response: Response): Promise<Response> {
      if (ctx.settlement === "after" && response.status >= 400) {
        const refunded = await store.refund({
          tokenHash: hash,
          amount: offer.price,
          ...(operationKey === undefined ? {} : { operationKey }),
        });
        ctx.emit({
          type: "refunded",
          route: ctx.route,
          lane: "token",
          amount: offer.price,
          reason: refundReason(response.status),
        });
        return refunded === undefined ? response : withHeaders(response, tokenHeaders(refunded));
      }
      ctx.emit({ type: "paid", route: ctx.route, lane: "token", amount: offer.price });
      return withHeaders(response, {
        ...tokenHeaders(debit),
        ...laneReceiptHeader({ lane: "token", transaction: "", network: "", amount: offer.price }),
      });
    },
  };
}
