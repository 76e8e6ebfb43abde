import {
  decodeHeaderJson,
  encodeHeaderJson,
  type PaymentRequirementsV2,
  paymentPayloadV1Schema,
  paymentPayloadV2Schema,
  type SettleResponse,
  x402HeaderNames,
} from "@tollgate/shared";
import { discardBody, type FacilitatorRequirement, withHeaders } from "../../respond/paymentRequired.js";
import {
  type ClaimRefusal,
  moveClaim,
  nextStepForExistingClaim,
  releaseClaim,
  takeClaim,
} from "../../store/claimLife.js";
import type { Failover, FailoverResult, PaymentKind } from "../fallback/failover.js";
import type { ExpectedAnswer } from "../fallback/plausibleAnswer.js";
import type { LaneContext, LaneOutcome } from "../laneContext.js";
import { reportedChainCall } from "../reportedChainCall.js";
import { transferClaimKey } from "../transferClaimKey.js";
import { checkPayerSignature, checkPaymentLocally, type PaymentSignatureCheck } from "./localChecks.js";
import { isSettleOutcomeUnknown } from "./settleRefusal.js";

/**
 * Asks the chain whether a facilitator-lane payment has settled, after a `/settle` whose answer was lost
 * (EVM: the authorization's `AuthorizationUsed` log and a `Transfer` to the payee in its transaction). `true` only
 * when it certainly has.
 */
export type SettlementCheck = (
  parameters: Readonly<{ requirement: PaymentRequirementsV2; payload: Readonly<Record<string, unknown>> }>,
) => Promise<boolean>;

/** The facilitator lane's settings, resolved by `createPaywall`. */
export type FacilitatorLaneSettings = Readonly<{
  failover: Failover;
  /** By CAIP-2 network. */
  settlementChecks: Readonly<Record<string, SettlementCheck>>;
  /** By CAIP-2 network: EVM signature checks run before a proof is claimed (Solana's run in process). */
  signatureChecks: Readonly<Record<string, PaymentSignatureCheck>>;
  unavailableRetryAfterSeconds: number;
  pendingRetryAfterSeconds: number;
  validBeforeMarginSeconds: number;
  settlementCheckTimeoutMs: number;
  /**
   * How long a settled transaction stays claimed under the direct lane's key (`transferClaimKey`), in seconds: at
   * least as long as the direct lane would take a transfer that old.
   */
  transactionClaimSeconds: number;
  /** A `pending` claim unmoved this long (seconds) was abandoned: a retry of the same proof may take it over. */
  staleClaimSeconds: number;
}>;

type Settled = Readonly<{ kind: "settled"; receipt: SettleResponse; facilitator?: string }>;
type SettleState =
  | Settled
  | Readonly<{ kind: "pending" }>
  | Readonly<{ kind: "refused"; receipt: SettleResponse }>
  | Readonly<{ kind: "unavailable" }>;

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `accepted` matches ours: equal core fields, and its `extra` holds ours (as `@x402/core` 2.27 matches). */
function matches(ours: PaymentRequirementsV2, accepted: PaymentRequirementsV2): boolean {
  if (
    ours.scheme !== accepted.scheme ||
    ours.network !== accepted.network ||
    ours.amount !== accepted.amount ||
    ours.asset !== accepted.asset ||
    ours.payTo !== accepted.payTo ||
    ours.maxTimeoutSeconds !== accepted.maxTimeoutSeconds
  ) {
    return false;
  }
  const theirs = accepted.extra ?? {};
  return Object.entries(ours.extra ?? {}).every(([key, value]) => sameJson(theirs[key], value));
}

/** The receipt header of a settle answer, in the client's generation, from known fields only. */
function receiptHeaders(x402Version: 1 | 2, receipt: SettleResponse): Record<string, string> {
  const header = x402Version === 2 ? x402HeaderNames.paymentResponse : x402HeaderNames.xPaymentResponse;
  const value = {
    success: receipt.success,
    ...(receipt.errorReason ? { errorReason: receipt.errorReason } : {}),
    ...(receipt.payer ? { payer: receipt.payer } : {}),
    transaction: receipt.transaction,
    network: receipt.network,
  };
  return { [header]: encodeHeaderJson({ header, value }) };
}

