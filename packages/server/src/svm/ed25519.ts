import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import type { Keypair } from "@solana/web3.js";

// DER prefix of an Ed25519 PKCS#8 PrivateKeyInfo, followed by the 32-byte seed.
const pkcs8Prefix = Buffer.from("302e020100300506032b657004220420", "hex");

// Importing a public key costs more than verifying with it (measured here: ~22 µs as JWK, ~120 µs as DER SPKI,
// ~90 µs per verify): payers come back, so keep their keys.
const publicKeys = new Map<string, KeyObject>();
const publicKeyCacheLimit = 4_096;

function publicKeyOf(raw: Uint8Array): KeyObject {
  const x = Buffer.from(raw).toString("base64url");
  let key = publicKeys.get(x);
  if (key === undefined) {
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    if (publicKeys.size >= publicKeyCacheLimit) {
      const oldest = publicKeys.keys().next().value;
      if (oldest !== undefined) publicKeys.delete(oldest);
    }
    publicKeys.set(x, key);
  }
  return key;
}

/**
 * Verifies an ed25519 signature over `message` with node:crypto (the 32-byte public key as Solana stores it).
 * `false` for malformed keys or signatures, never a throw.
 */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  let key: KeyObject;
  try {
    key = publicKeyOf(publicKey);
  } catch {
    // Not a point on the curve: no signature can be valid for it.
    return false;
  }
  return verify(null, message, key, signature);
}

/**
 * A function that signs messages with a Solana keypair (ed25519, node:crypto, the key parsed once).
 */
export function keypairSigner(keypair: Keypair): (message: Uint8Array) => Uint8Array {
  const key = createPrivateKey({
    key: Buffer.concat([pkcs8Prefix, keypair.secretKey.subarray(0, 32)]),
    format: "der",
    type: "pkcs8",
  });
  return (message) => new Uint8Array(sign(null, message, key));
}
