import { isTollgateError, type Lane, parseUsd, TollgateError } from "@tollgate/shared";
import { createEmitter } from "./analytics/createEmitter.js";
import { invalidConfig } from "./config/invalidConfig.js";
import type { CreatePaywallParameters, RouteContext } from "./config/paywallOptions.js";
import { resolveConfig } from "./config/resolveConfig.js";
import type { RouteSettings } from "./config/resolveRoutes.js";
import { randomId, sha256Hex } from "./internal/hash.js";
import { holdResponse } from "./respond/holdResponse.js";
import {
  createIdempotentResponses,
  type IdempotentRequest,
  readIdempotencyKey,
} from "./respond/idempotentResponses.js";
import { discardBody, jsonResponse, paymentRequiredResponse } from "./respond/paymentRequired.js";
import { buildOffer, maxResourceUrlLength } from "./routes/buildOffer.js";
import { matchRoute, requestMethods } from "./routes/compileRoutes.js";
import { createMemoryStore } from "./store/memory.js";
import type { LaneContext, Refusal } from "./verify/laneContext.js";
import { type IssuedToken, issueToken } from "./verify/prepaidTokens.js";
import { proofMaterial, readProofs } from "./verify/proofs.js";
import { runLane } from "./verify/runLane.js";

export type { CreatePaywallParameters } from "./config/paywallOptions.js";

/**
 * The paywall's decision for one request:
 * - `pass`: not a priced route; call the handler untouched;
 * - `respond`: answer `response` without calling the handler (402, 400, 409, a stored idempotent response);
 * - `serve`: paid (or verified); call the handler, then pass its response to `settle`.
 */
export type Decision =
  | Readonly<{ action: "pass" }>
  | Readonly<{ action: "respond"; response: Response }>
  | Readonly<{
      action: "serve";
      lane: Lane;
      route: string;
      /** `before`: the payment was taken before the handler; `after`: it is taken in `settle`. Set by `handle`. */
      settlement?: "after" | "before";
    }>;

/** Options of `Paywall.handle`. */
export type HandleOptions = Readonly<{
  /**
   * The request target exactly as received (`req.url`, Express's `req.originalUrl`), when the app routes on it
   * rather than on the parsed URL: its forms are priced too (see `pathForms`).
   * @default none: only the parsed URL is considered (right for Web `fetch` apps and Hono)
   */
  target?: string;
  /**
   * Further request targets the app routes on besides `target` (Express: `req.baseUrl + req.path`, which differs
   * when a middleware before the paywall rewrote `req.url`): each is priced too, and a request whose targets reach
   * different priced routes is refused 400 `ambiguous_route`.
   * @default []
   */
  otherTargets?: readonly string[];
}>;

/** A Web `fetch`-style handler. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A paywall: a framework-free core, and a wrapper for Web `fetch` handlers. */
export type Paywall = Readonly<{
  /**
   * Decides what to do with a request. Never rejects: an internal failure is a 500 `respond`. Adapters of
   * servers that route on the raw request target (node:http, Express) pass it as `target`.
   */
  handle(request: Request, options?: HandleOptions): Promise<Decision>;
  /**
   * Finishes a decision with the handler's response: settles or keeps the payment and adds the receipt
   * headers, or discards the body and answers 402 when settlement fails. Call it once per `serve` decision.
   * With settlement `after` it first reads the response to its end (a body that fails, or a client gone by the
   * request's `signal`, is never charged) and replaces a 5xx by its status with `{"error":"handler_failed"}`.
   */
  settle(decision: Decision, response: Response): Promise<Response>;
  /** Wraps a Web `fetch` handler (Hono's `app.fetch`, a Bun/Deno handler, …) with the paywall. */
  fetch(handler: FetchHandler): (request: Request) => Promise<Response>;
  /**
   * Issues a prepaid token holding `amount` (decimal USD or atomic `bigint`), e.g. for a sale made elsewhere;
   * `ttlSeconds` defaults to the token lane's. The secret is returned once; the store keeps its SHA-256.
   * @throws `SERVER__INVALID_CONFIG` for an amount that is not positive, `MONEY__*` for a malformed one.
   */
  issueToken(parameters: Readonly<{ amount: string | bigint; ttlSeconds?: number }>): Promise<IssuedToken>;
  /** Resolves once every facilitator's `/supported` has been read (or failed). */
  ready(): Promise<void>;
  /** The analytics queue: records are written to the store off the paid path, in batches. */
  analytics: Readonly<{
    /** Records dropped because the queue was full, since start (`tollgate_analytics_dropped_total`). */
    dropped(): number;
    /** Writes every queued record now (tests, shutdown). */
    flush(): Promise<void>;
  }>;
  /** Writes the queued analytics records and closes the default transport's connections. */
  close(): Promise<void>;
}>;

