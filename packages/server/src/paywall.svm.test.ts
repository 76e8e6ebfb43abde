import { Connection, PublicKey, VersionedTransaction } from "@solana/web3.js";
import { encodeHeaderJson, type PaymentRequirementsV2 } from "@tollgate/shared";
import {
  createBankSolanaChain,
  type SolanaBank,
  type SolanaRpc,
  startSolanaBank,
  startSolanaRpc,
  svmPayeeKeypairs,
  svmPayerKeypairs,
} from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeAll,
  countingStore,
  heldSettleFacilitator,
  paymentRequiredOf,
  receiptOf,
  serve,
} from "../test/fixtures.js";
import { svmPaymentSignature, svmTransferTransaction } from "../test/svmFixtures.js";
import { createFacilitator, type Facilitator } from "./facilitator/createFacilitator.js";
import { type CreatePaywallParameters, createPaywall } from "./paywall.js";
import { createExactSvmScheme } from "./svm/exactSvmScheme.js";
import { createSvmSettlementCheck } from "./svm/settlementCheck.js";
import type { SolanaChain } from "./svm/solanaChain.js";
import { createSvmDirectChain } from "./svm/svmDirectChain.js";
import type { SettlementCheck } from "./verify/facilitator/facilitatorLane.js";

/**
 * The facilitator lane on Solana: the 402 names the fee payer from our facilitator's `/supported`, the client
 * signs an SPL transfer with that fee payer's slot empty, and the paywall settles it through our facilitator
 * (in process, over the Solana bank): the payee's balance moves once, and the same transaction is a replay.
 */
let bank: SolanaBank;
let rpc: SolanaRpc;
let facilitator: Facilitator;
const payer = svmPayerKeypairs[1];
const payee = svmPayeeKeypairs[1].publicKey;
const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";

beforeAll(async () => {
  bank = await startSolanaBank();
  facilitator = createFacilitator({
    schemes: [createExactSvmScheme({ chains: [createBankSolanaChain({ bank })] })],
  });
  rpc = await startSolanaRpc({ bank });
});

afterAll(async () => {
  await closeAll();
  await rpc?.close();
});

/**
 * A remote facilitator on loopback that names our fee payer in `/supported` (so a Solana payment may go to it)
 * and answers `/verify` and `/settle` with `broken`: the ways a primary goes down without refusing a payment.
 */
async function brokenFacilitatorUrl(broken: () => Response | Promise<Response>): Promise<string> {
  const served = await serve((request) =>
    new URL(request.url).pathname.endsWith("/supported") ? Response.json(facilitator.supported()) : broken(),
  );
  return served.url;
}

/** What a v2 client sends for a Solana requirement: a transfer signed by the payer, fee payer's slot empty. */
async function solanaPayment(requirement: PaymentRequirementsV2): Promise<string> {
  const feePayer = requirement.extra?.feePayer;
  if (typeof feePayer !== "string") throw new Error("no fee payer in the requirement");
  expect(bank.feePayer.publicKey.toBase58()).toBe(feePayer);
  return svmPaymentSignature({ bank, payer, requirement });
}

/** What an x402 1.2.0 client sends (`X-PAYMENT`): exactly 3 instructions, the fee payer's slot empty. */
async function solanaPaymentV1(requirement: Readonly<{ maxAmountRequired: string; payTo: string }>) {
  const transaction = await svmTransferTransaction({
    bank,
    payer,
    payTo: new PublicKey(requirement.payTo),
    amount: BigInt(requirement.maxAmountRequired),
  });
  return encodeHeaderJson({
    header: "X-PAYMENT",
    value: { x402Version: 1, scheme: "exact", network: "solana-devnet", payload: { transaction } },
  });
}

/**
 * A paywall selling `GET /paid` for $0.01 on Solana devnet with `options`, ready, with the requirement of its 402,
 * and `pay(header)` presenting a proof.
 */
async function solanaPaywall(options: Partial<CreatePaywallParameters>) {
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01" },
    networks: ["solana-devnet"],
    payTo: { "solana-devnet": payee.toBase58() },
    settlementChecks: { "solana-devnet": false },
    ...options,
  });
  await paywall.ready();
  const app = paywall.fetch(() => Response.json({ content: "paid" }));
  const requirement = paymentRequiredOf(await app(new Request("http://api.test/paid"))).accepts[0];
  if (!requirement) throw new Error("no requirement");
  const pay = (header: string) =>
    app(new Request("http://api.test/paid", { headers: { "payment-signature": header } }));
  return { paywall, requirement, pay };
}

const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

