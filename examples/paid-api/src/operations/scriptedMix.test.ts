import {
  createMemoryStore,
  latencyRelativeAccuracy,
  type ServedFetch,
  type StoreRecord,
  serveFetch,
} from "@tollgate/server";
import { createEvmDirectChain } from "@tollgate/server/evm";
import { directBindingMessage, tokenHeaderNames } from "@tollgate/shared";
import {
  type EvmChain,
  evmPayeeAccounts,
  evmPayerAccounts,
  type LocalFacilitator,
  startEvmChain,
  startLocalFacilitator,
} from "@tollgate/testing";
import { createWalletClient, http, parseEther } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentRequiredOf, signPayment } from "../../../../packages/server/test/fixtures.js";
import { loadConfig } from "../config.js";
import { createPaidApi, type PaidApi } from "../createPaidApi.js";
import { parseExposition, sumOf } from "../monitoring/exposition.js";

/**
 * The reference server driven through a scripted mix over real HTTP on loopback — facilitator-lane payments
 * settled on anvil by our facilitator, an outage of the first facilitator (503) failed over to the second, real
 * direct transfers, prepaid token spends, refunds (an endpoint answering 503 with settlement `after`), a
 * settlement whose answer is lost and then resolved, and refusals — then its report (the admin API's
 * `GET /report`) and `/metrics` checked against the counts the test kept while sending: exactly for counts,
 * rates, volume and the funnel, within the sketch's relative accuracy for the latency percentiles.
 */
const origin = "https://api.mix.test";
const network = "eip155:84532";
const adminKey = "Vb3nQ8zK1xT6mR2wP9yL4cH7sD0fGj5A";
const sender = evmPayerAccounts[1];
const signerA = evmPayerAccounts[2];
const signerB = evmPayerAccounts[3];
const merchant = evmPayeeAccounts[2].address;
const directPayee = evmPayeeAccounts[1].address;
const price = { "/v1/search": 10_000n, "/v1/report": 20_000n } as const;
const routeOf = (path: keyof typeof price) => `GET ${path}`;

/** How a loopback facilitator answers: forwarding to ours, 503 on everything, or 502 on `/settle` only. */
type Mode = "up" | "down" | "settle_lost";

/** Our facilitator behind a loopback switch the script flips. */
async function switchedFacilitator(local: LocalFacilitator): Promise<{ served: ServedFetch; mode: Mode }> {
  const state: { served: ServedFetch; mode: Mode } = { served: undefined as never, mode: "up" };
  state.served = await serveFetch({
    fetch: (request) => {
      const endpoint = new URL(request.url).pathname.split("/").pop() ?? "";
      const lost = state.mode === "down" || (state.mode === "settle_lost" && endpoint === "settle");
      if (endpoint !== "supported") {
        const key = `${new URL(state.served.url).host} ${endpoint} ${lost ? "unavailable" : "answer"}`;
        sent.facilitatorCalls[key] = (sent.facilitatorCalls[key] ?? 0) + 1;
      }
      if (state.mode === "down") return Response.json({ error: "unavailable" }, { status: 503 });
      if (lost) return Response.json({ error: "bad_gateway" }, { status: 502 });
      return local.facilitator.fetch(request);
    },
  });
  return state;
}

/** What the test sent, counted as it goes: the figures the report and /metrics must show. */
const sent = {
  paymentRequired: 0,
  received: { facilitator: 0, direct: 0, token: 0 },
  checked: 0,
  verified: 0,
  settled: 0,
  paid: 0,
  refunded: 0,
  notCharged: 0,
  pending: 0,
  failovers: 0,
  refusals: {} as Record<string, number>,
  volume: { facilitator: 0n, direct: 0n, token: 0n },
  byFacilitator: {} as Record<string, number>,
  /** `/verify` and `/settle` calls each loopback facilitator received, by `host endpoint outcome`. */
  facilitatorCalls: {} as Record<string, number>,
};
const refusal = (reason: string) => {
  sent.refusals[reason] = (sent.refusals[reason] ?? 0) + 1;
};

