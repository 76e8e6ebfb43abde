import { encodeHeaderJson, tokenHeaderNames, x402HeaderNames } from "@tollgate/shared";
import { newTokenSecret, sha256Hex } from "../internal/hash.js";
import type { Store, TokenBalance } from "../store/store.js";

/** A token just issued: the secret (shown to its holder once), its balance and expiry. */
export type IssuedToken = Readonly<{
  /** The `X-PAYMENT-TOKEN` value; the store keeps only its SHA-256. */
  token: string;
  balance: bigint;
  /** Unix seconds. */
  expiresAt: number;
}>;

/** The storage key of a token: the SHA-256 of its secret. */
export function tokenHash(token: string): string {
  return sha256Hex(token);
}

/** Headers that tell the holder a token's balance and expiry (and the token itself when `token` is given). */
export function tokenHeaders(balance: TokenBalance, token?: string): Record<string, string> {
  return {
    ...(token === undefined ? {} : { [tokenHeaderNames.token]: token }),
    [tokenHeaderNames.balance]: balance.balance.toString(),
    [tokenHeaderNames.expires]: String(balance.expiresAt),
  };
}

/** Issues a new token holding `amount` (atomic USDC units). */
export async function issueToken(
  parameters: Readonly<{ store: Store; amount: bigint; nowSeconds: number; ttlSeconds: number }>,
): Promise<IssuedToken> {
  const { store, amount, nowSeconds, ttlSeconds } = parameters;
  const token = newTokenSecret();
  const balance = await store.credit({
    tokenHash: tokenHash(token),
    amount,
    expiresAt: nowSeconds + ttlSeconds,
  });
  return { token, ...balance };
}

/** The v2-shaped receipt of a direct or token payment, with its lane. */
export function laneReceiptHeader(
  value: Readonly<{
    lane: "direct" | "token";
    transaction: string;
    network: string;
    amount: bigint;
    payer?: string;
  }>,
): Record<string, string> {
  const header = x402HeaderNames.paymentResponse;
  return {
    [header]: encodeHeaderJson({
      header,
      value: {
        success: true,
        ...(value.payer === undefined ? {} : { payer: value.payer }),
        transaction: value.transaction,
        network: value.network,
        amount: value.amount.toString(),
        lane: value.lane,
      },
    }),
  };
}

/**
 * Why a charge was given back, from the handler's status (a bounded set, for analytics): `handler_failed` for
 * 5xx, `client_closed_request` for 499, `handler_refused` for another 4xx.
 */
export function refundReason(status: number): "handler_failed" | "client_closed_request" | "handler_refused" {
  if (status >= 500) return "handler_failed";
  return status === 499 ? "client_closed_request" : "handler_refused";
}