/** What `settle` needs of a `serve` decision: how its lane finishes, and the key it holds. */
type Serving = Readonly<{
  finish(response: Response): Promise<Response>;
  /** The `Idempotency-Key` this request reserved, if it sent one. */
  idempotency: IdempotentRequest | undefined;
  /** `after`: the handler's whole response is held (read to its end) before anything is settled or sent. */
  settlement: "after" | "before";
  /** The request's signal: aborted once its client has gone. */
  signal: AbortSignal;
}>;

/**
 * Creates a paywall (DESIGN §4): priced routes answer a hybrid 402 that every x402 client can pay, and take
 * payment through three lanes: facilitators in priority order with failover and our own facilitator last, direct
 * on-chain transfers, and prepaid tokens. Proofs are claimed atomically in the store (no replay, one response
 * per proof); every internal failure answers 402 or 5xx, never the protected content.
 *
 * @example
 * ```ts
 * import { createPaywall, serveFetch } from "@tollgate/server";
 * import { createEvmSettlementCheck } from "@tollgate/server/evm";
 * import { createPublicClient, http } from "viem";
 * import { base } from "viem/chains";
 * const publicClient = createPublicClient({ chain: base, transport: http(rpcUrl) });
 * const paywall = createPaywall({
 *   routes: { "GET /v1/search": { price: "$0.01", description: "Search" } },
 *   networks: ["base"],
 *   payTo: "0xYourAddress…",
 *   facilitators: [{ url: "https://facilitator.payai.network", name: "PayAI Network" }],
 *   settlementChecks: { base: createEvmSettlementCheck({ publicClient }) },
 * });
 * const app = paywall.fetch(async () => Response.json({ results: [] }));
 * await serveFetch({ fetch: app, port: 3000 });
 * ```
 * @throws `SERVER__INVALID_CONFIG` for a malformed route, price, network, payee or facilitator, or a
 * facilitator-lane network without a settlement check (`settlementChecks`).
 */
