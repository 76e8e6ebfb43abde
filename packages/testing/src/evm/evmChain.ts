import {
  defaultNetworkRegistry,
  type NetworkInfo,
  type NetworkRegistry,
  TollgateError,
} from "@tollgate/shared";
import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  type HttpTransport,
  http,
  type PrivateKeyAccount,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from "viem";
import { evmFacilitatorAccount, evmPayerAccounts } from "../keys.js";
import { type AnvilInstance, type StartAnvilParameters, startAnvil } from "./anvil.js";
import { testUsdcAbi, testUsdcDeployedBytecode } from "./testUsdcArtifact.js";

/** Parameters of `startEvmChain`. */
export type StartEvmChainParameters = Readonly<{
  /**
   * Registry network to run as: its chain id, its USDC address (where the test token is placed) and its EIP-712
   * name and version (with which the token is initialised).
   * @default "base-sepolia"
   */
  network?: string;
  /**
   * Registry to read the network from.
   * @default defaultNetworkRegistry
   */
  registry?: NetworkRegistry;
  /**
   * Addresses that receive `usdcPerPayer` test USDC. They get no ETH unless listed in `ethForPayers`.
   * @default the addresses of evmPayerAccounts
   */
  payers?: readonly Address[];
  /**
   * Test USDC minted to each payer, in atomic units (6 decimals).
   * @default 10_000_000n (10 USDC)
   */
  usdcPerPayer?: bigint;
  /**
   * ETH in wei to give some addresses, typically direct-lane payers who send their own transfers.
   * Facilitator-lane payers stay at 0 ETH.
   * @default {} (nobody but the facilitator holds ETH)
   */
  ethForPayers?: Readonly<Record<Address, bigint>>;
  /**
   * The account that initialises the token, mints, and relays authorizations (pays gas).
   * @default evmFacilitatorAccount
   */
  facilitator?: PrivateKeyAccount;
  /**
   * ETH in wei given to the facilitator.
   * @default 1_000n * 10n ** 18n (1000 ETH)
   */
  facilitatorEth?: bigint;
  /**
   * Further options of the anvil process (its chain id always comes from the network).
   * @default {}
   */
  anvil?: Omit<StartAnvilParameters, "chainId">;
}>;

/**
 * A running EVM test chain: anvil, the test token at the network's real USDC address, clients and helpers.
 *
 * @example
 * ```ts
 * import { startEvmChain, evmPayerAccounts, evmPayeeAccounts } from "@tollgate/testing";
 * const evm = await startEvmChain();
 * const signature = await evmPayerAccounts[0].signTypedData({
 *   domain: evm.eip712Domain, types, primaryType: "TransferWithAuthorization", message,
 * });
 * const { request } = await evm.publicClient.simulateContract({
 *   account: evm.facilitator, address: evm.token, abi: evm.abi, functionName: "transferWithAuthorization",
 *   args: [message.from, message.to, message.value, message.validAfter, message.validBefore, message.nonce, signature],
 * });
 * await evm.walletClient.writeContract(request);
 * await evm.balanceOf(evmPayeeAccounts[0].address);
 * ```
 */
export type EvmChain = Readonly<{
  /** The anvil process. */
  anvil: AnvilInstance;
  /** The registry entry the chain runs as. */
  network: NetworkInfo;
  /** viem chain with the network's id and the loopback RPC URL. */
  chain: Chain;
  /** `http://127.0.0.1:<port>`. */
  rpcUrl: string;
  /** Public client with a 10 ms polling interval. */
  publicClient: PublicClient<HttpTransport, Chain>;
  /** Wallet client of the facilitator (relayer) account. */
  walletClient: WalletClient<HttpTransport, Chain, PrivateKeyAccount>;
  /** The facilitator (relayer) account, funded with ETH. */
  facilitator: PrivateKeyAccount;
  /** Addresses funded with test USDC at start. */
  payers: readonly Address[];
  /** Address of the test token: the registry's USDC address of the network. */
  token: Address;
  /** ABI of the test token. */
  abi: typeof testUsdcAbi;
  /** The token's EIP-712 domain, as payers sign it. */
  eip712Domain: Readonly<{ name: string; version: string; chainId: number; verifyingContract: Address }>;
  /** Test USDC balance of an address, in atomic units. */
  balanceOf(address: Address): Promise<bigint>;
  /** Mints test USDC (atomic units) to an address; resolves with the mined receipt. */
  mint(to: Address, amount: bigint): Promise<TransactionReceipt>;
  /** Mines `blocks` empty blocks at once. */
  mine(blocks: number | bigint): Promise<void>;
  /** Stops anvil. Idempotent. */
  stop(): Promise<void>;
}>;

