import type { NetworkInfo } from "./network.js";

const SOLANA_MAINNET = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
const SOLANA_DEVNET = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";

function evm(
  v1Name: string,
  displayName: string,
  chainId: number,
  address: string,
  eip712Name: string,
  testnet: boolean,
): NetworkInfo {
  return {
    caip2: `eip155:${chainId}`,
    v1Name,
    displayName,
    family: "evm",
    chainId,
    testnet,
    usdc: { address, symbol: "USDC", decimals: 6, eip712: { name: eip712Name, version: "2" } },
  };
}

/**
 * The networks Tollgate knows without asking anyone: the 12 of the seed deployment plus Ethereum mainnet
 * for the direct lane. USDC addresses and EIP-712 names as Circle deployed them and as the reference SDKs
 * configure them. A facilitator's `/supported` may add networks at run time (see `createNetworkRegistry`).
 */
export const defaultNetworks: readonly NetworkInfo[] = Object.freeze([
  evm("base", "Base", 8453, "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin", false),
  evm("base-sepolia", "Base Sepolia", 84532, "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", true),
  evm("ethereum", "Ethereum", 1, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USD Coin", false),
  evm("polygon", "Polygon", 137, "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USD Coin", false),
  evm("polygon-amoy", "Polygon Amoy", 80002, "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", "USDC", true),
  evm(
    "avalanche",
    "Avalanche C-Chain",
    43114,
    "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E",
    "USD Coin",
    false,
  ),
  evm(
    "avalanche-fuji",
    "Avalanche Fuji",
    43113,
    "0x5425890298aed601595a70AB815c96711a31Bc65",
    "USD Coin",
    true,
  ),
  evm("sei", "Sei", 1329, "0xe15fc38f6d8c56af07bbcbe3baf5708a2bf42392", "USDC", false),
  evm("sei-testnet", "Sei Testnet", 1328, "0x4fcf1784b31630811181f670aea7a7bef803eaed", "USDC", true),
  evm("iotex", "IoTeX", 4689, "0xcdf79194c6c285077a58da47641d4dbe51f63542", "Bridged USDC", false),
  evm("peaq", "peaq", 3338, "0xbbA60da06c2c5424f03f7434542280FCAd453d10", "USDC", false),
  {
    caip2: SOLANA_MAINNET,
    v1Name: "solana",
    displayName: "Solana",
    family: "svm",
    testnet: false,
    usdc: { address: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", symbol: "USDC", decimals: 6 },
  },
  {
    caip2: SOLANA_DEVNET,
    v1Name: "solana-devnet",
    displayName: "Solana Devnet",
    family: "svm",
    testnet: true,
    usdc: { address: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", symbol: "USDC", decimals: 6 },
  },
] satisfies NetworkInfo[]);
