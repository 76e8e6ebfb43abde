import { createRequire } from "node:module";
import { createPayingFetch } from "@tollgate/client";
import { createEvmWallet, type EvmSigner } from "@tollgate/client/evm";
import { evmPayeeAccounts, evmPayerAccounts } from "@tollgate/testing";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPaymentFromConfig } from "@x402/fetch";
import { bytesToHex, concat, type Hex, hashTypedData, hexToBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { expect, it } from "vitest";
import { type Measurement, measure, row, tableHeader } from "./measure.js";
import { startPaidServer } from "./servers/startPaidServer.js";

/**
 * Client CPU per paid call (DESIGN.md §7: ≤ 1 ms, one round trip with requirement caching): Tollgate's payingFetch,
 * without and with the requirement cache, against @x402/fetch 2.27.0 and a plain fetch of a free route, all in this
 * process against servers in their own processes (their CPU is not counted). The paid server is Tollgate's paywall
 * with an in-process facilitator that accepts at once, so only the client's own work differs between rows. Every
 * call signs a fresh EIP-3009 authorization with a viem account.
 */
const payTo = evmPayeeAccounts[0].address;
const payer = evmPayerAccounts[0];

/** libsecp256k1 through the `secp256k1` package (a prebuilt binary): the native signer DESIGN §7 names. */
const native = createRequire(import.meta.url)("secp256k1") as {
  ecdsaSign(message32: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
};

/** An EIP-712 signer over libsecp256k1: viem hashes the typed data, the native library signs the digest. */
function nativeSigner(privateKey: Hex): EvmSigner {
  const key = hexToBytes(privateKey);
  return {
    address: privateKeyToAccount(privateKey).address,
    async signTypedData(parameters) {
      const digest = hashTypedData(parameters as Parameters<typeof hashTypedData>[0]);
      const { signature, recid } = native.ecdsaSign(hexToBytes(digest), key);
      return bytesToHex(concat([signature, Uint8Array.of(27 + recid)]));
    },
  } as EvmSigner;
}
const nativeKey: Hex = `0x${"4b".repeat(32)}`;

it("client: CPU per paid call, payingFetch vs @x402/fetch 2.27.0 vs a plain fetch", async () => {
  const bare = await startPaidServer({ kind: "bare", payTo });
  const paid = await startPaidServer({ kind: "ours-inproc", payTo });
  const n = 1000;
  const results: Record<string, Measurement> = {};
  try {
    const clients: Record<string, { url: string; fetch: typeof fetch }> = {
      "plain fetch, free route": { url: `${bare.url}/free`, fetch },
      "payingFetch (2 round trips)": {
        url: `${paid.url}/paid`,
        fetch: createPayingFetch({ wallets: [createEvmWallet({ account: payer })] }),
      },
      "payingFetch, requirement cache (1 round trip)": {
        url: `${paid.url}/paid`,
        fetch: createPayingFetch({ wallets: [createEvmWallet({ account: payer })], requirementCache: true }),
      },
      "payingFetch, cache, native secp256k1 signer (1 round trip)": {
        url: `${paid.url}/paid`,
        fetch: createPayingFetch({
          wallets: [createEvmWallet({ account: nativeSigner(nativeKey) })],
          requirementCache: true,
        }),
      },
      "@x402/fetch 2.27.0 (2 round trips)": {
        url: `${paid.url}/paid`,
        fetch: wrapFetchWithPaymentFromConfig(fetch, {
          schemes: [{ network: "eip155:84532", client: new ExactEvmScheme(payer) }],
        }),
      },
    };
    // Two rounds, the second one kept: undici and V8 need about a thousand calls before a fetch costs what it costs
    // in a long-running agent (a plain fetch falls from ~1 ms to ~0.2 ms CPU).
    for (const round of [0, 1]) {
      for (const [name, client] of Object.entries(clients)) {
        const call = async () => {
          const response = await client.fetch(client.url);
          expect(response.status).toBe(200);
          await response.arrayBuffer();
        };
        await measure(round === 0 ? 500 : 100, call); // warm-up: JIT, connections, the requirement cache
        results[name] = await measure(n, call);
      }
    }
  } finally {
    bare.child.kill();
    paid.child.kill();
  }
  const cpu = (name: string) => results[name]?.cpuMsPerCall ?? Number.NaN;
  const ours = cpu("payingFetch (2 round trips)");
  const cached = cpu("payingFetch, requirement cache (1 round trip)");
  const peer = cpu("@x402/fetch 2.27.0 (2 round trips)");
  const plain = cpu("plain fetch, free route");
  const cachedNative = cpu("payingFetch, cache, native secp256k1 signer (1 round trip)");
  console.log(
    [
      "Client CPU per call (sequential; servers in their own processes, their CPU not counted)",
      tableHeader,
      ...Object.entries(results).map(([name, m]) => row(name, m)),
      `CPU per paid call relative to @x402/fetch: payingFetch ${(ours / peer).toFixed(2)}, with the cache ${(cached / peer).toFixed(2)} (below 1 is less)`,
      `over a plain fetch: payingFetch +${(ours - plain).toFixed(3)} ms, cached +${(cached - plain).toFixed(3)} ms, cached with a native signer +${(cachedNative - plain).toFixed(3)} ms`,
    ].join("\n"),
  );
});
