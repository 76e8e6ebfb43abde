import { createPrivateKey, sign } from "node:crypto";
import { type Keypair, PublicKey, type VersionedTransaction } from "@solana/web3.js";
import type {
  SolanaChain,
  SolanaCommitment,
  SolanaSendOutcome,
  SolanaSignatureStatus,
  SolanaSimulation,
} from "@tollgate/server/svm";
import { TollgateError } from "@tollgate/shared";
import type { SolanaBank } from "./solanaBank.js";
import { verifyTransactionSignatures } from "./verifySignatures.js";

/** Parameters of `createBankSolanaChain`. */
export type CreateBankSolanaChainParameters = Readonly<{
  /** The in-process bank from `startSolanaBank`. */
  bank: SolanaBank;
  /**
   * The fee payer the chain signs for; it must hold SOL in the bank.
   * @default bank.feePayer (svmFacilitatorFeePayerKeypair unless the bank was started with another)
   */
  feePayer?: Keypair;
}>;

// DER prefix of an Ed25519 PKCS#8 PrivateKeyInfo, followed by the 32-byte seed.
const pkcs8Prefix = Buffer.from("302e020100300506032b657004220420", "hex");

const commitments: readonly string[] = ["processed", "confirmed", "finalized"];

/**
 * A `SolanaChain` over the in-process bank, for the Solana facilitator in tests and the offline demo. Sends go
 * through `bank.processTransaction` (so each landed transaction is recorded), after a preflight simulation that
 * also checks signatures, as an RPC node's `sendTransaction` does. The bank processes synchronously, so a sent
 * transaction is confirmed at once.
 *
 * @example
 * ```ts
 * import { createFacilitator } from "@tollgate/server/facilitator";
 * import { createExactSvmScheme } from "@tollgate/server/svm";
 * import { createBankSolanaChain, startSolanaBank } from "@tollgate/testing";
 * const bank = await startSolanaBank();
 * const facilitator = createFacilitator({
 *   schemes: [createExactSvmScheme({ chains: [createBankSolanaChain({ bank })] })],
 * });
 * ```
 */
export function createBankSolanaChain(parameters: CreateBankSolanaChainParameters): SolanaChain {
  const { bank, feePayer = bank.feePayer } = parameters;
  const { banksClient } = bank;
  const network = bank.network.caip2;
  const feePayerAddress = feePayer.publicKey.toBase58();
  const privateKey = createPrivateKey({
    key: Buffer.concat([pkcs8Prefix, feePayer.secretKey.subarray(0, 32)]),
    format: "der",
    type: "pkcs8",
  });

  async function simulate(transaction: VersionedTransaction): Promise<SolanaSimulation> {
    // bankrun skips sigverify: check signatures as `simulateTransaction({ sigVerify: true })` does.
    if (!verifyTransactionSignatures(transaction)) {
      return { ok: false, error: "SignatureFailure", logs: [] };
    }
    const outcome = await banksClient.simulateTransaction(transaction);
    const logs = Object.freeze([...(outcome.meta?.logMessages ?? [])]);
    return outcome.result === null ? { ok: true, logs } : { ok: false, error: outcome.result, logs };
  }

  async function getSignatureStatus(signature: string): Promise<SolanaSignatureStatus> {
    const status = await banksClient.getTransactionStatus(signature);
    if (status === null) return { status: "unknown" };
    const level = status.confirmationStatus ?? "finalized";
    return {
      status: commitments.includes(level) ? (level as SolanaCommitment) : "finalized",
      slot: status.slot,
      error: status.err,
    };
  }

  return Object.freeze({
    network,
    feePayers: Object.freeze([feePayerAddress]),
    async signAsFeePayer(message: Uint8Array, signer: string): Promise<Uint8Array> {
      if (signer !== feePayerAddress) {
        throw new TollgateError("SERVER__INVALID_CONFIG", {
          context: { option: "feePayer", reason: `this chain does not hold the key of ${signer}` },
        });
      }
      return new Uint8Array(sign(null, message, privateKey));
    },
    getLatestBlockhash: () => bank.latestBlockhash(),
    async getAccounts(addresses: readonly string[]) {
      const accounts = await Promise.all(
        addresses.map((address) => banksClient.getAccount(new PublicKey(address))),
      );
      return accounts.map((account) =>
        account === null
          ? null
          : {
              programId: account.owner.toBase58(),
              lamports: BigInt(account.lamports),
              data: Uint8Array.from(account.data),
            },
      );
    },
    simulate,
    async send(transaction: VersionedTransaction): Promise<SolanaSendOutcome> {
      const preflight = await simulate(transaction);
      if (!preflight.ok) {
        return {
          ok: false,
          error: preflight.error,
          alreadyProcessed: /already been processed/i.test(preflight.error),
        };
      }
      const result = await bank.processTransaction(transaction);
      if (result.ok || result.recorded !== undefined) return { ok: true, signature: result.signature };
      return {
        ok: false,
        error: result.error.message,
        alreadyProcessed: result.error.name === "AlreadyProcessed",
      };
    },
    async confirm(signature: string) {
      const status = await getSignatureStatus(signature);
      if (status.status === "unknown") return { status: "pending" as const };
      return status.error === null
        ? { status: "confirmed" as const, slot: status.slot }
        : { status: "failed" as const, slot: status.slot, error: status.error };
    },
    getSignatureStatus,
  });
}
