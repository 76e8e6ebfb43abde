import { TollgateError } from "../errors/TollgateError.js";
import { defaultNetworks } from "./defaults.js";
import type { NetworkInfo } from "./network.js";
import { v1EvmChainIds, v1SolanaClusters } from "./v1Names.js";

/** A facilitator `/supported` kind, as far as the registry reads it. */
export type SupportedKindLike = Readonly<{ x402Version: number; network: string }>;

/** A registry of networks: look-ups by CAIP-2, v1 name or chain id, extensible at run time. */
export type NetworkRegistry = Readonly<{
  /** The network named by a CAIP-2 id or a v1 name, or `undefined`. */
  find(network: string): NetworkInfo | undefined;
  /**
   * The network named by a CAIP-2 id or a v1 name.
   * @throws `NETWORK__UNKNOWN`
   */
  get(network: string): NetworkInfo;
  /** The EVM network with this chain id, or `undefined`. */
  findByChainId(chainId: number): NetworkInfo | undefined;
  /** Every registered network, defaults first. */
  list(): readonly NetworkInfo[];
  /**
   * Registers a network, or replaces the entry with the same CAIP-2 id.
   * @throws `NETWORK__CONFLICT` when its v1 name or chain id belongs to another CAIP-2 id.
   */
  add(network: NetworkInfo): void;
  /**
   * Learns the networks of a facilitator's `GET /supported` kinds: unknown CAIP-2 ids (`eip155:N`,
   * `solana:…`) and v1 names the reference SDKs know. Unknown identifiers of other families are ignored.
   * Returns the networks it added.
   */
  addFromSupported(kinds: readonly SupportedKindLike[]): readonly NetworkInfo[];
}>;

/** Parameters of `createNetworkRegistry`. */
export type CreateNetworkRegistryParameters = Readonly<{
  /**
   * The networks to start with.
   * @default defaultNetworks
   */
  networks?: readonly NetworkInfo[];
}>;

const caip2Pattern = /^([a-z0-9-]{3,8}):([-_a-zA-Z0-9]{1,32})$/;

/**
 * Creates a network registry seeded with `defaultNetworks` (or the given list). Each server or client may
 * hold its own, so what one facilitator's `/supported` teaches does not leak into another process's view.
 *
 * @example
 * ```ts
 * import { createNetworkRegistry } from "@tollgate/shared";
 * const registry = createNetworkRegistry();
 * registry.get("base").caip2; // "eip155:8453"
 * registry.get("eip155:8453").usdc?.address; // "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
 * ```
 */
