import {
  createNetworkRegistry,
  type DirectNetworkOption,
  type Lane,
  type NetworkInfo,
  type PaymentRequirementsV1,
  type PaymentRequirementsV2,
  parseUsd,
  type ResourceInfo,
} from "@tollgate/shared";
import { createEmitter } from "./analytics/createEmitter.js";
import { invalidConfig, parseConfigUsd } from "./config/invalidConfig.js";
import type {
  CreatePaywallParameters,
  LaneSwitches,
  Payees,
  RouteConfig,
  RouteContext,
} from "./config/paywallOptions.js";
import { resolveDirectLane } from "./config/resolveDirectLane.js";
import { resolveFacilitatorLane } from "./config/resolveFacilitatorLane.js";
import { maxBigint } from "./internal/bigint.js";
import { randomId, sha256Hex } from "./internal/hash.js";
import { createIdempotentResponses, readIdempotencyKey } from "./respond/idempotentResponses.js";
import {
  discardBody,
  type FacilitatorRequirement,
  isV1Parsable,
  jsonResponse,
  paymentRequiredResponse,
  type RouteOffer,
} from "./respond/paymentRequired.js";
import { compileRoutes, matchRoute, requestMethods } from "./routes/compileRoutes.js";
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
  | Readonly<{ action: "serve"; lane: Lane; route: string }>;

/** Options of `Paywall.handle`. */
export type HandleOptions = Readonly<{
  /**
   * The request target exactly as received (`req.url`, Express's `req.originalUrl`), when the app routes on it
   * rather than on the parsed URL: its forms are priced too (see `pathForms`).
   * @default none: only the parsed URL is considered (right for Web `fetch` apps and Hono)
   */
  target?: string;
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
  /** Closes the default transport's connections. */
  close(): Promise<void>;
}>;

type RouteSettings = Readonly<{
  config: RouteConfig;
  networks: readonly NetworkInfo[];
  settlement: "after" | "before";
  maxTimeoutSeconds: number;
  lanes: Required<LaneSwitches>;
  bindingRequired: boolean;
}>;

type Serving = Readonly<{
  finish(response: Response): Promise<Response>;
  idempotencyKey: string | undefined;
  proofHash: string;
}>;

function payeeFor(payees: Payees | undefined, network: NetworkInfo): string | undefined {
  if (payees === undefined) return undefined;
  if (typeof payees === "string") return payees;
  return payees[network.caip2] ?? (network.v1Name === undefined ? undefined : payees[network.v1Name]);
}

/**
 * Creates a paywall (DESIGN §4): priced routes answer a hybrid 402 that every x402 client can pay, and take
 * payment through three lanes: facilitators in priority order with failover and our own facilitator last, direct
 * on-chain transfers, and prepaid tokens. Proofs are claimed atomically in the store (no replay, one response
 * per proof); every internal failure answers 402 or 5xx, never the protected content.
 *
 * @example
 * ```ts
 * import { createPaywall, serveFetch } from "@tollgate/server";
 * const paywall = createPaywall({
 *   routes: { "GET /v1/search": { price: "$0.01", description: "Search" } },
 *   networks: ["base"],
 *   payTo: "0xYourAddress…",
 *   facilitators: [{ url: "https://facilitator.payai.network", name: "PayAI Network" }],
 * });
 * const app = paywall.fetch(async () => Response.json({ results: [] }));
 * await serveFetch({ fetch: app, port: 3000 });
 * ```
 * @throws `SERVER__INVALID_CONFIG` for a malformed route, price, network, payee or facilitator.
 */
