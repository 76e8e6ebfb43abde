import {
  type Account,
  type Address,
  type Chain,
  encodeFunctionData,
  type Hex,
  type PublicClient,
  parseEventLogs,
  parseSignature,
  type Transport,
  type WalletClient,
} from "viem";
import { eip3009Abi } from "./usdcAbi.js";

/** The arguments of one EIP-3009 `transferWithAuthorization` call. */
export type TransferWithAuthorizationCall = Readonly<{
  token: Address;
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
  signature: Hex;
}>;

/** A USDC `Transfer` event read from a receipt. */
export type TransferLog = Readonly<{ token: Address; from: Address; to: Address; value: bigint }>;

/** What a mined transaction did, as far as payments care. */
export type EvmReceipt = Readonly<{
  status: "success" | "reverted";
  blockNumber: bigint;
  transfers: readonly TransferLog[];
}>;

/** The outcome of simulating a call: fine, or reverted with the contract's reason when it gave one. */
export type EvmSimulation = Readonly<{ ok: true }> | Readonly<{ ok: false; revertReason?: string }>;

/** Options of a simulation, an estimate or a send: the gas it may use. */
export type EvmGasOptions = Readonly<{
  /** The most gas the call may use; a call that needs more fails (simulation, estimate) or is not sent. */
  gas?: bigint;
}>;

/**
 * Everything the EVM `exact` facilitator needs from one chain: a few reads, a simulation, one write and a
 * receipt. A small interface so that a test node (anvil) and a production RPC plug in the same way.
 */
export type EvmChain = Readonly<{
  /** CAIP-2 id, `eip155:<chainId>`. */
  network: string;
  chainId: number;
  /** The account that sends settlements and pays their gas. */
  signerAddress: Address;
  authorizationState(token: Address, authorizer: Address, nonce: Hex): Promise<boolean>;
  balanceOf(token: Address, owner: Address): Promise<bigint>;
  /** `eth_call` of the transfer; with `gas`, a transfer that needs more fails. */
  simulateTransferWithAuthorization(
    call: TransferWithAuthorizationCall,
    options?: EvmGasOptions,
  ): Promise<EvmSimulation>;
  /**
   * `eth_estimateGas` of the transfer, searching no higher than `gas` when given. Throws when the transfer reverts
   * or needs more than `gas`.
   */
  estimateTransferWithAuthorizationGas(
    call: TransferWithAuthorizationCall,
    options?: EvmGasOptions,
  ): Promise<bigint>;
  /** Signs and broadcasts the transfer; with `gas`, as its gas limit (no estimate), which bounds what it can spend. */
  sendTransferWithAuthorization(call: TransferWithAuthorizationCall, options?: EvmGasOptions): Promise<Hex>;
  waitForReceipt(hash: Hex, options: Readonly<{ timeoutMs: number }>): Promise<EvmReceipt>;
}>;

/** Parameters of `createViemEvmChain`. */
export type CreateViemEvmChainParameters = Readonly<{
  publicClient: PublicClient<Transport, Chain>;
  /** A wallet client with an account: it signs and pays for settlements. */
  walletClient: WalletClient<Transport, Chain, Account>;
  /**
   * How often to poll for a receipt, in milliseconds.
   * @default 250
   */
  pollingIntervalMs?: number;
}>;

function args(call: TransferWithAuthorizationCall) {
  const base = [call.from, call.to, call.value, call.validAfter, call.validBefore, call.nonce] as const;
  // A 65-byte ECDSA signature uses the (v, r, s) overload every FiatToken version has; anything else (ERC-1271
  // smart wallets) needs the bytes overload of FiatToken v2.2.
  if (call.signature.length === 132) {
    const { v, r, s, yParity } = parseSignature(call.signature);
    return [...base, Number(v ?? BigInt(yParity + 27)), r, s] as const;
  }
  return [...base, call.signature] as const;
}

function revertReasonOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current; depth++) {
    const e = current as { reason?: unknown; shortMessage?: unknown; cause?: unknown };
    if (typeof e.reason === "string") return e.reason;
    current = e.cause;
  }
  const short = (error as { shortMessage?: unknown }).shortMessage;
  return typeof short === "string" ? short : undefined;
}