let evm: EvmChain;
let localA: LocalFacilitator;
let localB: LocalFacilitator;
let primary: Awaited<ReturnType<typeof switchedFacilitator>>;
let secondary: Awaited<ReturnType<typeof switchedFacilitator>>;
const store = createMemoryStore();
let api: PaidApi;
let url: string;
let adminUrl: string;
const closers: { close(): unknown }[] = [];

beforeAll(async () => {
  evm = await startEvmChain({
    payers: [sender.address, signerA.address, signerB.address],
    ethForPayers: { [sender.address]: parseEther("1") },
  });
  localA = await startLocalFacilitator({ evm });
  localB = await startLocalFacilitator({ evm });
  primary = await switchedFacilitator(localA);
  secondary = await switchedFacilitator(localB);
  closers.push(localA, localB, primary.served, secondary.served);
  api = createPaidApi({
    config: loadConfig({
      X402_PAYAI_ENABLED: "false",
      X402_FACILITATOR_URLS: `${primary.served.url},${secondary.served.url}`,
      X402_PAYAI_MERCHANT_ADDRESS: merchant,
      X402_DIRECT_CHAINS: "base",
      X402_BASE_NETWORK: "base-sepolia",
      X402_BASE_RPC_URL: evm.rpcUrl,
      X402_BASE_PAYMENT_ADDRESS: directPayee,
      X402_PUBLIC_ORIGINS: origin,
      TOLLGATE_ADMIN_KEY: adminKey,
    }),
    chains: { base: createEvmDirectChain({ publicClient: evm.publicClient }) },
    // A lost /settle answer is left pending (nothing asks the chain), then resolved by the client's retry.
    settlementChecks: { [network]: false },
    store,
    // `?fail` makes the paid endpoint answer 503: with settlement `after`, the payment is given back.
    wrapEndpoints: (request, endpoints) =>
      new URL(request.url).searchParams.has("fail")
        ? Promise.resolve(Response.json({ error: "scripted_failure" }, { status: 503 }))
        : endpoints(request),
  });
  if (api.admin === undefined) throw new Error("no admin API");
  const served = await serveFetch({ fetch: api.fetch });
  const admin = await serveFetch({ fetch: api.admin.fetch });
  url = served.url;
  adminUrl = admin.url;
  closers.push(api.paywall, served, admin);
  await api.paywall.ready();
}, 120_000);
afterAll(async () => {
  for (const c of closers.reverse()) await c.close();
  await evm?.stop();
});

const hostOf = (served: ServedFetch) => new URL(served.url).host;
const errorOf = async (response: Response) => ((await response.clone().json()) as { error?: string }).error;

/** A signed EIP-3009 proof for `path`'s live offer on Base Sepolia. */
async function facilitatorProof(path: keyof typeof price, payer: PrivateKeyAccount): Promise<string> {
  const offer = paymentRequiredOf(await fetch(`${url}${path}`));
  sent.paymentRequired++;
  const requirement = offer.accepts.find((r) => r.scheme === "exact" && r.network === network);
  if (requirement === undefined) throw new Error("no exact offer on Base Sepolia");
  return signPayment({ evm, payer, requirement });
}

const present = (path: string, headers: Record<string, string>) => fetch(`${url}${path}`, { headers });

/** A facilitator-lane payment served, settled by `by` after `failovers` unavailable facilitators. */
async function payThroughFacilitator(
  path: keyof typeof price,
  payer: PrivateKeyAccount,
  by: ServedFetch,
  failovers: number,
): Promise<string> {
  const proof = await facilitatorProof(path, payer);
  const response = await present(path, { "payment-signature": proof });
  expect(response.status, await response.clone().text()).toBe(200);
  sent.received.facilitator++;
  sent.checked++;
  sent.verified++;
  sent.settled++;
  sent.paid++;
  sent.volume.facilitator += price[path];
  sent.failovers += failovers;
  sent.byFacilitator[hostOf(by)] = (sent.byFacilitator[hostOf(by)] ?? 0) + 1;
  return proof;
}

