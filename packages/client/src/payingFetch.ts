import {
  defaultNetworkRegistry,
  type ErrorCode,
  type Lane,
  type Logger,
  type NetworkRegistry,
  TollgateError,
} from "@tollgate/shared";
import { createEmit, entrySummary, eventUrls, type PayingFetchEvent } from "./events.js";
import { broadcastDirectPayment } from "./lanes/direct/broadcastDirectPayment.js";
import { prepareTokenPayment } from "./lanes/token/prepareTokenPayment.js";
import { createMemoryTokenStore, type TokenStore } from "./lanes/token/tokenStore.js";
import {
  consumedMemoryMs,
  createMemoryLedger,
  keepsAnswered,
  type LedgerEntry,
  type PaymentLedger,
} from "./ledger/ledger.js";
import { ledgerLock } from "./ledger/ledgerLock.js";
import { newLedgerEntry } from "./ledger/newLedgerEntry.js";
import { createProofBook } from "./ledger/proofLife.js";
import { recordPayment } from "./ledger/recordPayment.js";
import { createRequirementCache } from "./parse/createRequirementCache.js";
import { type PaymentRequiredResponse, type ReadLimits, readOffers } from "./parse/readOffers.js";
import type { PaymentContext } from "./paymentContext.js";
import { createBudgetHolds } from "./policy/budgetHolds.js";
import type { BudgetStore } from "./policy/budgetStore.js";
import { createFeeTracker } from "./policy/directFees.js";
import { defaultMaxPerRequest, type SpendingPolicy } from "./policy/policy.js";
import { reserveOffer } from "./policy/reserveOffer.js";
import { type Receipt, receiptFromHeaders } from "./receipt/getReceipt.js";
import { abortableSleep } from "./request/abortableSleep.js";
import { aborted, throwIfAborted } from "./request/aborted.js";
import type { Refusal } from "./request/afterProof.js";
import {
  type BufferedRequest,
  bufferRequest,
  type FetchInput,
  requestInit,
} from "./request/bufferRequest.js";
import { deliverProof } from "./request/deliverProof.js";
import { paymentUrl } from "./request/paymentUrl.js";
import { requestKey } from "./request/requestKey.js";
import { type Attempt, firstAttempt, nextAttempt } from "./select/nextAttempt.js";
import { noPayableOfferError } from "./select/noPayableOfferError.js";
import { type Quote, quoteOffers } from "./select/quoteOffers.js";
import { type Selection, selectOffers, summarize } from "./select/selectOffers.js";
import type { PayingWallet } from "./wallet.js";

/** Parameters of `createPayingFetch`. */
export type CreatePayingFetchParameters = Readonly<{
  /** The wallets to pay from; the first that can pay an offer pays it. */
  wallets: readonly PayingWallet[];
  /** The owner's limits. @default { maxPerRequest: 100_000n } ($0.10 per request, no budgets) */
  policy?: SpendingPolicy;
  /**
   * Where proofs are recorded before they are sent (never pay twice). Several paying fetches may share one ledger
   * object: they pay one logical request one at a time between them. A file ledger has one writer process.
   * @default createMemoryLedger()
   */
  ledger?: PaymentLedger;
  /**
   * Where the holds against `policy.budgets` are kept. Without one they live in this process; a shared store
   * (`@tollgate/client/postgres`, `@tollgate/client/redis`) lets a fleet of processes share one set of budgets,
   * each reservation one atomic step across all of them.
   * @default undefined (holds in this process)
   */
  budgetStore?: BudgetStore;
  /** The `fetch` that sends every request. @default globalThis.fetch (read at each call, so msw sees it) */
  fetch?: typeof globalThis.fetch;
  /** The clock, milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Receives every event; must not throw (a throwing handler is ignored). @default undefined */
  onEvent?: (event: PayingFetchEvent) => void;
  /**
   * Writes every event as one redacted line (pino's shape: `info/warn/error(obj, msg)`), beside `onEvent`: a refused
   * payment, an exceeded budget and a pending settlement are `warn`, the rest `info`. Never a proof, a signature, a
   * token or a URL's key. @default undefined
   */
  logger?: Logger;
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
   * and pay them with the first request next time (one round trip instead of two). A stale requirement's proof is
   * refused and the live 402 is paid, the refused proof still counting against `maxPerRequest` until it is provably
   * dead (a server may have settled it). Never used for direct transfers.
   * @default false
   */
  requirementCache?: boolean;
  /**
   * Bounds on every body the paying fetch reads itself (402 bodies, before and after a proof, and for `quote`): the
   * most bytes and the most time for the whole read, whether or not the request has a signal. A body past either is
   * cancelled and counts as unreadable; the 402's headers are still read.
   * @default { maxBytes: 262144, timeoutMs: 10000 }
   */
  readLimits?: ReadLimits;
}>;

