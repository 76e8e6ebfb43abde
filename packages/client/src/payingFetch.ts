import {
  defaultNetworkRegistry,
  type ErrorCode,
  type FacilitatorOffer,
  type Lane,
  type NetworkRegistry,
  type Offer,
  type TokenOffer,
  TollgateError,
} from "@tollgate/shared";
import { createEmit, entrySummary, type OfferRejection, type PayingFetchEvent } from "./events.js";
import { broadcastDirectPayment } from "./lanes/direct/broadcastDirectPayment.js";
import { cheapestPrice } from "./lanes/token/cheapestPrice.js";
import { prepareTokenPayment } from "./lanes/token/prepareTokenPayment.js";
import { createMemoryTokenStore, type TokenStore } from "./lanes/token/tokenStore.js";
import { createMemoryLedger, type LedgerEntry, type PaymentLedger } from "./ledger/ledger.js";
import { newLedgerEntry } from "./ledger/newLedgerEntry.js";
import { recordPayment } from "./ledger/recordPayment.js";
import { type PaymentRequiredResponse, readOffers } from "./parse/readOffers.js";
import type { PaymentContext } from "./paymentContext.js";
import { createBudgetTracker, type Hold } from "./policy/budgets.js";
import { defaultMaxPerRequest, type SpendingPolicy } from "./policy/policy.js";
import { type Receipt, receiptFromHeaders } from "./receipt/getReceipt.js";
import { abortableSleep } from "./request/abortableSleep.js";
import { aborted, throwIfAborted } from "./request/aborted.js";
import {
  type BufferedRequest,
  bufferRequest,
  type FetchInput,
  requestInit,
} from "./request/bufferRequest.js";
import { createKeyLock } from "./request/createKeyLock.js";
import { deliverProof } from "./request/deliverProof.js";
import { requestKey } from "./request/requestKey.js";
import { type Candidate, describeOffer, selectOffers, summarize } from "./select/selectOffers.js";
import type { PayingWallet } from "./wallet.js";

/** Parameters of `createPayingFetch`. */
export type CreatePayingFetchParameters = Readonly<{
  /** The wallets to pay from; the first that can pay an offer pays it. */
  wallets: readonly PayingWallet[];
  /** The owner's limits. @default { maxPerRequest: 100_000n } ($0.10 per request, no budgets) */
  policy?: SpendingPolicy;
  /** Where proofs are recorded before they are sent (never pay twice). @default createMemoryLedger() */
  ledger?: PaymentLedger;
  /** The `fetch` that sends every request. @default globalThis.fetch (read at each call, so msw sees it) */
  fetch?: typeof globalThis.fetch;
  /** The clock, milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Receives every event; must not throw (a throwing handler is ignored). @default undefined */
  onEvent?: (event: PayingFetchEvent) => void;
  /** Network registry for names, USDC addresses and EIP-712 domains. @default defaultNetworkRegistry */
  registry?: NetworkRegistry;
  /** Where prepaid tokens that servers issue are kept, per origin, and spent first. @default createMemoryTokenStore() */
  tokens?: TokenStore;
  /**
   * How many times a proof answered `settlement_pending` is re-sent (the same proof, after `Retry-After`, capped at
   * 30 s) before the call throws `CLIENT__SETTLEMENT_PENDING`.
   * @default 2
   */
  settlementRetries?: number;
  /** Waits between re-sends; rejects when the signal aborts. @default an abortable `setTimeout` */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /**
   * Remember each 402's facilitator-lane requirements per method, origin and path for their `maxTimeoutSeconds`,
   * and pay them with the first request next time (one round trip instead of two). A stale requirement costs
   * nothing: its proof is refused, and the live 402 is paid once. Never used for direct transfers.
   * @default false
   */
  requirementCache?: boolean;
}>;

/** What `quote` found: every offer, the one the client would pay, and why each other one was not taken. */
export type Quote = Readonly<{
  /** The status of the unpaid response; offers are read only from a 402. */
  status: number;
  offers: readonly Offer[];
  /**
   * The offer the client would pay now, what would leave the wallet, and the paying wallet's address
   * (`"prepaid-token"` for a stored token); `undefined` when none is payable.
   */
  chosen?: Readonly<{ offer: Offer; amount: bigint; wallet: string }>;
  /** Payable offers after the chosen one, in order. */
  alternatives: readonly Offer[];
  rejected: readonly OfferRejection[];
  /** Parts of the 402 that could not be read. */
  problems: readonly string[];
}>;