export function createPaywall(parameters: CreatePaywallParameters): Paywall {
  const { now = Date.now, onEvent, switches } = parameters;
  const store = parameters.store ?? createMemoryStore({ now });
  const emitter = createEmitter({ onEvent, logger: parameters.logger, store, now, ...parameters.analytics });
  const { emit } = emitter;
  const settings = resolveConfig({ options: parameters, now, emit });
  const { failover } = settings.facilitator;
  switches?.declareFacilitators(failover.names);
  /** A route's lanes as the run-time switches leave them for this request (they only turn lanes off). */
  const switched = (route: RouteSettings): RouteSettings => {
    if (switches === undefined) return route;
    const { lanes } = route;
    return {
      ...route,
      lanes: {
        facilitator: lanes.facilitator && switches.lane("facilitator"),
        direct: lanes.direct && switches.lane("direct"),
        token: lanes.token && switches.lane("token"),
      },
    };
  };
  const idempotentResponses = createIdempotentResponses({ store, now, emit, ...settings.idempotency });

  const serving = new WeakMap<Decision, Serving>();
  const respond = (response: Response): Decision => ({ action: "respond", response });
  const internalError = () => jsonResponse(500, { error: "internal_error" });
  /**
   * What an unpaid handler answer may carry to the client (settlement `after`; it is never charged): a 5xx is a
   * failure, whose headers and body (a partial body, a framework's error page, cookies set before it threw) are
   * dropped, its status kept; a deliberate 4xx keeps its body but sets no cookie. Below 400: as it is.
   */
  const uncharged = (response: Response): Response => {
    if (response.status >= 500) {
      discardBody(response);
      return jsonResponse(response.status, { error: "handler_failed" });
    }
    if (response.status >= 400 && response.headers.has("set-cookie")) {
      const headers = new Headers(response.headers);
      headers.delete("set-cookie");
      return new Response(response.body, {
        status: response.status,
        statusText: response.statusText,
        headers,
      });
    }
    return response;
  };
  // A full store is waited out like an unavailable facilitator (`retryAfterSeconds.facilitatorUnavailable`).
  const storeFullRetryAfter = settings.facilitator.unavailableRetryAfterSeconds;
  /** What a lane finishes when the client closed its connection before the response was ready (nginx's 499). */
  const clientGoneResponse = () => jsonResponse(499, { error: "client_closed_request" });
  const storeUnavailable = () => jsonResponse(503, { error: "internal_error" }, { "retry-after": "1" });

  /** The decision for a request on a priced route: 402 without a proof, else its lane's outcome. */
  async function decide(
    parameters: Readonly<{ url: URL; target: string; route: RouteSettings; context: RouteContext }>,
  ): Promise<Decision> {
    const { url, target, context } = parameters;
    const route = switched(parameters.route);
    const { request } = context;
    const offer = await buildOffer({ route, context, url, failover, direct: settings.direct });
    const refuse = (refusal: Refusal & Readonly<{ lane?: Lane }>): Response => {
      const status = refusal.status ?? 402;
      emit({
        type: "refused",
        route: context.route,
        ...(refusal.lane === undefined ? {} : { lane: refusal.lane }),
        reason: refusal.reason,
        status,
      });
      return paymentRequiredResponse({
        offer,
        error: refusal.reason,
        status,
        ...(refusal.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: refusal.retryAfterSeconds }),
        ...(refusal.headers === undefined ? {} : { headers: refusal.headers }),
        method: request.method,
      });
    };

    const proofs = readProofs(request.headers);
    const [lane] = proofs.lanes;
    if (lane === undefined) {
      emit({ type: "payment_required", route: context.route });
      return respond(paymentRequiredResponse({ offer, error: "payment_required", method: request.method }));
    }
    if (proofs.lanes.length > 1 || proofs.ambiguous) {
      return respond(refuse({ reason: "multiple_payment_proofs", status: 400 }));
    }
    const receivedAt = now();
    emit({ type: "proof_received", route: context.route, lane });
    if (!route.lanes[lane]) return respond(refuse({ reason: `${lane}_lane_disabled`, lane }));

    const idempotency = readIdempotencyKey({
      headers: request.headers,
      scope: `${request.method.toUpperCase()} ${target} ${offer.price}`,
    });
    if (!idempotency.ok) return respond(refuse({ reason: idempotency.reason, status: 400, lane }));
    const idempotencyKey = idempotency.key;
    const proofHash = sha256Hex(proofMaterial(proofs));
    const requestId = randomId();
    // One run per key: it is reserved before the lane charges anything, and given back if nothing was charged.
    const held: IdempotentRequest | undefined =
      idempotencyKey === undefined ? undefined : { key: idempotencyKey, proofHash, owner: requestId };
    if (held !== undefined) {
      const start = await idempotentResponses.begin(held);
      if (start.kind === "replay") return respond(start.response);
      if (start.kind === "refuse") return respond(refuse({ reason: start.reason, status: 409, lane }));
      if (start.kind === "wait") {
        // What x402 clients already do on it: wait, then send the same proof again (never pay anew).
        return respond(refuse({ reason: "settlement_pending", retryAfterSeconds: 1, lane }));
      }
    }
    const ctx: LaneContext = {
      request,
      route: context.route,
      offer,
      settlement: route.settlement,
      requestId,
      proofHash,
      idempotencyKey,
      store,
      now,
      receivedAt,
      emit,
      refuse,
    };
    let outcome: Awaited<ReturnType<typeof runLane>>;
    try {
      outcome = await runLane({
        lane,
        proofs,
        ctx,
        facilitator: settings.facilitator,
        direct: settings.direct,
        bindingRequired: route.bindingRequired,
      });
    } finally {
      if (held !== undefined && outcome?.kind !== "serve") await idempotentResponses.release(held);
    }
    if (outcome === undefined) return respond(internalError());
    if (outcome.kind === "respond") return respond(outcome.response);
    const decision: Decision = {
      action: "serve",
      lane: outcome.lane,
      route: context.route,
      settlement: route.settlement,
    };
    serving.set(decision, {
      finish: outcome.finish,
      idempotency: held,
      settlement: route.settlement,
      signal: request.signal,
    });
    return decision;
  }

  async function handle(request: Request, options: HandleOptions = {}): Promise<Decision> {
    try {
      const url = new URL(request.url);
      const matched = matchRoute(settings.routes, {
        methods: requestMethods(request.method, request.headers, url.searchParams),
        pathname: url.pathname,
        ...(options.target === undefined ? {} : { target: options.target }),
        ...(options.otherTargets === undefined ? {} : { otherTargets: options.otherTargets }),
      });
      if (matched.kind === "none") return { action: "pass" };
      const unpriced =
        matched.kind === "unpriced_method"
          ? { route: matched.patterns.join(" | "), allow: matched.allow }
          : matched.kind === "match" && matched.skippedMethods !== undefined
            ? { route: matched.match.pattern, allow: matched.skippedMethods }
            : undefined;
      if (unpriced !== undefined && settings.unpricedMethods === "refuse") {
        // Fail closed: an app that routes on the path alone would serve this method the content of a route
        // priced for other methods (for free, or at a catch-all's price).
        emit({ type: "refused", route: unpriced.route, reason: "method_not_allowed", status: 405 });
        return respond(
          jsonResponse(405, { error: "method_not_allowed" }, { allow: unpriced.allow.join(", ") }),
        );
      }
      if (matched.kind === "unpriced_method") return { action: "pass" };
      if (matched.kind === "ambiguous") {
        // Fail closed: the readings of this request reach routes with different prices and handlers.
        emit({
          type: "refused",
          route: matched.patterns.join(" | "),
          reason: "ambiguous_route",
          status: 400,
        });
        return respond(jsonResponse(400, { error: "ambiguous_route" }));
      }
      const { match } = matched;
      // The resource URL (origin from the Host header, and path) goes into the 402's header: bound both.
      if (url.origin.length + url.pathname.length > maxResourceUrlLength) {
        emit({ type: "refused", route: match.pattern, reason: "uri_too_long", status: 414 });
        return respond(jsonResponse(414, { error: "uri_too_long" }));
      }
      if (settings.hasFacilitators) failover.refreshIfStale();
      const context: RouteContext = { request, params: match.params, route: match.pattern };
      const target = options.target ?? `${url.pathname}${url.search}`;
      return await decide({ url, target, route: match.value, context });
    } catch (error) {
      emit({ type: "error", where: "handle", error });
      if (isTollgateError(error, "SERVER__STORE_FULL")) {
        // A bounded store refused a new claim rather than forget a live one: nothing was claimed or charged.
        return respond(
          jsonResponse(503, { error: "store_full" }, { "retry-after": String(storeFullRetryAfter) }),
        );
      }
      // Fail closed; a store that is down (SERVER__STORE_FAILED) is temporary: 503, retry the same proof.
      if (isTollgateError(error, "SERVER__STORE_FAILED")) return respond(storeUnavailable());
      return respond(internalError());
    }
  }

  async function settle(decision: Decision, response: Response): Promise<Response> {
    if (decision.action === "pass") return response;
    if (decision.action === "respond") {
      discardBody(response);
      return decision.response;
    }
    const state = serving.get(decision);
    serving.delete(decision);
    if (state === undefined) {
      discardBody(response);
      emit({
        type: "error",
        where: "settle",
        error: new TollgateError("SERVER__UNKNOWN_DECISION", { context: { action: decision.action } }),
      });
      return internalError();
    }
    const held = state.idempotency;
    try {
      let handled = response;
      if (state.settlement === "after") {
        // Nothing is settled or sent before the whole response is in hand: a body that fails half way is a
        // failed handler, and a client that left gets nothing, so neither is charged (the lanes' failure path).
        const whole = await holdResponse({ response, signal: state.signal });
        if (whole.ok) handled = uncharged(whole.response);
        else if (whole.reason === "client_gone") handled = clientGoneResponse();
        else {
          emit({ type: "error", where: "handler.body", error: whole.error });
          handled = internalError();
        }
      }
      // `before`: the payment was taken before the handler ran, so a client that left is charged all the same;
      // its response is still kept for an `Idempotency-Key` retry (within the idempotency limits).
      const final = await state.finish(handled);
      // Charged: settled before the handler, or an answer below 400 (below 400 only when paid).
      const charged = state.settlement === "before" || final.status < 400;
      if (held === undefined) return final;
      if (charged) return await idempotentResponses.remember({ ...held, response: final });
      await idempotentResponses.release(held);
      return final;
    } catch (error) {
      emit({ type: "error", where: "settle", error });
      discardBody(response);
      // The lanes' own claims and debits keep a retry from being charged or served twice.
      if (held !== undefined) await idempotentResponses.release(held);
      return internalError();
    }
  }

  function wrap(handler: FetchHandler): (request: Request) => Promise<Response> {
    return async (request: Request): Promise<Response> => {
      const decision = await handle(request);
      if (decision.action === "pass") return handler(request);
      if (decision.action === "respond") return decision.response;
      let response: Response;
      try {
        response = await handler(request);
      } catch (error) {
        await settle(decision, internalError());
        throw error;
      }
      return settle(decision, response);
    };
  }

  return Object.freeze({
    handle,
    settle,
    fetch: wrap,
    async issueToken({ amount, ttlSeconds = settings.tokenTtlSeconds }): Promise<IssuedToken> {
      const atomic = typeof amount === "bigint" ? amount : parseUsd(amount);
      if (atomic <= 0n) throw invalidConfig("issueToken.amount", "must be positive");
      return issueToken({ store, amount: atomic, nowSeconds: Math.floor(now() / 1000), ttlSeconds });
    },
    ready: () => (settings.hasFacilitators ? failover.refresh() : Promise.resolve()),
    analytics: Object.freeze({ dropped: emitter.dropped, flush: emitter.flush }),
    close: async () => {
      await emitter.flush();
      await settings.defaultTransport?.close();
    },
  });
}
