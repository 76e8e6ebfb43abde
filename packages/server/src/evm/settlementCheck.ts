import { exactEvmPayloadSchema } from "@tollgate/shared";
import {
  type Address,
  getAddress,
  type Hex,
  isAddress,
  isAddressEqual,
  type Log,
  parseEventLogs,
  type TransactionReceipt,
} from "viem";
import type { SettlementCheck } from "../verify/facilitator/facilitatorLane.js";
import { authorizationUsedEvent, eip3009Abi } from "./usdcAbi.js";

/** The reads the EVM settlement check needs; a viem `PublicClient` has them all. */
export type EvmSettlementReader = Readonly<{
  readContract(parameters: {
    address: Address;
    abi: typeof eip3009Abi;
    functionName: "authorizationState";
    args: readonly [Address, Hex];
  }): Promise<unknown>;
  getBlockNumber(parameters?: { cacheTime?: number }): Promise<bigint>;
  getLogs(parameters: {
    address: Address;
    event: typeof authorizationUsedEvent;
    args: { authorizer: Address; nonce: Hex };
    fromBlock: bigint;
    toBlock: bigint;
  }): Promise<readonly Pick<Log, "transactionHash">[]>;
  getTransactionReceipt(parameters: {
    hash: Hex;
  }): Promise<Pick<TransactionReceipt, "status"> & { logs: Log[] }>;
}>;

/**
 * Whether this authorization's own transfer paid `payTo` exactly `amount`: the token emits `AuthorizationUsed(from,
 * nonce)` and then, as the very next log, the `Transfer` it executes (FiatToken's `_transferWithAuthorization`). Any
 * other Transfer in the transaction, such as one of another authorization batched beside it, does not count.
 */
function paidByThisAuthorization(
  parameters: Readonly<{
    logs: readonly Log[];
    token: Address;
    from: Address;
    nonce: Hex;
    payTo: Address;
    amount: bigint;
  }>,
): boolean {
  const { token, from, nonce, payTo, amount } = parameters;
  const logs = [...parameters.logs].sort((a, b) => (a.logIndex ?? 0) - (b.logIndex ?? 0));
  for (let i = 0; i < logs.length - 1; i++) {
    const [used] = parseEventLogs({
      abi: eip3009Abi,
      eventName: "AuthorizationUsed",
      logs: [logs[i] as Log],
    });
    if (
      used === undefined ||
      !isAddressEqual(used.address, token) ||
      !isAddressEqual(used.args.authorizer, from) ||
      used.args.nonce.toLowerCase() !== nonce.toLowerCase()
    ) {
      continue;
    }
    const [transfer] = parseEventLogs({ abi: eip3009Abi, eventName: "Transfer", logs: [logs[i + 1] as Log] });
    return (
      transfer !== undefined &&
      isAddressEqual(transfer.address, token) &&
      isAddressEqual(transfer.args.from, from) &&
      isAddressEqual(transfer.args.to, payTo) &&
      transfer.args.value === amount
    );
  }
  return false;
}

/** Parameters of `createEvmSettlementCheck`. */
export type CreateEvmSettlementCheckParameters = Readonly<{
  /** A client of the network, e.g. viem's `createPublicClient({ chain: base, transport: http(rpcUrl) })`. */
  publicClient: EvmSettlementReader;
  /**
   * How many of the latest blocks to search for the authorization's execution (`AuthorizationUsed`). A
   * settlement older than that is not found, and the payment stays `settlement_pending`.
   * @default 50_000
   */
  lookbackBlocks?: number;
  /**
   * The largest block range of one `eth_getLogs` call (RPC providers cap it); the lookback is searched from the
   * newest block back in ranges of this size, stopping at the first find.
   * @default 10_000
   */
  maxLogRangeBlocks?: number;
}>;

/**
 * A paywall settlement check for EVM networks: after a `/settle` whose answer was lost, proves on chain that
 * the authorization was executed AND paid the payee. A used nonce (`authorizationState(from, nonce)`) is only
 * the cheap first filter: EIP-3009 `cancelAuthorization` also uses a nonce without moving money, and a
 * `receiveWithAuthorization` with the same nonce may pay someone else. So the check finds the token's
 * `AuthorizationUsed(from, nonce)` log in the latest `lookbackBlocks` blocks, reads that transaction's receipt,
 * and requires a successful transaction in which the log right after it is the `Transfer(from, payTo, amount)`
 * of the same token (a Transfer of another authorization batched into the same transaction does not count).
 * Pass it to `createPaywall`'s `settlementChecks` under the network's CAIP-2 id.
 *
 * @example
 * ```ts
 * import { createPublicClient, http } from "viem";
 * import { base } from "viem/chains";
 * import { createEvmSettlementCheck } from "@tollgate/server/evm";
 * const check = createEvmSettlementCheck({ publicClient: createPublicClient({ chain: base, transport: http() }) });
 * createPaywall({ …, settlementChecks: { "eip155:8453": check } });
 * ```
 */
export function createEvmSettlementCheck(parameters: CreateEvmSettlementCheckParameters): SettlementCheck {
  const { publicClient, lookbackBlocks = 50_000, maxLogRangeBlocks = 10_000 } = parameters;
  const lookback = BigInt(Math.max(0, Math.floor(lookbackBlocks)));
  const range = BigInt(Math.max(1, Math.floor(maxLogRangeBlocks)));

  /** The transactions that used `nonce` of `authorizer` on `token`, newest range first. */
  async function authorizationUses(token: Address, authorizer: Address, nonce: Hex): Promise<Hex[]> {
    const latest = await publicClient.getBlockNumber({ cacheTime: 0 });
    const oldest = latest > lookback ? latest - lookback : 0n;
    for (let toBlock = latest; toBlock >= oldest; toBlock -= range) {
      const fromBlock = toBlock - range + 1n > oldest ? toBlock - range + 1n : oldest;
      const logs = await publicClient.getLogs({
        address: token,
        event: authorizationUsedEvent,
        args: { authorizer, nonce },
        fromBlock,
        toBlock,
      });
      const hashes = logs.flatMap((log) => (log.transactionHash ? [log.transactionHash] : []));
      if (hashes.length > 0) return hashes;
      if (fromBlock === oldest) break;
    }
    return [];
  }

  return async ({ requirement, payload }) => {
    const parsed = exactEvmPayloadSchema.safeParse(payload);
    if (
      !parsed.success ||
      !isAddress(requirement.asset, { strict: false }) ||
      !isAddress(requirement.payTo, { strict: false })
    ) {
      return false;
    }
    const token = getAddress(requirement.asset);
    const payTo = getAddress(requirement.payTo);
    const amount = BigInt(requirement.amount);
    const from = getAddress(parsed.data.authorization.from);
    const nonce = parsed.data.authorization.nonce as Hex;
    const used = await publicClient.readContract({
      address: token,
      abi: eip3009Abi,
      functionName: "authorizationState",
      args: [from, nonce],
    });
    if (used !== true) return false;
    for (const hash of await authorizationUses(token, from, nonce)) {
      const receipt = await publicClient.getTransactionReceipt({ hash });
      if (receipt.status !== "success") continue;
      if (paidByThisAuthorization({ logs: receipt.logs, token, from, nonce, payTo, amount })) return true;
    }
    return false;
  };
}
