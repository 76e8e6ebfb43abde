import { createPublicKey, verify } from "node:crypto";
import { type Transaction, VersionedTransaction } from "@solana/web3.js";

/**
 * Checks every required signature of a transaction (ed25519 over the serialized message), as a cluster's sigverify
 * stage does. solana-bankrun 0.4.0 skips that stage and executes unsigned or forged transactions, so the bank kit
 * runs this first.
 *
 * @example
 * ```ts
 * import { verifyTransactionSignatures } from "./verifySignatures.js";
 * if (!verifyTransactionSignatures(transaction)) console.log("SignatureFailure");
 * ```
 */
export function verifyTransactionSignatures(transaction: Transaction | VersionedTransaction): boolean {
  let message: Uint8Array;
  let pairs: { publicKey: Uint8Array; signature: Uint8Array | null }[];
  if (transaction instanceof VersionedTransaction) {
    message = transaction.message.serialize();
    const signers = transaction.message.staticAccountKeys.slice(
      0,
      transaction.message.header.numRequiredSignatures,
    );
    pairs = signers.map((key, i) => ({
      publicKey: key.toBytes(),
      signature: transaction.signatures[i] ?? null,
    }));
  } else {
    const compiled = transaction.compileMessage();
    message = compiled.serialize();
    const signers = compiled.accountKeys.slice(0, compiled.header.numRequiredSignatures);
    pairs = signers.map((key) => ({
      publicKey: key.toBytes(),
      signature: transaction.signatures.find((s) => s.publicKey.equals(key))?.signature ?? null,
    }));
  }
  if (pairs.length === 0) return false;
  return pairs.every(({ publicKey, signature }) => {
    if (signature === null || signature.length !== 64) return false;
    const key = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(publicKey).toString("base64url") },
      format: "jwk",
    });
    return verify(null, message, key, signature);
  });
}
