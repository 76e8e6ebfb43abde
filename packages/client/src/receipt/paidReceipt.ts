import type { LedgerEntry } from "../ledger/ledger.js";
import type { Receipt } from "./getReceipt.js";

/** Parameters of `paidReceipt`. */
export type PaidReceiptParameters = Readonly<{
  /** The proof that was answered. */
  entry: LedgerEntry;
  /** The receipt header of the answer (`receiptFromHeaders`), if it carried one. */
  header: Receipt | undefined;
  /** Whether the proof was recorded by an earlier attempt, or re-sent after `settlement_pending`. */
  reused: boolean;
}>;

/**
 * The receipt of a paid response: what left the wallet (a direct transfer may exceed the price; a token debit is what
 * the server reports) and where it went, with what the server's receipt header adds.
 */
export function paidReceipt(parameters: PaidReceiptParameters): Receipt {
  const { entry, header, reused } = parameters;
  const amount =
    entry.lane === "token" ? (header?.amount ?? BigInt(entry.offer.amount)) : BigInt(entry.offer.amount);
  return {
    lane: entry.lane,
    amount,
    network: entry.lane === "token" && header?.network ? header.network : entry.offer.network,
    asset: entry.offer.asset,
    payTo: entry.offer.payTo,
    ...(header?.payer ? { payer: header.payer } : {}),
    ...(header?.transaction ? { transaction: header.transaction } : {}),
    ...(header?.settle ? { settle: header.settle } : {}),
    reusedProof: reused,
  };
}
