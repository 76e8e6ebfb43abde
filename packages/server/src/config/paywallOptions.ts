import type { Logger, NetworkRegistry } from "@tollgate/shared";
import type { Store } from "../store/store.js";
import type { DirectChain } from "../verify/direct/directChain.js";
import type { SettlementCheck } from "../verify/facilitator/facilitatorLane.js";
import type { PaymentSignatureCheck } from "../verify/facilitator/localChecks.js";
import type { FacilitatorOption, InProcessFacilitator } from "../verify/fallback/facilitators.js";
import type { FacilitatorTransport } from "../verify/fallback/transport.js";
import type { PaywallEvent } from "../verify/laneContext.js";
import type { RuntimeSwitches } from "./runtimeSwitches.js";

/** What a price or payee function gets: the request and the route it matched. */
export type RouteContext = Readonly<{
  request: Request;
  /** Path parameters: `:name` by name, and `*` for a trailing wildcard. */
  params: Readonly<Record<string, string>>;
  /** The matched pattern, e.g. `"GET /v1/items/:id"`. */
  route: string;
}>;

/** Payees of the facilitator lane: one address for every network, or one per network (CAIP-2 or v1 name). */
export type Payees = string | Readonly<Record<string, string>>;

/** Which lanes are on. Each defaults to on; a lane is also off when it has nothing configured. */
export type LaneSwitches = Readonly<{ facilitator?: boolean; direct?: boolean; token?: boolean }>;

/** One priced route. */
export type RouteConfig = Readonly<{
  /** Decimal USD (`"$0.01"`, `"0.01"`), or a function of the request giving one. */
  price: string | ((context: RouteContext) => string | Promise<string>);
  /**
   * What is sold, in the 402.
   * @default ""
   */
  description?: string;
  /**
   * MIME type of the paid response, in the 402.
   * @default "application/json"
   */
  mimeType?: string;
  /**
   * Facilitator-lane networks (CAIP-2 or v1 names).
   * @default the paywall's `networks`
   */
  networks?: readonly string[];
  /**
   * Facilitator-lane payees, or a function of the request giving them.
   * @default the paywall's `payTo`
   */
  payTo?: Payees | ((context: RouteContext) => Payees | Promise<Payees>);
  /**
   * `after`: verify, run the handler, settle only when it answered below 400 (a failed settlement discards the
   * body and answers 402). `before`: settle, then run the handler (the payer is charged whatever it answers).
   * @default "after"
   */
  settlement?: "after" | "before";
  /**
   * How long a signed authorization stays valid, in seconds (the requirement's `maxTimeoutSeconds`).
   * @default 60
   */
  maxTimeoutSeconds?: number;
  /**
   * Lanes switched off for this route only.
   * @default all lanes the paywall has on
   */
  lanes?: LaneSwitches;
  /**
   * Whether a direct transfer must carry the sender's `X-PAYMENT-TX-SIG` (off only for clients that cannot sign).
   * @default the direct lane's `bindingRequired`
   */
  bindingRequired?: boolean;
}>;

/** One chain of the direct lane. */
export type DirectNetworkConfig = Readonly<{
  /** Reads transfers on the chain, e.g. `createEvmDirectChain` of `@tollgate/server/evm`. */
  chain: DirectChain;
  /** Who must receive the transfer. */
  payTo: string;
  /**
   * The token contract or mint accepted.
   * @default the registry's USDC of the chain's network
   */
  asset?: string;
  /**
   * Blocks required (EVM, counting the transaction's own block).
   * @default 1
   */
  confirmations?: number;
  /**
   * The oldest transfer accepted, in seconds.
   * @default 604_800 (7 days)
   */
  maxAgeSeconds?: number;
}>;

/** The direct-transfer lane. */
export type DirectLaneConfig = Readonly<{
  /** @default true */
  enabled?: boolean;
  networks: readonly DirectNetworkConfig[];
  /**
   * The least transfer accepted, decimal USD; below it the money is credited as a prepaid token.
   * @default "$0.10"
   */
  minAmount?: string;
  /**
   * Whether the sender must bind the transfer to this server with `X-PAYMENT-TX-SIG`.
   * @default true
   */
  bindingRequired?: boolean;
  /**
   * Public origins (`https://api.example.com`) a binding may name, for servers behind proxies.
   * @default the request's own origin
   */
  origins?: readonly string[];
  /**
   * Deadline of one transaction look-up, in milliseconds.
   * @default 10_000
   */
  lookupTimeoutMs?: number;
  /**
   * `Retry-After` of a transfer not found yet or short of confirmations, in seconds.
   * @default 5
   */
  retryAfterSeconds?: number;
}>;

