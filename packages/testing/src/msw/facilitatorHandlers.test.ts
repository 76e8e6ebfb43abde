import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EvmChain, startEvmChain } from "../evm/evmChain.js";
import { type LocalFacilitator, startLocalFacilitator } from "../facilitator/localFacilitator.js";
import { startSolanaBank } from "../svm/solanaBank.js";
import { facilitatorHandlers, loopbackOnly } from "./facilitatorHandlers.js";

let evm: EvmChain;
let local: LocalFacilitator;
const seen: string[] = [];
const server = setupServer();

beforeAll(async () => {
  evm = await startEvmChain();
  local = await startLocalFacilitator({ evm, bank: await startSolanaBank() });
  server.use(
    ...facilitatorHandlers({
      baseUrl: "https://facilitator.example.com/",
      facilitator: local.facilitator,
      onRequest: (request) => {
        seen.push(new URL(request.url).pathname);
        if (request.headers.get("authorization") === "Bearer wrong") {
          return new Response(JSON.stringify({ error: "unauthorized" }), { status: 401 });
        }
        return undefined;
      },
    }),
  );
  server.listen({ onUnhandledRequest: loopbackOnly });
});

afterAll(async () => {
  server.close();
  await local?.close();
  await evm?.stop();
});

describe("the local facilitator and its msw stand-in", () => {
  it("serves /supported on loopback and at the public URL msw stands in for", async () => {
    const direct = (await (await fetch(`${local.url}/supported`)).json()) as { kinds: unknown[] };
    const mocked = (await (await fetch("https://facilitator.example.com/supported")).json()) as {
      kinds: unknown[];
    };
    expect(mocked).toEqual(direct);
    expect(direct.kinds).toContainEqual({ x402Version: 2, scheme: "exact", network: "eip155:84532" });
    expect(direct.kinds).toContainEqual(
      expect.objectContaining({
        x402Version: 1,
        network: "solana-devnet",
        extra: expect.objectContaining({ feePayer: expect.any(String) }),
      }),
    );
    expect(seen).toEqual(["/supported"]);
  });

  it("lets the test inspect and refuse requests", async () => {
    const response = await fetch("https://facilitator.example.com/verify", {
      method: "POST",
      headers: { authorization: "Bearer wrong", "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(401);
  });

  it("lets no request leave loopback", async () => {
    await expect(fetch("https://elsewhere.example.com/")).rejects.toThrow();
  });
});