/** A `fetch` that pays 402s, plus what it knows about its payments. */
export type PayingFetch = ((input: FetchInput, init?: RequestInit) => Promise<Response>) &
  Readonly<{
    /** Sends the request unpaid and explains what it would pay, without paying. */
    quote(input: FetchInput, init?: RequestInit): Promise<Quote>;
    /** What was paid for a response this fetch returned (or, for any response, its decoded receipt header). */
    getReceipt(response: Response): Receipt | undefined;
  }>;

const facilitatorUnavailableReason = "facilitator_unavailable";
/** Most routes the requirement cache remembers; the oldest is forgotten first. */
const maxCachedRequirements = 1024;

function noPayableOfferError(
  url: string,
  rejections: readonly OfferRejection[],
  maxPerRequest: bigint,
): TollgateError {
  const limited = rejections.filter((r) => !isWalletReason(r.reason));
  if (limited.length > 0 && limited.every((r) => r.reason === "amount_exceeds_max")) {
    const cheapest = limited.reduce((a, b) => ((a.offer.amount ?? 0n) <= (b.offer.amount ?? 0n) ? a : b));
    return new TollgateError("CLIENT__AMOUNT_EXCEEDS_MAX", {
      context: {
        amount: String(cheapest.offer.amount ?? 0n),
        max: maxPerRequest.toString(),
        network: cheapest.offer.network ?? "",
      },
    });
  }
  return new TollgateError("CLIENT__NO_PAYABLE_OFFER", {
    context: {
      url,
      rejections: rejections.map((r) => ({ offer: describeOffer(r.offer), reason: r.reason })),
    },
  });
}

/** Reasons that say no wallet could pay the offer at all (as opposed to a policy limit). */
function isWalletReason(reason: string): boolean {
  return !(
    reason === "amount_exceeds_max" ||
    reason.startsWith("budget_exhausted") ||
    reason.endsWith("_denied") ||
    reason.endsWith("_not_allowed") ||
    reason === "asset_not_usdc"
  );
}

/**
 * Creates a `fetch` that pays x402 402 responses within a spending policy and never pays twice for one logical
 * request. It reads every form of 402 (the v2 `PAYMENT-REQUIRED` header, the v1 body and the hybrid
 * `payment_options`), chooses an offer by lane, priority and policy, reserves its amount against the budgets, signs,
 * records the proof in the ledger, and retries once with the proof and an `Idempotency-Key`.
 *
 * @example
 * ```ts
 * import { createPayingFetch } from "@tollgate/client";
 * import { createEvmWallet } from "@tollgate/client/evm";
 * import { privateKeyToAccount } from "viem/accounts";
 *
 * const payingFetch = createPayingFetch({
 *   wallets: [createEvmWallet({ account: privateKeyToAccount(key) })],
 *   policy: { maxPerRequest: 10_000n, budgets: [{ limit: 1_000_000n, window: "day" }] },
 * });
 * const response = await payingFetch("https://api.example.com/v1/search", { method: "POST", body: "{}" });
 * console.log(payingFetch.getReceipt(response)?.transaction);
 * ```
 * @throws `CLIENT__AMOUNT_EXCEEDS_MAX`, `CLIENT__BUDGET_EXHAUSTED`, `CLIENT__NO_PAYABLE_OFFER`,
 *   `CLIENT__CONFIRM_DECLINED`, `CLIENT__PAYMENT_REFUSED`, `CLIENT__SETTLEMENT_PENDING`, `CLIENT__ABORTED`,
 *   `CLIENT__WALLET_FAILED`, `WIRE__NO_PAYMENT_REQUIRED`, `WIRE__ENCODE_FAILED` (from the returned function);
 *   errors of the underlying `fetch` for requests that never reached a 402.
 */
