import {
  createEventLog,
  createNetworkRegistry,
  type FacilitatorRequest,
  facilitatorRequestSchema,
  isTollgateError,
  type Logger,
  type NetworkRegistry,
  type RefusalReason,
  readBodyUpTo,
  refusalReasonFor,
  type SettleResponse,
  type SupportedResponse,
  TollgateError,
  toWireIssues,
  type VerifyResponse,
} from "@tollgate/shared";
import { facilitatorEventLevel } from "../logging/eventLevels.js";
import type { FacilitatorPayment, FacilitatorScheme, SettleOutcome, VerifyOutcome } from "./scheme.js";
import { createMemorySettlementGuard, type SettlementGuard } from "./settlementGuard.js";

/** Events a facilitator reports, for logs and metrics. Never carries secrets. */
export type FacilitatorEvent =
  | Readonly<{ type: "verify"; network: string; ok: boolean; reason?: string; durationMs: number }>
  | Readonly<{
      type: "settle";
      network: string;
      ok: boolean;
      reason?: string;
      transaction?: string;
      durationMs: number;
    }>
  | Readonly<{ type: "error"; endpoint: string; error: unknown }>;

/** Parameters of `createFacilitator`. */
export type CreateFacilitatorParameters = Readonly<{
  /** The schemes to serve, e.g. `[createExactEvmScheme(…), createExactSvmScheme(…)]`. */
  schemes: readonly FacilitatorScheme[];
  /**
   * Remembers started settlements so each payment settles at most once.
   * @default createMemorySettlementGuard()
   */
  guard?: SettlementGuard;
  /**
   * Maps v1 network names to CAIP-2.
   * @default createNetworkRegistry()
   */
  registry?: Pick<NetworkRegistry, "find">;
  /**
   * Overall deadline of one verify, in milliseconds.
   * @default 10_000
   */
  verifyTimeoutMs?: number;
  /**
   * Overall deadline of one settle, in milliseconds (sending and confirming).
   * @default 60_000
   */
  settleTimeoutMs?: number;
  /**
   * Largest accepted request body, in bytes.
   * @default 65_536
   */
  maxBodyBytes?: number;
  /**
   * The clock, in milliseconds since the epoch.
   * @default Date.now
   */
  now?: () => number;
  /** Receives an event per call. */
  onEvent?: (event: FacilitatorEvent) => void;
  /**
   * Writes every event as one redacted line (pino's shape: `info/warn/error(obj, msg)`), beside `onEvent`: a
   * refused verification or a failed settlement is `warn`, an internal failure `error`.
   * @default none
   */
  logger?: Logger;
}>;

/** A facilitator: the three x402 endpoints as functions, and as one Web `Request → Response` handler. */
export type Facilitator = Readonly<{
  /** `POST /verify` with an already parsed JSON body. */
  verify(body: unknown): Promise<FacilitatorAnswer<VerifyResponse>>;
  /** `POST /settle` with an already parsed JSON body. */
  settle(body: unknown): Promise<FacilitatorAnswer<SettleResponse>>;
  /** `GET /supported`. */
  supported(): SupportedResponse;
  /** Serves `POST /verify`, `POST /settle`, `GET /supported` (under any base path). */
  fetch(request: Request): Promise<Response>;
}>;

/** An answer with its HTTP status: 200 for any verify/settle result (refusals included), 400 for a bad body. */
export type FacilitatorAnswer<T> =
  | Readonly<{ status: 200; body: T }>
  | Readonly<{ status: 400; body: { error: string; issues?: readonly { path: string; message: string }[] } }>;

type Normalised =
  | { ok: true; payment: FacilitatorPayment; scheme: FacilitatorScheme; network: string }
  | { ok: false; x402Version: 1 | 2; reason: RefusalReason; network: string };