/**
 * An `EvmChain` over viem clients: anvil in tests, any JSON-RPC endpoint in production. The clients read whole RPC
 * answers: give their `http` transport `fetchFn: createBoundedFetch()` (of `@tollgate/server`) to bound them.
 *
 * @example
 * ```ts
 * import { createPublicClient, createWalletClient, http } from "viem";
 * import { privateKeyToAccount } from "viem/accounts";
 * import { base } from "viem/chains";
 * import { createViemEvmChain } from "@tollgate/server/evm";
 * const transport = http(process.env.BASE_RPC_URL);
 * const chain = createViemEvmChain({
 *   publicClient: createPublicClient({ chain: base, transport }),
 *   walletClient: createWalletClient({ chain: base, transport, account: privateKeyToAccount(key) }),
 * });
 * ```
 */
export function createViemEvmChain(parameters: CreateViemEvmChainParameters): EvmChain {
  const { publicClient, walletClient, pollingIntervalMs = 250 } = parameters;
  const chainId = publicClient.chain.id;
  const account = walletClient.account;
  // One account sends every settlement: concurrent sends would read the same pending nonce and clash, so
  // broadcasts go one at a time (each takes milliseconds); receipts are still awaited in parallel.
  let sending: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(send: () => Promise<T>): Promise<T> => {
    const next = sending.then(send, send);
    sending = next.catch(() => undefined);
    return next;
  };
  return Object.freeze({
    network: `eip155:${chainId}`,
    chainId,
    signerAddress: account.address,
    authorizationState: (token: Address, authorizer: Address, nonce: Hex) =>
      publicClient.readContract({
        address: token,
        abi: eip3009Abi,
        functionName: "authorizationState",
        args: [authorizer, nonce],
      }),
    balanceOf: (token: Address, owner: Address) =>
      publicClient.readContract({
        address: token,
        abi: eip3009Abi,
        functionName: "balanceOf",
        args: [owner],
      }),
    async simulateTransferWithAuthorization(
      call: TransferWithAuthorizationCall,
      options: EvmGasOptions = {},
    ): Promise<EvmSimulation> {
      try {
        await publicClient.simulateContract({
          account,
          address: call.token,
          abi: eip3009Abi,
          functionName: "transferWithAuthorization",
          args: args(call),
          ...(options.gas === undefined ? {} : { gas: options.gas }),
        });
        return { ok: true };
      } catch (error) {
        const revertReason = revertReasonOf(error);
        return revertReason === undefined ? { ok: false } : { ok: false, revertReason };
      }
    },
    async estimateTransferWithAuthorizationGas(
      call: TransferWithAuthorizationCall,
      options: EvmGasOptions = {},
    ): Promise<bigint> {
      // One raw eth_estimateGas: viem's estimateContractGas prepares a whole transaction first and does not pass
      // a gas cap on, and the cap is what bounds the node's search for a contract that burns gas.
      const data = encodeFunctionData({
        abi: eip3009Abi,
        functionName: "transferWithAuthorization",
        args: args(call),
      });
      const gas = await publicClient.request({
        method: "eth_estimateGas",
        params: [
          {
            from: account.address,
            to: call.token,
            data,
            ...(options.gas === undefined ? {} : { gas: `0x${options.gas.toString(16)}` }),
          },
        ],
      });
      return BigInt(gas);
    },
    sendTransferWithAuthorization: (call: TransferWithAuthorizationCall, options: EvmGasOptions = {}) =>
      oneAtATime(() =>
        walletClient.writeContract({
          address: call.token,
          abi: eip3009Abi,
          functionName: "transferWithAuthorization",
          args: args(call),
          ...(options.gas === undefined ? {} : { gas: options.gas }),
        }),
      ),
    async waitForReceipt(hash: Hex, options: Readonly<{ timeoutMs: number }>): Promise<EvmReceipt> {
      const receipt = await publicClient.waitForTransactionReceipt({
        hash,
        timeout: options.timeoutMs,
        pollingInterval: pollingIntervalMs,
      });
      const transfers = parseEventLogs({ abi: eip3009Abi, logs: receipt.logs, eventName: "Transfer" }).map(
        (log) => ({
          token: log.address,
          from: log.args.from,
          to: log.args.to,
          value: log.args.value,
        }),
      );
      return { status: receipt.status, blockNumber: receipt.blockNumber, transfers };
    },
  });
}
