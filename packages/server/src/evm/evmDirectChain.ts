import { TollgateError } from "@tollgate/shared";
import {
  type Address,
  type Block,
  type Hex,
  hashMessage,
  isAddressEqual,
  type Log,
  parseEventLogs,
  type TransactionReceipt,
} from "viem";
import type { DirectChain, DirectTransaction } from "../verify/direct/directChain.js";
import { createEvmPaymentSignatureCheck, type EvmSignatureReader } from "./paymentSignatureCheck.js";
import { recoverSigner } from "./recoverSigner.js";
import { createEvmSettlementCheck, type EvmSettlementReader } from "./settlementCheck.js";
import { eip3009Abi } from "./usdcAbi.js";

/** The reads the EVM direct lane makes (a viem `PublicClient` has them). */
export type EvmDirectReader = Readonly<{
  chain?: Readonly<{ id: number }> | undefined;
  getTransactionReceipt(parameters: {
    hash: Hex;
  }): Promise<Pick<TransactionReceipt, "status" | "blockNumber" | "from"> & { logs: Log[] }>;
  getBlockNumber(parameters?: { cacheTime?: number }): Promise<bigint>;
  getBlock(parameters: { blockNumber: bigint }): Promise<Pick<Block, "timestamp">>;
}>;

/** Parameters of `createEvmDirectChain`. */
export type CreateEvmDirectChainParameters = Readonly<{
  /**
   * A client of the network, e.g. viem's `createPublicClient({ chain: base, transport: http(rpcUrl) })`; with
   * `readContract`, `getLogs` and `getCode` too (a viem client has them) it also serves the facilitator lane's checks.
   */
  publicClient: EvmDirectReader & Partial<EvmSettlementReader & EvmSignatureReader>;
  /**
   * CAIP-2 id of the network.
   * @default `eip155:${publicClient.chain.id}`
   */
  network?: string;
}>;

const txHash = /^0x[0-9a-fA-F]{64}$/;
const signature65 = /^0x[0-9a-fA-F]{130}$/;

function isNotFound(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const name = (current as { name?: unknown }).name;
    if (name === "TransactionReceiptNotFoundError" || name === "TransactionNotFoundError") return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The direct lane's view of an EVM network: reads a transaction's receipt (status, sender, `Transfer` logs with the
 * emitting contract, and `AuthorizationUsed` logs that mark a transfer as an executed EIP-3009 authorization), its
 * confirmations and block time, and checks EIP-191 binding signatures (libsecp256k1
 * when available). Pass it as `direct.networks[].chain` to `createPaywall`. Given a full viem client (with
 * `readContract`, `getLogs`, `getCode`), it also carries the facilitator lane's checks for its network: a
 * settlement check for lost `/settle` answers and the payer-signature check (see `DirectChain.facilitatorChecks`).
 *
 * @example
 * ```ts
 * import { createPublicClient, http } from "viem";
 * import { base } from "viem/chains";
 * import { createEvmDirectChain } from "@tollgate/server/evm";
 * const chain = createEvmDirectChain({ publicClient: createPublicClient({ chain: base, transport: http(rpcUrl) }) });
 * createPaywall({ …, direct: { networks: [{ chain, payTo: "0xYou…", confirmations: 2 }] } });
 * ```
 * @throws `SERVER__INVALID_CONFIG` when neither `network` nor `publicClient.chain` names the network.
 */
export function createEvmDirectChain(parameters: CreateEvmDirectChainParameters): DirectChain {
  const { publicClient } = parameters;
  const chainId = publicClient.chain?.id;
  const network = parameters.network ?? (chainId === undefined ? undefined : `eip155:${chainId}`);
  if (network === undefined) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "createEvmDirectChain.network", reason: "pass `network` or a client with a chain" },
    });
  }
  // A full client (viem's PublicClient) also serves the facilitator lane on this network: its lost settle answers
  // and its payers' signatures are checked over the same RPC.
  const { readContract, getLogs, getCode, call } = publicClient;
  const facilitatorChecks = {
    ...(readContract !== undefined && getLogs !== undefined
      ? {
          settlementCheck: createEvmSettlementCheck({
            publicClient: {
              readContract: readContract.bind(publicClient),
              getLogs: getLogs.bind(publicClient),
              getBlockNumber: publicClient.getBlockNumber.bind(publicClient),
              getTransactionReceipt: publicClient.getTransactionReceipt.bind(publicClient),
            },
          }),
        }
      : {}),
    signatureCheck: createEvmPaymentSignatureCheck(
      getCode === undefined
        ? {}
        : {
            publicClient: {
              getCode: getCode.bind(publicClient),
              ...(call === undefined ? {} : { call: call.bind(publicClient) }),
            },
          },
    ),
  };
  return Object.freeze({
    network,
    facilitatorChecks,
    isTransactionId: (tx: string) => txHash.test(tx),
    canonicalTransactionId: (tx: string) => tx.toLowerCase(),
    async getTransaction({ tx }: { tx: string }): Promise<DirectTransaction> {
      let receipt: Awaited<ReturnType<EvmDirectReader["getTransactionReceipt"]>>;
      try {
        receipt = await publicClient.getTransactionReceipt({ hash: tx as Hex });
      } catch (error) {
        if (isNotFound(error)) return { status: "not_found" };
        throw error;
      }
      if (receipt.status !== "success") return { status: "failed" };
      // EIP-3009 authorizations executed in the transaction, as `token|authorizer`: their transfers were relayed.
      const authorized = new Set(
        parseEventLogs({ abi: eip3009Abi, eventName: "AuthorizationUsed", logs: receipt.logs }).map(
          (log) => `${log.address.toLowerCase()}|${log.args.authorizer.toLowerCase()}`,
        ),
      );
      const transfers = parseEventLogs({ abi: eip3009Abi, eventName: "Transfer", logs: receipt.logs }).map(
        (log) => ({
          asset: log.address,
          from: log.args.from,
          to: log.args.to,
          amount: log.args.value,
          submittedBySender:
            isAddressEqual(receipt.from, log.args.from) &&
            !authorized.has(`${log.address.toLowerCase()}|${log.args.from.toLowerCase()}`),
        }),
      );
      const [head, block] = await Promise.all([
        publicClient.getBlockNumber({ cacheTime: 0 }),
        publicClient.getBlock({ blockNumber: receipt.blockNumber }),
      ]);
      return {
        status: "success",
        transfers,
        confirmations: Number(head - receipt.blockNumber + 1n),
        timestamp: Number(block.timestamp),
      };
    },
    async verifyBinding({ message, signature, signer }): Promise<boolean> {
      if (!signature65.test(signature)) return false;
      const recovered = await recoverSigner(hashMessage(message), signature as Hex);
      return recovered !== undefined && isAddressEqual(recovered, signer as Address);
    },
    sameAddress: (a: string, b: string) => a.toLowerCase() === b.toLowerCase(),
  });
}
