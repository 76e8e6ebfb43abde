import { randomBytes } from "node:crypto";
import { defaultNetworkRegistry, isTollgateError } from "@tollgate/shared";
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createWalletClient,
  domainSeparator,
  type Hex,
  http,
  type PrivateKeyAccount,
  parseEventLogs,
  parseSignature,
  toHex,
  zeroHash,
} from "viem";
import { getEip712Domain } from "viem/actions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evmFacilitatorAccount, evmPayeeAccounts, evmPayerAccounts } from "../keys.js";
import { type EvmChain, startEvmChain } from "./evmChain.js";

const baseSepolia = defaultNetworkRegistry.get("base-sepolia");

const authorizationFields = [
  { name: "from", type: "address" },
  { name: "to", type: "address" },
  { name: "value", type: "uint256" },
  { name: "validAfter", type: "uint256" },
  { name: "validBefore", type: "uint256" },
  { name: "nonce", type: "bytes32" },
] as const;
const types = {
  TransferWithAuthorization: authorizationFields,
  ReceiveWithAuthorization: authorizationFields,
  CancelAuthorization: [
    { name: "authorizer", type: "address" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

type Authorization = {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
};

/** The on-chain revert reason of a failed call, or `undefined` when it did not revert. */
async function revertReason(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    if (!(error instanceof BaseError)) throw error;
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (!(reverted instanceof ContractFunctionRevertedError)) throw error;
    return reverted.reason;
  }
}

describe("startEvmChain (base-sepolia, TestUSDC at the real USDC address)", () => {
  let evm: EvmChain;
  let now = 0n;
  const payee = evmPayeeAccounts[0].address;

  beforeAll(async () => {
    const started = performance.now();
    evm = await startEvmChain({ ethForPayers: { [evmPayerAccounts[3].address]: 10n ** 18n } });
    console.info(
      `[timing] startEvmChain (anvil + setCode + initialize + 4 mints): ${(performance.now() - started).toFixed(0)} ms`,
    );
    now = (await evm.publicClient.getBlock()).timestamp;
  });
  afterAll(() => evm?.stop());

  async function sign(
    payer: PrivateKeyAccount,
    overrides: Partial<Authorization> & { value: bigint },
    primaryType: "TransferWithAuthorization" | "ReceiveWithAuthorization" = "TransferWithAuthorization",
  ) {
    const message: Authorization = {
      from: payer.address,
      to: payee,
      validAfter: 0n,
      validBefore: now + 600n,
      nonce: toHex(randomBytes(32)),
      ...overrides,
    };
    const signature = await payer.signTypedData({ domain: evm.eip712Domain, types, primaryType, message });
    return { message, signature };
  }

  function simulateSettle({ message, signature }: { message: Authorization; signature: Hex }) {
    return evm.publicClient.simulateContract({
      account: evm.facilitator,
      address: evm.token,
      abi: evm.abi,
      functionName: "transferWithAuthorization",
      args: [
        message.from,
        message.to,
        message.value,
        message.validAfter,
        message.validBefore,
        message.nonce,
        signature,
      ],
    });
  }

  it("places the token at the registry's base-sepolia USDC address, initialised as USDC / 2 with 6 decimals", async () => {
    expect(evm.network.caip2).toBe("eip155:84532");
    expect(evm.token).toBe(baseSepolia.usdc?.address);
    expect(await evm.publicClient.getChainId()).toBe(baseSepolia.chainId);
    const read = <F extends "name" | "version" | "decimals" | "symbol">(functionName: F) =>
      evm.publicClient.readContract({ address: evm.token, abi: evm.abi, functionName });
    expect(await read("name")).toBe(baseSepolia.usdc?.eip712?.name);
    expect(await read("name")).toBe("USDC");
    expect(await read("version")).toBe("2");
    expect(await read("decimals")).toBe(6);
    expect(await read("symbol")).toBe("USDC");
  });

  it("reports an ERC-5267 domain equal to what payers sign, and the matching DOMAIN_SEPARATOR", async () => {
    const { domain, fields, extensions } = await getEip712Domain(evm.publicClient, { address: evm.token });
    // viem always returns `salt`; `fields` 0x0f says the domain is name, version, chainId, verifyingContract only.
    expect(fields).toBe("0x0f");
    const { salt, ...signed } = domain;
    expect(salt).toBe(zeroHash);
    expect(signed).toEqual({ name: "USDC", version: "2", chainId: 84532, verifyingContract: evm.token });
    expect(signed).toEqual(evm.eip712Domain);
    expect(extensions).toEqual([]);
    const onChain = await evm.publicClient.readContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "DOMAIN_SEPARATOR",
    });
    expect(onChain).toBe(domainSeparator({ domain: evm.eip712Domain }));
  });

  it("refuses a second initialize", async () => {
    const reason = await revertReason(
      evm.publicClient.simulateContract({
        account: evm.facilitator,
        address: evm.token,
        abi: evm.abi,
        functionName: "initialize",
        args: ["USD Coin", "3"],
      }),
    );
    expect(reason).toBe("TestUSDC: already initialized");
  });

  it("funds payers with test USDC and no ETH, the facilitator with ETH, and listed payers with ETH", async () => {
    expect(evm.payers).toEqual(evmPayerAccounts.map((a) => a.address));
    for (const payer of evmPayerAccounts) expect(await evm.balanceOf(payer.address)).toBe(10_000_000n);
    for (const payer of evmPayerAccounts.slice(0, 3)) {
      expect(await evm.publicClient.getBalance({ address: payer.address })).toBe(0n);
    }
    expect(await evm.publicClient.getBalance({ address: evmPayerAccounts[3].address })).toBe(10n ** 18n);
    expect(evm.facilitator.address).toBe(evmFacilitatorAccount.address);
    expect(await evm.publicClient.getBalance({ address: evm.facilitator.address })).toBeGreaterThan(0n);
    expect(await evm.balanceOf(payee)).toBe(0n);
  });

  it("settles a real EIP-3009 authorization of a payer holding 0 ETH; a replay is refused", async () => {
    const payer = evmPayerAccounts[0];
    const authorization = await sign(payer, { value: 1_500_000n });
    const started = performance.now();
    const { request } = await simulateSettle(authorization);
    const hash = await evm.walletClient.writeContract(request);
    const receipt = await evm.publicClient.waitForTransactionReceipt({ hash });
    console.info(
      `[timing] one settled authorization (simulate + write + receipt): ${(performance.now() - started).toFixed(1)} ms`,
    );

    expect(receipt.status).toBe("success");
    expect(receipt.from).toBe(evm.facilitator.address.toLowerCase());
    const transfers = parseEventLogs({ abi: evm.abi, logs: receipt.logs, eventName: "Transfer" });
    expect(transfers.map((log) => log.args)).toEqual([{ from: payer.address, to: payee, value: 1_500_000n }]);
    expect(await evm.balanceOf(payer.address)).toBe(8_500_000n);
    expect(await evm.balanceOf(payee)).toBe(1_500_000n);
    expect(await evm.publicClient.getBalance({ address: payer.address })).toBe(0n);
    const used = await evm.publicClient.readContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "authorizationState",
      args: [payer.address, authorization.message.nonce],
    });
    expect(used).toBe(true);

    expect(await revertReason(simulateSettle(authorization))).toBe(
      "FiatTokenV2: authorization is used or canceled",
    );
  });

  it("settles through the (v, r, s) overload too, and refuses a tampered value there", async () => {
    const payer = evmPayerAccounts[1];
    const { message, signature } = await sign(payer, { value: 250_000n });
    const { r, s, v } = parseSignature(signature);
    const args = (value: bigint) =>
      [
        message.from,
        message.to,
        value,
        message.validAfter,
        message.validBefore,
        message.nonce,
        Number(v),
        r,
        s,
      ] as const;

    const tampered = evm.publicClient.simulateContract({
      account: evm.facilitator,
      address: evm.token,
      abi: evm.abi,
      functionName: "transferWithAuthorization",
      args: args(2_500_000n),
    });
    expect(await revertReason(tampered)).toBe("FiatTokenV2: invalid signature");

    const before = await evm.balanceOf(payee);
    const hash = await evm.walletClient.writeContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "transferWithAuthorization",
      args: args(250_000n),
    });
    expect((await evm.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
    expect(await evm.balanceOf(payer.address)).toBe(9_750_000n);
    expect(await evm.balanceOf(payee)).toBe(before + 250_000n);
  });

  it("refuses a tampered value, another payee, an expired and a not-yet-valid window, and an overdraft", async () => {
    const payer = evmPayerAccounts[2];
    const good = await sign(payer, { value: 1_000n });
    expect(await revertReason(simulateSettle({ ...good, message: { ...good.message, value: 1_001n } }))).toBe(
      "FiatTokenV2: invalid signature",
    );
    const otherPayee = evmPayeeAccounts[1].address;
    expect(
      await revertReason(simulateSettle({ ...good, message: { ...good.message, to: otherPayee } })),
    ).toBe("FiatTokenV2: invalid signature");
    expect(await revertReason(simulateSettle(await sign(payer, { value: 1_000n, validBefore: now })))).toBe(
      "FiatTokenV2: authorization is expired",
    );
    expect(
      await revertReason(simulateSettle(await sign(payer, { value: 1_000n, validAfter: now + 3_600n }))),
    ).toBe("FiatTokenV2: authorization is not yet valid");
    expect(await revertReason(simulateSettle(await sign(payer, { value: 10_000_001n })))).toBe(
      "ERC20: transfer amount exceeds balance",
    );
    // None of the refusals moved money or used the nonce.
    expect(await evm.balanceOf(payer.address)).toBe(10_000_000n);
    expect(await revertReason(simulateSettle(good))).toBeUndefined();
  });

  it("lets only the payee submit a receiveWithAuthorization", async () => {
    const payer = evmPayerAccounts[2];
    const recipient = evmPayeeAccounts[2];
    await evm.anvil.setBalance(recipient.address, 10n ** 17n);
    const { message, signature } = await sign(
      payer,
      { value: 3_000n, to: recipient.address },
      "ReceiveWithAuthorization",
    );
    const args = [
      message.from,
      message.to,
      message.value,
      message.validAfter,
      message.validBefore,
      message.nonce,
      signature,
    ] as const;
    const byRelayer = evm.publicClient.simulateContract({
      account: evm.facilitator,
      address: evm.token,
      abi: evm.abi,
      functionName: "receiveWithAuthorization",
      args,
    });
    expect(await revertReason(byRelayer)).toBe("FiatTokenV2: caller must be the payee");

    const payeeWallet = createWalletClient({
      account: recipient,
      chain: evm.chain,
      transport: http(evm.rpcUrl),
    });
    const hash = await payeeWallet.writeContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "receiveWithAuthorization",
      args,
    });
    expect((await evm.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
    expect(await evm.balanceOf(recipient.address)).toBe(3_000n);
  });

  it("cancels an unused authorization, after which it cannot be settled", async () => {
    const payer = evmPayerAccounts[2];
    const authorization = await sign(payer, { value: 5_000n });
    const cancelSignature = await payer.signTypedData({
      domain: evm.eip712Domain,
      types,
      primaryType: "CancelAuthorization",
      message: { authorizer: payer.address, nonce: authorization.message.nonce },
    });
    const hash = await evm.walletClient.writeContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "cancelAuthorization",
      args: [payer.address, authorization.message.nonce, cancelSignature],
    });
    const receipt = await evm.publicClient.waitForTransactionReceipt({ hash });
    expect(
      parseEventLogs({ abi: evm.abi, logs: receipt.logs, eventName: "AuthorizationCanceled" }),
    ).toHaveLength(1);
    expect(await revertReason(simulateSettle(authorization))).toBe(
      "FiatTokenV2: authorization is used or canceled",
    );
  });

  it("mints through the helper and mines blocks on demand", async () => {
    const receipt = await evm.mint(evmPayeeAccounts[1].address, 42n);
    expect(receipt.status).toBe("success");
    expect(await evm.balanceOf(evmPayeeAccounts[1].address)).toBe(42n);

    const before = await evm.publicClient.getBlockNumber({ cacheTime: 0 });
    await evm.mine(3);
    expect(await evm.publicClient.getBlockNumber({ cacheTime: 0 })).toBe(before + 3n);
  });
});