/**
 * Starts anvil as a registry network (Base Sepolia by default) with the test token's runtime code at that network's
 * real USDC address, initialised with the registry's EIP-712 name and version, payers funded with test USDC (and no
 * ETH), and the facilitator funded with ETH.
 *
 * @example
 * ```ts
 * import { startEvmChain, evmPayerAccounts, evmPayeeAccounts } from "@tollgate/testing";
 * const evm = await startEvmChain({ usdcPerPayer: 5_000_000n });
 * await evm.balanceOf(evmPayerAccounts[0].address); // 5_000_000n
 * await evm.balanceOf(evmPayeeAccounts[0].address); // 0n
 * await evm.stop();
 * ```
 * @throws `NETWORK__UNKNOWN`, `NETWORK__NO_ASSET` (no USDC or EIP-712 domain in the registry),
 *   `CHAIN__TIMEOUT` and `CHAIN__CALL_FAILED` (anvil or a set-up transaction failed).
 */
export async function startEvmChain(parameters: StartEvmChainParameters = {}): Promise<EvmChain> {
  const {
    network: networkName = "base-sepolia",
    registry = defaultNetworkRegistry,
    payers = evmPayerAccounts.map((account) => account.address),
    usdcPerPayer = 10_000_000n,
    ethForPayers = {},
    facilitator = evmFacilitatorAccount,
    facilitatorEth = 1_000n * 10n ** 18n,
    anvil: anvilOptions = {},
  } = parameters;

  const network = registry.get(networkName);
  const { chainId, usdc } = network;
  if (network.family !== "evm" || chainId === undefined || usdc?.eip712 === undefined) {
    throw new TollgateError("NETWORK__NO_ASSET", { context: { network: network.caip2 } });
  }
  const token = getAddress(usdc.address);

  const anvil = await startAnvil({ ...anvilOptions, chainId });
  try {
    const chain = defineChain({
      id: chainId,
      name: `${network.displayName} (anvil)`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl] } },
    });
    const transport = http(anvil.rpcUrl, { retryCount: 0 });
    const publicClient: PublicClient<HttpTransport, Chain> = createPublicClient({
      chain,
      transport,
      pollingInterval: 10,
    });
    const walletClient: WalletClient<HttpTransport, Chain, PrivateKeyAccount> = createWalletClient({
      account: facilitator,
      chain,
      transport,
      pollingInterval: 10,
    });

    /**
     * Sends a token call from the facilitator and returns its receipt. eth_sendRawTransactionSync (EIP-7966, which
     * anvil 1.7 serves) answers with the receipt, so nothing polls.
     */
    async function send(
      operation: "initialize" | "mint",
      call: Promise<TransactionReceipt>,
    ): Promise<TransactionReceipt> {
      let receipt: TransactionReceipt;
      try {
        receipt = await call;
      } catch (cause) {
        throw new TollgateError("CHAIN__CALL_FAILED", {
          context: { network: network.caip2, operation },
          cause,
        });
      }
      if (receipt.status !== "success") {
        throw new TollgateError("CHAIN__CALL_FAILED", {
          context: { network: network.caip2, operation },
          cause: new Error(`transaction ${receipt.transactionHash} reverted`),
        });
      }
      return receipt;
    }

    const mint = (to: Address, amount: bigint) =>
      send(
        "mint",
        walletClient.writeContractSync({
          address: token,
          abi: testUsdcAbi,
          functionName: "mint",
          args: [to, amount],
        }),
      );

    await anvil.setCode(token, testUsdcDeployedBytecode);
    await anvil.setBalance(facilitator.address, facilitatorEth);
    await send(
      "initialize",
      walletClient.writeContractSync({
        address: token,
        abi: testUsdcAbi,
        functionName: "initialize",
        args: [usdc.eip712.name, usdc.eip712.version],
      }),
    );
    for (const payer of payers) await mint(payer, usdcPerPayer);
    for (const [address, wei] of Object.entries(ethForPayers)) {
      await anvil.setBalance(getAddress(address), wei);
    }

    return Object.freeze({
      anvil,
      network,
      chain,
      rpcUrl: anvil.rpcUrl,
      publicClient,
      walletClient,
      facilitator,
      payers: Object.freeze(payers.map((payer) => getAddress(payer))),
      token,
      abi: testUsdcAbi,
      eip712Domain: Object.freeze({
        name: usdc.eip712.name,
        version: usdc.eip712.version,
        chainId,
        verifyingContract: token,
      }),
      balanceOf: (address: Address) =>
        publicClient.readContract({
          address: token,
          abi: testUsdcAbi,
          functionName: "balanceOf",
          args: [address],
        }),
      mint,
      mine: (blocks: number | bigint) => anvil.mine(blocks),
      stop: () => anvil.stop(),
    });
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