/** Counts a paywall's facilitator calls other than `/supported`, as `name:endpoint:outcome`. */
function callLog(calls: string[]): CreatePaywallParameters["onEvent"] {
  return (event) => {
    if (event.type === "facilitator_call" && event.endpoint !== "supported")
      calls.push(`${event.facilitator}:${event.endpoint}:${event.outcome}`);
  };
}

describe("the facilitator lane on Solana (bank)", () => {
  it("offers the fee payer from /supported, settles through our facilitator once, and refuses the replay", async () => {
    const { requirement, pay } = await solanaPaywall({ selfSettle: facilitator });
    expect(requirement).toMatchObject({
      network: devnet,
      amount: "10000",
      asset: bank.mint.toBase58(),
      payTo: payee.toBase58(),
      extra: { feePayer: bank.feePayer.publicKey.toBase58() },
    });

    const before = { payer: await bank.tokenBalance(payer.publicKey), payee: await bank.tokenBalance(payee) };
    const header = await solanaPayment(requirement);
    const paid = await pay(header);
    expect(paid.status).toBe(200);
    expect(await paid.json()).toEqual({ content: "paid" });
    expect(receiptOf(paid)).toMatchObject({ success: true, network: devnet });
    expect(await bank.tokenBalance(payer.publicKey)).toBe(before.payer - 10_000n);
    expect(await bank.tokenBalance(payee)).toBe(before.payee + 10_000n);

    const replay = await pay(header);
    expect(replay.status).toBe(402);
    expect(await errorOf(replay)).toBe("replayed_payment");
    expect(await bank.tokenBalance(payee)).toBe(before.payee + 10_000n);
  });

  it("sends a Solana payment to no facilitator that has not named its fee payer", async () => {
    const calls: string[] = [];
    const { paywall, requirement, pay } = await solanaPaywall({
      // A facilitator whose /supported is unreadable comes first: it must not get the bound payload.
      facilitators: [{ url: "http://127.0.0.1:9", name: "unreadable", verifyTimeoutMs: 200 }],
      selfSettle: facilitator,
      onEvent: callLog(calls),
    });
    const paid = await pay(await solanaPayment(requirement));
    expect(paid.status).toBe(200);
    expect(calls).toEqual(["self:verify:answer", "self:settle:answer"]);
    await paywall.close();
  });

  it("fails over from a primary answering 500 and a second answering garbage to self-settlement, once", async () => {
    const calls: string[] = [];
    const { paywall, requirement, pay } = await solanaPaywall({
      facilitators: [
        { name: "primary", url: await brokenFacilitatorUrl(() => new Response("down", { status: 500 })) },
        { name: "second", url: await brokenFacilitatorUrl(() => new Response("{not json", { status: 200 })) },
      ],
      selfSettle: facilitator,
      onEvent: callLog(calls),
    });
    const before = await bank.tokenBalance(payee);
    const paid = await pay(await solanaPayment(requirement));
    expect(paid.status).toBe(200);
    expect(receiptOf(paid)).toMatchObject({ success: true });
    expect(await bank.tokenBalance(payee)).toBe(before + 10_000n);
    expect(calls).toEqual([
      "primary:verify:unavailable",
      "second:verify:unavailable",
      "self:verify:answer",
      "primary:settle:unavailable",
      "second:settle:unavailable",
      "self:settle:answer",
    ]);
    await paywall.close();
  });

  it("answers facilitator_unavailable with Retry-After when no facilitator answers, and moves no money", async () => {
    const { paywall, requirement, pay } = await solanaPaywall({
      facilitators: [
        { name: "primary", url: await brokenFacilitatorUrl(() => new Response("down", { status: 503 })) },
      ],
    });
    const before = await bank.tokenBalance(payee);
    const refused = await pay(await solanaPayment(requirement));
    expect(refused.status).toBe(402);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(await errorOf(refused)).toBe("facilitator_unavailable");
    expect(await bank.tokenBalance(payee)).toBe(before);
    await paywall.close();
  });

  it("answers settlement_pending after a lost /settle answer, then serves the retry once the chain shows the payment", async () => {
    const slow = await heldSettleFacilitator(facilitator);
    const connection = new Connection(rpc.url, { commitment: "confirmed", disableRetryOnRateLimit: true });
    const { paywall, requirement, pay } = await solanaPaywall({
      facilitators: [{ name: "slow", url: slow.url, settleTimeoutMs: 200 }],
      // Without it the retry would stay settlement_pending: the facilitator refuses a second settle.
      settlementChecks: { [devnet]: createSvmSettlementCheck({ connection }) },
    });
    const before = await bank.tokenBalance(payee);
    const header = await solanaPayment(requirement);

    const pending = await pay(header);
    expect(pending.status).toBe(402);
    expect(await errorOf(pending)).toBe("settlement_pending");
    await slow.release();
    expect(await bank.tokenBalance(payee)).toBe(before + 10_000n);

    const served = await pay(header);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual({ content: "paid" });
    expect(receiptOf(served)).toMatchObject({ success: true, network: devnet });
    expect(await bank.tokenBalance(payee)).toBe(before + 10_000n);
    // Served once: the proof is spent now.
    expect(await errorOf(await pay(header))).toBe("replayed_payment");
    await paywall.close();
  });

  it("finds no settlement for a payment that never landed", async () => {
    const check = createSvmSettlementCheck({
      connection: new Connection(rpc.url, { commitment: "confirmed", disableRetryOnRateLimit: true }),
    });
    const { paywall, requirement } = await solanaPaywall({ selfSettle: facilitator });
    const header = await solanaPayment(requirement);
    const payload = JSON.parse(Buffer.from(header, "base64").toString()).payload;
    expect(await check({ requirement, payload })).toBe(false);
    expect(await check({ requirement, payload: { transaction: "not a transaction" } })).toBe(false);
    await paywall.close();
  });

  it("finds a landed payment by the payer's signature, and not a payload carrying that signature on another message", async () => {
    const check = createSvmSettlementCheck({
      connection: new Connection(rpc.url, { commitment: "confirmed", disableRetryOnRateLimit: true }),
    });
    const { paywall, requirement, pay } = await solanaPaywall({ selfSettle: facilitator });
    const header = await solanaPayment(requirement);
    expect((await pay(header)).status).toBe(200);
    const payload = JSON.parse(Buffer.from(header, "base64").toString()).payload as { transaction: string };
    expect(await check({ requirement, payload })).toBe(true);

    // Another transfer with the landed payment's payer signature copied into its slot.
    const other = VersionedTransaction.deserialize(
      Buffer.from(
        JSON.parse(Buffer.from(await solanaPayment(requirement), "base64").toString()).payload.transaction,
        "base64",
      ),
    );
    const landed = VersionedTransaction.deserialize(Buffer.from(payload.transaction, "base64"));
    other.signatures[1] = landed.signatures[1] ?? new Uint8Array(64);
    const forged = { transaction: Buffer.from(other.serialize()).toString("base64") };
    expect(await check({ requirement, payload: forged })).toBe(false);
    await paywall.close();
  });
});

