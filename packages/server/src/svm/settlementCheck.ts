import { type Connection, PublicKey, VersionedTransaction } from "@solana/web3.js";
import { encodeBase58, exactSvmPayloadSchema } from "@tollgate/shared";
import type { SettlementCheck } from "../verify/facilitator/facilitatorLane.js";
import { verifyEd25519 } from "./ed25519.js";

/** Parameters of `createSvmSettlementCheck`. */
export type CreateSvmSettlementCheckParameters = Readonly<{
  /** A `@solana/web3.js` connection to the cluster (`getSignaturesForAddress` and `getTransaction` are called). */
  connection: Pick<Connection, "getSignaturesForAddress" | "getTransaction">;
  /**
   * The commitment the settlement must have reached.
   * @default "confirmed"
   */
  commitment?: "confirmed" | "finalized";
  /**
   * How many of the payer's latest transactions to look through. The check runs right after the lost answer,
   * when the settlement is among the newest.
   * @default 25
   */
  searchDepth?: number;
}>;

/** The payer's signature of an `exact` Solana payload: the first non-empty signature after the fee payer's. */
function payerSignature(
  payload: Readonly<Record<string, unknown>>,
): { signer: string; signature: string } | undefined {
  const parsed = exactSvmPayloadSchema.safeParse(payload);
  if (!parsed.success) return undefined;
  let transaction: VersionedTransaction;
  try {
    transaction = VersionedTransaction.deserialize(Buffer.from(parsed.data.transaction, "base64"));
  } catch {
    return undefined;
  }
  const keys = transaction.message.staticAccountKeys;
  const message = transaction.message.serialize();
  for (let i = 1; i < transaction.signatures.length; i++) {
    const signature = transaction.signatures[i];
    const signer = keys[i];
    if (signature === undefined || signer === undefined || signature.every((byte) => byte === 0)) continue;
    // Only a signature over this very message identifies it: one copied from another transaction would not.
    if (!verifyEd25519(signer.toBytes(), message, signature)) return undefined;
    return { signer: signer.toBase58(), signature: encodeBase58(signature) };
  }
  return undefined;
}

/**
 * A paywall settlement check for Solana: after a `/settle` whose answer was lost, looks for the payment among
 * the payer's latest transactions. The facilitator adds its fee-payer signature, which becomes the transaction's
 * id, so the check matches on the payer's own signature instead: it covers the whole message, so a landed
 * transaction carrying it is this payment. `true` only when it landed without error at the commitment. Pass it
 * to `createPaywall`'s `settlementChecks` under the network's CAIP-2 id.
 *
 * @example
 * ```ts
 * import { Connection } from "@solana/web3.js";
 * import { createSvmSettlementCheck } from "@tollgate/server/svm";
 * const check = createSvmSettlementCheck({ connection: new Connection(rpcUrl, "confirmed") });
 * createPaywall({ …, settlementChecks: { "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp": check } });
 * ```
 */
export function createSvmSettlementCheck(parameters: CreateSvmSettlementCheckParameters): SettlementCheck {
  const { connection, commitment = "confirmed", searchDepth = 25 } = parameters;
  return async ({ payload }) => {
    const payer = payerSignature(payload);
    if (payer === undefined) return false;
    const recent = await connection.getSignaturesForAddress(
      new PublicKey(payer.signer),
      { limit: searchDepth },
      commitment,
    );
    for (const entry of recent) {
      if (entry.err !== null) continue;
      const landed = await connection.getTransaction(entry.signature, {
        commitment,
        maxSupportedTransactionVersion: 0,
      });
      if (landed?.meta?.err === null && landed.transaction.signatures.includes(payer.signature)) return true;
    }
    return false;
  };
}