export type { Quote } from "./select/quoteOffers.js";

/** A `fetch` that pays 402s, plus what it knows about its payments. */
export type PayingFetch = ((input: FetchInput, init?: RequestInit) => Promise<Response>) &
  Readonly<{
    /** Sends the request unpaid and explains what it would pay, without paying. */
    quote(input: FetchInput, init?: RequestInit): Promise<Quote>;
    /** What was paid for a response this fetch returned (or, for any response, its decoded receipt header). */
    getReceipt(response: Response): Receipt | undefined;
  }>;

/** One logical request being paid: the request, its ledger key, and the URL its proof goes to. */
type Paying = Readonly<{ request: BufferedRequest; key: string; url: string }>;

/** A 402 to pay for a logical request, and the lanes earlier attempts ruled out. */
type PayStep = Paying & Readonly<{ reading: PaymentRequiredResponse; attempt: Attempt }>;

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
 * @throws `CLIENT__AMOUNT_EXCEEDS_MAX`, `CLIENT__BUDGET_EXHAUSTED`, `CLIENT__FEE_LIMIT_EXCEEDED`,
 *   `CLIENT__NO_PAYABLE_OFFER`, `CLIENT__CONFIRM_DECLINED`, `CLIENT__PAYMENT_REFUSED`, `CLIENT__SETTLEMENT_PENDING`, `CLIENT__ABORTED`,
 *   `CLIENT__WALLET_FAILED` (also when cancelling a refused authorization on chain failed), `CLIENT__LEDGER_LOCKED`
 *   (a file ledger another writer holds), `CLIENT__LEDGER_BUSY` and `CLIENT__LEDGER_LEASE_LOST` (a ledger shared by
 *   several processes), `SERVER__STORE_FAILED` (a ledger or budget store failed; nothing was paid),
 *   `WIRE__NO_PAYMENT_REQUIRED`, `WIRE__ENCODE_FAILED` (from the returned function);
 *   errors of the underlying `fetch` for requests that never reached a 402.
 */
