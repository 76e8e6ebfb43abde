import { createHash } from "node:crypto";
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { VersionedTransaction } from "@solana/web3.js";
import { settleResponseSchema } from "@tollgate/shared";
import type { SolanaBank } from "../svm/solanaBank.js";
import type { SettleOutcome } from "./settleAuthorization.js";

const tokenPrograms = new Set([TOKEN_PROGRAM_ID.toBase58(), TOKEN_2022_PROGRAM_ID.toBase58()]);
/** The SPL Token instruction tag of `TransferChecked`. */
const transferCheckedTag = 12;

/** A partially signed Solana `exact` payment a hostile server received. */
export type SvmProof = Readonly<{
  transaction: VersionedTransaction;
  /** The owner of the source token account (the payer). */
  from: string;
  /** The destination token account. */
  destination: string;
  /** Atomic units transferred. */
  value: bigint;
  /** Identifies the payment: the hash of its message (the same bytes whatever is signed later). */
  key: string;
}>;

/** Reads the `TransferChecked` out of an `exact` Solana payload; `undefined` when it holds none. */
export function readSvmProof(payload: unknown): SvmProof | undefined {
  const encoded = (payload as { transaction?: unknown } | undefined)?.transaction;
  if (typeof encoded !== "string") return undefined;
  try {
    const transaction = VersionedTransaction.deserialize(Buffer.from(encoded, "base64"));
    const { message } = transaction;
    const keys = message.staticAccountKeys;
    for (const instruction of message.compiledInstructions) {
      const program = keys[instruction.programIdIndex]?.toBase58();
      const data = Buffer.from(instruction.data);
      if (program === undefined || !tokenPrograms.has(program) || data[0] !== transferCheckedTag) continue;
      const [, , destination, owner] = instruction.accountKeyIndexes.map((i) => keys[i]?.toBase58());
      if (destination === undefined || owner === undefined || data.length < 9) continue;
      return {
        transaction,
        from: owner,
        destination,
        value: data.readBigUInt64LE(1),
        key: createHash("sha256").update(message.serialize()).digest("hex"),
      };
    }
    return undefined;
  } catch {
    // Not a transaction: the proof is recorded, not settled.
    return undefined;
  }
}

/** Parameters of `settleSvmProof`. */
export type SettleSvmProofParameters = Readonly<{
  proof: SvmProof;
  x402Version: 1 | 2;
  paymentPayload: Record<string, unknown>;
  paymentRequirements: Record<string, unknown> | undefined;
  facilitatorUrl: string | undefined;
  /** The bank to land it on when the facilitator refuses: its fee payer co-signs (it is the one the offers name). */
  bank: SolanaBank;
}>;

/**
 * Lands a Solana payment the way a hostile holder would: through the facilitator, and when it refuses, by
 * co-signing as the fee payer the offers named and processing it on the bank. Never throws.
 */
export async function settleSvmProof(parameters: SettleSvmProofParameters): Promise<SettleOutcome> {
  const { proof, x402Version, paymentPayload, paymentRequirements, facilitatorUrl, bank } = parameters;
  let reason = "no_facilitator";
  if (facilitatorUrl !== undefined && paymentRequirements !== undefined) {
    try {
      const response = await fetch(new URL("/settle", facilitatorUrl), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ x402Version, paymentPayload, paymentRequirements }),
        signal: AbortSignal.timeout(30_000),
      });
      const answer = settleResponseSchema.safeParse(await response.json());
      if (answer.success && answer.data.success) {
        return { settled: true, via: "facilitator", transaction: answer.data.transaction };
      }
      reason = answer.success
        ? (answer.data.errorReason ?? "settle_refused")
        : `settle_status_${response.status}`;
    } catch (error) {
      reason = error instanceof Error ? error.name : "settle_failed";
    }
  }
  try {
    const transaction = VersionedTransaction.deserialize(proof.transaction.serialize());
    transaction.sign([bank.feePayer]);
    const result = await bank.processTransaction(transaction);
    return result.ok
      ? { settled: true, via: "chain", transaction: result.signature }
      : { settled: false, reason: `${reason}; relay: ${result.error.name}` };
  } catch (error) {
    return { settled: false, reason: `${reason}; relay: ${error instanceof Error ? error.name : "failed"}` };
  }
}