/** A real USDC transfer of `amount` to the direct payee, mined, presented with its binding. */
async function payDirect(path: string, amount: bigint): Promise<Response> {
  const wallet = createWalletClient({ account: sender, chain: evm.chain, transport: http(evm.rpcUrl) });
  const receipt = await wallet.writeContractSync({
    address: evm.token,
    abi: evm.abi,
    functionName: "transfer",
    args: [directPayee, amount],
  });
  const tx = receipt.transactionHash;
  const signature = await sender.signMessage({ message: directBindingMessage({ network, tx, origin }) });
  sent.received.direct++;
  return present(path, { "x-payment-tx": tx, "x-payment-chain": network, "x-payment-tx-sig": signature });
}

const spend = (path: string, token: string) => {
  sent.received.token++;
  return present(path, { [tokenHeaderNames.token]: token });
};

/** The exact quantile DDSketch estimates: the value at rank ⌊q·(n−1)⌋ of the sorted values. */
const exactQuantile = (sorted: readonly number[], q: number) =>
  sorted[Math.floor(q * (sorted.length - 1))] as number;

describe("the reference server through a scripted mix", () => {
  it("reports and exposes exactly what was sent", async () => {
    // Payment required, no proof.
    for (let i = 0; i < 2; i++) {
      expect((await fetch(`${url}/v1/search?q=mix`)).status).toBe(402);
      sent.paymentRequired++;
    }

    // Facilitator successes through the first facilitator.
    const first = await payThroughFacilitator("/v1/search", signerA, primary.served, 0);
    await payThroughFacilitator("/v1/search", signerA, primary.served, 0);
    await payThroughFacilitator("/v1/report", signerB, primary.served, 0);

    // Refusals: the same proof again, a proof that is not one.
    const replay = await present("/v1/search", { "payment-signature": first });
    expect(await errorOf(replay)).toBe("replayed_payment");
    sent.received.facilitator++;
    refusal("replayed_payment");
    const malformed = await present("/v1/search", { "payment-signature": "not%base64{" });
    expect(await errorOf(malformed)).toBe("malformed_payment");
    sent.received.facilitator++;
    refusal("malformed_payment");

    // The endpoint fails after a facilitator-lane verification: nothing settled, nothing charged.
    const failing = await present("/v1/search?fail", {
      "payment-signature": await facilitatorProof("/v1/search", signerB),
    });
    expect(failing.status).toBe(503);
    sent.received.facilitator++;
    sent.checked++;
    sent.verified++;
    sent.notCharged++;

    // Outage: the first facilitator answers 503; its /verify and /settle each fail over to the second.
    primary.mode = "down";
    await payThroughFacilitator("/v1/search", signerA, secondary.served, 2);
    await payThroughFacilitator("/v1/report", signerB, secondary.served, 2);
    primary.mode = "up";

    // A settlement whose answer is lost at both facilitators: pending (one failover, from the first /settle),
    // then the same proof presented again once they answer: settled by the first, served once.
    const lost = await facilitatorProof("/v1/search", signerA);
    primary.mode = "settle_lost";
    secondary.mode = "settle_lost";
    const pending = await present("/v1/search", { "payment-signature": lost });
    expect(await errorOf(pending)).toBe("settlement_pending");
    sent.received.facilitator++;
    sent.checked++;
    sent.verified++;
    sent.pending++;
    sent.failovers++;
    refusal("settlement_pending");
    // Presented again while both answers are still lost: refused again, yet one payment pending, not two.
    const stillPending = await present("/v1/search", { "payment-signature": lost });
    expect(await errorOf(stillPending)).toBe("settlement_pending");
    sent.received.facilitator++;
    sent.checked++;
    sent.failovers++;
    refusal("settlement_pending");
    primary.mode = "up";
    secondary.mode = "up";
    const resolved = await present("/v1/search", { "payment-signature": lost });
    expect(resolved.status, await resolved.clone().text()).toBe(200);
    sent.received.facilitator++;
    sent.checked++; // The resumed claim passes its checks again; settling resumes without a second /verify.
    sent.settled++;
    sent.paid++;
    sent.volume.facilitator += price["/v1/search"];
    sent.byFacilitator[hostOf(primary.served)] = (sent.byFacilitator[hostOf(primary.served)] ?? 0) + 1;

    // Direct payments: two $0.10 transfers for $0.01 searches (a $0.09 token each), one for a failing search
    // (refunded: its price joins the surplus token).
    const directOk = await payDirect("/v1/search?q=d", 100_000n);
    expect(directOk.status, await directOk.clone().text()).toBe(200);
    expect((await payDirect("/v1/search?q=d", 100_000n)).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      sent.checked++;
      sent.verified++;
      sent.settled++;
      sent.paid++;
      sent.volume.direct += price["/v1/search"];
    }
    const directRefund = await payDirect("/v1/search?fail", 100_000n);
    expect(directRefund.status).toBe(503);
    expect(directRefund.headers.get(tokenHeaderNames.balance)).toBe("100000");
    sent.checked++;
    sent.verified++;
    sent.settled++;
    sent.refunded++;

    // Token spends: a $0.03 token pays a search and a report, then is short; the direct surplus token pays a
    // report, then a failing search (refunded to it).
    const { token } = await api.paywall.issueToken({ amount: "$0.03" });
    expect((await spend("/v1/search", token)).status).toBe(200);
    expect((await spend("/v1/report", token)).status).toBe(200);
    sent.volume.token += price["/v1/search"] + price["/v1/report"];
    const short = await spend("/v1/search", token);
    expect(await errorOf(short)).toBe("token_insufficient_balance");
    refusal("token_insufficient_balance");
    const surplus = directOk.headers.get(tokenHeaderNames.token) ?? "";
    expect((await spend("/v1/report", surplus)).status).toBe(200);
    sent.volume.token += price["/v1/report"];
    const tokenRefund = await spend("/v1/search?fail", surplus);
    expect(tokenRefund.status).toBe(503);
    expect(tokenRefund.headers.get(tokenHeaderNames.balance)).toBe("70000");
    // Three served, one refunded, one short (checked: known and live, then the debit refused).
    sent.checked += 5;
    sent.verified += 4;
    sent.settled += 4;
    sent.paid += 3;
    sent.refunded++;

    await api.paywall.analytics.flush();
    const answer = await fetch(`${adminUrl}/report?since=0`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(answer.status).toBe(200);
    const r = (await answer.json()) as ReportJson;
    const metrics = parseExposition(await (await fetch(`${url}/metrics`)).text());
    const records = await store.readRecords({ since: 0, until: Number.MAX_SAFE_INTEGER, limit: 100_000 });

    const attempts = sent.received.facilitator + sent.received.direct + sent.received.token;
    const refusals = Object.values(sent.refusals).reduce((a, b) => a + b, 0);
    const volume = sent.volume.facilitator + sent.volume.direct;
    const funnel = [
      sent.paymentRequired,
      attempts,
      sent.checked,
      sent.verified,
      sent.settled,
      sent.paid,
    ] as const;
    const steps = ["payment_required", "proof_received", "proof_checked", "verified", "settled", "paid"];

    // The report: totals, per lane, the funnel with its conversions, the facilitator split, failovers.
    expect(r.truncated).toBe(false);
    expect({
      attempts: r.total.attempts,
      successes: r.total.successes,
      successRate: r.total.successRate,
      refunds: r.total.refunds,
      pending: r.total.pending,
      failures: r.total.failures,
      volume: r.total.volume,
      uniquePayers: r.total.uniquePayers,
      pendingSettlements: r.pendingSettlements,
      failovers: r.failovers,
      facilitatorSplit: r.facilitatorSplit,
      funnel: r.funnel,
    }).toEqual({
      attempts,
      successes: sent.paid,
      successRate: sent.paid / attempts,
      refunds: sent.refunded,
      pending: sent.pending,
      failures: sent.refusals,
      volume: { [network]: volume.toString(), "": sent.volume.token.toString() },
      // The two facilitator-lane signers and the direct sender; tokens name no payer.
      uniquePayers: 3,
      pendingSettlements: sent.pending,
      failovers: sent.failovers,
      facilitatorSplit: sent.byFacilitator,
      funnel: steps.map((step, i) => ({
        step,
        count: funnel[i],
        conversion: i === 0 ? 1 : (funnel[i] as number) / (funnel[i - 1] as number),
      })),
    });
    expect(r.total.successes).toBeLessThan(r.total.attempts);
    const lanes = Object.fromEntries(
      Object.entries(r.byLane).map(([lane, f]) => [
        lane,
        { attempts: f.attempts, successes: f.successes, refunds: f.refunds, volume: f.volume },
      ]),
    );
    expect(lanes).toEqual({
      facilitator: {
        attempts: sent.received.facilitator,
        successes: 6,
        refunds: 0,
        volume: { [network]: sent.volume.facilitator.toString() },
      },
      direct: {
        attempts: sent.received.direct,
        successes: 2,
        refunds: 1,
        volume: { [network]: sent.volume.direct.toString() },
      },
      token: {
        attempts: sent.received.token,
        successes: 3,
        refunds: 1,
        volume: { "": sent.volume.token.toString() },
      },
    });
    expect(r.byLane.facilitator?.failures).toEqual({
      replayed_payment: 1,
      malformed_payment: 1,
      settlement_pending: 2,
    });
    expect(r.byLane.token?.failures).toEqual({ token_insufficient_balance: 1 });
    expect(r.byRoute[routeOf("/v1/report")]?.successes).toBe(4);

    // /metrics: the same counts.
    const stage = (s: string) => sumOf(metrics, "tollgate_funnel_total", { stage: s });
    const refusedBy = Object.fromEntries(
      Object.keys(sent.refusals).map((reason) => [
        reason,
        sumOf(metrics, "tollgate_refusals_total", { reason }),
      ]),
    );
    expect({
      required: sumOf(metrics, "tollgate_payment_required_total"),
      received: stage("proof_received"),
      checked: stage("proof_checked"),
      verified: stage("verified"),
      settled: stage("settled"),
      served: stage("served"),
      refusals: sumOf(metrics, "tollgate_refusals_total"),
      refusedBy,
      refunds: sumOf(metrics, "tollgate_refunds_total"),
      pending: sumOf(metrics, "tollgate_settlement_pending_total"),
      notCharged: sumOf(metrics, "tollgate_not_charged_total"),
      failovers: sumOf(metrics, "tollgate_failovers_total"),
      // A lost /settle tells the client to present the same proof again: never a failover to the direct lane.
      toDirect: sumOf(metrics, "tollgate_failovers_total", { to: "direct" }),
      paidFacilitator: sumOf(metrics, "tollgate_paid_atomic_total", { lane: "facilitator", network }),
      paidDirect: sumOf(metrics, "tollgate_paid_atomic_total", { lane: "direct", network }),
      paidToken: sumOf(metrics, "tollgate_paid_atomic_total", { lane: "token" }),
      timed: sumOf(metrics, "tollgate_payment_duration_seconds_count"),
    }).toEqual({
      required: sent.paymentRequired,
      received: attempts,
      checked: sent.checked,
      verified: sent.verified,
      settled: sent.settled,
      served: sent.paid,
      refusals,
      refusedBy: sent.refusals,
      refunds: sent.refunded,
      pending: sent.pending,
      notCharged: sent.notCharged,
      failovers: sent.failovers,
      toDirect: 0,
      paidFacilitator: Number(sent.volume.facilitator),
      paidDirect: Number(sent.volume.direct),
      paidToken: Number(sent.volume.token),
      timed: sent.settled,
    });

    // Each facilitator's /verify and /settle calls, as the facilitators themselves counted them.
    const callsSeen = Object.fromEntries(
      metrics.samples
        .filter((x) => x.name === "tollgate_facilitator_requests_total" && x.labels.endpoint !== "supported")
        .filter((x) => x.value > 0)
        .map((x) => [`${x.labels.facilitator} ${x.labels.endpoint} ${x.labels.outcome}`, x.value]),
    );
    expect(callsSeen).toEqual(sent.facilitatorCalls);

    // The same figures by network and per facilitator; the Markdown says them too.
    expect(r.byNetwork[network]).toMatchObject({
      successes: sent.paid - 3, // The three token spends name no network.
      refunds: 1,
      volume: { [network]: volume.toString() },
      uniquePayers: 3,
    });
    expect(
      Object.fromEntries(Object.entries(r.byFacilitator).map(([name, f]) => [name, f.successes])),
    ).toEqual(sent.byFacilitator);
    expect(r.byLane.token?.uniquePayers).toBe(0);
    const markdown = await (
      await fetch(`${adminUrl}/report?since=0&format=markdown`, {
        headers: { authorization: `Bearer ${adminKey}` },
      })
    ).text();
    expect(markdown).toContain(`Failovers: ${sent.failovers}. Pending settlements: ${sent.pending}.`);
    expect(markdown).toContain(
      `| paid | ${sent.paid} | ${((sent.paid / sent.settled) * 100).toFixed(1)} % |`,
    );

    // Latency: the report's percentiles within the sketch's accuracy of the exact quantiles of the recorded
    // settlement durations; the histogram's count and sum are those same durations.
    const durations = records
      .filter((record: StoreRecord) => record.type === "settled")
      .map((record) => record.durationMs ?? Number.NaN)
      .sort((a, b) => a - b);
    expect(durations).toHaveLength(sent.settled);
    const latency = r.total.latencyMs;
    if (latency === undefined) throw new Error("no latency in the report");
    for (const [q, reported] of [
      [0.5, latency.p50],
      [0.95, latency.p95],
      [0.99, latency.p99],
    ] as const) {
      const exact = exactQuantile(durations, q);
      expect(Math.abs(reported - exact), `p${q * 100}: ${reported} vs ${exact}`).toBeLessThanOrEqual(
        latencyRelativeAccuracy * exact,
      );
    }
    const seconds = durations.reduce((a, b) => a + b, 0) / 1000;
    expect(sumOf(metrics, "tollgate_payment_duration_seconds_sum")).toBeCloseTo(seconds, 6);
  }, 180_000);
});

/** The admin API's `GET /report` JSON (amounts as decimal strings). */
type Figures = Readonly<{
  attempts: number;
  successes: number;
  successRate: number;
  refunds: number;
  pending: number;
  failures: Record<string, number>;
  latencyMs?: { p50: number; p95: number; p99: number };
  volume: Record<string, string>;
  uniquePayers: number;
}>;
type ReportJson = Readonly<{
  truncated: boolean;
  total: Figures;
  byLane: Record<string, Figures>;
  byRoute: Record<string, Figures>;
  byNetwork: Record<string, Figures>;
  byFacilitator: Record<string, Figures>;
  funnel: { step: string; count: number; conversion: number }[];
  facilitatorSplit: Record<string, number>;
  failovers: number;
  pendingSettlements: number;
}>;