/**
 * A v1 (`X-PAYMENT`) Solana payment whose confirmation is slow: our facilitator answers the v1 reason
 * `settle_exact_svm_transaction_confirmation_timed_out` with the transaction's signature. The transfer may land,
 * so the paywall asks the chain and, until the chain shows it, keeps the claim pending: never settlement_failed
 * and a dead claim for a payer who was charged.
 */
describe("a v1 Solana settlement sent but not confirmed in time", () => {
  /** A paywall settling through a facilitator whose cluster is slow to confirm, with `settlementCheck`. */
  async function slowToConfirmPaywall(settlementCheck: SettlementCheck) {
    const real = createBankSolanaChain({ bank });
    const slowToConfirm: SolanaChain = { ...real, confirm: async () => ({ status: "pending" }) };
    const paywall = createPaywall({
      routes: { "GET /paid": "$0.01" },
      networks: ["solana-devnet"],
      payTo: { "solana-devnet": payee.toBase58() },
      selfSettle: createFacilitator({ schemes: [createExactSvmScheme({ chains: [slowToConfirm] })] }),
      settlementChecks: { [devnet]: settlementCheck },
    });
    await paywall.ready();
    const app = paywall.fetch(() => Response.json({ content: "paid" }));
    const body = (await (await app(new Request("http://api.test/paid"))).json()) as {
      accepts: { network: string; maxAmountRequired: string; payTo: string }[];
    };
    const requirement = body.accepts.find((a) => a.network === "solana-devnet");
    if (!requirement) throw new Error("no v1 solana requirement");
    const pay = (header: string) =>
      app(new Request("http://api.test/paid", { headers: { "x-payment": header } }));
    return { paywall, requirement, pay };
  }

  const chainCheck = () =>
    createSvmSettlementCheck({
      connection: new Connection(rpc.url, { commitment: "confirmed", disableRetryOnRateLimit: true }),
    });

  it("is served at once when the chain already shows the transfer", async () => {
    const { paywall, requirement, pay } = await slowToConfirmPaywall(chainCheck());
    const before = await bank.tokenBalance(payer.publicKey);
    const paid = await pay(await solanaPaymentV1(requirement));
    expect(before - (await bank.tokenBalance(payer.publicKey))).toBe(10_000n);
    expect(paid.status).toBe(200);
    expect(await paid.json()).toEqual({ content: "paid" });
    await paywall.close();
  });

  it("is answered settlement_pending while the chain does not show it, and served on retry", async () => {
    const check = chainCheck();
    let looks = 0;
    // The chain's first look comes before the transfer is visible at the commitment asked for.
    const { paywall, requirement, pay } = await slowToConfirmPaywall(async (parameters) =>
      ++looks === 1 ? false : check(parameters),
    );
    const header = await solanaPaymentV1(requirement);
    const before = await bank.tokenBalance(payer.publicKey);

    const first = await pay(header);
    const firstError = ((await first.json()) as { error: string }).error;
    expect(before - (await bank.tokenBalance(payer.publicKey))).toBe(10_000n);
    const retry = await pay(header);
    const retryBody = retry.status === 200 ? "" : ((await retry.json()) as { error: string }).error;
    expect({ firstError, retry: retry.status, retryBody }).toEqual({
      firstError: "settlement_pending",
      retry: 200,
      retryBody: "",
    });
    await paywall.close();
  });
});

