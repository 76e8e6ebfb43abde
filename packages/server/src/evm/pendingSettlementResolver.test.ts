import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorizationTypedData, startChain } from "../../test/fixtures.js";
import { claimKeyParts } from "../verify/facilitator/claimKeyParts.js";
import { createEvmPendingSettlementResolver } from "./pendingSettlementResolver.js";

let evm: TestEvmChain;
beforeAll(async () => {
  evm = await startChain();
});
afterAll(async () => {
  await evm?.stop();
});

describe("createEvmPendingSettlementResolver", () => {
  it("answers not_settled until the authorization is executed on chain, then authorization_used", async () => {
    const payer = evmPayerAccounts[1];
    const nonce = toHex(0x5e77_1e00, { size: 32 });
    const message = {
      from: payer.address,
      to: evm.walletClient.account.address,
      value: 10_000n,
      validAfter: 0n,
      validBefore: BigInt(Math.floor(Date.now() / 1000) + 3_600),
      nonce,
    };
    const key = `x402:${evm.network.caip2}:${payer.address.toLowerCase()}:${nonce}`;
    const parts = claimKeyParts(key);
    if (parts === undefined) throw new Error("not a claim key");
    const claim = {
      key,
      claim: { state: "pending_settlement" as const, owner: "o", proofHash: "p", movedAt: 0 },
    };
    const resolve = createEvmPendingSettlementResolver({ publicClient: evm.publicClient });
    expect((await resolve({ parts, claim, nowSeconds: 0 })).status).toBe("not_settled");

    const signature = await payer.signTypedData(authorizationTypedData(evm, message));
    const hash = await evm.walletClient.writeContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "transferWithAuthorization",
      args: [
        message.from,
        message.to,
        message.value,
        message.validAfter,
        message.validBefore,
        nonce,
        signature,
      ],
    });
    await evm.publicClient.waitForTransactionReceipt({ hash });
    expect((await resolve({ parts, claim, nowSeconds: 0 })).status).toBe("authorization_used");
  });

  it("is unresolvable for a network without a known token, and for a Solana claim", async () => {
    const resolve = createEvmPendingSettlementResolver({ publicClient: evm.publicClient });
    const claim = {
      key: "k",
      claim: { state: "pending_settlement" as const, owner: "o", proofHash: "p", movedAt: 0 },
    };
    const unknown = claimKeyParts(`x402:eip155:999999:0x${"a".repeat(40)}:0x${"1".repeat(64)}`);
    const solana = claimKeyParts(`x402:solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1:${"f".repeat(64)}`);
    if (unknown === undefined || solana === undefined) throw new Error("not claim keys");
    expect((await resolve({ parts: unknown, claim, nowSeconds: 0 })).status).toBe("unresolvable");
    expect((await resolve({ parts: solana, claim, nowSeconds: 0 })).status).toBe("unresolvable");
  });
});
