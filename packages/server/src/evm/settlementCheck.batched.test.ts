import { transferWithAuthorizationTypes } from "@tollgate/shared";
import { evmPayeeAccounts, evmPayerAccounts, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { type Address, concat, encodeFunctionData, type Hex, pad, toHex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeAll, startChain } from "../../test/fixtures.js";
import { createEvmSettlementCheck } from "./settlementCheck.js";

/**
 * One transaction (a batcher, as Multicall3 is on every real chain) executes a genuine authorization A paying the
 * payee and the payer's own authorization with proof B's nonce paying itself: B's nonce is used and the
 * transaction holds a Transfer to the payee, yet only A paid. The settlement check must not take B as settled.
 */
let evm: TestEvmChain;
beforeAll(async () => {
  evm = await startChain();
});
afterAll(async () => {
  await closeAll();
  await evm?.stop();
});

const amount = 10_000n;

async function authorize(payer: PrivateKeyAccount, to: Address, value: bigint, nonce: Hex) {
  const message = {
    from: payer.address,
    to,
    value,
    validAfter: 0n,
    validBefore: BigInt(Math.floor(Date.now() / 1000) + 3_600),
    nonce,
  };
  const signature = await payer.signTypedData({
    domain: evm.eip712Domain,
    types: transferWithAuthorizationTypes,
    primaryType: "TransferWithAuthorization",
    message,
  } as Parameters<PrivateKeyAccount["signTypedData"]>[0]);
  const calldata = encodeFunctionData({
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
  } as Parameters<typeof encodeFunctionData>[0]);
  const payload = {
    signature,
    authorization: {
      from: message.from,
      to: message.to,
      value: String(value),
      validAfter: "0",
      validBefore: String(message.validBefore),
      nonce,
    },
  };
  return { calldata, payload };
}

/**
 * A two-call batcher (what Multicall3 does on every real chain): calldata = [len1 (32 bytes)][call1][call2],
 * both sent to the token; reverts if either fails.
 */
function batcherCode(token: Address): Hex {
  const t = token.slice(2).toLowerCase();
  const callSeq = `60006000826000600073${t}5af1`; // retSize retOffset argsSize(dup3) argsOffset value token gas CALL
  const part1 = `600035806020600037${callSeq}15`; // len1; copy; CALL; ISZERO
  const part2 = `60200180360380916000 37`.replace(/ /g, "") + `${callSeq}15`;
  // jump destination computed after assembling
  const pre1 = part1; // followed by PUSH1 dest JUMPI
  const pre2 = part2;
  const len = (h: string) => h.length / 2;
  const destOffset = len(pre1) + 3 + len(pre2) + 3 + 1; // + PUSH1 xx JUMPI (3) twice + STOP
  const dest = destOffset.toString(16).padStart(2, "0");
  return `0x${pre1}60${dest}57${pre2}60${dest}5700${"5b60008080fd"}` as Hex;
}

describe("createEvmSettlementCheck against batched authorizations", () => {
  it("does not take a Transfer to the payee made by ANOTHER authorization in the same transaction", async () => {
    const payer = evmPayerAccounts[0];
    const payee = evmPayeeAccounts[1].address;
    const attacker = evmPayeeAccounts[2].address; // any address the payer controls
    const nonceA = toHex(0x5e00_0001, { size: 32 });
    const nonceB = toHex(0x5e00_0002, { size: 32 });
    // Payment A: a genuine payment of `amount` to the payee (e.g. for an earlier request, already served).
    const a = await authorize(payer, payee, amount, nonceA);
    // Payment B: the proof the paywall holds for a second request, whose /settle answer was lost.
    const b = await authorize(payer, payee, amount, nonceB);
    // The payer redeems nonce B itself with another authorization: 1 unit to its own address.
    const bOwn = await authorize(payer, attacker, 1n, nonceB);

    const batcher = "0x00000000000000000000000000000000000b47c4" as Address;
    await evm.anvil.setCode(batcher, batcherCode(evm.token));
    const data = concat([pad(toHex((a.calldata.length - 2) / 2), { size: 32 }), a.calldata, bOwn.calldata]);
    const payeeBefore = await evm.balanceOf(payee);
    const hash = await evm.walletClient.sendTransaction({ to: batcher, data, gas: 1_000_000n });
    const receipt = await evm.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    // The payee got ONE payment of `amount` (A); B's nonce paid 1 unit to the payer's own address.
    expect((await evm.balanceOf(payee)) - payeeBefore).toBe(amount);

    const check = createEvmSettlementCheck({ publicClient: evm.publicClient });
    const requirement = {
      scheme: "exact",
      network: "eip155:84532",
      amount: String(amount),
      asset: evm.token,
      payTo: payee,
      maxTimeoutSeconds: 60,
      extra: { name: evm.eip712Domain.name, version: evm.eip712Domain.version },
    };
    expect(await check({ requirement, payload: a.payload })).toBe(true);
    // B never paid the payee: it must not be believed settled (content served unpaid).
    expect(await check({ requirement, payload: b.payload })).toBe(false);
  }, 60_000);
});
