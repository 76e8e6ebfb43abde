import { createTransferInstruction } from "@solana/spl-token";
import { Keypair, PublicKey, Transaction, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import { svmPayerKeypairs } from "@tollgate/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { solanaSignersSigned } from "./localChecks.js";

const feePayer = Keypair.fromSeed(new Uint8Array(32).fill(7));
const payer = svmPayerKeypairs[0];
const blockhash = new PublicKey(new Uint8Array(32).fill(9)).toBase58();
const transfer = () =>
  createTransferInstruction(
    new PublicKey(new Uint8Array(32).fill(1)),
    new PublicKey(new Uint8Array(32).fill(2)),
    payer.publicKey,
    1n,
  );

describe("solanaSignersSigned", () => {
  it("accepts v0 and legacy transactions signed by every signer but the fee payer, and nothing less", () => {
    const v0 = new VersionedTransaction(
      new TransactionMessage({
        payerKey: feePayer.publicKey,
        recentBlockhash: blockhash,
        instructions: [transfer()],
      }).compileToV0Message(),
    );
    const unsignedV0 = Buffer.from(v0.serialize()).toString("base64");
    v0.sign([payer]);
    const legacy = new Transaction({ feePayer: feePayer.publicKey, recentBlockhash: blockhash }).add(
      transfer(),
    );
    legacy.partialSign(payer);
    const legacyBase64 = legacy.serialize({ requireAllSignatures: false }).toString("base64");
    const tampered = Buffer.from(v0.serialize());
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1; // the message, not a signature

    expect({
      v0: solanaSignersSigned(Buffer.from(v0.serialize()).toString("base64")),
      legacy: solanaSignersSigned(legacyBase64),
      unsigned: solanaSignersSigned(unsignedV0),
      tampered: solanaSignersSigned(tampered.toString("base64")),
    }).toEqual({ v0: true, legacy: true, unsigned: false, tampered: false });
  });

  it("answers false, never throws, for any bytes (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1_300 }), (bytes) => {
        expect(typeof solanaSignersSigned(Buffer.from(bytes).toString("base64"))).toBe("boolean");
      }),
      { numRuns: 2_000 },
    );
  });
});
