import { createHash } from "node:crypto";
import { defaultNetworkRegistry, transferWithAuthorizationTypes } from "@tollgate/shared";
import { getAddress, keccak256, stringToBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import {
  deriveEvmTestPrivateKey,
  deriveSvmTestKeypair,
  evmFacilitatorAccount,
  evmFacilitatorPrivateKey,
  evmPayeeAccounts,
  evmPayeePrivateKeys,
  evmPayerAccounts,
  evmPayerPrivateKeys,
  svmFacilitatorFeePayerKeypair,
  svmMintAuthorityKeypair,
  svmPayeeKeypairs,
  svmPayerKeypairs,
} from "./keys.js";

const secp256k1Order = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe("fixed test keys", () => {
  it("derive EVM keys as keccak256 of a public label", () => {
    expect(evmFacilitatorPrivateKey).toBe(keccak256(stringToBytes("tollgate/testing/evm/facilitator")));
    expect(evmPayerPrivateKeys[2]).toBe(deriveEvmTestPrivateKey({ label: "payer/2" }));
    expect(evmPayeeAccounts[1].address).toBe(privateKeyToAccount(evmPayeePrivateKeys[1]).address);
    for (const key of [evmFacilitatorPrivateKey, ...evmPayerPrivateKeys, ...evmPayeePrivateKeys]) {
      const scalar = BigInt(key);
      expect(scalar > 0n && scalar < secp256k1Order).toBe(true);
    }
  });

  it("derive Solana keypairs from sha256 seeds of a public label", () => {
    const seed = createHash("sha256").update("tollgate/testing/svm/payer/0").digest();
    expect(svmPayerKeypairs[0].secretKey.subarray(0, 32)).toEqual(new Uint8Array(seed));
    expect(deriveSvmTestKeypair({ label: "payer/0" }).publicKey.equals(svmPayerKeypairs[0].publicKey)).toBe(
      true,
    );
  });

  it("are all distinct", () => {
    const evm = [evmFacilitatorAccount, ...evmPayerAccounts, ...evmPayeeAccounts].map((a) => a.address);
    expect(new Set(evm).size).toBe(8);
    const svm = [
      svmFacilitatorFeePayerKeypair,
      svmMintAuthorityKeypair,
      ...svmPayerKeypairs,
      ...svmPayeeKeypairs,
    ];
    expect(new Set(svm.map((k) => k.publicKey.toBase58())).size).toBe(9);
  });

  it("never change: addresses are snapshot-stable", () => {
    expect({
      evm: {
        facilitator: evmFacilitatorAccount.address,
        payers: evmPayerAccounts.map((a) => a.address),
        payees: evmPayeeAccounts.map((a) => a.address),
      },
      svm: {
        facilitatorFeePayer: svmFacilitatorFeePayerKeypair.publicKey.toBase58(),
        mintAuthority: svmMintAuthorityKeypair.publicKey.toBase58(),
        payers: svmPayerKeypairs.map((k) => k.publicKey.toBase58()),
        payees: svmPayeeKeypairs.map((k) => k.publicKey.toBase58()),
      },
    }).toMatchInlineSnapshot(`
      {
        "evm": {
          "facilitator": "0xcE2f5093d38C97d98bB26a2315BbE642e257dc33",
          "payees": [
            "0xbFb917151eB53b1d36D9bED668E5360Da9Cb6611",
            "0x212Db1704a065a95D9ec34846fDA4b322B263b0d",
            "0x39D28f095581c9D79455d3EeE2C1087fA24E388f",
          ],
          "payers": [
            "0xD89996A09ff71cED93eB3D9b2Ae2866c78f80a46",
            "0x04EA21cF01fF4fc9DADD6C8B816cf4b2A625A807",
            "0x3ee300774CA458De1BD88f2215d6C1Ef5C731b34",
            "0x502d733cb836c5A7F3fF75F0A6D07337dD08c9F9",
          ],
        },
        "svm": {
          "facilitatorFeePayer": "65pw4WGBYDFC7KPad4KLNAy4uXpGh7GoNoFg5Mkg9UsN",
          "mintAuthority": "CcxEvgXn9Lthok42AzKek28ggrQgGk7XsS1sqtTRfP1i",
          "payees": [
            "8vrpH9fe8kzC77SSd8iGjDW5o8HsH4XaFycFLQEniq6Z",
            "2vUJp7AFzBDw6y9rE7rPaJU1Et1iFjdL2mhFNrUAnXKb",
            "EDV17Twsy9yxzeSMJMjE1BnJWHW4kmcegu7PcRTzPQFM",
          ],
          "payers": [
            "4rqmmqa61b8J8JP4NTYWb9xfhjeb53Qqur9DYs18Y3kN",
            "96pi7nLExx8cw2hyoTLCfLUssHH9t5NFMmTdcP74BZo6",
            "9qZhVGReDX4oAChArg3zL2XJZfgyYUf2VGdMEerSk98u",
            "C67QEjMBS7Q2zrpMsTy4Vn3LSRsFMYUng5qGYzjXwD8u",
          ],
        },
      }
    `);
  });

  it("sign the same EIP-3009 authorization to the same bytes on every run", async () => {
    const baseSepolia = defaultNetworkRegistry.get("base-sepolia");
    const signature = await evmPayerAccounts[0].signTypedData({
      domain: {
        name: baseSepolia.usdc?.eip712?.name,
        version: baseSepolia.usdc?.eip712?.version,
        chainId: baseSepolia.chainId,
        verifyingContract: getAddress(baseSepolia.usdc?.address ?? ""),
      },
      types: transferWithAuthorizationTypes,
      primaryType: "TransferWithAuthorization",
      message: {
        from: evmPayerAccounts[0].address,
        to: evmPayeeAccounts[0].address,
        value: 10_000n,
        validAfter: 0n,
        validBefore: 2_000_000_000n,
        nonce: keccak256(stringToBytes("nonce/0")),
      },
    });
    expect(signature).toMatchInlineSnapshot(
      `"0xea50226d5593f8265a5e3252dd73eaea145c8ee80565f37a1d0175a1d11e18204e2c00d40641502ea60ada3cab3c561547b0b218971e4cac5d781d3913e714481c"`,
    );
  });
});
