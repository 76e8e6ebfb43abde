// Shared set-up of the paywall tests: anvil with the test USDC, our facilitator (served on loopback and in
// process), stub facilitators that misbehave in each way a remote one can, and EIP-3009 signing helpers.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeHeaderJson, encodeHeaderJson, type PaymentRequirementsV2 } from "@tollgate/shared";
import { evmPayeeAccounts, startEvmChain, type EvmChain as TestEvmChain } from "@tollgate/testing";
import { type Address, type Hex, toHex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { type ServedFetch, serveFetch } from "../src/adapters/node.js";
import { createViemEvmChain } from "../src/evm/evmChain.js";
import { createExactEvmScheme } from "../src/evm/exactEvmScheme.js";
import { transferWithAuthorizationTypes } from "../src/evm/usdcAbi.js";
import { createFacilitator, type Facilitator } from "../src/facilitator/createFacilitator.js";
import { createPaywall } from "../src/paywall.js";
import { createMemoryStore } from "../src/store/memory.js";
import type { Store } from "../src/store/store.js";
import type { PaywallEvent } from "../src/verify/laneContext.js";

/** The payee of the facilitator lane in these tests. */
export const payee = evmPayeeAccounts[0].address;

/** Starts anvil (Base Sepolia, test USDC at the real address). */
export function startChain(parameters: Parameters<typeof startEvmChain>[0] = {}): Promise<TestEvmChain> {
  return startEvmChain(parameters);
}

/** A fresh instance of our facilitator on the test chain (each with its own settlement guard). */
export function ourFacilitator(
  evm: TestEvmChain,
  options: Pick<Parameters<typeof createFacilitator>[0], "logger"> = {},
): Facilitator {
  return createFacilitator({
    ...options,
    schemes: [
      createExactEvmScheme({
        chains: [
          createViemEvmChain({
            publicClient: evm.publicClient,
            walletClient: evm.walletClient,
            pollingIntervalMs: 10,
          }),
        ],
      }),
    ],
  });
}

/** Servers to close after the file's tests. */
const opened: { close(): unknown }[] = [];
export async function closeAll(): Promise<void> {
  await Promise.all(opened.splice(0).map((s) => s.close()));
}

/** Serves a Web handler on loopback. */
export async function serve(fetch: (request: Request) => Response | Promise<Response>): Promise<ServedFetch> {
  const served = await serveFetch({ fetch });
  opened.push(served);
  return served;
}

/**
 * A facilitator on loopback that answers `/supported` and `/verify` from `facilitator` at once but holds the first
 * `/settle` until `release()`, then settles it: a settlement whose answer the paywall gives up on (set a short
 * `settleTimeoutMs`) while it still moves the money. `release` resolves once that settlement has finished.
 */
export async function heldSettleFacilitator(
  facilitator: Facilitator,
): Promise<Readonly<{ url: string; release(): Promise<void> }>> {
  let open: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    open = resolve;
  });
  let forwarded: Promise<unknown> | undefined;
  let first = true;
  const served = await serve(async (request) => {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/supported")) return Response.json(facilitator.supported());
    const body = (await request.json().catch(() => undefined)) as unknown;
    if (path.endsWith("/verify")) return Response.json((await facilitator.verify(body)).body);
    if (first) {
      first = false;
      await held;
      forwarded = facilitator.settle(body);
      return Response.json(((await forwarded) as { body: unknown }).body);
    }
    return Response.json((await facilitator.settle(body)).body);
  });
  return {
    url: served.url,
    async release() {
      open();
      while (forwarded === undefined) await new Promise((resolve) => setImmediate(resolve));
      await forwarded;
    },
  };
}

