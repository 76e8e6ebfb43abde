// A facilitator that answers with far more than any answer can be: the paywall reads at most the bound, drops the
// connection, and counts the facilitator unavailable (malformed) so the next one is asked. Real loopback servers;
// "stopped reading" is measured as the bytes the server managed to hand to its socket, not as memory.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { closeAll, floodingServer } from "../../../test/fixtures.js";
import { remoteFacilitator } from "./facilitators.js";
import { createFailover } from "./failover.js";
import {
  type ClosableTransport,
  createFetchTransport,
  createUndiciTransport,
  type FacilitatorTransport,
} from "./transport.js";

const total = 64 * 1024 * 1024;
const servers: Server[] = [];
const transports: ClosableTransport[] = [];

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await closeAll();
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server that answers every request with `body` as JSON. */
async function answeringServer(body: unknown): Promise<string> {
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const kinds: readonly (readonly [string, () => FacilitatorTransport])[] = [
  [
    "the undici Pool transport",
    () => {
      const transport = createUndiciTransport();
      transports.push(transport);
      return transport;
    },
  ],
  ["the fetch transport", () => createFetchTransport()],
];

describe.each(kinds)("%s and an endless answer", (_name, makeTransport) => {
  it.each([
    ["streamed without a length", false],
    ["declared by Content-Length", true],
  ])(
    "reads at most maxBodyBytes of a 64 MiB answer %s, then drops the connection",
    async (_how, declare) => {
      const flood = await floodingServer({ totalBytes: total, declareLength: declare });
      const result = await makeTransport()({
        url: `${flood.url}/verify`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
        timeoutMs: 20_000,
        maxBodyBytes: 65_536,
      });
      // Field by field first: a failing comparison must not print a 64 MiB text.
      expect(result.ok).toBe(false);
      expect(result).toEqual({ ok: false, failure: "too_large", status: 200, mayHaveArrived: true });
      await flood.closed();
      // The socket buffers on loopback hold a few MiB at most: the server never got near the end.
      expect(flood.written()).toBeLessThan(total / 4);
    },
    30_000,
  );

  it("keeps answers within the bound intact", async () => {
    const url = await answeringServer({ isValid: true, payer: "0xabc" });
    const result = await makeTransport()({
      url: `${url}/verify`,
      method: "POST",
      headers: {},
      body: "{}",
      timeoutMs: 5_000,
      maxBodyBytes: 64,
    });
    expect(result).toEqual({
      ok: true,
      status: 200,
      text: JSON.stringify({ isValid: true, payer: "0xabc" }),
    });
  });
});

describe("an oversized facilitator answer in the failover", () => {
  it("is a malformed answer that may have arrived: the next facilitator answers", async () => {
    const flood = await floodingServer({ totalBytes: total });
    const good = await answeringServer({ isValid: true, payer: "0xabc" });
    const transport = createUndiciTransport();
    transports.push(transport);
    const flooding = remoteFacilitator({ option: { url: flood.url, name: "flood" }, transport });
    const settled = await flooding.settle({});
    expect(settled.kind).toBe("unavailable");
    expect(settled).toEqual({
      kind: "unavailable",
      reason: "malformed",
      status: 200,
      mayHaveArrived: true,
    });
    const failover = createFailover({
      endpoints: [flooding, remoteFacilitator({ option: { url: good, name: "good" }, transport })],
      now: Date.now,
      supportedRefreshMs: 60_000,
    });
    expect(await failover.verify({}, { scheme: "exact", network: "eip155:84532" })).toEqual({
      kind: "answer",
      facilitator: "good",
      answer: { isValid: true, payer: "0xabc" },
      earlierMayHaveArrived: true,
      // The failover names the facilitator it passed over and why (the `failed_over` event reads it).
      attempts: [{ facilitator: "flood", reason: "malformed" }],
    });
    // A /supported over its own bound is ignored like an unreachable one.
    expect(await flooding.supported()).toBeUndefined();
    expect(flood.written()).toBeLessThan(total);
  }, 30_000);

  it("holds a custom transport that ignores maxBodyBytes to the same bound", async () => {
    const big: FacilitatorTransport = async () => ({
      ok: true,
      status: 200,
      text: JSON.stringify({ isValid: true, payer: "0xabc", pad: "x".repeat(70_000) }),
    });
    const endpoint = remoteFacilitator({ option: { url: "http://127.0.0.1:1" }, transport: big });
    expect(await endpoint.verify({})).toMatchObject({ kind: "unavailable", reason: "malformed" });
  });
});
