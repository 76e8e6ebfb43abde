/**
 * Starts the reference paid API from the environment (see `.env.example`): validates every variable first and
 * refuses to start, naming each bad one; then builds chain access from the RPC URLs and serves on node:http.
 */
import { Connection, Keypair } from "@solana/web3.js";
import { createBoundedFetch, type SettlementCheck, serveFetch } from "@tollgate/server";
import {
  createEvmDirectChain,
  createEvmPendingSettlementResolver,
  createEvmSettlementCheck,
  createExactEvmScheme,
  createViemEvmChain,
} from "@tollgate/server/evm";
import { createFacilitator, type FacilitatorScheme } from "@tollgate/server/facilitator";
import {
  createConnectionSolanaChain,
  createConnectionTransactionReader,
  createExactSvmScheme,
  createSvmDirectChain,
  createSvmSettlementCheck,
} from "@tollgate/server/svm";
import { createNetworkRegistry, decodeBase58, isTollgateError } from "@tollgate/shared";
import { type Chain, createPublicClient, createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { base, baseSepolia, mainnet } from "viem/chains";
import { loadConfig, type PaidApiConfig } from "./config.js";
import { createPaidApi, type PaidApiChains } from "./createPaidApi.js";
import { type OpenedStore, openStore, type StoreChoice, storeChoiceOf } from "./openStore.js";

const storeVariableOf = (choice: StoreChoice): string =>
  ({ embedded: "TOLLGATE_DATA_DIR", postgres: "DATABASE_URL", redis: "REDIS_URL", memory: "the store" })[
    choice.kind
  ];

/** Every RPC client below reads answers through this: at most 4 MiB each, so a hostile node cannot exhaust memory. */
const rpcFetch = createBoundedFetch({ maxBodyBytes: 4 * 1024 * 1024 });

function chainsOf(config: PaidApiConfig): PaidApiChains {
  const registry = createNetworkRegistry();
  const baseChain: Chain = config.X402_BASE_NETWORK === "base" ? base : baseSepolia;
  const wanted = new Set(config.X402_DIRECT_ENABLED ? config.X402_DIRECT_CHAINS : []);
  return {
    ...(wanted.has("base")
      ? {
          base: createEvmDirectChain({
            publicClient: createPublicClient({
              chain: baseChain,
              transport: http(config.X402_BASE_RPC_URL, { fetchFn: rpcFetch }),
            }),
          }),
        }
      : {}),
    ...(wanted.has("ethereum")
      ? {
          ethereum: createEvmDirectChain({
            publicClient: createPublicClient({
              chain: mainnet,
              transport: http(config.X402_ETHEREUM_RPC_URL, { fetchFn: rpcFetch }),
            }),
          }),
        }
      : {}),
    ...(wanted.has("solana")
      ? {
          solana: createSvmDirectChain({
            network: registry.get(config.X402_SOLANA_NETWORK).caip2,
            read: createConnectionTransactionReader({
              connection: new Connection(config.X402_SOLANA_RPC_URL, {
                commitment: "confirmed",
                fetch: rpcFetch,
              }),
              commitment: config.X402_SOLANA_CONFIRMATIONS === "finalized" ? "finalized" : "confirmed",
            }),
          }),
        }
      : {}),
  };
}

/** Chain checks for a lost `/settle` answer on the networks the facilitator lane offers. */
function settlementChecksOf(config: PaidApiConfig): Record<string, SettlementCheck> {
  const registry = createNetworkRegistry();
  const baseChain: Chain = config.X402_BASE_NETWORK === "base" ? base : baseSepolia;
  return {
    [registry.get(config.X402_BASE_NETWORK).caip2]: createEvmSettlementCheck({
      publicClient: createPublicClient({
        chain: baseChain,
        transport: http(config.X402_BASE_RPC_URL, { fetchFn: rpcFetch }),
      }),
    }),
    [registry.get(config.X402_SOLANA_NETWORK).caip2]: createSvmSettlementCheck({
      connection: new Connection(config.X402_SOLANA_RPC_URL, { commitment: "confirmed", fetch: rpcFetch }),
    }),
  };
}

/** The admin API's on-chain view of pending settlements on Base (Solana's cannot be resolved from a claim). */
function adminResolversOf(config: PaidApiConfig) {
  const chain: Chain = config.X402_BASE_NETWORK === "base" ? base : baseSepolia;
  const publicClient = createPublicClient({
    chain,
    transport: http(config.X402_BASE_RPC_URL, { fetchFn: rpcFetch }),
  });
  return {
    [createNetworkRegistry().get(config.X402_BASE_NETWORK).caip2]: createEvmPendingSettlementResolver({
      publicClient,
    }),
  };
}

function selfSettleOf(config: PaidApiConfig) {
  if (!config.X402_SELF_SETTLE_PRIVATE_KEY) return undefined;
  const chain: Chain = config.X402_BASE_NETWORK === "base" ? base : baseSepolia;
  const transport = http(config.X402_BASE_RPC_URL, { fetchFn: rpcFetch });
  const schemes: FacilitatorScheme[] = [
    createExactEvmScheme({
      chains: [
        createViemEvmChain({
          publicClient: createPublicClient({ chain, transport }),
          walletClient: createWalletClient({
            chain,
            transport,
            account: privateKeyToAccount(config.X402_SELF_SETTLE_PRIVATE_KEY as `0x${string}`),
          }),
        }),
      ],
    }),
  ];
  if (config.X402_SELF_SETTLE_SOLANA_PRIVATE_KEY) {
    const network = createNetworkRegistry().get(config.X402_SOLANA_NETWORK).caip2;
    schemes.push(
      createExactSvmScheme({
        chains: [
          createConnectionSolanaChain({
            connection: new Connection(config.X402_SOLANA_RPC_URL, {
              commitment: "confirmed",
              fetch: rpcFetch,
            }),
            network,
            feePayer: Keypair.fromSecretKey(
              decodeBase58({ value: config.X402_SELF_SETTLE_SOLANA_PRIVATE_KEY, length: 64 }),
            ),
          }),
        ],
      }),
    );
  }
  return createFacilitator({ schemes });
}

async function main(): Promise<void> {
  let config: PaidApiConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (isTollgateError(error, "SERVER__INVALID_CONFIG")) {
      process.stderr.write(`paid-api: refusing to start. ${error.context.reason}\n`);
      process.stderr.write(`paid-api: fix ${error.context.option} (see examples/paid-api/.env.example)\n`);
      process.exit(1);
    }
    throw error;
  }
  let opened: OpenedStore;
  try {
    opened = await openStore(config);
  } catch (error) {
    if (isTollgateError(error)) {
      // The message names the failing step only; the URL (which may carry a password) is never printed.
      const variable = storeVariableOf(storeChoiceOf(config));
      process.stderr.write(`paid-api: refusing to start. ${error.message} (${error.code})\n`);
      process.stderr.write(`paid-api: check ${variable} (see examples/paid-api/.env.example)\n`);
      process.exit(1);
    }
    throw error;
  }
  const selfSettle = selfSettleOf(config);
  const api = createPaidApi({
    config,
    chains: chainsOf(config),
    settlementChecks: settlementChecksOf(config),
    store: opened.store,
    ...(selfSettle ? { selfSettle } : {}),
    adminResolvers: adminResolversOf(config),
  });
  // /metrics on a listener of its own when X402_METRICS_PORT is set (a port the public is never routed to);
  // printed before the main URL, which tells a supervisor the server is up.
  const metricsServed =
    config.X402_METRICS_ENABLED && config.X402_METRICS_PORT !== undefined
      ? await serveFetch({ fetch: api.metricsFetch, port: config.X402_METRICS_PORT, host: config.HOST })
      : undefined;
  const served = await serveFetch({ fetch: api.fetch, port: config.PORT, host: config.HOST });
  // The admin API listens on its own port (loopback by default), never beside the paid routes.
  const admin = api.admin
    ? await serveFetch({
        fetch: api.admin.fetch,
        port: config.TOLLGATE_ADMIN_PORT,
        host: config.TOLLGATE_ADMIN_HOST,
      })
    : undefined;
  process.stdout.write(`paid-api store: ${opened.description}\n`);
  if (metricsServed) process.stdout.write(`paid-api metrics at ${metricsServed.url}/metrics\n`);
  process.stdout.write(`paid-api listening at ${served.url}\n`);
  if (admin) process.stdout.write(`paid-api admin API listening at ${admin.url}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Stop taking requests, let those in flight finish, then close the paywall and the store (which flushes
    // and unlocks the data directory), and only then exit.
    void Promise.all([served.close(), metricsServed?.close(), admin?.close()])
      .then(() => api.paywall.close())
      .then(() => opened.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(
            `paid-api: shutdown failed: ${error instanceof Error ? error.message : error}\n`,
          );
          process.exit(1);
        },
      );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

void main();