/** A loopback URL where nothing listens: connections are refused. */
export async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A loopback server that accepts requests and never answers them. */
export async function hangingUrl(): Promise<string> {
  const server: Server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  opened.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** What `floodingServer` reports: its URL, the bytes it handed to its sockets, and when a client hung up. */
export type FloodingServer = Readonly<{ url: string; written(): number; closed(): Promise<void> }>;

/**
 * A loopback server that answers every request with 200 and `totalBytes` of JSON whitespace, written as fast as
 * the client reads (it honours backpressure), optionally declaring the length up front. "Stopped reading" is
 * measured as `written()`, the bytes the server managed to hand to its socket; `closed()` resolves once a
 * response's connection closed.
 */
export async function floodingServer(
  parameters: Readonly<{ totalBytes: number; declareLength?: boolean }>,
): Promise<FloodingServer> {
  const { totalBytes, declareLength = false } = parameters;
  let written = 0;
  let onClose: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    onClose = resolve;
  });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, {
      "content-type": "application/json",
      ...(declareLength ? { "content-length": String(totalBytes) } : {}),
    });
    let gone = false;
    response.on("close", () => {
      gone = true;
      onClose();
    });
    const pump = () => {
      while (!gone && written < totalBytes) {
        written += chunk.length;
        if (!response.write(chunk)) {
          response.once("drain", pump);
          return;
        }
      }
      if (!gone) response.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  opened.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    written: () => written,
    closed: () => closed,
  };
}

/**
 * Listens with an Express app (or any `listen(port, host)` server factory) on a free loopback port, closed by
 * `closeAll`; its base URL and port.
 */
export async function listenOnLoopback(app: {
  listen(port: number, hostname: string): Server;
}): Promise<Readonly<{ url: string; port: number }>> {
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  opened.push({ close: () => server.close() });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port };
}

/** A facilitator stub that answers every call with `status` and `body` (text as is, else JSON). */
export async function stubUrl(status: number, body: unknown, calls?: string[]): Promise<string> {
  const served = await serve(async (request) => {
    calls?.push(new URL(request.url).pathname);
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { "content-type": "application/json" } });
  });
  return served.url;
}

/** An EIP-3009 `TransferWithAuthorization` message, as signed. */
export type AuthorizationMessage = Readonly<{
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
}>;

/** The `payload` of an `exact` EVM payment: the signature and the authorization, its numbers as decimal strings. */
export function exactEvmPayload(signature: Hex, message: AuthorizationMessage) {
  return {
    signature,
    authorization: {
      from: message.from,
      to: message.to,
      value: message.value.toString(),
      validAfter: message.validAfter.toString(),
      validBefore: message.validBefore.toString(),
      nonce: message.nonce,
    },
  };
}

/** The EIP-712 typed data of `message` for the test chain's USDC (what a payer signs, or a wallet's owner hashes). */
export function authorizationTypedData(evm: TestEvmChain, message: AuthorizationMessage) {
  return {
    domain: evm.eip712Domain,
    types: transferWithAuthorizationTypes,
    primaryType: "TransferWithAuthorization" as const,
    message,
  };
}

/** Signs an EIP-3009 authorization paying `requirement` and encodes it as a v2 `PAYMENT-SIGNATURE`. */
export async function signPayment(
  parameters: Readonly<{
    evm: TestEvmChain;
    payer: PrivateKeyAccount;
    requirement: PaymentRequirementsV2;
    resource?: unknown;
    nonce?: Hex;
    value?: bigint;
    validBefore?: bigint;
  }>,
): Promise<string> {
  const { evm, payer, requirement } = parameters;
  const message = {
    from: payer.address,
    to: requirement.payTo as `0x${string}`,
    value: parameters.value ?? BigInt(requirement.amount),
    validAfter: 0n,
    validBefore:
      parameters.validBefore ?? BigInt(Math.floor(Date.now() / 1000) + requirement.maxTimeoutSeconds),
    nonce: parameters.nonce ?? toHex(randomBytes(32)),
  };
  const signature = await payer.signTypedData(authorizationTypedData(evm, message));
  return encodeHeaderJson({
    header: "PAYMENT-SIGNATURE",
    value: {
      x402Version: 2,
      ...(parameters.resource === undefined ? {} : { resource: parameters.resource }),
      accepted: requirement,
      payload: exactEvmPayload(signature, message),
    },
  });
}

/** The decoded `PAYMENT-REQUIRED` header of a 402. */
export function paymentRequiredOf(response: Response): {
  x402Version: 2;
  error?: string;
  resource: unknown;
  accepts: PaymentRequirementsV2[];
} {
  const header = response.headers.get("payment-required");
  if (header === null) throw new Error(`no PAYMENT-REQUIRED header (status ${response.status})`);
  return decodeHeaderJson({ header: "PAYMENT-REQUIRED", value: header }) as ReturnType<
    typeof paymentRequiredOf
  >;
}

