// What our EVM facilitator spends for a caller: only gas for the assets it is configured for, never for a zero
// amount, never more than its cap per settlement. On anvil, with a real gas-burning contract (test/contracts).
import { randomBytes } from "node:crypto";
import { isTollgateError } from "@tollgate/shared";
import {
  evmPayeeAccounts,
  evmPayerAccounts,
  startEvmChain,
  type EvmChain as TestEvmChain,
} from "@tollgate/testing";
import { type Address, getAddress, toHex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countingCalls, exactEvmPayload } from "../../test/fixtures.js";
import { gasBurningTokenAbi, gasBurningTokenBytecode } from "../../test/gasBurningToken.js";
import { createFacilitator, type Facilitator } from "../facilitator/createFacilitator.js";
import { createViemEvmChain, type EvmChain } from "./evmChain.js";
import { type CreateExactEvmSchemeParameters, createExactEvmScheme } from "./exactEvmScheme.js";
import { transferWithAuthorizationTypes } from "./usdcAbi.js";

let evm: TestEvmChain;
let burner: Address;
const network = "eip155:84532";
const payee = evmPayeeAccounts[0].address;
const attacker = evmPayerAccounts[3];

beforeAll(async () => {
  evm = await startEvmChain();
  const hash = await evm.walletClient.deployContract({
    abi: gasBurningTokenAbi,
    bytecode: gasBurningTokenBytecode,
  });
  const receipt = await evm.publicClient.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error("the burner was not deployed");
  burner = getAddress(receipt.contractAddress);
});

afterAll(async () => {
  await evm?.stop();
});

/** Every chain call the scheme makes, by method name. */
type Counted = Readonly<{ chain: EvmChain; calls: string[] }>;

function countedChain(): Counted {
  const inner = createViemEvmChain({
    publicClient: evm.publicClient,
    walletClient: evm.walletClient,
    pollingIntervalMs: 10,
  });
  return countingCalls<EvmChain>(inner);
}

function facilitatorWith(
  options: Omit<CreateExactEvmSchemeParameters, "chains"> = {},
): Readonly<{ facilitator: Facilitator; calls: string[] }> {
  const { chain, calls } = countedChain();
  return {
    facilitator: createFacilitator({ schemes: [createExactEvmScheme({ chains: [chain], ...options })] }),
    calls,
  };
}

/** A v2 request paying `amount` of `asset` to `payTo`, signed by `payer` for that asset's EIP-712 domain. */
async function body(
  parameters: Readonly<{ asset: Address; amount: bigint; payTo?: Address; payer?: PrivateKeyAccount }>,
) {
  const { asset, amount, payTo = payee, payer = attacker } = parameters;
  const message = {
    from: payer.address,
    to: payTo,
    value: amount,
    validAfter: 0n,
    validBefore: BigInt(Math.floor(Date.now() / 1000) + 300),
    nonce: toHex(randomBytes(32)),
  };
  const signature = await payer.signTypedData({
    domain: { name: "USDC", version: "2", chainId: 84532, verifyingContract: asset },
    types: transferWithAuthorizationTypes,
    primaryType: "TransferWithAuthorization",
    message,
  });
  const requirement = {
    scheme: "exact",
    network,
    amount: amount.toString(),
    asset,
    payTo,
    maxTimeoutSeconds: 300,
    extra: { name: "USDC", version: "2" },
  };
  const payload = exactEvmPayload(signature, message);
  return {
    x402Version: 2,
    paymentPayload: {
      x402Version: 2,
      resource: { url: "http://127.0.0.1/paid", description: "", mimeType: "" },
      accepted: requirement,
      payload,
    },
    paymentRequirements: requirement,
  };
}

/** The facilitator account's ETH and nonce: what it has spent on gas, and whether it sent anything. */
async function relayer() {
  const address = evm.facilitator.address;
  return {
    wei: await evm.publicClient.getBalance({ address }),
    nonce: await evm.publicClient.getTransactionCount({ address }),
  };
}

