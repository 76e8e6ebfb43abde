/** The kind of chain a network runs: EVM (`eip155:*`) or Solana (`solana:*`). */
export type NetworkFamily = "evm" | "svm";

/** The EIP-712 domain fields a USDC contract signs with, besides chain id and verifying contract. */
export type Eip712DomainInfo = Readonly<{ name: string; version: string }>;

/** One payment asset of a network: a token contract (EVM) or mint (Solana). */
export type AssetInfo = Readonly<{
  /** Contract address (EVM, as checksummed in the registry) or mint (Solana, base58). */
  address: string;
  /** Ticker, for display: `USDC`. */
  symbol: string;
  /** Decimals of the atomic unit: 6 for USDC. */
  decimals: number;
  /** EIP-712 domain of an EIP-3009 token (EVM only). */
  eip712?: Eip712DomainInfo;
}>;

/** A network the registry knows: its identifiers in both protocol generations and its USDC. */
export type NetworkInfo = Readonly<{
  /** CAIP-2 identifier used by x402 v2: `eip155:8453`, `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp`. */
  caip2: string;
  /** Name used by x402 v1: `base`, `solana-devnet`. Absent for networks v1 never named. */
  v1Name?: string;
  /** Human-readable name. */
  displayName: string;
  family: NetworkFamily;
  /** EVM chain id (EVM only). */
  chainId?: number;
  /** Whether this is a test network. */
  testnet: boolean;
  /**
   * The network's USDC. Absent for a network learnt from a facilitator's `/supported`, which names networks
   * but not their assets: offers on such a network carry their asset themselves.
   */
  usdc?: AssetInfo;
}>;
