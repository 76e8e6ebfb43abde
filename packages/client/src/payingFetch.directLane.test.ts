/**
 * The direct lane against a hostile server on loopback, every transfer real on anvil (issue 14, High 2–4): the
 * server names the confirmations, the amount and the payee, and takes any transaction hash as payment; the tests read
 * balances and nonces on chain. The wallet is the real EVM wallet over a viem client whose transport can drop or fail
 * the broadcasts of chosen transactions, as a flaky RPC would.
 */

import type { DirectOffer, FacilitatorOffer } from "@tollgate/shared";
import { isTollgateError } from "@tollgate/shared";
import { deriveEvmTestPrivateKey, type EvmChain, startEvmChain } from "@tollgate/testing";
import { type Address, createPublicClient, custom, type Hex, keccak256, parseTransaction } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getTransactionCount } from "viem/actions";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Loopback, serveLoopback } from "../test/loopback.js";
import { failure } from "../test/paidApi.js";
import type { PayingFetchEvent } from "./events.js";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createMemoryLedger } from "./ledger/ledger.js";
import { createPayingFetch } from "./payingFetch.js";
import type { SpendingPolicy } from "./policy/policy.js";

const account = (label: string) => privateKeyToAccount(deriveEvmTestPrivateKey({ label }));
const payers = Array.from({ length: 10 }, (_, i) => account(`client-direct-lane/payer/${i}`));
const payees = Array.from({ length: 5 }, (_, i) => account(`client-direct-lane/payee/${i}`).address);

let evm: EvmChain;
const servers: Loopback[] = [];

beforeAll(async () => {
  evm = await startEvmChain({
    payers: payers.map((p) => p.address),
    ethForPayers: Object.fromEntries(payers.map((p) => [p.address, 10n ** 18n])),
  });
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await evm?.stop();
});

/** What the broadcasts of a transaction meet at the RPC: forwarded, dropped (answered but never sent on), or failed. */
type Broadcast = "forward" | "drop" | "fail";

