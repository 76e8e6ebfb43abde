import { TollgateError } from "@tollgate/shared";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect, it } from "vitest";
import { serveLoopback } from "../test/loopback.js";
import { failure, type PaidApi, payee, requirement, startPaidApi } from "../test/paidApi.js";
import type { PayingFetchEvent } from "./events.js";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createMemoryLedger } from "./ledger/ledger.js";
import { type CreatePayingFetchParameters, createPayingFetch } from "./payingFetch.js";
import { type BudgetStore, budgetBuckets } from "./policy/budgetStore.js";
import { createMemoryBudgetStore } from "./policy/memoryBudgetStore.js";

/** A fixed test key (never funded anywhere): signatures are real, nothing settles. */
const account = privateKeyToAccount(`0x${"11".repeat(32)}`);
const wallet = createEvmWallet({ account });
const apis: PaidApi[] = [];

async function api(parameters: Parameters<typeof startPaidApi>[0] = {}): Promise<PaidApi> {
  const started = await startPaidApi(parameters);
  apis.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

function paying(parameters: Partial<CreatePayingFetchParameters> = {}) {
  return createPayingFetch({ wallets: [wallet], ...parameters });
}

describe("max per request", () => {
  it("pays exactly the default maximum of 100000 (inclusive) and refuses one unit more", async () => {
    const atMax = await api({ accepts: [requirement({ amount: "100000" })] });
    const response = await paying()(`${atMax.url}/r`);
    expect(response.status).toBe(200);
    expect(atMax.payments.map((p) => p.amount)).toEqual([100_000n]);

    const over = await api({ accepts: [requirement({ amount: "100001" })] });
    const error = await failure(paying()(`${over.url}/r`));
    expect(error.code).toBe("CLIENT__AMOUNT_EXCEEDS_MAX");
    expect(error.context).toEqual({ amount: "100001", max: "100000", network: "eip155:84532" });
    expect(over.payments).toHaveLength(0);
  });

  it("honours a configured maximum and pays a cheaper offer of the same 402 instead", async () => {
    const server = await api({
      accepts: [
        requirement({ amount: "5000" }),
        requirement({ amount: "900", payTo: `0x${"b2".repeat(20)}` }),
      ],
    });
    const response = await paying({ policy: { maxPerRequest: 1000n } })(`${server.url}/r`);
    expect(response.status).toBe(200);
    expect(server.payments.map((p) => p.amount)).toEqual([900n]);
  });
});

describe.each([
  ["held in this process", () => ({})],
  ["held in a BudgetStore", () => ({ budgetStore: createMemoryBudgetStore() })],
] as const)("budgets %s", (_, budgetStore) => {
  const paying = (parameters: Partial<CreatePayingFetchParameters> = {}) =>
    createPayingFetch({ wallets: [wallet], ...budgetStore(), ...parameters });

  it("concurrent payments never overspend: 20 at once against room for 5 pay exactly 5", async () => {
    const server = await api();
    const payingFetch = paying({ policy: { budgets: [{ limit: 50_000n, window: "day" }] } });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        payingFetch(`${server.url}/r${i}`).then(
          (r) => r.status,
          (e: unknown) => (e as { code?: string }).code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 200)).toHaveLength(5);
    expect(outcomes.filter((o) => o === "CLIENT__BUDGET_EXHAUSTED")).toHaveLength(15);
    expect(server.payments).toHaveLength(5);
  });

  it("a sliding hourly budget refuses, then pays again once the hour has passed", async () => {
    const server = await api();
    let clock = 1_700_000_000_000;
    const payingFetch = paying({
      now: () => clock,
      policy: { budgets: [{ limit: 20_000n, window: "hour" }] },
    });
    await payingFetch(`${server.url}/a`);
    clock += 60_000;
    await payingFetch(`${server.url}/b`);
    const error = await failure(payingFetch(`${server.url}/c`));
    expect(error.code).toBe("CLIENT__BUDGET_EXHAUSTED");
    expect(error.context).toEqual({ budget: "hour", amount: "10000", remaining: "0" });
    clock += 3_540_001; // the first payment leaves the window
    expect((await payingFetch(`${server.url}/d`)).status).toBe(200);
    expect(server.payments).toHaveLength(3);
  });

  it("a daily and a total budget count every payment", async () => {
    const server = await api();
    const payingFetch = paying({
      policy: {
        budgets: [
          { limit: 50_000n, window: "day" },
          { name: "lifetime", limit: 30_000n, window: "total" },
        ],
      },
    });
    for (const path of ["a", "b", "c"]) await payingFetch(`${server.url}/${path}`);
    const error = await failure(payingFetch(`${server.url}/d`));
    expect(error.context).toMatchObject({ budget: "lifetime", remaining: "0" });
  });

  it("a per-origin budget keeps a tally for each origin", async () => {
    const first = await api();
    const second = await api();
    const payingFetch = paying({ policy: { budgets: [{ limit: 10_000n, window: "day", perOrigin: true }] } });
    await payingFetch(`${first.url}/a`);
    expect((await failure(payingFetch(`${first.url}/b`))).code).toBe("CLIENT__BUDGET_EXHAUSTED");
    expect((await payingFetch(`${second.url}/a`)).status).toBe(200);
  });

  it("a budget limited to some origins leaves the others alone", async () => {
    const limited = await api();
    const free = await api();
    const payingFetch = paying({
      policy: { budgets: [{ limit: 10_000n, window: "total", origins: [limited.url] }] },
    });
    await payingFetch(`${limited.url}/a`);
    expect((await failure(payingFetch(`${limited.url}/b`))).code).toBe("CLIENT__BUDGET_EXHAUSTED");
    await payingFetch(`${free.url}/a`);
    await payingFetch(`${free.url}/b`);
    expect(free.payments).toHaveLength(2);
  });

  it("a payment whose signing fails gives its reservation back", async () => {
    const server = await api();
    let fail = true;
    const flaky = createEvmWallet({
      account: {
        address: account.address,
        signTypedData: async (parameters) => {
          if (fail) throw new Error("hardware wallet unplugged");
          return account.signTypedData(parameters);
        },
      },
    });
    const payingFetch = createPayingFetch({
      wallets: [flaky],
      policy: { budgets: [{ limit: 10_000n, window: "total" }] },
      ...budgetStore(),
    });
    const error = await failure(payingFetch(`${server.url}/a`));
    expect(error.code).toBe("CLIENT__WALLET_FAILED");
    fail = false;
    expect((await payingFetch(`${server.url}/a`)).status).toBe(200);
  });
});

