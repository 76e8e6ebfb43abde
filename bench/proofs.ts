import { randomBytes } from "node:crypto";
import { transferWithAuthorizationTypes } from "@tollgate/server/evm";
import { encodeHeaderJson, readPaymentRequired } from "@tollgate/shared";
import { evmPayerAccounts } from "@tollgate/testing";
import { toHex } from "viem";

/** Base Sepolia's USDC, which the benches' paid routes price in. */
const asset = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

/** The v2 facilitator-lane requirement a paid server offers at `url` (read from its 402). */
export async function facilitatorRequirement(url: string): Promise<Record<string, unknown>> {
  const unpaid = await fetch(url);
  const body = await unpaid.json().catch(() => undefined);
  const offer = readPaymentRequired({ headers: unpaid.headers, body }).offers.find(
    (o) => o.lane === "facilitator" && o.x402Version === 2,
  );
  if (offer?.lane !== "facilitator")
    throw new Error(`no v2 facilitator offer at ${url} (status ${unpaid.status})`);
  return offer.requirement as Record<string, unknown>;
}

/**
 * `count` unique `PAYMENT-SIGNATURE` values for `requirement`, each a fresh EIP-3009 authorization signed by one of
 * the test payers (our replay claims refuse a reused one). Valid from now for the requirement's
 * `maxTimeoutSeconds` (the paywall refuses a later `validBefore`): sign a pool right before it is spent.
 */
export async function presign(
  count: number,
  requirement: Record<string, unknown>,
  payTo: `0x${string}`,
): Promise<string[]> {
  const validBefore = BigInt(Math.floor(Date.now() / 1000) + Number(requirement.maxTimeoutSeconds));
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const payer = evmPayerAccounts[i % 4] ?? evmPayerAccounts[0];
      const message = {
        from: payer.address,
        to: payTo,
        value: 10_000n,
        validAfter: 0n,
        validBefore,
        nonce: toHex(randomBytes(32)),
      };
      const signature = await payer.signTypedData({
        domain: { name: "USDC", version: "2", chainId: 84532, verifyingContract: asset },
        types: transferWithAuthorizationTypes,
        primaryType: "TransferWithAuthorization",
        message,
      });
      return encodeHeaderJson({
        header: "PAYMENT-SIGNATURE",
        value: {
          x402Version: 2,
          resource: { url: "http://127.0.0.1/paid", description: "paid", mimeType: "" },
          accepted: requirement,
          payload: {
            signature,
            authorization: {
              ...message,
              value: "10000",
              validAfter: "0",
              validBefore: validBefore.toString(),
            },
          },
        },
      });
    }),
  );
}