/** Issue 21 items 9 and 11 on Solana: the payer's signature before any claim; lost settle answers resolved. */
describe("Solana proofs before the claim, and lost settle answers", () => {
  /** The proof with the payer's signature slot replaced by `signature` (64 bytes). */
  function withPayerSignature(header: string, signature: Uint8Array): string {
    const value = JSON.parse(Buffer.from(header, "base64").toString()) as {
      payload: { transaction: string };
    };
    const transaction = VersionedTransaction.deserialize(Buffer.from(value.payload.transaction, "base64"));
    transaction.signatures[1] = signature;
    value.payload.transaction = Buffer.from(transaction.serialize()).toString("base64");
    return encodeHeaderJson({ header: "PAYMENT-SIGNATURE", value });
  }

  it("refuses a proof whose payer signature is missing or not over its message, claiming nothing", async () => {
    const counted = countingStore();
    const { paywall, requirement, pay } = await solanaPaywall({
      // The facilitator is down: before the fix each such proof left a dead claim.
      facilitators: [
        { name: "down", url: await brokenFacilitatorUrl(() => new Response("down", { status: 503 })) },
      ],
      store: counted.store,
    });
    const unsigned = withPayerSignature(await solanaPayment(requirement), new Uint8Array(64));
    const otherMessage = VersionedTransaction.deserialize(
      Buffer.from(
        JSON.parse(Buffer.from(await solanaPayment(requirement), "base64").toString()).payload.transaction,
        "base64",
      ),
    );
    const copied = withPayerSignature(
      await solanaPayment(requirement),
      otherMessage.signatures[1] ?? new Uint8Array(64),
    );
    const reasons = [await errorOf(await pay(unsigned)), await errorOf(await pay(copied))];
    expect({ reasons, claims: counted.claims() }).toEqual({
      reasons: ["invalid_exact_svm_payload_signature_invalid", "invalid_exact_svm_payload_signature_invalid"],
      claims: 0,
    });
    await paywall.close();
  });

  it("serves a payer whose facilitator settled then answered 500, by the check of the direct lane's connection", async () => {
    const connection = new Connection(rpc.url, { commitment: "confirmed", disableRetryOnRateLimit: true });
    let settles = 0;
    const lossy = await serve(async (request) => {
      const path = new URL(request.url).pathname;
      if (path.endsWith("/supported")) return Response.json(facilitator.supported());
      const body = (await request.json()) as unknown;
      if (path.endsWith("/verify")) return Response.json((await facilitator.verify(body)).body);
      settles++;
      await facilitator.settle(body);
      return new Response("internal error", { status: 500 });
    });
    const { paywall, requirement, pay } = await solanaPaywall({
      facilitators: [{ name: "lossy", url: lossy.url }],
      settlementChecks: {},
      direct: {
        networks: [{ chain: createSvmDirectChain({ network: devnet, connection }), payTo: payee.toBase58() }],
      },
    });
    const before = await bank.tokenBalance(payee);
    const header = await solanaPayment(requirement);
    let served: Response | undefined;
    for (let i = 0; i < 3 && served === undefined; i++) {
      const response = await pay(header);
      if (response.status === 200) served = response;
    }
    expect(served?.status).toBe(200);
    expect(await served?.json()).toEqual({ content: "paid" });
    expect(await bank.tokenBalance(payee)).toBe(before + 10_000n);
    expect(settles).toBe(1);
    await paywall.close();
  });
});