/** The decoded receipt header of a response, `PAYMENT-RESPONSE` or `X-PAYMENT-RESPONSE`. */
export function receiptOf(
  response: Response,
  header = "payment-response",
): Record<string, unknown> | undefined {
  const value = response.headers.get(header);
  return value === null ? undefined : (decodeHeaderJson({ header, value }) as Record<string, unknown>);
}

/** A well-formed v2 proof with a dummy signature, for tests whose facilitator is a stub. */
export function unsignedPayment(
  requirement: PaymentRequirementsV2,
  options: Readonly<{ from?: string; nowSeconds?: number }> = {},
): string {
  const { from = "0x1111111111111111111111111111111111111111", nowSeconds = Math.floor(Date.now() / 1000) } =
    options;
  return encodeHeaderJson({
    header: "PAYMENT-SIGNATURE",
    value: {
      x402Version: 2,
      accepted: requirement,
      payload: {
        signature: `0x${"ab".repeat(65)}`,
        authorization: {
          from,
          to: requirement.payTo,
          value: requirement.amount,
          validAfter: "0",
          validBefore: String(nowSeconds + requirement.maxTimeoutSeconds),
          nonce: toHex(randomBytes(32)),
        },
      },
    },
  });
}

/**
 * A facilitator stub that accepts every payment, counting its calls. Its `/verify` names the proof's own payer
 * (the authorization's `from`), as an honest facilitator does, since the paywall refuses an answer naming
 * another one. `settle` answers `settleAnswer`, by default a success with a fresh transaction hash each time:
 * the paywall claims each settled transaction, so one hash for two payments would be a collision.
 */
export async function acceptingFacilitator(
  settleAnswer?: Record<string, unknown>,
): Promise<{ url: string; calls: string[] }> {
  const calls: string[] = [];
  const served = await serve(async (request) => {
    const path = new URL(request.url).pathname;
    calls.push(path);
    if (path.endsWith("/supported")) {
      const kinds = [
        { x402Version: 2, scheme: "exact", network: "eip155:84532" },
        { x402Version: 1, scheme: "exact", network: "base-sepolia" },
      ];
      return Response.json({ kinds, extensions: [], signers: {} });
    }
    if (path.endsWith("/verify")) {
      const body = (await request.json()) as {
        paymentPayload?: { payload?: { authorization?: { from?: unknown } } };
      };
      const from = body.paymentPayload?.payload?.authorization?.from;
      return Response.json({
        isValid: true,
        payer: typeof from === "string" ? from : "0x1111111111111111111111111111111111111111",
      });
    }
    return Response.json(
      settleAnswer ?? { success: true, transaction: toHex(randomBytes(32)), network: "eip155:84532" },
    );
  });
  return { url: served.url, calls };
}

/**
 * `inner` with every method call counted: the same object, each function wrapped to push its key to `calls`
 * before delegating (how the cost tests see which chain calls a request caused).
 */
export function countingCalls<T extends object>(inner: T): Readonly<{ chain: T; calls: string[] }> {
  const calls: string[] = [];
  const chain = Object.fromEntries(
    Object.entries(inner).map(([key, value]) => [
      key,
      typeof value === "function"
        ? (...args: unknown[]) => {
            calls.push(key);
            return (value as (...a: unknown[]) => unknown)(...args);
          }
        : value,
    ]),
  ) as T;
  return { chain, calls };
}

/** A memory store that counts the claims made through it (how a test proves a refused proof claimed nothing). */
export function countingStore(): { store: Store; claims(): number } {
  const inner = createMemoryStore();
  let claims = 0;
  return {
    store: {
      ...inner,
      claim: (parameters) => {
        claims++;
        return inner.claim(parameters);
      },
    },
    claims: () => claims,
  };
}

/**
 * Presents a prepaid token to a paywall selling `GET /paid` for $0.01 on `store`: the response, how often the
 * paid handler ran, and the paywall's events (how the store tests see that a broken store fails closed).
 */
export async function paidRequestOn(
  store: Store,
): Promise<Readonly<{ response: Response; served: number; events: PaywallEvent[] }>> {
  const events: PaywallEvent[] = [];
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01" },
    store,
    onEvent: (event) => events.push(event),
  });
  let served = 0;
  const app = paywall.fetch(() => {
    served++;
    return new Response("the paid content");
  });
  const response = await app(
    new Request("http://api.test/paid", { headers: { "x-payment-token": "a".repeat(43) } }),
  );
  return { response, served, events };
}