/** The prepaid-token lane. */
export type TokenLaneConfig = Readonly<{
  /** @default true */
  enabled?: boolean;
  /**
   * Lifetime of a new token, in seconds.
   * @default 2_592_000 (30 days)
   */
  ttlSeconds?: number;
}>;

/** Parameters of `createPaywall`. */
export type CreatePaywallParameters = Readonly<{
  /**
   * Priced routes, `"METHOD /path"` (method optional; `:name` and `*` segments) to a config or a price. The
   * first matching route in this order wins; paths are matched in every normalised form (`pathForms`). A
   * request whose readings (HEAD as GET, method-override headers, path forms) reach different routes is
   * refused 400 `ambiguous_route`. A route with a method sells only that method: see `unpricedMethods` for the
   * others; a route without one prices every method.
   */
  routes: Readonly<Record<string, RouteConfig | string>>;
  /**
   * What a request to a priced path gets when no route prices its method (e.g. `POST` where only
   * `"GET /v1/report"` is priced): `"refuse"` answers 405 `method_not_allowed` with an `Allow` header listing the
   * priced methods, since an app that routes on the path alone would serve the paid content to that method for
   * free (or, when a later route without a method matches too, at that route's price); `"pass"` hands it to the app untouched, for apps whose every handler of a priced path is method-aware
   * (Express's `app.get`, Hono's `app.get`) and that serve other methods of it for free on purpose. A route
   * without a method prices every method and is never refused this way.
   * @default "refuse"
   */
  unpricedMethods?: "refuse" | "pass";
  /**
   * Facilitator-lane networks of every route (CAIP-2 or v1 names).
   * @default []
   */
  networks?: readonly string[];
  /**
   * Facilitator-lane payees of every route. Required when a route has facilitator networks.
   * @default none
   */
  payTo?: Payees;
  /**
   * Remote facilitators, in priority order.
   * @default []
   */
  facilitators?: readonly FacilitatorOption[];
  /**
   * Our own facilitator in process (`createFacilitator`), the last resort after the remote ones.
   * @default none (no self-settlement)
   */
  selfSettle?: InProcessFacilitator;
  /**
   * How remote facilitators are called.
   * @default createUndiciTransport()
   */
  transport?: FacilitatorTransport;
  /**
   * The direct-transfer lane.
   * @default none (the lane is off)
   */
  direct?: DirectLaneConfig;
  /**
   * The prepaid-token lane.
   * @default { enabled: true, ttlSeconds: 2_592_000 }
   */
  tokens?: TokenLaneConfig;
  /**
   * Switches for whole lanes (the seed's rollback plan: `{ facilitator: false }` is "direct only").
   * @default all on
   */
  lanes?: LaneSwitches;
  /**
   * Run-time switches of lanes and facilitators (`createRuntimeSwitches`), read on every request: an operator
   * turns a lane or a facilitator off and on again without a restart (the admin API of `@tollgate/server/admin`).
   * They narrow `lanes` and `facilitators`, never widen them. The paywall declares its facilitators' names to them.
   * @default none (the configuration alone)
   */
  switches?: RuntimeSwitches;
  /**
   * The analytics queue (records are written to the store off the paid path, in batches; when the queue is full a
   * record is dropped and counted, never waited for).
   * @default { maxQueue: 10_000, batchSize: 256, flushIntervalMs: 1_000 }
   */
  analytics?: Readonly<{
    /** @default 10_000 */
    maxQueue?: number;
    /** @default 256 */
    batchSize?: number;
    /** @default 1_000 */
    flushIntervalMs?: number;
  }>;
  /**
   * Claims, tokens, idempotent responses and analytics.
   * @default createMemoryStore({ now })
   */
  store?: Store;
  /**
   * Network and asset registry.
   * @default createNetworkRegistry()
   */
  registry?: NetworkRegistry;
  /**
   * By network (CAIP-2 or v1 name): how to ask the chain whether a payment settled after a `/settle` answer was
   * lost, e.g. `createEvmSettlementCheck` of `@tollgate/server/evm`. A direct-lane chain built with its RPC
   * (`createEvmDirectChain` with a viem client, `createSvmDirectChain` with a `connection`) gives its network one
   * by default. Fails closed: `createPaywall` throws `SERVER__INVALID_CONFIG` when a route takes facilitator-lane
   * payments on a network with none, since a facilitator that settles and then loses its answer would leave the
   * payer charged and answered `settlement_pending` for ever; `false` accepts exactly that for a network.
   * @default the direct lane's chains' checks
   */
  settlementChecks?: Readonly<Record<string, SettlementCheck | false>>;
  /**
   * By network (CAIP-2 or v1 name): an EVM payer's signature check run before its proof is claimed, e.g.
   * `createEvmPaymentSignatureCheck` of `@tollgate/server/evm`; a signature that certainly is not the payer's is
   * refused without a claim or a facilitator call. Solana signatures are always checked in process.
   * @default the direct lane's chains' checks (none on networks without a direct-lane chain)
   */
  signatureChecks?: Readonly<Record<string, PaymentSignatureCheck>>;
  /**
   * `Idempotency-Key` handling: one key runs the handler once. Its first request reserves it; a retry with the same
   * proof gets the kept response, or 402 `settlement_pending` with `Retry-After: 1` while the first still runs, or 409 `idempotency_response_not_kept` when that run was charged but its response was larger than
   * `maxBodyBytes` (send a new key to buy it again); another proof gets 409 `idempotency_key_conflict`. A run that
   * charged nothing (refused, or not charged for a handler answer of 400 or more) gives the key back.
   * @default { maxBodyBytes: 65_536, ttlSeconds: 86_400, inFlightSeconds: 300 }
   */
  idempotency?: Readonly<{
    /**
     * Largest body kept, in bytes; a larger response is served but not kept, and its key is not run again.
     * @default 65_536
     */
    maxBodyBytes?: number;
    /**
     * How long a finished run's response (or the note that it was not kept) is kept, in seconds. Keep it at most
     * the store's memory of token debits (`operationTtlSeconds` of the memory store).
     * @default 86_400
     */
    ttlSeconds?: number;
    /**
     * How long a key stays reserved by a request that never finishes (its process died), in seconds; make it
     * longer than the slowest request (verify, handler, settle).
     * @default 300
     */
    inFlightSeconds?: number;
  }>;
  /**
   * How long a facilitator-lane proof's `pending` claim may sit unmoved before it counts as abandoned, in seconds:
   * its server process died (e.g. SIGKILL) mid-request, maybe with its `/settle` in flight. A retry presenting
   * the same proof then takes the claim over (one retry of any number at once) and resolves it as a
   * `settlement_pending` one: the chain is asked whether it settled, else it is settled again (the facilitator and
   * the chain refuse a second payment). Make it longer than the slowest verify or settle, through every
   * facilitator of the failover (a request re-holds its claim after its handler, before it settles, and does not
   * settle when a retry took it over). A retry with the same `Idempotency-Key` waits for
   * `idempotency.inFlightSeconds` first. The rule only helps a proof still valid by then: an EVM authorization
   * past its `validBefore` (the route's `maxTimeoutSeconds`, 60 s by default) is refused `evm_valid_before` before
   * its claim is looked at, so raise `maxTimeoutSeconds` where a died request's retry must still be served.
   * @default 300
   */
  staleClaimSeconds?: number;
  /**
   * `Retry-After` values, in seconds.
   * @default { facilitatorUnavailable: 10, settlementPending: 5 }
   */
  retryAfterSeconds?: Readonly<{
    /** @default 10 */
    facilitatorUnavailable?: number;
    /** @default 5 */
    settlementPending?: number;
  }>;
  /**
   * How often facilitators' `/supported` is read again, in milliseconds.
   * @default 600_000
   */
  supportedRefreshMs?: number;
  /**
   * The clock, in milliseconds since the epoch.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Receives every event; must not throw (a throw is ignored).
   * @default none
   */
  onEvent?: (event: PaywallEvent) => void;
  /**
   * Writes every event as one line (pino's shape: `info/warn/error(obj, msg)`, `debug` optional), beside
   * `onEvent`: secrets redacted (proofs, tokens, authorisation headers, RPC URLs' keys), amounts as decimal
   * strings. Refusals, failovers and unavailable dependencies are `warn`, internal failures `error`, the routine
   * steps of a payment `debug`.
   * @default none
   */
  logger?: Logger;
}>;
