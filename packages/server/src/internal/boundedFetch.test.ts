// The bounded fetch for the JSON-RPC clients a server builds: an RPC endpoint that answers with far more than any
// answer stops being read at the bound, through viem's http transport and @solana/web3.js's Connection alike.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Connection } from "@solana/web3.js";
import { isTollgateError } from "@tollgate/shared";
import { createPublicClient, http } from "viem";
import { baseSepolia } from "viem/chains";
import { afterAll, describe, expect, it } from "vitest";
import { closeAll, type FloodingServer, floodingServer } from "../../test/fixtures.js";
import { createBoundedFetch } from "./boundedFetch.js";

const total = 64 * 1024 * 1024;
const servers: Server[] = [];

afterAll(async () => {
  await closeAll();
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** An RPC endpoint that answers every call with `total` bytes of JSON whitespace, as fast as they are read. */
function floodingRpc(): Promise<FloodingServer> {
  return floodingServer({ totalBytes: total });
}

/** The first error in a cause chain that is a TollgateError with `code`. */
function hasCode(error: unknown, code: string): boolean {
  for (let current = error, depth = 0; current && depth < 10; depth++) {
    if (isTollgateError(current, code as never)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

describe("createBoundedFetch", () => {
  it("errors the body past the bound with WIRE__TOO_LARGE and stops the download", async () => {
    const rpc = await floodingRpc();
    const response = await createBoundedFetch({ maxBodyBytes: 65_536 })(rpc.url, {
      method: "POST",
      body: "{}",
    });
    let thrown: unknown;
    try {
      await response.text();
    } catch (error) {
      thrown = error;
    }
    expect(hasCode(thrown, "WIRE__TOO_LARGE")).toBe(true);
    await rpc.closed();
    expect(rpc.written()).toBeLessThan(total / 4);
  }, 30_000);

  it("bounds viem's http transport (fetchFn) and a Solana Connection (fetch)", async () => {
    const rpc = await floodingRpc();
    const fetchFn = createBoundedFetch({ maxBodyBytes: 65_536 });
    const client = createPublicClient({
      chain: baseSepolia,
      transport: http(rpc.url, { fetchFn, retryCount: 0 }),
    });
    await expect(client.getBlockNumber()).rejects.toThrow();
    const connection = new Connection(rpc.url, { commitment: "confirmed", fetch: fetchFn });
    await expect(connection.getSlot()).rejects.toThrow();
    await rpc.closed();
    expect(rpc.written()).toBeLessThan(total / 2);
  }, 30_000);

  it("passes a body within the bound through unchanged", async () => {
    const server = createServer((_request, response) => {
      response
        .writeHead(200, { "content-type": "application/json" })
        .end('{"jsonrpc":"2.0","id":1,"result":"0x10"}');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = createPublicClient({
      chain: baseSepolia,
      transport: http(url, { fetchFn: createBoundedFetch({ maxBodyBytes: 1_024 }), retryCount: 0 }),
    });
    expect(await client.getBlockNumber()).toBe(16n);
  });
});
