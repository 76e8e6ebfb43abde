// A facilitator URL that redirects: the proof must not follow the redirect (to another host, or round a loop), and
// the 3xx is no answer: that facilitator is unavailable, and after /settle it may have arrived (the chain decides).
// Real loopback servers, both transports.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { remoteFacilitator } from "./facilitators.js";
import { type ClosableTransport, createFetchTransport, createUndiciTransport } from "./transport.js";

const servers: Server[] = [];
const transports: ClosableTransport[] = [];

afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A settle success any facilitator could send: believed if the redirect's body were read as the answer. */
const success = { success: true, transaction: `0x${"cd".repeat(32)}`, network: "eip155:84532" };

/** Where a followed redirect would land: it counts the requests it receives. */
async function elsewhere(): Promise<{ url: string; requests(): number }> {
  let requests = 0;
  const url = await listen((request, response) => {
    requests++;
    request.resume();
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(success));
  });
  return { url, requests: () => requests };
}

/** Answers every request with `status`, a Location (elsewhere, or itself: a loop) and a JSON success body. */
async function redirecting(status: number, location: (self: string) => string): Promise<string> {
  let self = "";
  self = await listen((request, response) => {
    request.resume();
    response
      .writeHead(status, { location: location(self), "content-type": "application/json" })
      .end(JSON.stringify(success));
  });
  return self;
}

const makers = {
  fetch: () => createFetchTransport(),
  undici: () => {
    const transport = createUndiciTransport();
    transports.push(transport);
    return transport;
  },
} as const;

describe.each(Object.entries(makers))("the %s transport and a redirecting facilitator", (_name, make) => {
  it.each([301, 302, 303, 307, 308])(
    "returns a %i as the answer without following it elsewhere or round a loop",
    async (status) => {
      const target = await elsewhere();
      const away = await redirecting(status, () => `${target.url}/settle`);
      const loop = await redirecting(status, (self) => `${self}/settle`);
      const transport = make();
      const call = (root: string) =>
        transport({ url: `${root}/settle`, method: "POST", headers: {}, body: "{}", timeoutMs: 5_000 });
      const results = [await call(away), await call(loop)];
      expect({ results, elsewhere: target.requests() }).toEqual({
        results: Array(2).fill({ ok: true, status, text: JSON.stringify(success) }),
        elsewhere: 0,
      });
    },
  );

  it("makes that facilitator unavailable, a /settle that may have arrived, whatever the body says", async () => {
    const target = await elsewhere();
    const away = await redirecting(307, () => `${target.url}/settle`);
    const endpoint = remoteFacilitator({ option: { url: away, name: "redirecting" }, transport: make() });
    expect({ settle: await endpoint.settle({}), verify: await endpoint.verify({}) }).toEqual({
      settle: { kind: "unavailable", reason: "malformed", status: 307, mayHaveArrived: true },
      verify: { kind: "unavailable", reason: "malformed", status: 307, mayHaveArrived: true },
    });
    expect(target.requests()).toBe(0);
  });
});