describe("budgets in a shared BudgetStore", () => {
  it("the proof's ledger entry records its hold, so another process can release it once the proof is dead", async () => {
    const server = await api();
    const budgetStore = createMemoryBudgetStore();
    const ledger = createMemoryLedger();
    const payingFetch = paying({
      policy: { budgets: [{ limit: 50_000n, window: "total" }] },
      budgetStore,
      ledger,
    });
    const response = await payingFetch(`${server.url}/a`, { headers: { "Idempotency-Key": "order-7" } });
    expect(response.status).toBe(200);
    const recorded = await ledger.get(`idem:GET ${server.url}/a order-7`);
    expect(recorded?.holdId).toEqual(expect.any(String));
    const buckets = budgetBuckets({ budgets: [{ limit: 50_000n, window: "total" }], origin: server.url });
    expect(await budgetStore.used({ buckets, at: Date.now() })).toEqual([10_000n]);
    // Releasing that hold (as a process that proved the proof dead would) frees its room for every process.
    await budgetStore.release({ id: recorded?.holdId ?? "", at: Date.now() });
    expect(await budgetStore.used({ buckets, at: Date.now() })).toEqual([0n]);
  });
});

describe("a budget store that fails", () => {
  it("fails closed: the store's error is thrown and nothing is signed or paid", async () => {
    const server = await api();
    const inner = createMemoryBudgetStore();
    const down: BudgetStore = {
      ...inner,
      reserve: async () => {
        throw new TollgateError("SERVER__STORE_FAILED", { context: { operation: "budget reserve" } });
      },
    };
    const events: PayingFetchEvent[] = [];
    const payingFetch = paying({
      policy: { budgets: [{ limit: 50_000n, window: "day" }] },
      budgetStore: down,
      onEvent: (e) => events.push(e),
    });
    const error = await failure(payingFetch(`${server.url}/a`));
    expect(error.code).toBe("SERVER__STORE_FAILED");
    expect(events.filter((e) => e.type === "payment.signed")).toEqual([]);
    expect(server.payments).toHaveLength(0);
  });
});

