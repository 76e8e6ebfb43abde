/**
 * EVM chain ids of every x402 v1 network name the reference SDKs know (`x402` 1.2.0's list plus the names
 * `@x402/evm` 2.27 adds), so a v1 name met on the wire or in a facilitator's `/supported` maps to CAIP-2
 * even when the registry has no asset for it. Networks with a USDC entry live in `defaultNetworks`.
 */
export const v1EvmChainIds: Readonly<Record<string, number>> = Object.freeze({
  base: 8453,
  "base-sepolia": 84532,
  ethereum: 1,
  sepolia: 11155111,
  avalanche: 43114,
  "avalanche-fuji": 43113,
  polygon: 137,
  "polygon-amoy": 80002,
  sei: 1329,
  "sei-testnet": 1328,
  iotex: 4689,
  peaq: 3338,
  abstract: 2741,
  "abstract-testnet": 11124,
  story: 1514,
  educhain: 41923,
  "skale-base-sepolia": 324705682,
  megaeth: 4326,
  monad: 143,
  stable: 988,
  "stable-testnet": 2201,
});

/** CAIP-2 ids of the Solana clusters by their v1 names. */
export const v1SolanaClusters: Readonly<Record<string, string>> = Object.freeze({
  solana: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
  "solana-devnet": "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
  "solana-testnet": "solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z",
});
