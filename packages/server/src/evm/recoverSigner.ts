import { createRequire } from "node:module";
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes, keccak256, recoverAddress } from "viem";

type NativeSecp256k1 = {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
};

/** libsecp256k1 through the optional `secp256k1` package (a prebuilt binary), ~40× faster than pure JS. */
const native: NativeSecp256k1 | undefined = (() => {
  try {
    const require = createRequire(import.meta.url);
    return require("secp256k1") as NativeSecp256k1;
  } catch {
    return undefined; // Not installed or cannot load here: the pure-JS path below is used.
  }
})();

const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * Recovers the address that signed a 32-byte digest with a 65-byte ECDSA signature, or `undefined` for a
 * malformed or high-s signature. Uses libsecp256k1 when the optional `secp256k1` package loads, else viem.
 */
export async function recoverSigner(digest: Hex, signature: Hex): Promise<Address | undefined> {
  if (signature.length !== 132) return undefined;
  const bytes = hexToBytes(signature);
  const s = BigInt(bytesToHex(bytes.subarray(32, 64)));
  if (s > HALF_N) return undefined;
  const v = bytes[64] ?? 0;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery !== 0 && recovery !== 1) return undefined;
  try {
    if (native) {
      const publicKey = native.ecdsaRecover(bytes.subarray(0, 64), recovery, hexToBytes(digest), false);
      return getAddress(`0x${keccak256(publicKey.subarray(1)).slice(-40)}`);
    }
    return await recoverAddress({ hash: digest, signature });
  } catch {
    return undefined; // An invalid signature is a refusal, not an error.
  }
}

/** Whether the native libsecp256k1 path is in use. */
export const nativeRecoveryAvailable: boolean = native !== undefined;