describe("startEvmChain options", () => {
  it("refuses a network without an EIP-3009 USDC (NETWORK__NO_ASSET) and an unknown one (NETWORK__UNKNOWN)", async () => {
    const svm = await startEvmChain({ network: "solana-devnet" }).catch((e: unknown) => e);
    expect(isTollgateError(svm, "NETWORK__NO_ASSET")).toBe(true);
    const unknown = await startEvmChain({ network: "eip155:999999999" }).catch((e: unknown) => e);
    expect(isTollgateError(unknown, "NETWORK__UNKNOWN")).toBe(true);
  });

  it("runs as another registry network, with its own USDC address and EIP-712 name", async () => {
    const ethereum = defaultNetworkRegistry.get("ethereum");
    const evm = await startEvmChain({ network: "ethereum", payers: [], usdcPerPayer: 0n });
    try {
      expect(await evm.publicClient.getChainId()).toBe(1);
      expect(evm.token).toBe(ethereum.usdc?.address);
      const { domain } = await getEip712Domain(evm.publicClient, { address: evm.token });
      expect(domain.name).toBe("USD Coin");
      expect(await evm.balanceOf(evmPayerAccounts[0].address)).toBe(0n);
    } finally {
      await evm.stop();
    }
  });
});

describe("startEvmChain helpers", () => {
  it("reports a failed mint as CHAIN__CALL_FAILED with the chain's reason as its cause", async () => {
    const evm = await startEvmChain({ payers: [] });
    try {
      const error = await evm.mint("0x0000000000000000000000000000000000000000", 1n).catch((e: unknown) => e);
      expect(isTollgateError(error, "CHAIN__CALL_FAILED")).toBe(true);
      const reverted = (error as { cause?: unknown }).cause;
      expect(reverted).toBeInstanceOf(BaseError);
      const reason = (reverted as BaseError).walk((e) => e instanceof ContractFunctionRevertedError);
      expect((reason as ContractFunctionRevertedError).reason).toBe("FiatToken: mint to the zero address");
    } finally {
      await evm.stop();
    }
  });
});