describe("allow and deny lists", () => {
  it.each([
    ["origin denied", { deny: { origins: ["127.0.0.1"] } }, "origin_denied"],
    ["origin not allowed", { allow: { origins: ["https://api.example.com"] } }, "origin_not_allowed"],
    ["network denied (v1 name)", { deny: { networks: ["base-sepolia"] } }, "network_denied"],
    ["network family denied", { deny: { networks: ["eip155:*"] } }, "network_denied"],
    ["network denied in another spelling", { deny: { networks: ["EIP155:084532"] } }, "network_denied"],
    ["origin denied as localhost", { deny: { origins: ["LOCALHOST."] } }, "origin_denied"],
    ["network not allowed", { allow: { networks: ["eip155:8453"] } }, "network_not_allowed"],
    ["asset denied", { deny: { assets: ["0x036cbd53842c5426634e7929541ec2318f3dcf7e"] } }, "asset_denied"],
    ["asset not allowed", { allow: { assets: [`0x${"cc".repeat(20)}`] } }, "asset_not_allowed"],
    ["payee denied", { deny: { payees: [payee.toUpperCase().replace("0X", "0x")] } }, "payee_denied"],
    ["payee not allowed", { allow: { payees: [`0x${"dd".repeat(20)}`] } }, "payee_not_allowed"],
  ] as const)("%s", async (_name, policy, reason) => {
    const server = await api();
    const error = await failure(paying({ policy })(`${server.url}/r`));
    expect(error.code).toBe("CLIENT__NO_PAYABLE_OFFER");
    expect(error.context).toMatchObject({ rejections: [{ reason }] });
    expect(server.payments).toHaveLength(0);
  });

  it("lists that allow the offer let it pay; deny wins over allow", async () => {
    const server = await api();
    const allowed = paying({
      policy: { allow: { origins: ["127.0.0.1"], networks: ["eip155:*"], payees: [payee] } },
    });
    expect((await allowed(`${server.url}/r`)).status).toBe(200);
    const denied = paying({
      policy: { allow: { networks: ["eip155:*"] }, deny: { networks: ["eip155:84532"] } },
    });
    expect((await failure(denied(`${server.url}/r`))).code).toBe("CLIENT__NO_PAYABLE_OFFER");
  });

  it("refuses assets other than the network's USDC unless allowed", async () => {
    const other = `0x${"ee".repeat(20)}`;
    const server = await api({ accepts: [requirement({ asset: other })] });
    const error = await failure(paying()(`${server.url}/r`));
    expect(error.context).toMatchObject({ rejections: [{ reason: "asset_not_usdc" }] });
    expect((await paying({ policy: { allow: { assets: [other] } } })(`${server.url}/r`)).status).toBe(200);
  });
});

describe("confirm hook", () => {
  it("is asked with the offer and amount; declining throws and releases the budget", async () => {
    const server = await api();
    const asked: bigint[] = [];
    let answer = false;
    const payingFetch = paying({
      policy: {
        budgets: [{ limit: 10_000n, window: "total" }],
        confirm: async ({ amount, offer }) => {
          asked.push(amount);
          expect(offer.lane).toBe("facilitator");
          return answer;
        },
      },
    });
    expect((await failure(payingFetch(`${server.url}/r`))).code).toBe("CLIENT__CONFIRM_DECLINED");
    answer = true;
    expect((await payingFetch(`${server.url}/r`)).status).toBe(200);
    expect(asked).toEqual([10_000n, 10_000n]);
    expect(server.payments).toHaveLength(1);
  });
});

