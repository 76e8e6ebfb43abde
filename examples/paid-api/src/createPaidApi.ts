import {
  createMemoryStore,
  createPaywall,
  createRuntimeSwitches,
  type DirectChain,
  type FacilitatorOption,
  type InProcessFacilitator,
  type Paywall,
  type PaywallEvent,
  payaiFacilitator,
  type SettlementCheck,
  type Store,
  type StoreAdmin,
} from "@tollgate/server";
import { type AdminApi, createAdminApi, type PendingSettlementResolver } from "@tollgate/server/admin";
import { createPaywallMetrics, type PaywallMetrics } from "@tollgate/server/metrics";
import { createNetworkRegistry, formatUsd } from "@tollgate/shared";
import { adminKeyOf, type PaidApiConfig } from "./config.js";
import { createFacilitatorStates } from "./operations/facilitatorStates.js";
import { createOperationsRoutes } from "./operations/operationsRoutes.js";
import { createReadiness } from "./operations/readiness.js";

/** The chains the reference server reads direct transfers from, built from RPC URLs or injected by tests. */
export type PaidApiChains = Readonly<{ base?: DirectChain; ethereum?: DirectChain; solana?: DirectChain }>;

/** One payment the server took, as its operator sees it. */
export type PaymentRecord = Readonly<{
  at: number;
  route: string;
  lane: string;
  network: string;
  amount: bigint;
  payer: string;
  transaction: string;
  facilitator: string;
}>;

/** Parameters of `createPaidApi`. */
export type CreatePaidApiParameters = Readonly<{
  config: PaidApiConfig;
  /** Where the direct lane reads transfers; a chain listed in `X402_DIRECT_CHAINS` must be here. */
  chains: PaidApiChains;
  /** Our own facilitator as the last resort (`createFacilitator` with the self-settle keys). */
  selfSettle?: InProcessFacilitator;
  /**
   * Chain checks for a facilitator-lane settlement whose answer was lost, by CAIP-2 network, so the payer is
   * served instead of being left pending. Each network the facilitator lane offers needs one, or `false`
   * (`createPaywall` refuses to start otherwise).
   * @default {}
   */
  settlementChecks?: Readonly<Record<string, SettlementCheck | false>>;
  /**
   * Where claims, token balances and idempotent responses live (`openStore(config)` opens the one the
   * configuration chose). The caller closes it.
   * @default createMemoryStore({ now }) (everything lost on a restart)
   */
  store?: Store & StoreAdmin;
  /**
   * By CAIP-2 network: how the admin API asks the chain about a pending settlement
   * (`createEvmPendingSettlementResolver`).
   * @default {}
   */
  adminResolvers?: Readonly<Record<string, PendingSettlementResolver>>;
  /** @default Date.now */
  now?: () => number;
  /** Sees every paywall event. */
  onEvent?: (event: PaywallEvent) => void;
  /**
   * How many payments `payments()` keeps: the latest ones, older ones dropped, so a long-running server's
   * memory stays bounded (it is an operator's view, not a ledger: `onEvent` sees every payment).
   * @default 1_000
   */
  maxPaymentRecords?: number;
  /**
   * How long `/readyz` waits for the store's answer, in milliseconds (slower: 503, `store: "timeout"`).
   * @default 2_000
   */
  readinessTimeoutMs?: number;
  /**
   * Wraps the paid endpoints (behind the paywall, after its checks): gets each paid request and the seed's own
   * handler, and answers for it, e.g. a test's endpoint that fails (a 5xx is refunded with settlement `after`).
   * @default the seed's search and report endpoints, unwrapped
   */
  wrapEndpoints?: (request: Request, endpoints: (request: Request) => Promise<Response>) => Promise<Response>;
}>;

/** The reference paid API: a Web handler, its paywall, and the payments it took. */
export type PaidApi = Readonly<{
  /** The paid endpoints behind the paywall, and `/healthz`, `/readyz` and `/metrics` (see `metricsFetch`). */
  fetch: (request: Request) => Promise<Response>;
  /**
   * `/metrics` alone, for a listener of its own: with `X402_METRICS_PORT` set, `fetch` does not answer
   * `/metrics` and this does (404 for anything else, and for `/metrics` too with `X402_METRICS_ENABLED=false`).
   */
  metricsFetch: (request: Request) => Promise<Response>;
  paywall: Paywall;
  /** The paywall's Prometheus metrics; `undefined` with `X402_METRICS_ENABLED=false`. */
  metrics: PaywallMetrics | undefined;
  /** The latest payments taken (at most `maxPaymentRecords`), oldest first. */
  payments(): readonly PaymentRecord[];
  /** The admin API (`TOLLGATE_ADMIN_KEY` set), for a listener of its own; `undefined` without a key. */
  admin: AdminApi | undefined;
}>;