export function createNetworkRegistry(parameters: CreateNetworkRegistryParameters = {}): NetworkRegistry {
  const { networks = defaultNetworks } = parameters;
  const byCaip2 = new Map<string, NetworkInfo>();
  const byV1 = new Map<string, NetworkInfo>();
  const byChainId = new Map<number, NetworkInfo>();

  function add(network: NetworkInfo): void {
    // Stryker disable next-line ConditionalExpression: equivalent, no entry is kept under an undefined name.
    const v1Owner = network.v1Name === undefined ? undefined : byV1.get(network.v1Name);
    if (v1Owner && v1Owner.caip2 !== network.caip2) {
      throw new TollgateError("NETWORK__CONFLICT", {
        context: { network: network.caip2, existing: v1Owner.caip2 },
      });
    }
    // Stryker disable next-line ConditionalExpression: equivalent, no entry is kept under an undefined chain id.
    const chainOwner = network.chainId === undefined ? undefined : byChainId.get(network.chainId);
    if (chainOwner && chainOwner.caip2 !== network.caip2) {
      throw new TollgateError("NETWORK__CONFLICT", {
        context: { network: network.caip2, existing: chainOwner.caip2 },
      });
    }
    const previous = byCaip2.get(network.caip2);
    // A replaced entry's old v1 name and chain id stop naming it (the new ones are set below).
    if (previous?.v1Name !== undefined) byV1.delete(previous.v1Name);
    if (previous?.chainId !== undefined) byChainId.delete(previous.chainId);
    const frozen = Object.freeze({ ...network });
    byCaip2.set(network.caip2, frozen);
    // Stryker disable next-line ConditionalExpression: equivalent, an undefined name or id is never looked up.
    if (network.v1Name !== undefined) byV1.set(network.v1Name, frozen);
    // Stryker disable next-line ConditionalExpression: equivalent, as above.
    if (network.chainId !== undefined) byChainId.set(network.chainId, frozen);
  }

  for (const network of networks) add(network);

  function find(network: string): NetworkInfo | undefined {
    return byCaip2.get(network) ?? byV1.get(network);
  }

  function learn(identifier: string): NetworkInfo | undefined {
    if (find(identifier)) return undefined;
    const v1Chain = v1EvmChainIds[identifier];
    if (v1Chain !== undefined) {
      const existing = byChainId.get(v1Chain);
      if (existing) {
        // Name a known chain by its v1 name too, when it has none yet.
        if (existing.v1Name !== undefined) return undefined;
        const named = { ...existing, v1Name: identifier };
        add(named);
        return named;
      }
      return evmNetwork(`eip155:${v1Chain}`, v1Chain, identifier);
    }
    const cluster = v1SolanaClusters[identifier];
    if (cluster !== undefined) {
      if (byCaip2.has(cluster)) return undefined;
      return svmNetwork(cluster, identifier);
    }
    const match = caip2Pattern.exec(identifier);
    if (!match) return undefined;
    // Stryker disable next-line StringLiteral: the pattern's second group always matches, so the default never applies.
    if (match[1] === "eip155" && /^[1-9][0-9]{0,15}$/.test(match[2] ?? "")) {
      const chainId = Number(match[2]);
      if (byChainId.has(chainId)) return undefined;
      const v1Name = Object.entries(v1EvmChainIds).find(
        ([name, id]) => id === chainId && !byV1.has(name),
      )?.[0];
      return evmNetwork(identifier, chainId, v1Name);
    }
    if (match[1] === "solana") {
      const v1Name = Object.entries(v1SolanaClusters).find(
        ([name, id]) => id === identifier && !byV1.has(name),
      )?.[0];
      return svmNetwork(identifier, v1Name);
    }
    return undefined;
  }

  function evmNetwork(caip2: string, chainId: number, v1Name: string | undefined): NetworkInfo {
    const network: NetworkInfo = {
      caip2,
      ...(v1Name === undefined ? {} : { v1Name }),
      displayName: v1Name ?? caip2,
      family: "evm",
      chainId,
      // Stryker disable next-line StringLiteral: any text without a testnet word reads as "" does (not a testnet).
      testnet: /sepolia|testnet|fuji|amoy|devnet/.test(v1Name ?? ""),
    };
    add(network);
    return network;
  }

  function svmNetwork(caip2: string, v1Name: string | undefined): NetworkInfo {
    const network: NetworkInfo = {
      caip2,
      ...(v1Name === undefined ? {} : { v1Name }),
      displayName: v1Name ?? caip2,
      family: "svm",
      testnet: v1Name !== "solana",
    };
    add(network);
    return network;
  }

  return Object.freeze({
    find,
    get(network: string): NetworkInfo {
      const found = find(network);
      if (!found) throw new TollgateError("NETWORK__UNKNOWN", { context: { network } });
      return found;
    },
    findByChainId: (chainId: number) => byChainId.get(chainId),
    list: () => [...byCaip2.values()],
    add,
    addFromSupported(kinds: readonly SupportedKindLike[]): readonly NetworkInfo[] {
      const added: NetworkInfo[] = [];
      for (const kind of kinds) {
        const network = learn(kind.network);
        if (network) added.push(network);
      }
      return added;
    },
  });
}

/** The registry of `defaultNetworks`, shared by code that takes no registry of its own. Read-mostly. */
export const defaultNetworkRegistry: NetworkRegistry = createNetworkRegistry();
