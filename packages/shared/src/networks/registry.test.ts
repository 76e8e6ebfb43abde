import { describe, expect, it } from "vitest";
import { isTollgateError } from "../errors/TollgateError.js";
import { defaultNetworks } from "./defaults.js";
import { createNetworkRegistry } from "./registry.js";

describe("defaultNetworks", () => {
  it("covers the seed's 12 networks plus ethereum, all USDC with 6 decimals", () => {
    const names = defaultNetworks.map((n) => n.v1Name).sort();
    expect(names).toEqual(
      [
        "avalanche",
        "avalanche-fuji",
        "base",
        "base-sepolia",
        "ethereum",
        "iotex",
        "peaq",
        "polygon",
        "polygon-amoy",
        "sei",
        "sei-testnet",
        "solana",
        "solana-devnet",
      ].sort(),
    );
    for (const n of defaultNetworks) {
      expect(n.usdc?.decimals).toBe(6);
      if (n.family === "evm") {
        expect(n.caip2).toBe(`eip155:${n.chainId}`);
        expect(n.usdc?.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
        expect(n.usdc?.eip712?.version).toBe("2");
      } else {
        expect(n.caip2).toMatch(/^solana:/);
        expect(n.usdc?.address).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
      }
    }
  });

  it("matches the EIP-712 names the reference SDKs sign with", () => {
    const registry = createNetworkRegistry();
    expect(registry.get("base").usdc?.eip712).toEqual({ name: "USD Coin", version: "2" });
    expect(registry.get("base-sepolia").usdc?.eip712).toEqual({ name: "USDC", version: "2" });
    expect(registry.get("iotex").usdc?.eip712?.name).toBe("Bridged USDC");
  });
});

describe("createNetworkRegistry", () => {
  it("finds a network by CAIP-2, v1 name and chain id", () => {
    const registry = createNetworkRegistry();
    const base = registry.get("base");
    expect(registry.get("eip155:8453")).toBe(base);
    expect(registry.findByChainId(8453)).toBe(base);
    expect(registry.get("solana-devnet").caip2).toBe("solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1");
    expect(registry.find("nope")).toBeUndefined();
  });

  it("throws NETWORK__UNKNOWN with the name", () => {
    try {
      createNetworkRegistry().get("eip155:999999");
      expect.unreachable();
    } catch (e) {
      expect(isTollgateError(e, "NETWORK__UNKNOWN")).toBe(true);
      expect((e as { context: { network: string } }).context.network).toBe("eip155:999999");
    }
  });

  it("learns networks from a facilitator's /supported, without assets", () => {
    const registry = createNetworkRegistry();
    const added = registry.addFromSupported([
      { x402Version: 2, network: "eip155:196" },
      { x402Version: 1, network: "abstract" },
      { x402Version: 2, network: "eip155:8453" },
      { x402Version: 1, network: "solana-testnet" },
      { x402Version: 2, network: "algorand:SGO1GKSzyE7IEPItTxCByw9x8FmnrCDexi9/cOUJOiI=" },
      { x402Version: 1, network: "not-a-known-name" },
    ]);
    expect(added.map((n) => n.caip2)).toEqual([
      "eip155:196",
      "eip155:2741",
      "solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z",
    ]);
    expect(registry.get("abstract").chainId).toBe(2741);
    expect(registry.get("eip155:196").usdc).toBeUndefined();
    expect(registry.get("base").usdc?.address).toBe("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913");
    // Learning twice adds nothing.
    expect(registry.addFromSupported([{ x402Version: 2, network: "eip155:196" }])).toEqual([]);
  });

  it("refuses a network whose v1 name or chain id belongs to another entry", () => {
    const registry = createNetworkRegistry();
    const clash = () =>
      registry.add({
        caip2: "eip155:99",
        v1Name: "base",
        displayName: "x",
        family: "evm",
        chainId: 99,
        testnet: true,
      });
    expect(clash).toThrowError(expect.objectContaining({ code: "NETWORK__CONFLICT" }));
    const clash2 = () =>
      registry.add({ caip2: "eip155:8453x", displayName: "x", family: "evm", chainId: 8453, testnet: true });
    expect(clash2).toThrowError(expect.objectContaining({ code: "NETWORK__CONFLICT" }));
  });

  it("keeps registries independent", () => {
    const a = createNetworkRegistry();
    const b = createNetworkRegistry();
    a.addFromSupported([{ x402Version: 2, network: "eip155:196" }]);
    expect(b.find("eip155:196")).toBeUndefined();
  });
});