describe("gas our EVM facilitator spends for a caller", () => {
  it("refuses a contract that is not a configured asset before any chain call, spending no gas", async () => {
    const { facilitator, calls } = facilitatorWith();
    const request = await body({ asset: burner, amount: 10_000n });
    const before = await relayer();

    expect((await facilitator.verify(request)).body).toMatchObject({
      isValid: false,
      invalidReason: "unsupported_asset",
    });
    expect((await facilitator.settle(request)).body).toMatchObject({
      success: false,
      errorReason: "unsupported_asset",
      transaction: "",
    });
    expect(calls).toEqual([]);
    expect(await relayer()).toEqual(before);
  });

  it("refuses a zero-value authorization of the registry's USDC, spending no gas", async () => {
    const { facilitator, calls } = facilitatorWith();
    const request = await body({ asset: evm.token, amount: 0n });
    const before = await relayer();
    expect((await facilitator.settle(request)).body).toMatchObject({
      success: false,
      errorReason: "amount_below_minimum",
    });
    expect(calls).toEqual([]);
    expect(await relayer()).toEqual(before);
  });

  it("caps the gas of a settlement: a listed asset that needs more is refused unsent, a cheap one settles under the cap", async () => {
    const maxGasPerSettlement = 200_000n;
    const { facilitator } = facilitatorWith({
      assets: { [network]: [evm.token, burner.toLowerCase()] },
      maxGasPerSettlement,
    });
    const before = await relayer();
    // 200,000 keccak rounds: about 13 M gas. Verify's simulation runs under the cap too.
    const heavy = await body({ asset: burner, amount: 10_000n });
    expect((await facilitator.verify(heavy)).body).toMatchObject({
      isValid: false,
      invalidReason: "invalid_exact_evm_gas_limit_exceeded",
    });
    expect((await facilitator.settle(heavy)).body).toMatchObject({
      success: false,
      errorReason: "invalid_exact_evm_gas_limit_exceeded",
      transaction: "",
    });
    expect(await relayer()).toEqual(before);

    // The same contract doing little work fits the cap and is sent, with a gas limit no higher than the cap.
    await evm.walletClient.writeContract({
      address: burner,
      abi: gasBurningTokenAbi,
      functionName: "setRounds",
      args: [10n],
    });
    const light = await body({ asset: burner, amount: 10_000n });
    const afterSetup = await relayer();
    const settled = (await facilitator.settle(light)).body as {
      success: boolean;
      transaction: `0x${string}`;
    };
    expect(settled.success).toBe(true);
    const sent = await evm.publicClient.getTransaction({ hash: settled.transaction });
    expect(sent.gas <= maxGasPerSettlement).toBe(true);
    const spent = afterSetup.wei - (await relayer()).wei;
    expect(spent > 0n && spent <= maxGasPerSettlement * sent.gasPrice!).toBe(true);
    await evm.walletClient.writeContract({
      address: burner,
      abi: gasBurningTokenAbi,
      functionName: "setRounds",
      args: [200_000n],
    });
  }, 30_000);

  it("settles the registry's USDC under the default cap, and only above minAmount and to listed payees when told", async () => {
    const payer = evmPayerAccounts[2];
    const { facilitator, calls } = facilitatorWith({ minAmount: 5_000n, payees: [payee.toLowerCase()] });
    const below = await body({ asset: evm.token, amount: 4_999n, payer });
    expect((await facilitator.settle(below)).body).toMatchObject({ errorReason: "amount_below_minimum" });
    const stranger = await body({
      asset: evm.token,
      amount: 5_000n,
      payTo: evmPayeeAccounts[2].address,
      payer,
    });
    expect((await facilitator.settle(stranger)).body).toMatchObject({ errorReason: "unsupported_payee" });
    expect(calls).toEqual([]);

    const payeeBefore = await evm.balanceOf(payee);
    const fine = await body({ asset: evm.token, amount: 5_000n, payer });
    expect((await facilitator.verify(fine)).body).toEqual({ isValid: true, payer: payer.address });
    expect((await facilitator.settle(fine)).body).toMatchObject({ success: true, payer: payer.address });
    expect((await evm.balanceOf(payee)) - payeeBefore).toBe(5_000n);
  }, 30_000);

  it("answers v1 requests outside the policy with x402 1.2.0's invalid_payment_requirements", async () => {
    const { facilitator } = facilitatorWith();
    const v2 = await body({ asset: burner, amount: 10_000n });
    const { paymentRequirements: r } = v2;
    const v1 = {
      x402Version: 1,
      paymentPayload: {
        x402Version: 1,
        scheme: "exact",
        network: "base-sepolia",
        payload: v2.paymentPayload.payload,
      },
      paymentRequirements: {
        scheme: "exact",
        network: "base-sepolia",
        maxAmountRequired: r.amount,
        resource: "http://127.0.0.1/paid",
        description: "",
        mimeType: "application/json",
        payTo: r.payTo,
        maxTimeoutSeconds: 300,
        asset: r.asset,
        extra: r.extra,
      },
    };
    expect((await facilitator.settle(v1)).body).toMatchObject({
      success: false,
      errorReason: "invalid_payment_requirements",
    });
  });

  it.each([
    ["an asset list for a network it does not serve", { assets: { "eip155:8453": [burner] } }],
    ["an asset that is not an address", { assets: { [network]: ["0x1234"] } }],
    ["a payee that is not an address", { payees: ["nope"] }],
    ["a negative minimum", { minAmount: -1n }],
    ["a zero gas cap", { maxGasPerSettlement: 0n }],
  ])("refuses to start with %s", (_name, options) => {
    const { chain } = countedChain();
    let thrown: unknown;
    try {
      createExactEvmScheme({ chains: [chain], ...(options as Partial<CreateExactEvmSchemeParameters>) });
    } catch (error) {
      thrown = error;
    }
    expect(isTollgateError(thrown, "SERVER__INVALID_CONFIG")).toBe(true);
  });
});