describe("selection and quote", () => {
  it("quote explains every offer without paying", async () => {
    const server = await api({
      accepts: [
        requirement({ amount: "200000" }),
        requirement({ network: "eip155:1", asset: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48" }),
        requirement({ scheme: "upto" }),
        requirement({
          network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
          asset: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU",
          payTo: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
          extra: { feePayer: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin" },
        }),
        requirement({ amount: "3000" }),
      ],
    });
    const payingFetch = paying({ policy: { deny: { networks: ["eip155:1"] } } });
    const quote = await payingFetch.quote(`${server.url}/r`);
    expect(quote.status).toBe(402);
    expect(quote.offers).toHaveLength(5);
    expect(quote.chosen).toMatchObject({ amount: 3000n, wallet: account.address });
    expect(quote.rejected.map((r) => r.reason)).toEqual([
      "amount_exceeds_max",
      "network_denied",
      "scheme_unsupported",
      "no_wallet_for_network",
    ]);
    expect(server.payments).toHaveLength(0);
  });

  it("pays the hybrid body's offers, ordering by the server's priority and the caller's preferred networks", async () => {
    const v1 = (network: string, amount: string) => ({
      scheme: "exact",
      network,
      maxAmountRequired: amount,
      resource: "http://127.0.0.1/r",
      description: "r",
      mimeType: "application/json",
      payTo: payee,
      maxTimeoutSeconds: 60,
      asset:
        network === "base-sepolia"
          ? "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
          : "0x5425890298aed601595a70AB815c96711a31Bc65",
      extra: { name: network === "base-sepolia" ? "USDC" : "USD Coin", version: "2" },
    });
    const server = await api({
      header: false,
      body: {
        x402Version: 1,
        error: "payment_required",
        accepts: [v1("avalanche-fuji", "2000"), v1("base-sepolia", "1000")],
        payment_options: [
          {
            provider: "direct",
            type: "prepaid_token",
            priority: 3,
            recommended: false,
            header: "X-PAYMENT-TOKEN",
          },
        ],
      },
    });
    const events: PayingFetchEvent[] = [];
    const payingFetch = paying({
      policy: { preferNetworks: ["base-sepolia"] },
      onEvent: (e) => events.push(e),
    });
    expect((await payingFetch(`${server.url}/r`)).status).toBe(200);
    expect(server.payments).toMatchObject([{ header: "X-PAYMENT", amount: 1000n }]);
    const selected = events.find((e) => e.type === "offer.selected");
    expect(selected).toMatchObject({ offer: { network: "eip155:84532", x402Version: 1 } });
    expect(selected?.type === "offer.selected" && selected.rejected.map((r) => r.reason)).toEqual([
      "no_usable_token",
    ]);
  });

  it("a 402 without readable offers is a typed error", async () => {
    const server = await api({ header: false, body: { hello: "world" } });
    expect((await failure(paying()(`${server.url}/r`))).code).toBe("WIRE__NO_PAYMENT_REQUIRED");
  });

  it("sends the caller's Idempotency-Key, or a random one, with the proof", async () => {
    const server = await api();
    const payingFetch = paying();
    await payingFetch(`${server.url}/r`, { headers: { "Idempotency-Key": "job-7" } });
    await payingFetch(`${server.url}/r`);
    expect(server.payments[0]?.idempotencyKey).toBe("job-7");
    expect(server.payments[1]?.idempotencyKey).toMatch(/^[0-9a-f]{32}$/);
  });

  it("returns other responses untouched and pays nothing", async () => {
    const plain = await serveLoopback(() => new Response("free", { status: 200, headers: { "x-a": "1" } }));
    const response = await paying()(`${plain.url}/free`);
    await plain.close();
    expect(response.status).toBe(200);
    expect(response.headers.get("x-a")).toBe("1");
    expect(await response.text()).toBe("free");
  });
});

describe("events", () => {
  it("report every step and carry no proof, signature or key", async () => {
    const server = await api();
    const events: PayingFetchEvent[] = [];
    await paying({ onEvent: (e) => events.push(e) })(`${server.url}/r`);
    expect(events.map((e) => e.type)).toEqual([
      "payment.required",
      "offer.selected",
      "payment.signed",
      "payment.settled",
    ]);
    const text = JSON.stringify(events, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    const signature = String(server.payments[0]?.payload.signature);
    expect(signature).toMatch(/^0x[0-9a-f]{130}$/);
    expect(text).not.toContain(signature.slice(2, 40));
    expect(text).not.toContain("11".repeat(32));
  });

  it("a throwing onEvent does not change the payment", async () => {
    const server = await api();
    const response = await paying({
      onEvent: () => {
        throw new Error("observer bug");
      },
    })(`${server.url}/r`);
    expect(response.status).toBe(200);
    expect(server.payments).toHaveLength(1);
  });
});

describe("abort", () => {
  it("an aborted signal during the confirm hook stops before signing", async () => {
    const server = await api();
    const controller = new AbortController();
    const payingFetch = paying({
      policy: {
        confirm: async () => {
          controller.abort(new Error("caller gave up"));
          return true;
        },
      },
    });
    const error = await failure(payingFetch(`${server.url}/r`, { signal: controller.signal }));
    expect(error.code).toBe("CLIENT__ABORTED");
    // The wait for the hook's answer ends with the abort: nothing is signed.
    expect(error.context).toMatchObject({ stage: "confirm" });
    expect(server.payments).toHaveLength(0);
  });

  it("an abort while the proof is in flight keeps it, and the retry re-sends that proof", async () => {
    const controller = new AbortController();
    let hold = true;
    const server = await api({
      onPaid: async () => {
        if (hold) {
          hold = false;
          controller.abort(new Error("timeout"));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return new Response("ok");
      },
    });
    const payingFetch = paying();
    const error = await failure(payingFetch(`${server.url}/r`, { signal: controller.signal }));
    expect(error.code).toBe("CLIENT__ABORTED");
    expect(error.context).toMatchObject({ stage: "paid_request" });
    const retry = await payingFetch(`${server.url}/r`);
    expect(await retry.text()).toBe("ok");
    expect(server.payments).toHaveLength(2);
    expect(server.payments[1]?.nonce).toBe(server.payments[0]?.nonce);
  });
});