/**
 * Creates Tollgate's own x402 facilitator: `POST /verify`, `POST /settle` and `GET /supported` for the
 * given schemes, both x402 generations, with a duplicate-settlement guard and a deadline on every call.
 * Refusals are HTTP 200 with `isValid: false` / `success: false` and a stable snake_case reason; only a body
 * that does not parse gets 400. It never answers 500: an unexpected failure is an `unexpected_*_error`.
 *
 * @example
 * ```ts
 * import { createFacilitator } from "@tollgate/server/facilitator";
 * import { createExactEvmScheme, createViemEvmChain } from "@tollgate/server/evm";
 * const facilitator = createFacilitator({ schemes: [createExactEvmScheme({ chains: [createViemEvmChain({ … })] })] });
 * Bun.serve({ fetch: facilitator.fetch }); // or serveFacilitator({ facilitator, port: 4021 }) on node:http
 * ```
 */
export function createFacilitator(parameters: CreateFacilitatorParameters): Facilitator {
  const {
    schemes,
    guard = createMemorySettlementGuard(),
    registry = createNetworkRegistry(),
    verifyTimeoutMs = 10_000,
    settleTimeoutMs = 60_000,
    maxBodyBytes = 65_536,
    now = Date.now,
    onEvent,
    logger,
  } = parameters;
  const log = createEventLog({ logger, component: "facilitator", levelOf: facilitatorEventLevel });

  const byNetwork = new Map<string, FacilitatorScheme>();
  for (const scheme of schemes) {
    for (const network of scheme.networks) {
      if (byNetwork.has(`${scheme.scheme}|${network}`)) {
        throw new TollgateError("SERVER__INVALID_CONFIG", {
          context: { option: "schemes", reason: `two schemes serve ${scheme.scheme} on ${network}` },
        });
      }
      byNetwork.set(`${scheme.scheme}|${network}`, scheme);
    }
  }

  const emit = (event: FacilitatorEvent) => {
    log(event);
    try {
      onEvent?.(event);
    } catch {
      // An observer's failure must not change a payment's outcome.
    }
  };

  function parse(
    body: unknown,
  ): { ok: true; request: FacilitatorRequest } | { ok: false; answer: FacilitatorAnswer<never> } {
    const result = facilitatorRequestSchema.safeParse(body);
    if (result.success) return { ok: true, request: result.data };
    return {
      ok: false,
      answer: { status: 400, body: { error: "invalid_request", issues: toWireIssues(result.error) } },
    };
  }

  function normalise(request: FacilitatorRequest): Normalised {
    const v = request.x402Version;
    if (v === 2) {
      const r = request.paymentRequirements;
      const scheme = byNetwork.get(`${r.scheme}|${r.network}`);
      if (!scheme) {
        const reason = [...byNetwork.keys()].some((k) => k.endsWith(`|${r.network}`))
          ? "unsupported_scheme"
          : "unsupported_network";
        return { ok: false, x402Version: v, reason, network: r.network };
      }
      return {
        ok: true,
        scheme,
        network: r.network,
        payment: {
          x402Version: 2,
          requirement: {
            scheme: r.scheme,
            network: r.network,
            amount: BigInt(r.amount),
            asset: r.asset,
            payTo: r.payTo,
            maxTimeoutSeconds: r.maxTimeoutSeconds,
            extra: r.extra ?? {},
          },
          paidNetwork: request.paymentPayload.accepted.network,
          paidScheme: request.paymentPayload.accepted.scheme,
          payload: request.paymentPayload.payload,
        },
      };
    }
    const r = request.paymentRequirements;
    const network = registry.find(r.network)?.caip2;
    const scheme = network === undefined ? undefined : byNetwork.get(`${r.scheme}|${network}`);
    if (network === undefined || !scheme) {
      return {
        ok: false,
        x402Version: v,
        reason: network ? "unsupported_scheme" : "unsupported_network",
        network: r.network,
      };
    }
    const paid = registry.find(request.paymentPayload.network)?.caip2 ?? request.paymentPayload.network;
    return {
      ok: true,
      scheme,
      network,
      payment: {
        x402Version: 1,
        requirement: {
          scheme: r.scheme,
          network,
          amount: BigInt(r.maxAmountRequired),
          asset: r.asset,
          payTo: r.payTo,
          maxTimeoutSeconds: r.maxTimeoutSeconds,
          extra: r.extra ?? {},
        },
        paidNetwork: paid,
        paidScheme: request.paymentPayload.scheme,
        payload: request.paymentPayload.payload,
      },
    };
  }

  async function withDeadline<T>(timeoutMs: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await run(controller.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  function networkName(network: string, version: 1 | 2): string {
    return version === 1 ? (registry.find(network)?.v1Name ?? network) : network;
  }

  async function verify(body: unknown): Promise<FacilitatorAnswer<VerifyResponse>> {
    const parsed = parse(body);
    if (!parsed.ok) return parsed.answer;
    const started = now();
    const n = normalise(parsed.request);
    let outcome: VerifyOutcome;
    let version: 1 | 2;
    if (!n.ok) {
      version = n.x402Version;
      outcome = { ok: false, reason: n.reason };
    } else {
      version = n.payment.x402Version;
      try {
        outcome = await withDeadline(verifyTimeoutMs, (signal) =>
          n.scheme.verify(n.payment, { signal, nowSeconds: Math.floor(now() / 1000) }),
        );
      } catch (error) {
        emit({ type: "error", endpoint: "verify", error });
        outcome = { ok: false, reason: "unexpected_verify_error" };
      }
    }
    const reason = outcome.ok ? undefined : refusalReasonFor(outcome.reason, version);
    emit({
      type: "verify",
      network: n.network,
      ok: outcome.ok,
      ...(reason === undefined ? {} : { reason }),
      durationMs: now() - started,
    });
    return {
      status: 200,
      body: outcome.ok
        ? { isValid: true, payer: outcome.payer }
        : {
            isValid: false,
            invalidReason: reason ?? "unexpected_verify_error",
            ...(outcome.message === undefined ? {} : { invalidMessage: boundedMessage(outcome.message) }),
            ...(outcome.payer === undefined ? {} : { payer: outcome.payer }),
          },
    };
  }

  async function settle(body: unknown): Promise<FacilitatorAnswer<SettleResponse>> {
    const parsed = parse(body);
    if (!parsed.ok) return parsed.answer;
    const started = now();
    const n = normalise(parsed.request);
    let outcome: SettleOutcome;
    let version: 1 | 2;
    if (!n.ok) {
      version = n.x402Version;
      outcome = { ok: false, reason: n.reason };
    } else {
      version = n.payment.x402Version;
      outcome = await settleOnce(n.scheme, n.payment);
    }
    const reason = outcome.ok ? undefined : refusalReasonFor(outcome.reason, version);
    emit({
      type: "settle",
      network: n.network,
      ok: outcome.ok,
      ...(reason === undefined ? {} : { reason }),
      ...(outcome.transaction ? { transaction: outcome.transaction } : {}),
      durationMs: now() - started,
    });
    const network = networkName(n.network, version);
    return {
      status: 200,
      body: outcome.ok
        ? { success: true, payer: outcome.payer, transaction: outcome.transaction, network }
        : {
            success: false,
            errorReason: reason ?? "unexpected_settle_error",
            ...(outcome.message === undefined ? {} : { errorMessage: boundedMessage(outcome.message) }),
            ...(outcome.payer === undefined ? {} : { payer: outcome.payer }),
            transaction: outcome.transaction ?? "",
            network,
          },
    };
  }

  async function settleOnce(scheme: FacilitatorScheme, payment: FacilitatorPayment): Promise<SettleOutcome> {
    const key = scheme.settlementKey(payment);
    if (key === undefined) {
      // Malformed beyond having an identity: verify explains why, nothing can be sent.
      const verdict = await withDeadline(verifyTimeoutMs, (signal) =>
        scheme.verify(payment, { signal, nowSeconds: Math.floor(now() / 1000) }),
      ).catch((): VerifyOutcome => ({ ok: false, reason: "unexpected_settle_error" }));
      return verdict.ok ? { ok: false, reason: "invalid_payload" } : verdict;
    }
    let claimed: boolean;
    try {
      claimed = await guard.claim(key);
    } catch (error) {
      emit({ type: "error", endpoint: "settle", error });
      return { ok: false, reason: "unexpected_settle_error" };
    }
    if (!claimed) return { ok: false, reason: "duplicate_settlement" };
    try {
      const outcome = await withDeadline(settleTimeoutMs, (signal) =>
        scheme.settle(payment, { signal, nowSeconds: Math.floor(now() / 1000) }),
      );
      // A refusal that sent no transaction leaves the payment unspent: let a corrected retry through.
      if (!outcome.ok && !outcome.transaction && outcome.reason !== "settlement_pending")
        await guard.release(key);
      return outcome;
    } catch (error) {
      emit({ type: "error", endpoint: "settle", error });
      // Unknown whether anything reached the chain: keep the claim, report the settlement as pending.
      return isTollgateError(error, "CHAIN__TIMEOUT")
        ? { ok: false, reason: "settlement_pending" }
        : { ok: false, reason: "unexpected_settle_error" };
    }
  }

  function supported(): SupportedResponse {
    const kinds: SupportedResponse["kinds"] = [];
    const signers: Record<string, string[]> = {};
    for (const scheme of schemes) {
      for (const network of scheme.networks) {
        const extra = scheme.supportedExtra?.(network);
        const v1Name = registry.find(network)?.v1Name;
        kinds.push({ x402Version: 2, scheme: scheme.scheme, network, ...(extra ? { extra } : {}) });
        if (v1Name)
          kinds.push({ x402Version: 1, scheme: scheme.scheme, network: v1Name, ...(extra ? { extra } : {}) });
      }
      for (const [family, addresses] of Object.entries(scheme.signers)) {
        signers[family] = [...new Set([...(signers[family] ?? []), ...addresses])];
      }
    }
    return { kinds, extensions: [], signers };
  }

  async function handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname.replace(/\/+$/, "");
    const endpoint = path.slice(path.lastIndexOf("/") + 1);
    try {
      if (endpoint === "supported") {
        if (request.method !== "GET") return json(405, { error: "method_not_allowed" }, { allow: "GET" });
        return json(200, supported());
      }
      if (endpoint !== "verify" && endpoint !== "settle") return json(404, { error: "not_found" });
      if (request.method !== "POST") return json(405, { error: "method_not_allowed" }, { allow: "POST" });
      const body = await readJsonBody(request, maxBodyBytes);
      if (!body.ok) return json(body.status, { error: body.error });
      const answer = endpoint === "verify" ? await verify(body.value) : await settle(body.value);
      return json(answer.status, answer.body);
    } catch (error) {
      emit({ type: "error", endpoint, error });
      // Never a 500 with a stack: a verify/settle shaped refusal reference clients can read.
      return endpoint === "settle"
        ? json(200, { success: false, errorReason: "unexpected_settle_error", transaction: "", network: "" })
        : json(200, { isValid: false, invalidReason: "unexpected_verify_error" });
    }
  }

  return Object.freeze({ verify, settle, supported, fetch: handle });
}

/**
 * A refusal's message as sent: at most 1,024 characters. It may carry text from the chain (a contract's revert
 * reason, a node's error), and an answer over the wire schema's 4,096 would not parse as an answer at all.
 */
function boundedMessage(message: string): string {
  return message.length <= 1_024 ? message : `${message.slice(0, 1_021)}...`;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}

type BodyReading = { ok: true; value: unknown } | { ok: false; status: 400 | 413 | 415; error: string };

/** Reads a JSON request body of at most `limit` bytes, without trusting Content-Length. */
async function readJsonBody(request: Request, limit: number): Promise<BodyReading> {
  const type = request.headers.get("content-type") ?? "";
  if (type !== "" && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    return { ok: false, status: 415, error: "unsupported_media_type" };
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) return { ok: false, status: 413, error: "body_too_large" };
  if (!request.body) return { ok: false, status: 400, error: "invalid_json" };
  const bytes = await readBodyUpTo({ body: request.body, limit });
  if (bytes === undefined) return { ok: false, status: 413, error: "body_too_large" };
  try {
    return {
      ok: true,
      value: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)),
    };
  } catch {
    return { ok: false, status: 400, error: "invalid_json" };
  }
}
