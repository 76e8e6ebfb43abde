/**
 * Every body the paying fetch reads itself is bounded in size and time, whether or not the caller gave a signal: a
 * server that drips its 402 body byte by byte cannot hang the call.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { encodeHeaderJson } from "@tollgate/shared";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it } from "vitest";
import { requirement } from "../test/paidApi.js";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createPayingFetch } from "./payingFetch.js";

const wallet = createEvmWallet({ account: privateKeyToAccount(`0x${"7a".repeat(32)}`) });
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function paymentRequired(error?: string): string {
  return encodeHeaderJson({
    header: "PAYMENT-REQUIRED",
    value: {
      x402Version: 2,
      ...(error === undefined ? {} : { error }),
      resource: { url: "http://127.0.0.1/r" },
      accepts: [requirement()],
    },
  });
}

/** Answers a 402 whose JSON body never ends: one byte every 50 ms. */
function drip(res: ServerResponse, header: string): void {
  res.writeHead(402, { "content-type": "application/json", "PAYMENT-REQUIRED": header });
  res.write("{");
  const timer = setInterval(() => res.write(" "), 50);
  res.on("close", () => clearInterval(timer));
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The call's outcome, or "hung" if it has none after 5 s (the bound under test is 300 ms). */
async function within5s(promise: Promise<Response | unknown>): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise((resolve) => {
    timer = setTimeout(() => resolve("hung"), 5_000);
  });
  const outcome = promise.then(
    (r) => (r instanceof Response ? r.status : r),
    (e: unknown) => (e as { code?: unknown }).code ?? e,
  );
  try {
    return await Promise.race([outcome, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe("read limits", () => {
  it("a 402 body that never ends is cut at readLimits.timeoutMs; the header's offer is paid", async () => {
    let paid = 0;
    const url = await serve((req, res) => {
      if (req.headers["payment-signature"] !== undefined) {
        paid += 1;
        res.writeHead(200).end("paid");
        return;
      }
      drip(res, paymentRequired());
    });
    const events: unknown[] = [];
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      readLimits: { timeoutMs: 300 },
      onEvent: (e) => events.push(e),
    });
    expect(await within5s(payingFetch(`${url}/r`))).toBe(200);
    expect(paid).toBe(1);
    expect(events).toContainEqual(
      expect.objectContaining({ type: "payment.required", problems: ["body: not read within 300 ms"] }),
    );
  });

  it("a refusal whose body never ends is cut too, and read from its header", async () => {
    const url = await serve((req, res) => {
      drip(
        res,
        paymentRequired(req.headers["payment-signature"] === undefined ? undefined : "invalid_payload"),
      );
    });
    const payingFetch = createPayingFetch({ wallets: [wallet], readLimits: { timeoutMs: 300 } });
    expect(await within5s(payingFetch(`${url}/r`))).toBe("CLIENT__PAYMENT_REFUSED");
  });

  it("quote is bounded the same way", async () => {
    const url = await serve((_req, res) => drip(res, paymentRequired()));
    const payingFetch = createPayingFetch({ wallets: [wallet], readLimits: { timeoutMs: 300 } });
    const quote = await within5s(payingFetch.quote(`${url}/r`));
    expect(quote).toMatchObject({ status: 402, problems: ["body: not read within 300 ms"] });
  });

  it("a body over readLimits.maxBytes is not read", async () => {
    const url = await serve((req, res) => {
      if (req.headers["payment-signature"] !== undefined) {
        res.writeHead(200).end("paid");
        return;
      }
      res
        .writeHead(402, { "PAYMENT-REQUIRED": paymentRequired() })
        .end(JSON.stringify({ pad: "x".repeat(2048) }));
    });
    const payingFetch = createPayingFetch({ wallets: [wallet], readLimits: { maxBytes: 1024 } });
    const quote = await payingFetch.quote(`${url}/r`);
    expect(quote.problems).toEqual(["body: over 1024 bytes"]);
    expect(quote.chosen?.amount).toBe(10_000n);
  });
});