/** A viem client on anvil whose `eth_sendRawTransaction` goes through `route`; `observe` sees every method called. */
function chainClient(
  route: (raw: Hex) => Broadcast = () => "forward",
  observe: (method: string) => void = () => undefined,
) {
  const forward = async (method: string, params: unknown) => {
    const response = await fetch(evm.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const answer = (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
    if (answer.error !== undefined) throw Object.assign(new Error(answer.error.message), answer.error);
    return answer.result;
  };
  return createPublicClient({
    chain: evm.chain,
    pollingInterval: 10,
    transport: custom(
      {
        async request({ method, params }: { method: string; params?: unknown }) {
          observe(method);
          if (method === "eth_sendRawTransaction") {
            const raw = (params as [Hex])[0];
            const fate = route(raw);
            if (fate === "drop") return keccak256(raw);
            if (fate === "fail") throw Object.assign(new Error("upstream unavailable"), { code: -32603 });
          }
          return forward(method, params);
        },
      },
      { retryCount: 0 },
    ),
  });
}

type DirectTerms = Readonly<{ amount?: string; minAmount?: string; confirmations?: number; payTo?: Address }>;

/**
 * A hostile paid API: every path answers 402 with one direct-transfer offer on Base Sepolia (terms per path), and
 * any `X-PAYMENT-TX` is taken as payment without a look at the chain.
 */
async function hostileServer(terms: (path: string) => DirectTerms = () => ({})) {
  const received: { path: string; tx: string }[] = [];
  const server = await serveLoopback((request) => {
    const path = new URL(request.url).pathname;
    const tx = request.headers.get("x-payment-tx");
    if (tx !== null) {
      received.push({ path, tx });
      return new Response(`paid ${path}`);
    }
    const t = terms(path);
    const option = {
      provider: "direct",
      type: "direct_transfer",
      priority: 2,
      networks: [
        {
          network: "eip155:84532",
          asset: evm.token,
          payTo: t.payTo ?? payees[0]!,
          amount: t.amount ?? "10000",
          min_amount: t.minAmount ?? t.amount ?? "10000",
          confirmations: t.confirmations ?? 1,
          max_age_seconds: 600,
          binding_required: true,
        },
      ],
      headers: { tx: "X-PAYMENT-TX", chain: "X-PAYMENT-CHAIN", signature: "X-PAYMENT-TX-SIG" },
    };
    return Response.json(
      { x402Version: 1, error: "payment_required", accepts: [], payment_options: [option] },
      { status: 402 },
    );
  });
  servers.push(server);
  return { url: server.url, received };
}

const nonceOf = (address: Address) => getTransactionCount(evm.publicClient, { address, blockTag: "latest" });
const ethOf = (address: Address) => evm.publicClient.getBalance({ address });

function paying(
  payer: (typeof payers)[number],
  options: Readonly<{
    policy?: SpendingPolicy;
    route?: (raw: Hex) => Broadcast;
    onEvent?: (e: PayingFetchEvent) => void;
    ledger?: ReturnType<typeof createMemoryLedger>;
    wallet?: Pick<Parameters<typeof createEvmWallet>[0], "confirmationTimeoutMs" | "now">;
  }> = {},
) {
  return createPayingFetch({
    wallets: [createEvmWallet({ account: payer, direct: chainClient(options.route), ...options.wallet })],
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    ...(options.ledger === undefined ? {} : { ledger: options.ledger }),
  });
}

describe("waits for confirmations honour the caller's signal (High 2)", () => {
  it("an abort while waiting for 50 confirmations ends the call with CLIENT__ABORTED and keeps the transfer pending", async () => {
    const payer = payers[0]!;
    const server = await hostileServer(() => ({ confirmations: 50 }));
    const ledger = createMemoryLedger();
    const controller = new AbortController();
    const payingFetch = paying(payer, {
      ledger,
      policy: { direct: { maxConfirmations: 100 } },
      onEvent: (e) => {
        if (e.type === "payment.signed") setTimeout(() => controller.abort(new Error("caller gave up")), 200);
      },
    });
    const nonce = await nonceOf(payer.address);
    // anvil mines only when a transaction arrives: 50 confirmations never come on their own.
    const error = await failure(payingFetch(`${server.url}/r`, { signal: controller.signal }));
    expect(error.code).toBe("CLIENT__ABORTED");
    expect(error.context).toMatchObject({ stage: "confirmations" });
    expect(await nonceOf(payer.address)).toBe(nonce + 1);
    expect(await ledger.pending()).toHaveLength(1);
    expect(server.received).toHaveLength(0);

    // Once the confirmations exist, the same request presents the same transfer: paid once.
    await evm.mine(50);
    const response = await payingFetch(`${server.url}/r`);
    expect(await response.text()).toBe("paid /r");
    expect(server.received).toHaveLength(1);
    expect(await nonceOf(payer.address)).toBe(nonce + 1);
  }, 20_000);

  it("without a signal, the wait ends at the wallet's timeout with the transfer pending, not at viem's 180 s", async () => {
    const payer = payers[7]!;
    const server = await hostileServer(() => ({ confirmations: 5 }));
    const ledger = createMemoryLedger();
    // A clock that runs a minute per look: the two-minute timeout passes after a few polls.
    let clock = 0;
    const payingFetch = paying(payer, {
      ledger,
      wallet: { confirmationTimeoutMs: 120_000, now: () => (clock += 60_000) },
    });
    const error = await failure(payingFetch(`${server.url}/r`));
    expect(error.code).toBe("CLIENT__SETTLEMENT_PENDING");
    expect(error.cause).toMatchObject({ code: "CHAIN__TIMEOUT" });
    expect(await ledger.pending()).toHaveLength(1);
    expect(server.received).toHaveLength(0);
  }, 20_000);

  it("the confirm hook gets the caller's signal, and an abort ends a hook that never answers", async () => {
    const payer = payers[0]!;
    const server = await hostileServer();
    const controller = new AbortController();
    const seen: (AbortSignal | undefined)[] = [];
    const payingFetch = paying(payer, {
      policy: {
        confirm: ({ signal }) => {
          seen.push(signal);
          setTimeout(() => controller.abort(new Error("caller gave up")), 50);
          return new Promise<boolean>(() => undefined);
        },
      },
    });
    const nonce = await nonceOf(payer.address);
    const error = await failure(payingFetch(`${server.url}/r`, { signal: controller.signal }));
    expect(error.code).toBe("CLIENT__ABORTED");
    expect(error.context).toMatchObject({ stage: "confirm" });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.aborted).toBe(true);
    expect(await nonceOf(payer.address)).toBe(nonce);
  }, 20_000);

  it("an offer asking more confirmations than the policy's maximum (default 12) is not payable, and says why", async () => {
    const payer = payers[0]!;
    const server = await hostileServer(() => ({ confirmations: 50 }));
    const payingFetch = paying(payer);
    const nonce = await nonceOf(payer.address);
    const error = await failure(payingFetch(`${server.url}/r`));
    expect(error.code).toBe("CLIENT__NO_PAYABLE_OFFER");
    expect(error.context).toMatchObject({ rejections: [{ reason: "confirmations_exceed_max" }] });
    const quote = await payingFetch.quote(`${server.url}/r`);
    expect(quote.chosen).toBeUndefined();
    expect(quote.rejected.map((r) => r.reason)).toEqual(["confirmations_exceed_max"]);
    expect(await nonceOf(payer.address)).toBe(nonce);
  });
});

describe("concurrent direct payments from one account (High 3)", () => {
  it("five at once to five payees: five transactions with consecutive nonces, each payee paid once", async () => {
    const payer = payers[1]!;
    const server = await hostileServer((path) => ({ payTo: payees[Number(path.slice(1))]! }));
    const before = {
      nonce: await nonceOf(payer.address),
      payees: await Promise.all(payees.map((p) => evm.balanceOf(p))),
      payer: await evm.balanceOf(payer.address),
    };
    const payingFetch = paying(payer);
    const responses = await Promise.all(payees.map((_, i) => payingFetch(`${server.url}/${i}`)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(server.received.map((r) => r.tx)).size).toBe(5);
    expect(await nonceOf(payer.address)).toBe(before.nonce + 5);
    for (const [i, p] of payees.entries()) expect(await evm.balanceOf(p)).toBe(before.payees[i]! + 10_000n);
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 50_000n);
  }, 30_000);

  it("two wallets of one account in one process share the account's nonces", async () => {
    const payer = payers[1]!;
    const server = await hostileServer((path) => ({ payTo: payees[Number(path.slice(1))]! }));
    const nonce = await nonceOf(payer.address);
    const fetches = [paying(payer), paying(payer), paying(payer)];
    const responses = await Promise.all(fetches.map((f, i) => f(`${server.url}/${i}`)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(server.received.map((r) => r.tx)).size).toBe(3);
    expect(await nonceOf(payer.address)).toBe(nonce + 3);
  }, 30_000);

  it("a transfer the RPC dropped is broadcast again, not waited for forever", async () => {
    const payer = payers[2]!;
    const server = await hostileServer();
    let dropped = 0;
    const payingFetch = paying(payer, { route: () => (dropped++ === 0 ? "drop" : "forward") });
    const nonce = await nonceOf(payer.address);
    const response = await payingFetch(`${server.url}/r`);
    expect(response.status).toBe(200);
    expect(dropped).toBeGreaterThan(1);
    expect(await nonceOf(payer.address)).toBe(nonce + 1);
  }, 20_000);

  it("a transfer whose nonce another transfer took is dead, not pending: its request fails, and a retry pays once", async () => {
    const payer = payers[3]!;
    const server = await hostileServer((path) => ({ payTo: payees[Number(path.slice(1))]! }));
    // Every broadcast of the first transaction fails, as from an RPC that cannot reach the network.
    let first: Hex | undefined;
    const route = (raw: Hex): Broadcast => {
      first ??= raw;
      return raw === first ? "fail" : "forward";
    };
    const ledger = createMemoryLedger();
    const payingFetch = paying(payer, { route, ledger });
    const before = {
      nonce: await nonceOf(payer.address),
      payer: await evm.balanceOf(payer.address),
      payees: await Promise.all(payees.slice(0, 2).map((p) => evm.balanceOf(p))),
    };
    // The first transfer never reaches the chain: it may still, so its request is pending.
    const pending = await failure(payingFetch(`${server.url}/0`));
    expect(pending.code).toBe("CLIENT__SETTLEMENT_PENDING");
    expect(await ledger.pending()).toHaveLength(1);
    // The next transfer of the account takes the nonce the first one never used.
    expect((await payingFetch(`${server.url}/1`)).status).toBe(200);
    expect(await nonceOf(payer.address)).toBe(before.nonce + 1);

    // The first one can now never land ("nonce too low"): its request is told so, and holds nothing.
    const dead = await failure(payingFetch(`${server.url}/0`));
    expect(dead.code).toBe("CLIENT__WALLET_FAILED");
    expect(dead.context).toMatchObject({ operation: "transfer_replaced" });
    expect(await ledger.pending()).toHaveLength(0);
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 10_000n);

    // It moved nothing: the retry of its request pays with a new transfer, once.
    expect((await payingFetch(`${server.url}/0`)).status).toBe(200);
    expect(await nonceOf(payer.address)).toBe(before.nonce + 2);
    for (const [i, p] of payees.slice(0, 2).entries()) {
      expect(await evm.balanceOf(p)).toBe(before.payees[i]! + 10_000n);
    }
    expect(server.received.map((r) => r.path)).toEqual(["/1", "/0"]);
  }, 30_000);
});

describe("fees of direct transfers stay within limits (High 4)", () => {
  it("dust offers of 0 or 1 unit are not payable by default: twenty calls send no transaction", async () => {
    const payer = payers[4]!;
    const server = await hostileServer((path) => ({ amount: path === "/zero" ? "0" : "1", minAmount: "0" }));
    const payingFetch = paying(payer);
    const before = { nonce: await nonceOf(payer.address), eth: await ethOf(payer.address) };
    for (let i = 0; i < 20; i++) {
      const error = await failure(payingFetch(`${server.url}/${i % 2 === 0 ? "zero" : "one"}`));
      expect(error.code).toBe("CLIENT__NO_PAYABLE_OFFER");
      expect(error.context).toMatchObject({ rejections: [{ reason: "direct_amount_below_minimum" }] });
    }
    expect(await nonceOf(payer.address)).toBe(before.nonce);
    expect(await ethOf(payer.address)).toBe(before.eth);
    expect(server.received).toHaveLength(0);
  });

  it("a fee above the policy's cap per payment is refused before anything is broadcast", async () => {
    const payer = payers[5]!;
    const server = await hostileServer();
    const ledger = createMemoryLedger();
    const payingFetch = paying(payer, {
      ledger,
      policy: { direct: { fees: [{ network: "eip155:*", maxPerPayment: 1_000n }] } },
    });
    const before = { nonce: await nonceOf(payer.address), eth: await ethOf(payer.address) };
    const error = await failure(payingFetch(`${server.url}/r`));
    expect(error.code).toBe("CLIENT__FEE_LIMIT_EXCEEDED");
    expect(error.context).toMatchObject({
      network: "eip155:84532",
      limit: "maxPerPayment",
      remaining: "1000",
    });
    expect(await nonceOf(payer.address)).toBe(before.nonce);
    expect(await ethOf(payer.address)).toBe(before.eth);
    expect(await ledger.pending()).toHaveLength(0);
  });

  it("a fee budget bounds the gas that many payments spend, counting what each transfer paid", async () => {
    const payer = payers[6]!;
    const server = await hostileServer();
    // About two or three transfers' worth of gas on anvil (~50k gas at ~1 gwei).
    const limit = 200_000_000_000_000n;
    const payingFetch = paying(payer, {
      policy: { direct: { fees: [{ network: "eip155:84532", budgets: [{ limit, window: "total" }] }] } },
    });
    const before = { nonce: await nonceOf(payer.address), eth: await ethOf(payer.address) };
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const result = await payingFetch(`${server.url}/${i}`).then(
        (r) => String(r.status),
        (e: unknown) => (isTollgateError(e) ? e.code : String(e)),
      );
      outcomes.push(result);
    }
    const paid = outcomes.filter((o) => o === "200").length;
    expect(paid).toBeGreaterThan(0);
    expect(outcomes.slice(paid).every((o) => o === "CLIENT__FEE_LIMIT_EXCEEDED")).toBe(true);
    expect(await nonceOf(payer.address)).toBe(before.nonce + paid);
    // Gas is the only ETH that left the wallet, and it stays within the fee budget.
    expect(before.eth - (await ethOf(payer.address))).toBeLessThanOrEqual(limit);
  }, 30_000);
});