const routes = {
  "GET /v1/search": { price: "$0.01", description: "Search the catalogue", mimeType: "application/json" },
  "GET /v1/report": { price: "$0.02", description: "A generated report", mimeType: "application/json" },
} as const;

/**
 * Builds the reference server of the seed deployment from its configuration: two paid endpoints ($0.01 and
 * $0.02) behind a hybrid paywall with PayAI first (then `X402_FACILITATOR_URLS`, then self-settlement), the
 * direct lane on Base, Ethereum and Solana, and prepaid tokens; `/health` is free. Before the paywall it
 * answers `/healthz` (alive), `/readyz` (the store answers a read within `readinessTimeoutMs`, and the
 * facilitators' last known state: 503 naming what is not ready) and `/metrics` (Prometheus text of
 * `createPaywallMetrics`, unless `X402_METRICS_ENABLED=false`; with `X402_METRICS_PORT` only `metricsFetch`
 * serves it).
 *
 * @example
 * ```ts
 * import { createPaidApi, loadConfig } from "paid-api";
 * const api = createPaidApi({ config: loadConfig(process.env), chains });
 * const response = await api.fetch(new Request("http://127.0.0.1:4020/v1/search?q=x402"));
 * ```
 */
export function createPaidApi(parameters: CreatePaidApiParameters): PaidApi {
  const {
    config,
    chains,
    selfSettle,
    settlementChecks = {},
    now = Date.now,
    onEvent,
    maxPaymentRecords = 1_000,
    readinessTimeoutMs = 2_000,
    adminResolvers = {},
  } = parameters;
  // Made here rather than by the paywall, so the admin API reads the same store.
  const store = parameters.store ?? createMemoryStore({ now });
  const switches = createRuntimeSwitches();
  if (!Number.isSafeInteger(maxPaymentRecords) || maxPaymentRecords < 1) {
    throw new RangeError("maxPaymentRecords must be a positive integer");
  }
  const registry = createNetworkRegistry();
  const base = registry.get(config.X402_BASE_NETWORK);
  const solana = registry.get(config.X402_SOLANA_NETWORK);
  const payments = latestRecords<PaymentRecord>(maxPaymentRecords);

  const facilitators: FacilitatorOption[] = [
    // PayAI first, with its Ed25519 JWT when the merchant key is configured.
    ...(config.X402_PAYAI_ENABLED
      ? [
          payaiFacilitator({
            url: config.X402_PAYAI_FACILITATOR_URL,
            ...(config.X402_PAYAI_API_KEY_ID && config.X402_PAYAI_API_KEY_SECRET
              ? { apiKeyId: config.X402_PAYAI_API_KEY_ID, apiKeySecret: config.X402_PAYAI_API_KEY_SECRET }
              : {}),
            now,
          }),
        ]
      : []),
    ...config.X402_FACILITATOR_URLS.map((url) => ({ url })),
  ];

  const payTo: Record<string, string> = {};
  if (config.X402_PAYAI_MERCHANT_ADDRESS) payTo[base.caip2] = config.X402_PAYAI_MERCHANT_ADDRESS;
  if (config.X402_SOLANA_PAYMENT_ADDRESS) payTo[solana.caip2] = config.X402_SOLANA_PAYMENT_ADDRESS;

  const directNetworks = config.X402_DIRECT_ENABLED
    ? config.X402_DIRECT_CHAINS.map((name) => {
        const chain = chains[name];
        if (!chain) throw new Error(`X402_DIRECT_CHAINS lists ${name}, but no chain access was built for it`);
        const settings = {
          base: { payTo: config.X402_BASE_PAYMENT_ADDRESS, confirmations: config.X402_BASE_CONFIRMATIONS },
          ethereum: {
            payTo: config.X402_ETHEREUM_PAYMENT_ADDRESS,
            confirmations: config.X402_ETHEREUM_CONFIRMATIONS,
          },
          solana: { payTo: config.X402_SOLANA_PAYMENT_ADDRESS, confirmations: 1 },
        }[name];
        return {
          chain,
          payTo: settings.payTo ?? "",
          confirmations: settings.confirmations,
          maxAgeSeconds: config.X402_MAX_TX_AGE_SECONDS,
        };
      })
    : [];

  const networkAssets: Record<string, string> = {};
  for (const caip2 of [...Object.keys(payTo), ...directNetworks.map((d) => d.chain.network)]) {
    const usdc = registry.find(caip2)?.usdc;
    if (usdc) networkAssets[caip2] = usdc.address;
  }
  const facilitatorNames = [
    ...facilitators.map((f) => f.name ?? new URL(f.url).host),
    ...(selfSettle ? ["self"] : []),
  ];
  const metrics = config.X402_METRICS_ENABLED
    ? createPaywallMetrics({
        routes: Object.keys(routes),
        facilitators: facilitatorNames,
        networks: networkAssets,
      })
    : undefined;
  const facilitatorStates = createFacilitatorStates({
    names: config.X402_USE_UNIFIED_GATEWAY ? facilitatorNames : [],
  });
  // Every store operation's outcome sets tollgate_store_up, the readiness probe's included.
  const paywallStore = metrics ? metrics.instrumentStore(store) : store;

  const paywall = createPaywall({
    routes,
    networks: Object.keys(payTo),
    payTo,
    facilitators,
    ...(selfSettle ? { selfSettle } : {}),
    settlementChecks,
    ...(directNetworks.length > 0
      ? {
          direct: {
            networks: directNetworks,
            minAmount: formatUsd(config.X402_MIN_DIRECT_PAYMENT_USD),
            ...(config.X402_PUBLIC_ORIGINS.length > 0 ? { origins: config.X402_PUBLIC_ORIGINS } : {}),
          },
        }
      : {}),
    tokens: { enabled: config.X402_TOKENS_ENABLED },
    lanes: {
      facilitator: config.X402_USE_UNIFIED_GATEWAY,
      direct: config.X402_DIRECT_ENABLED,
      token: config.X402_TOKENS_ENABLED,
    },
    registry,
    store: paywallStore,
    switches,
    staleClaimSeconds: config.TOLLGATE_STALE_CLAIM_SECONDS,
    now,
    onEvent: (event) => {
      metrics?.observe(event);
      facilitatorStates.observe(event);
      if (event.type === "paid") {
        payments.push({
          at: now(),
          route: event.route,
          lane: event.lane,
          network: event.network ?? "",
          amount: event.amount,
          payer: event.payer ?? "",
          transaction: event.transaction ?? "",
          facilitator: event.facilitator ?? "",
        });
      }
      onEvent?.(event);
    },
  });

  const app = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const json = (body: unknown) => Response.json(body, { headers: { "cache-control": "no-store" } });
    if (url.pathname === "/health") return json({ ok: true });
    if (url.pathname === "/v1/search") {
      const q = url.searchParams.get("q") ?? "";
      return json({ query: q, results: [`${q} — result 1`, `${q} — result 2`] });
    }
    if (url.pathname === "/v1/report")
      return json({ report: "All systems paid.", generatedAt: new Date(now()).toISOString() });
    return Response.json({ error: "not_found" }, { status: 404 });
  };

  const adminKey = adminKeyOf(config);
  const admin =
    adminKey === undefined
      ? undefined
      : createAdminApi({ key: adminKey, store, switches, resolvers: adminResolvers, now });
  const operations = createOperationsRoutes({
    readiness: createReadiness({
      store: paywallStore,
      facilitators: facilitatorStates.states,
      facilitatorLaneOnly:
        config.X402_USE_UNIFIED_GATEWAY && !config.X402_DIRECT_ENABLED && !config.X402_TOKENS_ENABLED,
      timeoutMs: readinessTimeoutMs,
    }),
    metrics,
    analyticsDropped: () => paywall.analytics.dropped(),
  });
  const { wrapEndpoints } = parameters;
  const paid = paywall.fetch(
    wrapEndpoints === undefined ? app : (request: Request) => wrapEndpoints(request, app),
  );
  const withMetrics = config.X402_METRICS_PORT === undefined;

  return Object.freeze({
    fetch: (request: Request) => operations.answer(request, { withMetrics }) ?? paid(request),
    metricsFetch: operations.metricsFetch,
    paywall,
    metrics,
    payments: () => payments.list(),
    admin,
  });
}

/**
 * A ring buffer of the latest `capacity` records: `push` is O(1) and overwrites the oldest once full; `list`
 * copies them out, oldest first.
 */
function latestRecords<T>(capacity: number): { push(record: T): void; list(): T[] } {
  const ring: T[] = [];
  let next = 0; // Where the next record goes once the ring is full: the oldest record's slot.
  return {
    push(record) {
      if (ring.length < capacity) ring.push(record);
      else ring[next] = record;
      next = (next + 1) % capacity;
    },
    list: () => (ring.length < capacity ? [...ring] : [...ring.slice(next), ...ring.slice(0, next)]),
  };
}