export function createPayingFetch(parameters: CreatePayingFetchParameters): PayingFetch {
  const {
    wallets,
    policy = {},
    ledger = createMemoryLedger(),
    fetch: injectedFetch,
    now = Date.now,
    onEvent,
    registry = defaultNetworkRegistry,
    tokens = createMemoryTokenStore(),
    settlementRetries = 2,
    sleep = abortableSleep,
    requirementCache: cacheRequirements = false,
  } = parameters;
  const requirementCache = new Map<string, { reading: PaymentRequiredResponse; expiresAt: number }>();
  const context: PaymentContext = {
    wallets,
    policy,
    maxPerRequest: policy.maxPerRequest ?? defaultMaxPerRequest,
    registry,
    ledger,
    tokens,
    budgets: createBudgetTracker({ budgets: policy.budgets ?? [], now }),
    receipts: new WeakMap<Response, Receipt>(),
    now,
    emit: createEmit(onEvent),
    send: (url, init) => (injectedFetch ?? globalThis.fetch)(url, init),
    sleep,
    settlementRetries,
  };
  const { maxPerRequest, budgets, receipts, emit, send } = context;
  const withLock = createKeyLock();

  /** Lanes a fallback no longer tries, and how many fallbacks are left. */
  type Attempt = Readonly<{
    exclude: ReadonlySet<Lane>;
    fallbacks: number;
    /** The offers came from the requirement cache: a refusal means they were stale, so the 402 is paid once. */
    cached?: boolean;
  }>;

  /** Spends the prepaid token held for this origin, when the 402 offers the token lane. */
  async function payWithToken(
    request: BufferedRequest,
    key: string,
    url: string,
    reading: PaymentRequiredResponse,
    attempt: Attempt,
  ): Promise<Response | undefined> {
    if (attempt.exclude.has("token")) return undefined;
    const payment = await prepareTokenPayment({ context, request, url, offers: reading.offers });
    if (payment === undefined) return undefined;
    const entry = newLedgerEntry({ request, key, url, now, payment });
    await ledger.put(entry);
    const outcome = await deliverProof({ context, request, entry, hold: undefined, reused: false });
    if (outcome.kind === "answered") return outcome.response;
    // The token was refused (unknown, expired, short): it is forgotten, and the next lane pays.
    return payFresh(request, key, url, outcome.reading, {
      exclude: new Set([...attempt.exclude, "token"]),
      fallbacks: attempt.fallbacks,
    });
  }

  /** Chooses, reserves, confirms, signs, records and sends one new payment for a 402. */
  async function payFresh(
    request: BufferedRequest,
    key: string,
    url: string,
    reading: PaymentRequiredResponse,
    attempt: Attempt = { exclude: new Set(), fallbacks: 1 },
  ): Promise<Response> {
    throwIfAborted(request, "select");
    emit({
      type: "payment.required",
      url: request.url,
      offers: reading.offers.map(summarize),
      problems: reading.problems,
    });
    if (reading.offers.length === 0) {
      throw new TollgateError("WIRE__NO_PAYMENT_REQUIRED", {
        context: { status: reading.status, problems: reading.problems.slice(0, 20) },
      });
    }
    const viaToken = await payWithToken(request, key, url, reading, attempt);
    if (viaToken !== undefined) return viaToken;

    const origin = new URL(url).origin;
    const selection = selectOffers({
      offers: reading.offers.filter((o) => !attempt.exclude.has(o.lane)),
      wallets,
      policy,
      maxPerRequest,
      budgets,
      origin,
      registry,
    });
    const rejected = [
      ...reading.offers
        .filter((o) => attempt.exclude.has(o.lane))
        .map((o) => ({ offer: summarize(o), reason: `${o.lane}_lane_failed` })),
      ...selection.rejected,
    ];
    let chosen: { candidate: Candidate; hold: Hold } | undefined;
    let budgetViolation: { budget: string; remaining: bigint; amount: bigint } | undefined;
    for (const candidate of selection.candidates) {
      const reservation = budgets.reserve(candidate.amount, origin);
      if ("hold" in reservation) {
        chosen = { candidate, hold: reservation.hold };
        break;
      }
      budgetViolation ??= { ...reservation.violation, amount: candidate.amount };
      rejected.push({
        offer: summarize(candidate.offer),
        reason: `budget_exhausted:${reservation.violation.budget}`,
      });
    }
    if (chosen === undefined) {
      const budgetRejection = rejected.find((r) => r.reason.startsWith("budget_exhausted:"));
      const onlyBudget = rejected
        .filter((r) => !isWalletReason(r.reason))
        .every((r) => r === budgetRejection || r.reason.startsWith("budget_exhausted:"));
      if (budgetRejection !== undefined && onlyBudget) {
        const amount = budgetViolation?.amount ?? budgetRejection.offer.amount ?? 0n;
        const budget = budgetViolation?.budget ?? budgetRejection.reason.slice("budget_exhausted:".length);
        const remaining = budgetViolation?.remaining ?? budgets.check(amount, origin)?.remaining ?? 0n;
        emit({ type: "budget.exceeded", url: request.url, budget, amount, remaining });
        throw new TollgateError("CLIENT__BUDGET_EXHAUSTED", {
          context: { budget, amount: amount.toString(), remaining: remaining.toString() },
        });
      }
      throw noPayableOfferError(request.url, rejected, maxPerRequest);
    }
    const { candidate, hold } = chosen;
    emit({ type: "offer.selected", url: request.url, offer: summarize(candidate.offer), rejected });
    const entry = await recordPayment({ context, request, key, url, candidate, hold, origin });
    if (entry.lane === "direct") {
      await broadcastDirectPayment({ context, request, wallet: candidate.wallet, entry, hold });
    }
    const outcome = await deliverProof({ context, request, entry, hold, reused: false });
    if (outcome.kind === "answered") return outcome.response;
    return afterRefusal(request, key, url, entry, outcome, attempt);
  }

  /**
   * After a refused proof: `facilitator_unavailable` (the server promises the proof was never settled) falls back
   * to the next lane by priority, once; any other refusal is the caller's answer.
   */
  async function afterRefusal(
    request: BufferedRequest,
    key: string,
    url: string,
    entry: LedgerEntry,
    outcome: Readonly<{ reading: PaymentRequiredResponse; reason: string }>,
    attempt: Attempt,
  ): Promise<Response> {
    if (attempt.cached === true) {
      // A cached requirement the server no longer takes: the proof was refused (dead), so pay the live 402 once.
      requirementCache.delete(cacheKeyOf(request));
      const exclude =
        outcome.reason === facilitatorUnavailableReason
          ? new Set([...attempt.exclude, entry.lane])
          : attempt.exclude;
      return payFresh(request, key, url, outcome.reading, { exclude, fallbacks: attempt.fallbacks });
    }
    if (outcome.reason === facilitatorUnavailableReason && attempt.fallbacks > 0) {
      return payFresh(request, key, url, outcome.reading, {
        exclude: new Set([...attempt.exclude, entry.lane]),
        fallbacks: attempt.fallbacks - 1,
      });
    }
    throw new TollgateError("CLIENT__PAYMENT_REFUSED", {
      context: { url: request.url, reason: outcome.reason, status: outcome.reading.status },
    });
  }

  /** Re-sends the proof of an earlier attempt whose outcome is unknown; pays anew only if the server refuses it. */
  async function resume(request: BufferedRequest, key: string, entry: LedgerEntry): Promise<Response> {
    emit({ type: "payment.reused", url: request.url, offer: entrySummary(entry), claim: entry.claim });
    if (entry.lane === "direct") {
      await broadcastDirectPayment({ context, request, wallet: undefined, entry, hold: undefined });
    }
    const outcome = await deliverProof({ context, request, entry, hold: undefined, reused: true });
    if (outcome.kind === "answered") return outcome.response;
    // The old proof is dead (refused): one new payment, from the offers of the refusal.
    const exclude = new Set<Lane>(
      outcome.reason === facilitatorUnavailableReason || entry.lane === "token" ? [entry.lane] : [],
    );
    return payFresh(request, key, entry.url, outcome.reading, { exclude, fallbacks: 0 });
  }

  async function unpaid(request: BufferedRequest): Promise<Response> {
    return send(request.url, requestInit(request));
  }

  function cacheKeyOf(request: BufferedRequest): string {
    const url = new URL(request.url);
    return `${request.method} ${url.origin}${url.pathname}`;
  }

  /** Remembers a 402's facilitator-lane offers for their shortest `maxTimeoutSeconds` (never other lanes). */
  function remember(request: BufferedRequest, reading: PaymentRequiredResponse): void {
    if (!cacheRequirements) return;
    const offers = reading.offers.filter((o): o is FacilitatorOffer => o.lane === "facilitator");
    if (offers.length === 0) return;
    const ttlSeconds = Math.min(...offers.map((o) => o.maxTimeoutSeconds));
    if (!(ttlSeconds >= 1)) return;
    if (requirementCache.size >= maxCachedRequirements) {
      const oldest = requirementCache.keys().next();
      if (!oldest.done) requirementCache.delete(oldest.value);
    }
    requirementCache.set(cacheKeyOf(request), {
      reading: { ...reading, offers, problems: [] },
      expiresAt: now() + ttlSeconds * 1000,
    });
  }

  function cachedReading(request: BufferedRequest): PaymentRequiredResponse | undefined {
    if (!cacheRequirements) return undefined;
    const key = cacheKeyOf(request);
    const hit = requirementCache.get(key);
    if (hit === undefined) return undefined;
    if (hit.expiresAt <= now()) {
      requirementCache.delete(key);
      return undefined;
    }
    return hit.reading;
  }

  async function payingFetch(input: FetchInput, init?: RequestInit): Promise<Response> {
    const request = await bufferRequest(input, init);
    const key = await requestKey(request);
    const earlier = await ledger.get(key);
    if (earlier?.state === "pending") {
      return withLock(key, async () => {
        const current = await ledger.get(key);
        if (current?.state === "pending") return resume(request, key, current);
        return payAfter402(request, key, await unpaid(request));
      });
    }
    const cached = cachedReading(request);
    if (cached !== undefined) {
      // One round trip: pay the known requirement with the first request.
      return withLock(key, async () => {
        const current = await ledger.get(key);
        if (current?.state === "pending") return resume(request, key, current);
        return payFresh(request, key, request.url, cached, {
          exclude: new Set(),
          fallbacks: 1,
          cached: true,
        });
      });
    }
    const response = await unpaid(request);
    if (response.status !== 402) return response;
    return withLock(key, async () => {
      const current = await ledger.get(key);
      if (current?.state === "pending") {
        await response.body?.cancel().catch(() => undefined);
        return resume(request, key, current);
      }
      return payAfter402(request, key, response);
    });
  }

  async function payAfter402(request: BufferedRequest, key: string, response: Response): Promise<Response> {
    if (response.status !== 402) return response;
    const url = response.redirected && response.url !== "" ? response.url : request.url;
    let reading: PaymentRequiredResponse;
    try {
      reading = await readOffers(response);
    } catch (cause) {
      throw aborted(request, "read_402") ?? cause;
    }
    remember(request, reading);
    return payFresh(request, key, url, reading);
  }

  async function quote(input: FetchInput, init?: RequestInit): Promise<Quote> {
    const request = await bufferRequest(input, init);
    const response = await unpaid(request);
    if (response.status !== 402) {
      await response.body?.cancel().catch(() => undefined);
      return { status: response.status, offers: [], alternatives: [], rejected: [], problems: [] };
    }
    const url = response.redirected && response.url !== "" ? response.url : request.url;
    const reading = await readOffers(response);
    const selection = selectOffers({
      offers: reading.offers,
      wallets,
      policy,
      maxPerRequest,
      budgets,
      origin: new URL(url).origin,
      registry,
    });
    const [first, ...rest] = selection.candidates;
    const origin = new URL(url).origin;
    const tokenOffer = reading.offers.find((o): o is TokenOffer => o.lane === "token");
    const held = tokenOffer === undefined ? undefined : await tokens.get(origin);
    const price = cheapestPrice(reading.offers) ?? 0n;
    if (
      tokenOffer !== undefined &&
      held !== undefined &&
      held.expiresAt > Math.floor(now() / 1000) &&
      held.balance >= price
    ) {
      // The token is spent first: nothing leaves the wallet.
      return {
        status: response.status,
        offers: reading.offers,
        chosen: { offer: tokenOffer, amount: 0n, wallet: "prepaid-token" },
        alternatives: selection.candidates.map((c) => c.offer),
        rejected: selection.rejected.filter((r) => r.offer.lane !== "token"),
        problems: reading.problems,
      };
    }
    return {
      status: response.status,
      offers: reading.offers,
      ...(first === undefined
        ? {}
        : { chosen: { offer: first.offer, amount: first.amount, wallet: first.wallet.address } }),
      alternatives: rest.map((c) => c.offer),
      rejected: selection.rejected,
      problems: reading.problems,
    };
  }

  function getReceipt(response: Response): Receipt | undefined {
    return receipts.get(response) ?? receiptFromHeaders({ headers: response.headers });
  }

  return Object.assign(payingFetch, { quote, getReceipt }) as PayingFetch;
}

/** Codes the paying fetch throws, for `isTollgateError` checks. */
export type PayingFetchErrorCode = Extract<
  ErrorCode,
  `CLIENT__${string}` | "WIRE__NO_PAYMENT_REQUIRED" | "WIRE__ENCODE_FAILED"
>;