/** A facilitator-lane offer of 10000 on anvil's USDC, to sign an authorization that a server holds. */
function authorizationOffer(): FacilitatorOffer {
  return {
    lane: "facilitator",
    x402Version: 2,
    scheme: "exact",
    network: "eip155:84532",
    asset: evm.token,
    payTo: payees[1]!,
    amount: 10_000n,
    maxTimeoutSeconds: 300,
    extra: { name: evm.eip712Domain.name, version: evm.eip712Domain.version },
    priority: 1,
    resource: { url: "http://127.0.0.1/r" },
    requirement: {} as FacilitatorOffer["requirement"],
    source: "header",
  };
}

describe("a cancellation and a direct transfer of one account share its send lock", () => {
  it("a cancelAuthorization asked for while a direct transfer holds its nonce takes the next one: both mine", async () => {
    const payer = payers[8]!;
    let cancelling = false;
    let nonceReadWhileTransferUnsent: () => void = () => undefined;
    const readNonce = new Promise<void>((resolve) => {
      nonceReadWhileTransferUnsent = resolve;
    });
    const client = chainClient(undefined, (method) => {
      if (cancelling && method === "eth_getTransactionCount") nonceReadWhileTransferUnsent();
    });
    const wallet = createEvmWallet({ account: payer, direct: client });
    // An authorization a server holds and refused: the payer cancels it on chain.
    const nowSeconds = Number((await evm.publicClient.getBlock()).timestamp);
    const authorization = await wallet.createExactPayment!({ offer: authorizationOffer(), nowSeconds });
    const offer: DirectOffer = {
      lane: "direct",
      network: "eip155:84532",
      asset: evm.token,
      payTo: payees[2]!,
      amount: 10_000n,
      minAmount: 10_000n,
      confirmations: 1,
      maxAgeSeconds: 600,
      bindingRequired: false,
      priority: 2,
      headers: { tx: "X-PAYMENT-TX", chain: "X-PAYMENT-CHAIN", signature: "X-PAYMENT-TX-SIG" },
      option: {} as DirectOffer["option"],
    };
    const before = { nonce: await nonceOf(payer.address), payee: await evm.balanceOf(payees[2]!) };
    let cancelled: Promise<string> | undefined;
    const prepared = await wallet.prepareDirectTransfer!({
      offer,
      amount: 10_000n,
      origin: "http://127.0.0.1",
      record: async () => {
        // The transfer has its nonce and is not broadcast yet: the cancellation starts now. Without a shared lock it
        // reads the same pending nonce (then the transfer goes on at once); with it, it waits (bounded here).
        cancelling = true;
        cancelled = wallet.cancelExactProof!({
          network: "eip155:84532",
          asset: evm.token,
          claim: authorization.claim,
          validBefore: authorization.validBefore,
          laneData: authorization.laneData,
        });
        await Promise.race([
          readNonce,
          cancelled.catch(() => undefined),
          new Promise((r) => setTimeout(r, 1_500)),
        ]);
      },
    });
    const sent = wallet.sendDirectTransfer!({
      network: prepared.network,
      raw: prepared.raw,
      tx: prepared.tx,
      confirmations: 1,
    });
    await expect(sent).resolves.toBeDefined();
    await expect(cancelled).resolves.toBe("dead");
    expect(parseTransaction(prepared.raw as Hex).nonce).toBe(before.nonce);
    expect(await nonceOf(payer.address)).toBe(before.nonce + 2);
    expect(await evm.balanceOf(payees[2]!)).toBe(before.payee + 10_000n);
    const used = await evm.publicClient.readContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "authorizationState",
      args: [payer.address, authorization.claim as Hex],
    });
    expect(used).toBe(true);
  }, 30_000);
});

