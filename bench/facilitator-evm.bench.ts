import { randomBytes } from "node:crypto";
import {
  createExactEvmScheme,
  createViemEvmChain,
  nativeRecoveryAvailable,
  transferWithAuthorizationTypes,
} from "@tollgate/server/evm";
import { createFacilitator } from "@tollgate/server/facilitator";
import { evmPayeeAccounts, evmPayerAccounts, startEvmChain } from "@tollgate/testing";
import { x402Facilitator } from "@x402/core/facilitator";
import { toFacilitatorEvmSigner } from "@x402/evm";
import { registerExactEvmScheme } from "@x402/evm/exact/facilitator";
import { publicActions, toHex } from "viem";
import { expect, it } from "vitest";
import { measure, row, tableHeader } from "./measure.js";

/**
 * Our facilitator against the reference one (@x402/evm 2.27.0's exact facilitator in @x402/core's
 * x402Facilitator), same anvil, same kind of payments, in one run: CPU per verify and per settle, in process
 * (no HTTP), so the figure is each SDK's own cost. DESIGN.md §7 targets ≤ 1 ms per verify and ≤ 2 ms per settle.
 */
it("EVM facilitator: verify and settle, ours vs @x402/evm 2.27.0", async () => {
  const evm = await startEvmChain({ usdcPerPayer: 1_000_000_000n });
  try {
    const payTo = evmPayeeAccounts[0].address;
    const requirement = {
      scheme: "exact",
      network: "eip155:84532",
      amount: "1000",
      asset: evm.token,
      payTo,
      maxTimeoutSeconds: 300,
      extra: { name: "USDC", version: "2" },
    } as const;
    const sign = async (i: number) => {
      const payer = evmPayerAccounts[i % 4] ?? evmPayerAccounts[0];
      const message = {
        from: payer.address,
        to: payTo,
        value: 1000n,
        validAfter: 0n,
        validBefore: BigInt(Math.floor(Date.now() / 1000) + 3600),
        nonce: toHex(randomBytes(32)),
      };
      const signature = await payer.signTypedData({
        domain: evm.eip712Domain,
        types: transferWithAuthorizationTypes,
        primaryType: "TransferWithAuthorization",
        message,
      });
      const payload = {
        signature,
        authorization: {
          ...message,
          value: "1000",
          validAfter: "0",
          validBefore: message.validBefore.toString(),
        },
      };
      return {
        x402Version: 2,
        paymentPayload: {
          x402Version: 2,
          resource: { url: "http://x/", description: "", mimeType: "" },
          accepted: requirement,
          payload,
        },
        paymentRequirements: requirement,
      };
    };

    const ours = createFacilitator({
      schemes: [
        createExactEvmScheme({
          chains: [
            createViemEvmChain({
              publicClient: evm.publicClient,
              walletClient: evm.walletClient,
              pollingIntervalMs: 5,
            }),
          ],
        }),
      ],
    });
    const reference = new x402Facilitator();
    const client = evm.walletClient.extend(publicActions);
    registerExactEvmScheme(reference, {
      signer: toFacilitatorEvmSigner({ ...client, address: evm.facilitator.address } as Parameters<
        typeof toFacilitatorEvmSigner
      >[0]),
      networks: ["eip155:84532"],
    });

    const n = 100;
    const bodies = await Promise.all(Array.from({ length: 4 * n }, (_, i) => sign(i)));
    // Warm both paths (JIT, connection pools).
    await ours.verify(bodies[0]);
    await reference.verify(bodies[0]?.paymentPayload as never, requirement as never);

    const oursVerify = await measure(n, async (i) => {
      const answer = await ours.verify(bodies[i]);
      expect(answer.body).toMatchObject({ isValid: true });
    });
    const refVerify = await measure(n, async (i) => {
      const answer = await reference.verify(bodies[n + i]?.paymentPayload as never, requirement as never);
      expect(answer.isValid).toBe(true);
    });
    const settles = n / 2;
    const oursSettle = await measure(settles, async (i) => {
      const answer = await ours.settle(bodies[2 * n + i]);
      expect(answer.body).toMatchObject({ success: true });
    });
    const refSettle = await measure(settles, async (i) => {
      const answer = await reference.settle(bodies[3 * n + i]?.paymentPayload as never, requirement as never);
      expect(answer.success).toBe(true);
    });

    console.log(
      [
        `EVM facilitator on anvil (native secp256k1: ${nativeRecoveryAvailable})`,
        tableHeader,
        row("ours verify", oursVerify),
        row("@x402/evm verify", refVerify),
        row("ours settle", oursSettle),
        row("@x402/evm settle", refSettle),
        `CPU ratio verify: ${(refVerify.cpuMsPerCall / oursVerify.cpuMsPerCall).toFixed(1)}x less than reference; settle: ${(refSettle.cpuMsPerCall / oursSettle.cpuMsPerCall).toFixed(1)}x`,
      ].join("\n"),
    );
  } finally {
    await evm.stop();
  }
});
