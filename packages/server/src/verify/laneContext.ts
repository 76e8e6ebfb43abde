import type { Lane } from "@tollgate/shared";
import type { RouteOffer } from "../respond/paymentRequired.js";
import type { Store } from "../store/store.js";

/** Events a paywall reports, for logs and metrics. Never carries a proof, a token or a secret. */
export type PaywallEvent =
  | Readonly<{ type: "payment_required"; route: string }>
  | Readonly<{ type: "refused"; route: string; lane?: Lane; reason: string; status: number }>
  | Readonly<{
      type: "facilitator_call";
      facilitator: string;
      endpoint: "verify" | "settle" | "supported";
      outcome: "answer" | "unavailable";
      /** Why it was unavailable: `timeout`, `connect`, `network`, `status:503`, `malformed`, `error`. */
      detail?: string;
      durationMs: number;
    }>
  /** A proof of `lane` arrived (the funnel's step after `payment_required`). */
  | Readonly<{ type: "proof_received"; route: string; lane: Lane; network?: string }>
  /** The proof passed the lane's local checks (shape, requirement, time window, claim; token known and live). */
  | Readonly<{ type: "proof_checked"; route: string; lane: Lane; network?: string }>
  /**
   * The payment was verified: a facilitator's `/verify` (or `/settle`) said valid, the direct transfer was read on
   * chain and accepted, the token debited. `durationMs` since the proof was received.
   */
  | Readonly<{
      type: "verified";
      route: string;
      lane: Lane;
      network?: string;
      facilitator?: string;
      durationMs: number;
    }>
  /**
   * The money moved: a settlement, a direct transfer's claim recorded as settled, a token debit. `durationMs` since
   * the proof was received. Not yet served: see `paid`.
   */
  | Readonly<{
      type: "settled";
      route: string;
      lane: Lane;
      /** Atomic units. */
      amount: bigint;
      network?: string;
      asset?: string;
      payer?: string;
      transaction?: string;
      facilitator?: string;
      durationMs: number;
    }>
  /** A charge was given back (the handler answered 400 or more): the request is not a payment. */
  | Readonly<{
      type: "refunded";
      route: string;
      lane: Lane;
      amount: bigint;
      network?: string;
      reason: string;
    }>
  /**
   * A `/settle` may have moved money and its fate is unknown: the client retries the same proof. Once per payment:
   * a retry that finds its fate still unknown is refused `settlement_pending` (a `refused`) without another one.
   */
  | Readonly<{
      type: "settlement_pending";
      route: string;
      lane: Lane;
      network?: string;
      facilitator?: string;
    }>
  /** A facilitator was unavailable and the next one (or the direct lane, `to: "direct"`) was offered. */
  | Readonly<{ type: "failed_over"; route: string; from: string; to: string; reason: string }>
  /** A chain RPC request the paywall made (direct-lane reads, settlement checks); `network` is CAIP-2. */
  | Readonly<{ type: "rpc_call"; network: string; outcome: "answer" | "unavailable"; durationMs: number }>
  /** Served: charged and its response delivered (the funnel's last step). Never for a refunded request. */
  | Readonly<{
      type: "paid";
      route: string;
      lane: Lane;
      /** Atomic USDC units taken for this request. */
      amount: bigint;
      network?: string;
      /** The asset's address or mint. */
      asset?: string;
      payer?: string;
      transaction?: string;
      facilitator?: string;
    }>
  | Readonly<{ type: "not_charged"; route: string; lane: Lane; status: number }>
  | Readonly<{ type: "token_issued"; route: string; amount: bigint; network?: string }>
  | Readonly<{ type: "error"; where: string; error: unknown }>;

/** A refusal to send: a stable reason with its status and extra headers. */
export type Refusal = Readonly<{
  reason: string;
  /** @default 402 */
  status?: number;
  retryAfterSeconds?: number;
  headers?: Readonly<Record<string, string>>;
}>;

/** What a lane decided for one request. */
export type LaneOutcome =
  | Readonly<{ kind: "respond"; response: Response }>
  | Readonly<{
      kind: "serve";
      lane: Lane;
      /** Settles (or keeps) the payment for the handler's response and returns what the client gets. */
      finish(response: Response): Promise<Response>;
    }>;

/** What a lane gets for one request. */
export type LaneContext = Readonly<{
  request: Request;
  /** The matched route pattern. */
  route: string;
  offer: RouteOffer;
  settlement: "after" | "before";
  /** A random id of this request: the owner of its claims. */
  requestId: string;
  /** SHA-256 (hex) of the lane's proof header values. */
  proofHash: string;
  /** SHA-256 (hex) of the `Idempotency-Key`, when sent. */
  idempotencyKey: string | undefined;
  store: Store;
  /** The paywall's clock, in milliseconds. */
  now: () => number;
  /** When the proof was received (the paywall's clock): events' `durationMs` count from it. */
  receivedAt: number;
  emit(event: PaywallEvent): void;
  /** The hybrid 402 (or 400/409) for this route with `reason`, counted as a refusal. */
  refuse(refusal: Refusal & Readonly<{ lane?: Lane }>): Response;
}>;
