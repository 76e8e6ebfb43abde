import type { Lane, PaymentReceipt } from "@tollgate/shared";
import { readSettleHeader } from "../parse/readOffers.js";

/**
 * What was paid for a response: the lane, the amount and where it went, and the server's decoded
 * `PAYMENT-RESPONSE` (or `X-PAYMENT-RESPONSE`) when it sent one.
 */
export type Receipt = Readonly<{
  lane: Lane;
  /** Atomic units that left (or will leave) the wallet. */
  amount?: bigint;
  /** CAIP-2 id of the network paid on. */
  network?: string;
  asset?: string;
  payTo?: string;
  /** The paying address, as the server reports it (else the wallet's). */
  payer?: string;
  /** The settlement transaction, as the server reports it. */
  transaction?: string;
  /** The decoded settle answer of the server. */
  settle?: PaymentReceipt;
  /** Whether this response answered a proof recorded by an earlier attempt (retry after a lost response). */
  reusedProof: boolean;
}>;

/**
 * Reads the receipt of a response from any x402 server: its decoded `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE`.
 * The paying fetch's own `getReceipt` also knows the lane, amount and offer it paid.
 *
 * @example
 * ```ts
 * import { receiptFromHeaders } from "@tollgate/client";
 * const receipt = receiptFromHeaders({ headers: response.headers });
 * console.log(receipt?.transaction);
 * ```
 */
export function receiptFromHeaders(parameters: Readonly<{ headers: Headers }>): Receipt | undefined {
  const settle = readSettleHeader(parameters.headers);
  if (settle === undefined) return undefined;
  return {
    lane: settle.lane ?? "facilitator",
    ...(settle.amount ? { amount: BigInt(settle.amount) } : {}),
    network: settle.network,
    ...(settle.payer ? { payer: settle.payer } : {}),
    ...(settle.transaction ? { transaction: settle.transaction } : {}),
    settle,
    reusedProof: false,
  };
}