describe("a cancellation honours the caller's signal", () => {
  it("an abort while waiting for a cancelAuthorization the RPC dropped ends the wait with the signal's reason", async () => {
    const payer = payers[9]!;
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    // The RPC answers the broadcast but never sends it on: the receipt never comes.
    const client = chainClient(() => {
      setTimeout(() => controller.abort(reason), 50);
      return "drop";
    });
    const wallet = createEvmWallet({ account: payer, direct: client });
    const nowSeconds = Number((await evm.publicClient.getBlock()).timestamp);
    const authorization = await wallet.createExactPayment!({ offer: authorizationOffer(), nowSeconds });
    const nonce = await nonceOf(payer.address);
    const cancelling = wallet.cancelExactProof!({
      network: "eip155:84532",
      asset: evm.token,
      claim: authorization.claim,
      validBefore: authorization.validBefore,
      laneData: authorization.laneData,
      signal: controller.signal,
    });
    await expect(cancelling).rejects.toBe(reason);
    expect(await nonceOf(payer.address)).toBe(nonce);
    // Still live: the server that holds it could settle it, so nothing counts it dead.
    expect(
      await wallet.checkExactProof!({
        network: "eip155:84532",
        asset: evm.token,
        claim: authorization.claim,
        validBefore: authorization.validBefore,
        laneData: authorization.laneData,
      }),
    ).toBe("live");
  }, 10_000);
});