export function createPaywall(parameters: CreatePaywallParameters): Paywall {
  const {
    routes,
    networks: defaultNetworks = [],
    payTo: defaultPayTo,
    facilitators = [],
    selfSettle,
    transport: transportOption,
    direct,
    tokens = {},
    lanes = {},
    registry = createNetworkRegistry(),
    settlementChecks = {},
    idempotency = {},
    retryAfterSeconds = {},
    supportedRefreshMs = 600_000,
    now = Date.now,
    onEvent,
  } = parameters;
  const store = parameters.store ?? createMemoryStore({ now });
  const tokenTtlSeconds = tokens.ttlSeconds ?? 2_592_000;

  const emit = createEmitter({ onEvent, store, now });
  const { maxBodyBytes = 65_536, ttlSeconds: idempotencyTtlSeconds = 86_400 } = idempotency;
  const idempotentResponses = createIdempotentResponses({
    store,
    now,
    emit,
    maxBodyBytes,
    ttlSeconds: idempotencyTtlSeconds,
  });

  const facilitator = resolveFacilitatorLane({
    facilitators,
    selfSettle,
    transport: transportOption,
    settlementChecks,
    retryAfterSeconds,
    supportedRefreshMs,
    now,
    onCall: (report) => emit({ type: "facilitator_call", ...report }),
  });
  const { settings: facilitatorSettings, hasFacilitators, defaultTransport } = facilitator;
  const { failover } = facilitatorSettings;
  const facilitatorOn = lanes.facilitator !== false && hasFacilitators;
  const directOn =
    lanes.direct !== false && direct !== undefined && direct.enabled !== false && direct.networks.length > 0;
  const directSettings = resolveDirectLane({ direct, registry, tokenTtlSeconds });
  const directNetworks = directSettings.networks;
  const tokenOn = lanes.token !== false && tokens.enabled !== false;

  function resolveNetwork(option: string, name: string): NetworkInfo {
    const network = registry.find(name);
    if (network === undefined) throw invalidConfig(option, `unknown network "${name}"`);
    const usdc = network.usdc;
    if (usdc === undefined) throw invalidConfig(option, `no USDC known on ${network.caip2}`);
    if (network.family === "evm" && usdc.eip712 === undefined) {
      throw invalidConfig(option, `no EIP-712 domain known for USDC on ${network.caip2}`);
    }
    return network;
  }

  const compiled = compileRoutes(
    Object.entries(routes).map(([pattern, raw]): [string, RouteSettings] => {
      const config: RouteConfig = typeof raw === "string" ? { price: raw } : raw;
      const option = `routes["${pattern}"]`;
      if (typeof config.price === "string") parseConfigUsd(`${option}.price`, config.price);
      else if (typeof config.price !== "function")
        throw invalidConfig(`${option}.price`, "a decimal USD string or a function");
      const networks = (config.networks ?? defaultNetworks).map((n) =>
        resolveNetwork(`${option}.networks`, n),
      );
      const payTo = config.payTo ?? defaultPayTo;
      if (typeof payTo !== "function") {
        for (const network of networks) {
          if (payeeFor(payTo, network) === undefined)
            throw invalidConfig(`${option}.payTo`, `no payee for ${network.caip2}`);
        }
      }
      const maxTimeoutSeconds = config.maxTimeoutSeconds ?? 60;
      if (!Number.isInteger(maxTimeoutSeconds) || maxTimeoutSeconds < 10) {
        throw invalidConfig(`${option}.maxTimeoutSeconds`, "an integer of at least 10");
      }
      return [
        pattern,
        {
          config,
          networks,
          settlement: config.settlement ?? "after",
          maxTimeoutSeconds,
          lanes: {
            facilitator: facilitatorOn && config.lanes?.facilitator !== false && networks.length > 0,
            direct: directOn && config.lanes?.direct !== false,
            token: tokenOn && config.lanes?.token !== false,
          },
          bindingRequired: config.bindingRequired ?? direct?.bindingRequired ?? true,
        },
      ];
    }),
  );

  async function buildOffer(route: RouteSettings, context: RouteContext, url: URL): Promise<RouteOffer> {
    const { config } = route;
    const priceText = typeof config.price === "function" ? await config.price(context) : config.price;
    const price = parseUsd(priceText);
    const resource: ResourceInfo = {
      url: `${url.origin}${url.pathname}${url.search}`,
      description: config.description ?? "",
      mimeType: config.mimeType ?? "application/json",
    };
    const facilitatorRequirements: FacilitatorRequirement[] = [];
    if (route.lanes.facilitator) {
      const payTo = config.payTo ?? defaultPayTo;
      const payees = typeof payTo === "function" ? await payTo(context) : payTo;
      for (const network of route.networks) {
        const usdc = network.usdc;
        const payee = payeeFor(payees, network);
        if (usdc === undefined) continue;
        if (payee === undefined)
          throw invalidConfig(`routes["${context.route}"].payTo`, `no payee for ${network.caip2}`);
        let extra: Record<string, unknown>;
        if (network.family === "evm") {
          extra = { name: usdc.eip712?.name, version: usdc.eip712?.version };
        } else {
          const feePayer = failover.feePayer(network.caip2);
          if (feePayer === undefined) continue; // No facilitator has named its fee payer yet.
          extra = { feePayer };
        }
        const v2: PaymentRequirementsV2 = {
          scheme: "exact",
          network: network.caip2,
          amount: parseUsd(priceText, { decimals: usdc.decimals }).toString(),
          asset: usdc.address,
          payTo: payee,
          maxTimeoutSeconds: route.maxTimeoutSeconds,
          extra,
        };
        const v1: PaymentRequirementsV1 | undefined =
          network.v1Name === undefined
            ? undefined
            : {
                scheme: "exact",
                network: network.v1Name,
                maxAmountRequired: v2.amount,
                resource: resource.url,
                description: resource.description ?? "",
                mimeType: resource.mimeType ?? "",
                payTo: payee,
                maxTimeoutSeconds: route.maxTimeoutSeconds,
                asset: usdc.address,
                extra,
              };
        facilitatorRequirements.push({
          network,
          v2,
          v1: v1 !== undefined && isV1Parsable(v1) ? v1 : undefined,
        });
      }
    }
    const directOptions: DirectNetworkOption[] = [];
    if (route.lanes.direct) {
      const minimum = maxBigint(price, directSettings.minAmount);
      for (const net of directNetworks.values()) {
        directOptions.push({
          network: net.network.caip2,
          ...(net.network.v1Name === undefined ? {} : { network_v1: net.network.v1Name }),
          asset: net.asset,
          payTo: net.payTo,
          amount: price.toString(),
          min_amount: minimum.toString(),
          confirmations: net.confirmations,
          max_age_seconds: net.maxAgeSeconds,
          binding_required: route.bindingRequired,
        });
      }
    }
    return {
      resource,
      endpoint: url.pathname,
      price,
      facilitator: facilitatorRequirements,
      direct: directOptions,
      token: route.lanes.token,
      provider: failover.names[0] ?? "facilitator",
    };
  }

  const serving = new WeakMap<Decision, Serving>();
  const respond = (response: Response): Decision => ({ action: "respond", response });
  const internalError = () => jsonResponse(500, { error: "internal_error" });

  async function decide(
    request: Request,
    url: URL,
    route: RouteSettings,
    context: RouteContext,
  ): Promise<Decision> {
    const offer = await buildOffer(route, context, url);
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
    if (!route.lanes[lane]) return respond(refuse({ reason: `${lane}_lane_disabled`, lane }));

    const idempotency = readIdempotencyKey(request.headers);
    if (!idempotency.ok) return respond(refuse({ reason: idempotency.reason, status: 400, lane }));
    const idempotencyKey = idempotency.key;
    const proofHash = sha256Hex(proofMaterial(proofs));
    if (idempotencyKey !== undefined) {
      const kept = await idempotentResponses.lookup({ key: idempotencyKey, proofHash });
      if (kept?.kind === "conflict") {
        return respond(refuse({ reason: "idempotency_key_conflict", status: 409, lane }));
      }
      if (kept?.kind === "replay") return respond(kept.response);
    }

    const ctx: LaneContext = {
      request,
      route: context.route,
      offer,
      settlement: route.settlement,
      requestId: randomId(),
      proofHash,
      idempotencyKey,
      store,
      now,
      emit,
      refuse,
    };
    const outcome = await runLane({
      lane,
      proofs,
      ctx,
      facilitator: facilitatorSettings,
      direct: directSettings,
      bindingRequired: route.bindingRequired,
    });
    if (outcome === undefined) return respond(internalError());
    if (outcome.kind === "respond") return respond(outcome.response);
    const decision: Decision = { action: "serve", lane: outcome.lane, route: context.route };
    serving.set(decision, { finish: outcome.finish, idempotencyKey, proofHash });
    return decision;
  }

  async function handle(request: Request, options: HandleOptions = {}): Promise<Decision> {
    try {
      const url = new URL(request.url);
      const match = matchRoute(compiled, {
        methods: requestMethods(request.method, request.headers),
        pathname: url.pathname,
        ...(options.target === undefined ? {} : { target: options.target }),
      });
      if (match === undefined) return { action: "pass" };
      if (hasFacilitators) failover.refreshIfStale();
      return await decide(request, url, match.value, { request, params: match.params, route: match.pattern });
    } catch (error) {
      emit({ type: "error", where: "handle", error });
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
        error: invalidConfig("settle", "decision settled twice or unknown"),
      });
      return internalError();
    }
    try {
      const final = await state.finish(response);
      if (state.idempotencyKey !== undefined && final.status < 400) {
        return await idempotentResponses.remember({
          key: state.idempotencyKey,
          proofHash: state.proofHash,
          response: final,
        });
      }
      return final;
    } catch (error) {
      emit({ type: "error", where: "settle", error });
      discardBody(response);
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
    async issueToken({ amount, ttlSeconds = tokenTtlSeconds }): Promise<IssuedToken> {
      const atomic = typeof amount === "bigint" ? amount : parseUsd(amount);
      if (atomic <= 0n) throw invalidConfig("issueToken.amount", "must be positive");
      return issueToken({ store, amount: atomic, nowSeconds: Math.floor(now() / 1000), ttlSeconds });
    },
    ready: () => (hasFacilitators ? failover.refresh() : Promise.resolve()),
    close: async () => defaultTransport?.close(),
  });
}
