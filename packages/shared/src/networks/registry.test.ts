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

  it("describes what it learns: family, chain id, testnet flag and display name", () => {
    const registry = createNetworkRegistry();
    registry.addFromSupported([
      { x402Version: 2, network: "eip155:999999" },
      { x402Version: 1, network: "abstract-testnet" },
      { x402Version: 1, network: "story" },
      { x402Version: 2, network: "solana:NewCluster111" },
    ]);
    expect(registry.get("eip155:999999")).toStrictEqual({
      caip2: "eip155:999999",
      displayName: "eip155:999999",
      family: "evm",
      chainId: 999999,
      testnet: false,
    });
    expect(registry.get("abstract-testnet")).toMatchObject({
      caip2: "eip155:11124",
      v1Name: "abstract-testnet",
      displayName: "abstract-testnet",
      family: "evm",
      chainId: 11124,
      testnet: true,
    });
    expect(registry.get("story")).toMatchObject({ family: "evm", chainId: 1514, testnet: false });
    expect(registry.findByChainId(11124)?.v1Name).toBe("abstract-testnet");
    // A Solana cluster without a v1 name: not the mainnet, so a test network.
    expect(registry.get("solana:NewCluster111")).toStrictEqual({
      caip2: "solana:NewCluster111",
      displayName: "solana:NewCluster111",
      family: "svm",
      testnet: true,
    });
    // A CAIP-2 id of a chain the v1 names know takes that name.
    const other = createNetworkRegistry({ networks: [] });
    other.addFromSupported([{ x402Version: 2, network: "eip155:137" }]);
    expect(other.get("polygon")).toMatchObject({ caip2: "eip155:137", chainId: 137, testnet: false });
    other.addFromSupported([{ x402Version: 2, network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1" }]);
    expect(other.get("solana-devnet")).toMatchObject({ family: "svm", testnet: true });
    other.addFromSupported([{ x402Version: 1, network: "solana" }]);
    expect(other.get("solana")).toMatchObject({
      caip2: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
      testnet: false,
    });
  });

  it("learns nothing from malformed or foreign identifiers", () => {
    const malformed = [
      "eip155:0",
      "eip155:01",
      "eip155:-1",
      "eip155:1.5",
      "eip155:12345678901234567",
      "eip155:abc",
      "EIP155:1",
      "eip155:",
      ":1",
      "eip155:1:extra",
      "ab:1",
      "toolongns:1",
      "cosmos:cosmoshub-4",
      "cosmos:4",
      "bip122:1",
      "xeip155:1",
      "eip155:1 ",
    ];
    for (const network of malformed) {
      const registry = createNetworkRegistry();
      const before = registry.list().length;
      expect({ network, added: registry.addFromSupported([{ x402Version: 2, network }]) }).toEqual({
        network,
        added: [],
      });
      expect(registry.list()).toHaveLength(before);
      expect(registry.find(network)).toBeUndefined();
    }
  });

  it("relearns nothing it knows: a known CAIP-2 id or cluster keeps its entry and its USDC", () => {
    const registry = createNetworkRegistry();
    const solana = registry.get("solana");
    expect(
      registry.addFromSupported([
        { x402Version: 2, network: solana.caip2 },
        { x402Version: 2, network: "eip155:8453" },
        { x402Version: 1, network: "base" },
      ]),
    ).toEqual([]);
    expect(registry.get(solana.caip2)).toBe(solana);
    expect(registry.get(solana.caip2).usdc).toBeDefined();
    // A cluster known by CAIP-2 without its v1 name: left as it is.
    const testnet = {
      caip2: "solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z",
      displayName: "T",
      family: "svm" as const,
      testnet: true,
    };
    const bare = createNetworkRegistry({ networks: [testnet] });
    expect(bare.addFromSupported([{ x402Version: 1, network: "solana-testnet" }])).toEqual([]);
    expect(bare.get(testnet.caip2).displayName).toBe("T");
    // A chain already named otherwise keeps its name.
    const named = createNetworkRegistry({
      networks: [
        {
          caip2: "eip155:2741",
          v1Name: "abs",
          displayName: "A",
          family: "evm",
          chainId: 2741,
          testnet: false,
        },
      ],
    });
    expect(named.addFromSupported([{ x402Version: 1, network: "abstract" }])).toEqual([]);
    expect(named.get("abs").caip2).toBe("eip155:2741");
    expect(named.find("abstract")).toBeUndefined();
    // A chain id known under another identifier: nothing learnt, and no conflict thrown at the caller.
    const custom = createNetworkRegistry({
      networks: [{ caip2: "custom:op", displayName: "OP", family: "evm", chainId: 10, testnet: false }],
    });
    expect(custom.addFromSupported([{ x402Version: 2, network: "eip155:10" }])).toEqual([]);
    expect(custom.findByChainId(10)?.caip2).toBe("custom:op");
  });

  it("re-adds an entry under its own v1 name and chain id, and names both owners of a conflict", () => {
    const registry = createNetworkRegistry();
    const base = registry.get("base");
    registry.add({ ...base, displayName: "Base (again)" });
    expect(registry.get("base").displayName).toBe("Base (again)");
    expect(registry.findByChainId(8453)?.displayName).toBe("Base (again)");
    const conflict = (network: Parameters<typeof registry.add>[0]) => {
      try {
        registry.add(network);
        return undefined;
      } catch (e) {
        return { code: (e as { code: string }).code, context: (e as { context: unknown }).context };
      }
    };
    expect(
      conflict({ caip2: "eip155:99", v1Name: "base", displayName: "x", family: "evm", testnet: true }),
    ).toEqual({
      code: "NETWORK__CONFLICT",
      context: { network: "eip155:99", existing: "eip155:8453" },
    });
    expect(
      conflict({ caip2: "eip155:98", displayName: "x", family: "evm", chainId: 84532, testnet: true }),
    ).toEqual({
      code: "NETWORK__CONFLICT",
      context: { network: "eip155:98", existing: "eip155:84532" },
    });
  });

  it("learns the longest chain id it accepts (16 digits) and a known chain's v1 name once", () => {
    const registry = createNetworkRegistry();
    expect(registry.addFromSupported([{ x402Version: 2, network: "eip155:1234567890123456" }])).toHaveLength(
      1,
    );
    // Base Sepolia is known by CAIP-2 and chain id: its v1 name teaches nothing new.
    expect(registry.addFromSupported([{ x402Version: 1, network: "base-sepolia" }])).toEqual([]);
    // A chain known by id without a v1 name gets it.
    const bare = createNetworkRegistry({
      networks: [
        { caip2: "eip155:2741", displayName: "Abstract", family: "evm", chainId: 2741, testnet: false },
      ],
    });
    expect(bare.addFromSupported([{ x402Version: 1, network: "abstract" }]).map((n) => n.v1Name)).toEqual([
      "abstract",
    ]);
    expect(bare.get("abstract").displayName).toBe("Abstract");
    expect(bare.addFromSupported([{ x402Version: 1, network: "abstract" }])).toEqual([]);
  });

  it("replaces an entry with the same CAIP-2 id: its old v1 name and chain id no longer name it", () => {
    const registry = createNetworkRegistry({ networks: [] });
    registry.add({
      caip2: "eip155:77",
      v1Name: "old-name",
      displayName: "Old",
      family: "evm",
      chainId: 77,
      testnet: true,
    });
    registry.add({
      caip2: "eip155:77",
      v1Name: "new-name",
      displayName: "New",
      family: "evm",
      chainId: 78,
      testnet: false,
    });
    expect(registry.list()).toHaveLength(1);
    expect(registry.get("eip155:77")).toMatchObject({ displayName: "New", chainId: 78, testnet: false });
    expect(registry.get("new-name").caip2).toBe("eip155:77");
    expect(registry.find("old-name")).toBeUndefined();
    expect(registry.findByChainId(77)).toBeUndefined();
    expect(registry.findByChainId(78)?.displayName).toBe("New");
    // The old name and chain id are free for another network now.
    registry.add({
      caip2: "eip155:79",
      v1Name: "old-name",
      displayName: "Other",
      family: "evm",
      chainId: 77,
      testnet: true,
    });
    expect(registry.get("old-name").caip2).toBe("eip155:79");
    // Entries are frozen copies: changing the object added changes nothing.
    const input = {
      caip2: "eip155:80",
      displayName: "Mutable",
      family: "evm" as const,
      chainId: 80,
      testnet: true,
    };
    registry.add(input);
    input.displayName = "changed";
    expect(registry.get("eip155:80").displayName).toBe("Mutable");
    expect(Object.isFrozen(registry.get("eip155:80"))).toBe(true);
  });
});