export function createPayingFetch(parameters: CreatePayingFetchParameters): PayingFetch {
  const {
    wallets,
    policy = {},
    ledger = createMemoryLedger(),
    budgetStore,
    fetch: injectedFetch,
    now = Date.now,
    onEvent,
    logger,
    registry = defaultNetworkRegistry,
    tokens = createMemoryTokenStore(),
    settlementRetries = 2,
    sleep = abortableSleep,
    requirementCache = false,
    readLimits = {},
  } = parameters;
  const budgets = createBudgetHolds({
    budgets: policy.budgets ?? [],
    now,
    ...(budgetStore === undefined ? {} : { store: budgetStore }),
  });
  const context: PaymentContext = {
    wallets,
    policy,
    maxPerRequest: policy.maxPerRequest ?? defaultMaxPerRequest,
    registry,
    ledger,
    tokens,
    budgets,
    proofs: createProofBook({ budgets, wallets, now }),
    fees: createFeeTracker({ limits: policy.direct?.fees ?? [], now }),
    receipts: new WeakMap<Response, Receipt>(),
    now,
    emit: createEmit(onEvent, logger),
    send: (url, init) => (injectedFetch ?? globalThis.fetch)(url, init),
    sleep,
    settlementRetries,
    readLimits,
  };
  const { receipts, emit, send, proofs } = context;
  const requirements = createRequirementCache({ enabled: requirementCache, now });
  // Shared by every paying fetch of this ledger object: one payment at a time per logical request; a ledger shared by
  // several processes adds its lease across them, taken once this process's turn has come.
  const inProcess = ledgerLock(ledger);
  const withLock = <T>(key: string, run: () => Promise<T>): Promise<T> =>
    inProcess(key, () => (ledger.lease === undefined ? run() : ledger.lease(key, run)));

  async function payingFetch(input: FetchInput, init?: RequestInit): Promise<Response> {
    const request = await bufferRequest(input, init);
    const key = await requestKey(request);
    const earlier = await resumableEntry(key);
    if (earlier !== undefined) {
      return withLock(key, async () => {
        const current = await resumableEntry(key);
        if (current !== undefined) return resume({ request, key, entry: current });
        return payAfter402({ request, key, response: await unpaid(request) });
      });
    }
    const cached = requirements.find(request);
    if (cached !== undefined) {
      // One round trip: pay the known requirement with the first request.
      return withLock(key, async () => {
        const current = await resumableEntry(key);
        if (current !== undefined) return resume({ request, key, entry: current });
        const attempt = { ...firstAttempt, cached: true };
        return payFresh({ request, key, url: request.url, reading: cached, attempt });
      });
    }
    const response = await unpaid(request);
    if (response.status !== 402) return response;
    return withLock(key, async () => {
      const current = await resumableEntry(key);
      if (current !== undefined) {
        await response.body?.cancel().catch(() => undefined);
        return resume({ request, key, entry: current });
      }
      return payAfter402({ request, key, response });
    });
  }

  /**
   * Broadcasts a direct transfer (again), then sends the recorded proof. The proof book follows its life from here:
   * its hold stays until the proof is provably dead or for good once it moved money.
   */
  async function presentProof(
    step: Readonly<{
      request: BufferedRequest;
      entry: LedgerEntry;
      wallet: PayingWallet | undefined;
      reused: boolean;
    }>,
  ): Promise<Awaited<ReturnType<typeof deliverProof>>> {
    const { request, entry, wallet, reused } = step;
    if (entry.lane === "direct") await broadcastDirectPayment({ context, request, wallet, entry });
    return deliverProof({ context, request, entry, reused });
  }

  /**
   * Whether a call must re-send a recorded proof rather than pay: its outcome is unknown (pending), or the caller
   * repeats an explicit `Idempotency-Key` whose proof the server took (it replays its answer, or says the proof
   * was used): one key, one payment.
   */
  function resumable(entry: LedgerEntry): boolean {
    if (entry.state === "pending") return true;
    if (entry.state === "refused" || !keepsAnswered(entry)) return false;
    // A consumed proof of a request without an explicit key blocks paying that same request again for an hour: it
    // may have settled, and only a deliberate new Idempotency-Key pays anew.
    return entry.key.startsWith("idem:") || now() - entry.updatedAt < consumedMemoryMs;
  }

  /**
   * The recorded proof a call of `key` must re-send, if any: the oldest of the request's own entry (when resumable)
   * and the proofs kept beside it (pending proofs of concurrent copies whose answers broke), so each is re-sent in
   * turn and none is paid for twice.
   */
  async function resumableEntry(key: string): Promise<LedgerEntry | undefined> {
    const own = await ledger.get(key);
    const candidates = (await ledger.pending()).filter((e) => e.key === key && e.slot !== undefined);
    if (own !== undefined && resumable(own)) candidates.push(own);
    let oldest: LedgerEntry | undefined;
    for (const entry of candidates)
      if (oldest === undefined || entry.createdAt < oldest.createdAt) oldest = entry;
    return oldest;
  }

  async function unpaid(request: BufferedRequest): Promise<Response> {
    return send(request.url, requestInit(request));
  }

  /** Reads a 402, remembers its requirements, and pays it; any other response is the answer. */
  async function payAfter402(
    step: Readonly<{ request: BufferedRequest; key: string; response: Response }>,
  ): Promise<Response> {
    const { request, key, response } = step;
    if (response.status !== 402) return response;
    const url = paymentUrl(request, response);
    let reading: PaymentRequiredResponse;
    try {
      reading = await readOffers(response, readLimits);
    } catch (cause) {
      throw aborted(request, "read_402") ?? cause;
    }
    if (url !== request.url && request.method !== "GET" && request.method !== "HEAD") {
      // A redirect may have kept the method and body (307, 308) or made a GET of it (301 to 303): the paid request
      // could not be the one that met the 402, so nothing is paid.
      throw noPayableOfferError({
        url: request.url,
        rejections: reading.offers.map((o) => ({
          offer: summarize(o),
          reason: "redirected_request_not_replayable",
        })),
        maxPerRequest: context.maxPerRequest,
      });
    }
    // A 402 reached through a redirect belongs to the target: paying it at the request's URL would be wrong.
    if (url === request.url) requirements.remember(request, reading);
    return payFresh({ request, key, url, reading, attempt: firstAttempt });
  }

  /** Chooses, reserves, confirms, signs, records and sends one new payment for a 402. */
  async function payFresh(step: PayStep): Promise<Response> {
    const { request, key, url, reading, attempt } = step;
    throwIfAborted(request, "select");
    emit({
      type: "payment.required",
      ...eventUrls(url, request.url),
      offers: reading.offers.map(summarize),
      problems: reading.problems,
    });
    if (reading.offers.length === 0) {
      throw new TollgateError("WIRE__NO_PAYMENT_REQUIRED", {
        context: { status: reading.status, problems: reading.problems.slice(0, 20) },
      });
    }
    const viaToken = await payWithToken(step);
    if (viaToken !== undefined) return viaToken;

    const origin = new URL(url).origin;
    const selection = await selectWithinLimit({ request, key, reading, attempt, origin });
    // Events, the confirm hook and the budgets all name where the money goes: the 402's URL, after any redirect.
    const { candidate, hold, rejected } = await reserveOffer({ context, url, origin, selection });
    emit({
      type: "offer.selected",
      ...eventUrls(url, request.url),
      offer: summarize(candidate.offer),
      rejected,
    });
    const entry = await recordPayment({ context, request, key, url, candidate, hold, origin });
    // From here the proof may leave: its hold stays until it is provably dead, or for good once it moved money.
    proofs.track({ entry, hold, wallet: candidate.wallet });
    const outcome = await presentProof({ request, entry, wallet: candidate.wallet, reused: false });
    if (outcome.kind === "answered") return outcome.response;
    return afterRefusal({ request, key, url, attempt, lane: entry.lane, refusal: outcome });
  }

  /**
   * Selects the offers of a 402 that fit `maxPerRequest` together with the earlier proofs of the same logical request
   * that can still move money (a refused authorization stays valid in the server's hands until it dies). The chain is
   * asked first whether those have died; when nothing fits and their wallet can, they are cancelled on chain, and
   * the offers selected again.
   * @throws `CLIENT__WALLET_FAILED` (a cancellation failed: the earlier proof stays live), `CLIENT__ABORTED`
   */
  async function selectWithinLimit(
    step: Readonly<{
      request: BufferedRequest;
      key: string;
      reading: PaymentRequiredResponse;
      attempt: Attempt;
      origin: string;
    }>,
  ): Promise<Selection> {
    const { request, key, reading, attempt, origin } = step;
    await proofs.settleDoubts(request.signal);
    const select = async () =>
      selectOffers({
        ...context,
        budgets: await context.budgets.room(origin),
        offers: reading.offers,
        exclude: attempt.exclude,
        origin,
        live: proofs.committed(key),
      });
    const selection = await select();
    const blocked = selection.rejected.some((r) => r.reason === "earlier_proof_live");
    if (selection.candidates.length > 0 || !blocked || !proofs.canCancel(key)) return selection;
    throwIfAborted(request, "cancel_authorization");
    try {
      await proofs.cancelDoubts(key, request.signal);
    } catch (cause) {
      // An abort while the cancellation waits its turn or its receipt: the earlier proof stays live.
      throw aborted(request, "cancel_authorization") ?? cause;
    }
    return select();
  }

  /** Spends the prepaid token held for this origin, when the 402 offers the token lane. */
  async function payWithToken(step: PayStep): Promise<Response | undefined> {
    const { request, key, url, reading, attempt } = step;
    if (attempt.exclude.has("token")) return undefined;
    const payment = await prepareTokenPayment({ context, request, url, offers: reading.offers });
    if (payment === undefined) return undefined;
    const entry = newLedgerEntry({ request, key, url, now, payment });
    await ledger.put(entry);
    const outcome = await deliverProof({ context, request, entry, reused: false });
    if (outcome.kind === "answered") return outcome.response;
    // The token was refused (unknown, expired, short): it is forgotten, and the next lane pays.
    return afterRefusal({ request, key, url, attempt, lane: "token", refusal: outcome });
  }

  /** Re-sends the proof of an earlier attempt whose outcome is unknown; pays anew only if the server refuses it. */
  async function resume(
    step: Readonly<{ request: BufferedRequest; key: string; entry: LedgerEntry }>,
  ): Promise<Response> {
    const { request, key, entry } = step;
    emit({
      type: "payment.reused",
      ...eventUrls(entry.url, request.url),
      offer: entrySummary(entry),
      claim: entry.claim,
    });
    // A proof of an earlier call of this process keeps its state and hold; one recorded before a restart (or by another
    // process) brings the id of its hold in a shared budget store, released once the proof is provably dead.
    proofs.track({ entry, hold: context.budgets.holdOf(entry), wallet: undefined });
    const outcome = await presentProof({ request, entry, wallet: undefined, reused: true });
    if (outcome.kind === "answered") return outcome.response;
    // Another proof of this request still pending (kept beside this one): re-send it, never sign over it.
    const next = await resumableEntry(key);
    if (next !== undefined && next.claim !== entry.claim) return resume({ request, key, entry: next });
    // The old proof is dead (refused): one new payment, from the offers of the refusal.
    const url = entry.url;
    return afterRefusal({ request, key, url, attempt: undefined, lane: entry.lane, refusal: outcome });
  }

  /** Pays a refusal's 402 anew when `nextAttempt` leaves a lane to try; else the refusal is the caller's answer. */
  async function afterRefusal(
    step: Paying & Readonly<{ attempt: Attempt | undefined; lane: Lane; refusal: Refusal }>,
  ): Promise<Response> {
    const { request, key, url, attempt, lane, refusal } = step;
    // A cached requirement the server no longer takes: pay the live 402, the refused proof still counting against
    // maxPerRequest until the chain says it is dead (selectWithinLimit).
    if (attempt?.cached === true) requirements.forget(request);
    const next = nextAttempt({ attempt, lane, reason: refusal.reason });
    if (next === undefined) {
      throw new TollgateError("CLIENT__PAYMENT_REFUSED", {
        context: {
          url: request.url,
          reason: refusal.reason,
          status: refusal.reading.status,
          ...(refusal.serverMessage === undefined ? {} : { serverMessage: refusal.serverMessage }),
        },
      });
    }
    return payFresh({ request, key, url, reading: refusal.reading, attempt: next });
  }

  async function quote(input: FetchInput, init?: RequestInit): Promise<Quote> {
    const request = await bufferRequest(input, init);
    return quoteOffers({ context, request, response: await unpaid(request) });
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