/**
 * The facilitator lane for one request (DESIGN §4): decode `PAYMENT-SIGNATURE` / `X-PAYMENT`, match `accepted`
 * against a live requirement, run the local checks, claim the proof, then `/verify` (settlement `after`) or
 * `/settle` (settlement `before`) through the facilitators in order, failing over only when one is unavailable.
 */
export async function facilitatorLane(
  ctx: LaneContext,
  proof: Readonly<{ x402Version: 1 | 2; value: string }>,
  settings: FacilitatorLaneSettings,
): Promise<LaneOutcome> {
  const { offer, store, requestId } = ctx;
  const { x402Version } = proof;
  const respond = (response: Response): LaneOutcome => ({ kind: "respond", response });
  const refuse = (
    reason: string,
    extra: { retryAfterSeconds?: number; headers?: Record<string, string> } = {},
  ) => ctx.refuse({ reason, lane: "facilitator", ...extra });

  // 1. Decode and match a live requirement of this route.
  const header = x402Version === 2 ? x402HeaderNames.paymentSignature : x402HeaderNames.xPayment;
  let raw: unknown;
  try {
    raw = decodeHeaderJson({ header, value: proof.value });
  } catch {
    return respond(refuse("malformed_payment"));
  }
  let requirement: FacilitatorRequirement | undefined;
  let paymentPayload: Readonly<Record<string, unknown>>;
  if (x402Version === 2) {
    const parsed = paymentPayloadV2Schema.safeParse(raw);
    if (!parsed.success) return respond(refuse("malformed_payment"));
    requirement = offer.facilitator.find((r) => matches(r.v2, parsed.data.accepted));
    paymentPayload = parsed.data.payload;
  } else {
    const parsed = paymentPayloadV1Schema.safeParse(raw);
    if (!parsed.success) return respond(refuse("malformed_payment"));
    requirement = offer.facilitator.find(
      (r) => r.v1 !== undefined && r.v1.network === parsed.data.network && r.v1.scheme === parsed.data.scheme,
    );
    paymentPayload = parsed.data.payload;
  }
  if (requirement === undefined) return respond(refuse("no_matching_requirements"));
  const matched = requirement;

  // 2. Local checks and the claim key, before any network call.
  const nowSeconds = Math.floor(ctx.now() / 1000);
  const local = checkPaymentLocally({
    x402Version,
    family: matched.network.family,
    requirement: matched.v2,
    payload: paymentPayload,
    nowSeconds,
    validBeforeMarginSeconds: settings.validBeforeMarginSeconds,
  });
  if (!local.ok) return respond(refuse(local.reason));
  const { claimKey, payer: localPayer } = local;
  const signed = await checkPayerSignature({
    x402Version,
    family: matched.network.family,
    requirement: matched.v2,
    payload: paymentPayload,
    evmCheck: settings.signatureChecks[matched.v2.network],
    timeoutMs: settings.settlementCheckTimeoutMs,
  });
  if (!signed.ok) {
    return respond(
      refuse(
        signed.reason,
        signed.unavailable ? { retryAfterSeconds: settings.unavailableRetryAfterSeconds } : {},
      ),
    );
  }

  const body =
    x402Version === 2
      ? { x402Version: 2, paymentPayload: raw, paymentRequirements: matched.v2 }
      : { x402Version: 1, paymentPayload: raw, paymentRequirements: matched.v1 };
  const feePayer = matched.network.family === "svm" ? matched.v2.extra?.feePayer : undefined;
  const kind: PaymentKind = {
    scheme: matched.v2.scheme,
    network: matched.v2.network,
    ...(matched.network.v1Name === undefined ? {} : { v1Name: matched.network.v1Name }),
    ...(typeof feePayer === "string" ? { feePayer } : {}),
  };
  // What any answer about this payment must agree with; a facilitator that contradicts it is not believed.
  const expected: ExpectedAnswer = {
    family: matched.network.family,
    networks: [matched.v2.network, ...(matched.network.v1Name === undefined ? [] : [matched.network.v1Name])],
    ...(localPayer === undefined ? {} : { payer: localPayer }),
    amount: BigInt(matched.v2.amount),
    x402Version,
  };

  // 3. Claim the proof: exactly one request carries it forward (the moves: `claimTransitions`).
  const claim = await takeClaim({
    store,
    key: claimKey,
    claim: {
      state: "pending",
      owner: requestId,
      proofHash: ctx.proofHash,
      ...(ctx.idempotencyKey === undefined ? {} : { idempotencyKey: ctx.idempotencyKey }),
    },
    expiresAt: local.expiresAt,
  });
  /** Whether this request took over a claim an earlier one left unresolved (a lost or abandoned `/settle`). */
  let resumed = false;
  /** Whether the claim was already `awaitingSettlement`: its `settlement_pending` was reported then. */
  let pendingReported = false;
  if (!claim.claimed) {
    const next = nextStepForExistingClaim({
      existing: claim.existing,
      proofHash: ctx.proofHash,
      ...(ctx.idempotencyKey === undefined ? {} : { idempotencyKey: ctx.idempotencyKey }),
    });
    const refuseFor = (refusal: ClaimRefusal) => {
      switch (refusal) {
        case "dead":
          return refuse("facilitator_unavailable", {
            retryAfterSeconds: settings.unavailableRetryAfterSeconds,
          });
        case "in_flight":
          return refuse("settlement_pending", { retryAfterSeconds: 1 });
        case "replayed":
          return refuse("replayed_payment");
      }
    };
    if (next.step === "refuse") return respond(refuseFor(next.refusal));
    if (next.step === "resume") {
      resumed = await moveClaim({
        store,
        key: claimKey,
        transition: "resume",
        owner: requestId,
        proofHash: ctx.proofHash,
      });
      if (!resumed) {
        return respond(
          refuse("settlement_pending", { retryAfterSeconds: settings.pendingRetryAfterSeconds }),
        );
      }
      pendingReported = true;
    } else {
      // A `pending` claim of this proof: another request holds it, or held it and died (stale-pending rule).
      resumed = await moveClaim({
        store,
        key: claimKey,
        transition: "takeOverStale",
        owner: requestId,
        proofHash: ctx.proofHash,
        staleClaimSeconds: settings.staleClaimSeconds,
      });
      if (!resumed) return respond(refuseFor(next.otherwise));
    }
  }

  const network = matched.v2.network;
  ctx.emit({ type: "proof_checked", route: ctx.route, lane: "facilitator", network });
  const sinceReceived = () => ctx.now() - ctx.receivedAt;
  /**
   * One `failed_over` per facilitator that was unavailable, to the next one asked, or to the direct lane when the
   * client is refused `facilitator_unavailable` with the direct lane offered. Not when a `/settle` may have
   * arrived: that client is told to present the same proof again (`settlement_pending`), never to pay directly.
   */
  const reportFailover = (result: FailoverResult<unknown>, directOffered = true) => {
    const attempts = result.kind === "answer" ? (result.attempts ?? []) : result.attempts;
    attempts.forEach((attempt, index) => {
      const toDirect = directOffered && offer.direct.length > 0 ? "direct" : undefined;
      const to =
        attempts[index + 1]?.facilitator ?? (result.kind === "answer" ? result.facilitator : toDirect);
      if (to === undefined) return;
      ctx.emit({
        type: "failed_over",
        route: ctx.route,
        from: attempt.facilitator,
        to,
        reason: attempt.reason,
      });
    });
  };
  const release = () => releaseClaim({ store, key: claimKey, owner: requestId });
  const moveTo = (transition: "settle" | "markDead" | "awaitSettlement" | "hold") =>
    moveClaim({ store, key: claimKey, transition, owner: requestId });
  /** After money moved the client is served whatever the store says; the claim stays held either way. */
  const markSettled = () =>
    moveTo("settle").catch((error: unknown) =>
      ctx.emit({ type: "error", where: "store.transitionClaim", error }),
    );
  /**
   * Claims the settlement's transaction as the direct lane would, so the same transfer never pays there too (the
   * direct lane also refuses relayed transfers by their shape: this covers a chain port that cannot tell).
   */
  const claimTransaction = async (transaction: string) => {
    if (transaction === "") return;
    try {
      await takeClaim({
        store,
        key: transferClaimKey({
          network: matched.v2.network,
          family: matched.network.family,
          transaction,
        }),
        claim: { state: "settled", owner: requestId, proofHash: ctx.proofHash },
        expiresAt: Math.floor(ctx.now() / 1000) + settings.transactionClaimSeconds,
      });
    } catch (error) {
      ctx.emit({ type: "error", where: "store.claim", error });
    }
  };

  async function chainSaysSettled(): Promise<boolean> {
    const check = settings.settlementChecks[matched.v2.network];
    if (check === undefined) return false;
    try {
      return await reportedChainCall(ctx, () => check({ requirement: matched.v2, payload: paymentPayload }), {
        network,
        operation: "settlementCheck",
        timeoutMs: settings.settlementCheckTimeoutMs,
      });
    } catch (error) {
      ctx.emit({ type: "error", where: "settlementCheck", error });
      return false;
    }
  }

  /** What the payment's `settled` and `paid` events share. */
  function payment(receipt: SettleResponse, facilitator?: string) {
    return {
      route: ctx.route,
      lane: "facilitator" as const,
      amount: BigInt(matched.v2.amount),
      network,
      asset: matched.v2.asset,
      ...(receipt.payer ? { payer: receipt.payer } : payerField()),
      ...(receipt.transaction ? { transaction: receipt.transaction } : {}),
      ...(facilitator === undefined ? {} : { facilitator }),
    };
  }

  /** The money moved (`paid`, served, is emitted once the response goes out). */
  function paid(receipt: SettleResponse, facilitator?: string): Settled {
    const durationMs = sinceReceived();
    if (ctx.settlement === "before" && !resumed) {
      // Settling before the handler is its verification too.
      ctx.emit({
        type: "verified",
        route: ctx.route,
        lane: "facilitator",
        network,
        ...(facilitator === undefined ? {} : { facilitator }),
        durationMs,
      });
    }
    ctx.emit({ type: "settled", ...payment(receipt, facilitator), durationMs });
    return { kind: "settled", receipt, ...(facilitator === undefined ? {} : { facilitator }) };
  }

  /** Served: the response that carries the receipt goes out. */
  function served(state: Settled): void {
    ctx.emit({ type: "paid", ...payment(state.receipt, state.facilitator) });
  }

  /**
   * Settles through the facilitators. When a `/settle` may have reached a facilitator without a definitive
   * answer (this round, or an earlier one when resuming), only the chain can say whether money moved: a later
   * refusal (e.g. "nonce already used") is then checked against the chain before it is believed.
   */
  async function settleNow(): Promise<SettleState> {
    const result = await settings.failover.settle(body, kind, expected);
    reportFailover(result, result.kind === "unavailable" && !result.mayHaveArrived && !resumed);
    const confirmed = async (): Promise<SettleState | undefined> => {
      if (!(await chainSaysSettled())) return undefined;
      await markSettled();
      return paid(confirmedReceipt());
    };
    const pending = async (): Promise<SettleState> => {
      await moveTo("awaitSettlement");
      // Once per payment: a retry that finds its fate still unknown is only refused (`refused`) again.
      if (pendingReported) return { kind: "pending" };
      ctx.emit({
        type: "settlement_pending",
        route: ctx.route,
        lane: "facilitator",
        network,
        ...(result.kind === "answer" ? { facilitator: result.facilitator } : {}),
      });
      return { kind: "pending" };
    };
    if (result.kind === "answer") {
      const answer = result.answer;
      if (answer.success) {
        await Promise.all([markSettled(), claimTransaction(answer.transaction)]);
        return paid(answer, result.facilitator);
      }
      // A refusal that leaves open whether money moved: only the chain can tell, else the claim stays pending.
      if (isSettleOutcomeUnknown(answer)) return (await confirmed()) ?? pending();
      if (result.earlierMayHaveArrived || resumed) {
        const settled = await confirmed();
        if (settled) return settled;
        if (result.earlierMayHaveArrived) return pending();
      }
      // Refused. With a transaction sent (or a lost earlier settle) the proof may be spent: never again.
      if (answer.transaction || resumed) await moveTo("markDead");
      else await release();
      return { kind: "refused", receipt: answer };
    }
    if (result.mayHaveArrived || resumed) return (await confirmed()) ?? pending();
    // No /settle reached anyone: promise the client it never will, so it may pay another way.
    await moveTo("markDead");
    return { kind: "unavailable" };
  }

  /** A receipt for a settlement the chain confirmed but whose facilitator answer was lost. */
  function confirmedReceipt(): SettleResponse {
    const network = x402Version === 1 ? (matched.v1?.network ?? matched.v2.network) : matched.v2.network;
    return { success: true, transaction: "", network, ...payerField() };
  }

  function payerField(): { payer?: string } {
    return localPayer === undefined ? {} : { payer: localPayer };
  }

  function refusalFor(state: Exclude<SettleState, Settled>): Response {
    switch (state.kind) {
      case "pending":
        return refuse("settlement_pending", { retryAfterSeconds: settings.pendingRetryAfterSeconds });
      case "unavailable":
        return refuse("facilitator_unavailable", {
          retryAfterSeconds: settings.unavailableRetryAfterSeconds,
        });
      case "refused":
        return refuse("settlement_failed", { headers: receiptHeaders(x402Version, state.receipt) });
    }
  }

  const serveSettled = (state: Settled): LaneOutcome => ({
    kind: "serve",
    lane: "facilitator",
    finish: async (response) => {
      served(state);
      return withHeaders(response, receiptHeaders(x402Version, state.receipt));
    },
  });

  // 4a. Settlement before the handler, or resuming a settlement whose answer was lost.
  if (ctx.settlement === "before" || resumed) {
    if (ctx.request.signal.aborted && !resumed) {
      // The client left before anything was settled: nobody would receive what it pays for.
      await release();
      return respond(refuse("client_closed_request"));
    }
    if (resumed && (await chainSaysSettled())) {
      await markSettled();
      return serveSettled(paid(confirmedReceipt()));
    }
    const state = await settleNow();
    return state.kind === "settled" ? serveSettled(state) : respond(refusalFor(state));
  }

  // 4b. Settlement after the handler: verify now, settle once the handler answered below 400.
  const verified = await settings.failover.verify(body, kind, expected);
  reportFailover(verified);
  if (verified.kind === "unavailable") {
    await moveTo("markDead");
    return respond(
      refuse("facilitator_unavailable", { retryAfterSeconds: settings.unavailableRetryAfterSeconds }),
    );
  }
  if (!verified.answer.isValid) {
    await release();
    return respond(refuse(verified.answer.invalidReason ?? "invalid_payload"));
  }
  ctx.emit({
    type: "verified",
    route: ctx.route,
    lane: "facilitator",
    network,
    facilitator: verified.facilitator,
    durationMs: sinceReceived(),
  });
  return {
    kind: "serve",
    lane: "facilitator",
    async finish(response: Response): Promise<Response> {
      if (response.status >= 400) {
        await release();
        ctx.emit({ type: "not_charged", route: ctx.route, lane: "facilitator", status: response.status });
        return response;
      }
      // The handler may have run long: make sure no retry took the claim over as abandoned (stale-pending rule)
      // before settling, and restart its stale clock. A retry that took it over resolves the payment.
      if (!(await moveTo("hold"))) {
        discardBody(response);
        return refuse("settlement_pending", { retryAfterSeconds: settings.pendingRetryAfterSeconds });
      }
      const state = await settleNow();
      if (state.kind === "settled") {
        served(state);
        return withHeaders(response, receiptHeaders(x402Version, state.receipt));
      }
      discardBody(response);
      return refusalFor(state);
    },
  };
}
