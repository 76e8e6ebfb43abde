import { encodeHeaderJson } from "@tollgate/shared";
import { evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { type Address, createPublicClient, encodeAbiParameters, type Hex, hashTypedData, http } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc1271WalletAbi, erc1271WalletBytecode } from "../../../test/erc1271Wallet.js";
import {
  authorizationTypedData,
  closeAll,
  countingStore,
  exactEvmPayload,
  payee,
  paymentRequiredOf,
  refusingUrl,
  serve,
  startChain,
  unsignedPayment,
} from "../../../test/fixtures.js";
import { createEvmDirectChain } from "../../evm/evmDirectChain.js";
import { createPaywall } from "../../paywall.js";

/**
 * The facilitator lane's smart-wallet signature check on anvil, against a deployed ERC-1271 wallet: a signature
 * that does not recover is decided by one eth_call (ERC-1271, or the ERC-6492 validator when wrapped) before
 * anything is claimed, so garbage with the ERC-6492 suffix, or garbage "from" a contract, claims nothing.
 */
let evm: TestEvmChain;
let wallet: Address;
const owner = evmPayerAccounts[3];
const closers: { close(): unknown }[] = [];
const erc6492Suffix = "6492".repeat(16);
const network = "eip155:84532";

beforeAll(async () => {
  evm = await startChain();
  const hash = await evm.walletClient.deployContract({
    abi: erc1271WalletAbi,
    bytecode: erc1271WalletBytecode,
    args: [owner.address],
  });
  const receipt = await evm.publicClient.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error("wallet not deployed");
  wallet = receipt.contractAddress;
  await evm.mint(wallet, 1_000_000n);
});
afterAll(async () => {
  for (const c of closers) await c.close();
  await closeAll();
  await evm?.stop();
});

async function paywallOn(facilitatorUrl: string, rpcUrl: string) {
  const counted = countingStore();
  const publicClient = createPublicClient({ chain: evm.chain, transport: http(rpcUrl, { retryCount: 0 }) });
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01" },
    networks: ["base-sepolia"],
    payTo: payee,
    facilitators: [{ url: facilitatorUrl }],
    store: counted.store,
    direct: { networks: [{ chain: createEvmDirectChain({ publicClient }), payTo: payee }] },
  });
  closers.push(paywall);
  const app = paywall.fetch(() => Response.json({ content: "paid" }));
  const requirement = paymentRequiredOf(await app(new Request("http://api.test/paid"))).accepts[0];
  if (requirement === undefined) throw new Error("no requirement");
  const pay = async (header: string) => {
    const response = await app(
      new Request("http://api.test/paid", { headers: { "payment-signature": header } }),
    );
    const body = (await response.json()) as { error?: string };
    return { status: response.status, error: body.error };
  };
  return { requirement, pay, claims: counted.claims };
}

type Requirement = Awaited<ReturnType<typeof paywallOn>>["requirement"];

/** A v2 proof from the wallet, its authorization signed by `sign` (the owner's key over the EIP-712 digest). */
async function walletPayment(requirement: Requirement, sign: (digest: Hex) => Promise<Hex>): Promise<string> {
  const message = {
    from: wallet,
    to: requirement.payTo as Address,
    value: BigInt(requirement.amount),
    validAfter: 0n,
    validBefore: BigInt(Math.floor(Date.now() / 1000) + requirement.maxTimeoutSeconds),
    nonce: `0x${crypto.randomUUID().replaceAll("-", "").padEnd(64, "0")}` as Hex,
  };
  const digest = hashTypedData(authorizationTypedData(evm, message));
  return encodeHeaderJson({
    header: "PAYMENT-SIGNATURE",
    value: {
      x402Version: 2,
      accepted: requirement,
      payload: exactEvmPayload(await sign(digest), message),
    },
  });
}

const ownerSigns = (digest: Hex) => owner.sign({ hash: digest });
/** ERC-6492 wrapping: abi.encode(factory, factoryData, signature) and the magic suffix. */
const wrap6492 = (signature: Hex): Hex =>
  `${encodeAbiParameters(
    [{ type: "address" }, { type: "bytes" }, { type: "bytes" }],
    [evm.token, "0x", signature],
  )}${erc6492Suffix}`;

describe("smart-wallet signatures are decided on chain before the claim", () => {
  it("refuses garbage with the ERC-6492 suffix and garbage from a contract `from`, claiming nothing, while the facilitator is down", async () => {
    const { requirement, pay, claims } = await paywallOn(await refusingUrl(), evm.rpcUrl);
    const results = [
      // Garbage + suffix, from an EOA address and from the wallet.
      await pay(
        (() => {
          const value = JSON.parse(Buffer.from(unsignedPayment(requirement), "base64").toString());
          value.payload.signature = `0x${"ab".repeat(96)}${erc6492Suffix}`;
          return encodeHeaderJson({ header: "PAYMENT-SIGNATURE", value });
        })(),
      ),
      await pay(await walletPayment(requirement, async () => `0x${"ab".repeat(96)}${erc6492Suffix}`)),
      // Garbage from the wallet, and from a contract with no isValidSignature (the token).
      await pay(await walletPayment(requirement, async () => `0x${"ab".repeat(65)}`)),
      await pay(unsignedPayment(requirement, { from: evm.token })),
      // A real signature by another key than the wallet's owner, bare and ERC-6492-wrapped.
      await pay(await walletPayment(requirement, (digest) => evmPayerAccounts[0].sign({ hash: digest }))),
      await pay(
        await walletPayment(requirement, async (digest) =>
          wrap6492(await evmPayerAccounts[0].sign({ hash: digest })),
        ),
      ),
    ];
    expect({ results, claims: claims() }).toEqual({
      results: Array(6).fill({ status: 402, error: "invalid_exact_evm_signature" }),
      claims: 0,
    });
  });

  it("passes the owner's signature (bare ERC-1271, and ERC-6492-wrapped) on to the facilitator", async () => {
    const calls: string[] = [];
    const facilitator = await serve(async (request) => {
      const path = new URL(request.url).pathname;
      calls.push(path);
      if (path.endsWith("/verify")) return Response.json({ isValid: true, payer: wallet });
      return Response.json({ success: true, transaction: `0x${"cd".repeat(32)}`, network, payer: wallet });
    });
    const { requirement, pay, claims } = await paywallOn(facilitator.url, evm.rpcUrl);
    const bare = await pay(await walletPayment(requirement, ownerSigns));
    const wrapped = await pay(await walletPayment(requirement, async (d) => wrap6492(await ownerSigns(d))));
    expect({ bare, wrapped, claims: claims() }).toEqual({
      bare: { status: 200, error: undefined },
      wrapped: { status: 200, error: undefined },
      claims: 4, // each proof's claim, and the settled transaction's (under the direct lane's key)
    });
    expect(calls.filter((c) => c.endsWith("/settle"))).toHaveLength(2);
  });

  it("refuses, claiming nothing, a smart-wallet signature it cannot check because the RPC is down", async () => {
    const { requirement, pay, claims } = await paywallOn(await refusingUrl(), await refusingUrl());
    const results = [
      await pay(await walletPayment(requirement, ownerSigns)),
      await pay(await walletPayment(requirement, async (d) => wrap6492(await ownerSigns(d)))),
    ];
    expect({ results, claims: claims() }).toEqual({
      results: Array(2).fill({ status: 402, error: "facilitator_unavailable" }),
      claims: 0,
    });
  });
});
