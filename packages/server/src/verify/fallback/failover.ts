import type { SettleResponse, SupportedKind, VerifyResponse } from "@tollgate/shared";
import type { CallOutcome, FacilitatorEndpoint, UnavailableReason } from "./facilitators.js";
import { type ExpectedAnswer, implausibleSettle, implausibleVerify } from "./plausibleAnswer.js";

/** The result of asking facilitators in order: the first definitive answer, or none available. */
export type FailoverResult<T> =
  | Readonly<{
      kind: "answer";
      facilitator: string;
      answer: T;
      /** Whether an earlier facilitator's call may have arrived (its `/settle` may have moved money). */
      earlierMayHaveArrived: boolean;
      /** The facilitators that were unavailable before this one answered, in order. */
      attempts?: readonly Readonly<{ facilitator: string; reason: UnavailableReason }>[];
    }>
  | Readonly<{
      kind: "unavailable";
      /** Whether any of the calls may have reached a facilitator (a `/settle` may then have moved money). */
      mayHaveArrived: boolean;
      attempts: readonly Readonly<{ facilitator: string; reason: UnavailableReason }>[];
    }>;

/** One call's report, for events and analytics. */
export type FacilitatorCallReport = Readonly<{
  facilitator: string;
  endpoint: "verify" | "settle" | "supported";
  outcome: "answer" | "unavailable";
  detail?: string;
  durationMs: number;
}>;

/** Which kind a payment is, to skip facilitators whose `/supported` does not list its network. */
export type PaymentKind = Readonly<{
  scheme: string;
  network: string;
  v1Name?: string;
  /**
   * Solana: the fee payer named in the offer. Only the facilitator that lists it in `/supported` can co-sign,
   * so the payment goes to no other (nor to one whose list is unknown).
   */
  feePayer?: string;
}>;

/** Parameters of `createFailover`. */
export type CreateFailoverParameters = Readonly<{
  /** In priority order; the in-process facilitator, if any, last. */
  endpoints: readonly FacilitatorEndpoint[];
  /** The clock, in milliseconds. */
  now: () => number;
  /** How often `/supported` is read again, in milliseconds. */
  supportedRefreshMs: number;
  onCall?: (report: FacilitatorCallReport) => void;
  /**
   * Whether a facilitator is switched on, read for every payment (a switched-off one is skipped; run-time switches).
   * @default every facilitator on
   */
  isOn?: (name: string) => boolean;
}>;

/** Facilitators in priority order with failover on unavailability only, and their `/supported` lists. */
export type Failover = Readonly<{
  /**
   * Asks each facilitator that may support `kind`, in order, until one answers definitively. With `expected`, an
   * `isValid: true` that contradicts it (another payer) is a malformed answer: that facilitator is unavailable.
   */
  verify(
    body: unknown,
    kind: PaymentKind,
    expected?: ExpectedAnswer,
  ): Promise<FailoverResult<VerifyResponse>>;
  /**
   * Same for `/settle`. With `expected`, a `success: true` naming another network, a malformed or empty
   * transaction, another payer or another amount is a malformed answer that may have arrived (money may have
   * moved): that facilitator is unavailable, and the caller must ask the chain.
   */
  settle(
    body: unknown,
    kind: PaymentKind,
    expected?: ExpectedAnswer,
  ): Promise<FailoverResult<SettleResponse>>;
  /** Reads every facilitator's `/supported` (again); resolves when all answered or failed. */
  refresh(): Promise<void>;
  /** Starts a refresh when the lists are older than the refresh interval; never waits. */
  refreshIfStale(): void;
  /** The first `extra.feePayer` listed for a Solana network, by the first facilitator that lists one. */
  feePayer(network: string): string | undefined;
  /** Names of the facilitators, in order. */
  names: readonly string[];
}>;

/** Builds the failover over facilitator endpoints (DESIGN §4: fail over only when one is unavailable). */
export function createFailover(parameters: CreateFailoverParameters): Failover {
  const { endpoints, now, supportedRefreshMs, onCall, isOn = () => true } = parameters;
  const kinds = new Map<string, readonly SupportedKind[]>();
  let loadedAt: number | undefined;
  let loading: Promise<void> | undefined;

  const report = (r: FacilitatorCallReport) => {
    try {
      onCall?.(r);
    } catch {
      // An observer's failure must not change a payment's outcome.
    }
  };

  function mayServe(endpoint: FacilitatorEndpoint, kind: PaymentKind): boolean {
    const listed = kinds.get(endpoint.name);
    // Unknown list: try it (it answers definitively if it cannot), except for a bound Solana fee payer.
    if (listed === undefined) return kind.feePayer === undefined;
    return listed.some(
      (k) =>
        k.scheme === kind.scheme &&
        (k.network === kind.network || k.network === kind.v1Name) &&
        (kind.feePayer === undefined || k.extra?.feePayer === kind.feePayer),
    );
  }

  /** The call's outcome, with an answer that contradicts `expected` turned into a malformed one. */
  function believed(
    endpointName: "verify" | "settle",
    outcome: CallOutcome<VerifyResponse | SettleResponse>,
    expected: ExpectedAnswer | undefined,
  ): CallOutcome<VerifyResponse | SettleResponse> & { issue?: string } {
    if (outcome.kind !== "answer" || expected === undefined) return outcome;
    const issue =
      endpointName === "verify"
        ? implausibleVerify(outcome.answer as VerifyResponse, expected)
        : implausibleSettle(outcome.answer as SettleResponse, expected);
    if (issue === undefined) return outcome;
    return { kind: "unavailable", reason: "malformed", status: outcome.status, mayHaveArrived: true, issue };
  }

  async function inOrder<T>(
    endpointName: "verify" | "settle",
    body: unknown,
    kind: PaymentKind,
    expected: ExpectedAnswer | undefined,
  ): Promise<FailoverResult<T>> {
    const attempts: { facilitator: string; reason: UnavailableReason }[] = [];
    let mayHaveArrived = false;
    for (const endpoint of endpoints) {
      if (!isOn(endpoint.name) || !mayServe(endpoint, kind)) continue;
      const started = now();
      const outcome = believed(endpointName, await endpoint[endpointName](body), expected);
      if (outcome.kind === "answer") {
        report({
          facilitator: endpoint.name,
          endpoint: endpointName,
          outcome: "answer",
          durationMs: now() - started,
        });
        return {
          kind: "answer",
          facilitator: endpoint.name,
          answer: outcome.answer as T,
          earlierMayHaveArrived: mayHaveArrived,
          ...(attempts.length === 0 ? {} : { attempts }),
        };
      }
      report({
        facilitator: endpoint.name,
        endpoint: endpointName,
        outcome: "unavailable",
        detail: [outcome.reason, outcome.status, outcome.issue]
          .filter((part) => part !== undefined)
          .join(":"),
        durationMs: now() - started,
      });
      attempts.push({ facilitator: endpoint.name, reason: outcome.reason });
      mayHaveArrived ||= outcome.mayHaveArrived;
    }
    return { kind: "unavailable", mayHaveArrived, attempts };
  }

  async function refresh(): Promise<void> {
    loading ??= (async () => {
      await Promise.all(
        endpoints.map(async (endpoint) => {
          const started = now();
          const supported = await endpoint.supported().catch(() => undefined);
          report({
            facilitator: endpoint.name,
            endpoint: "supported",
            outcome: supported === undefined ? "unavailable" : "answer",
            durationMs: now() - started,
          });
          if (supported !== undefined) kinds.set(endpoint.name, supported.kinds);
        }),
      );
      loadedAt = now();
    })().finally(() => {
      loading = undefined;
    });
    return loading;
  }

  return Object.freeze({
    verify: (body: unknown, kind: PaymentKind, expected?: ExpectedAnswer) =>
      inOrder<VerifyResponse>("verify", body, kind, expected),
    settle: (body: unknown, kind: PaymentKind, expected?: ExpectedAnswer) =>
      inOrder<SettleResponse>("settle", body, kind, expected),
    refresh,
    refreshIfStale(): void {
      if (loading !== undefined) return;
      if (loadedAt !== undefined && now() - loadedAt < supportedRefreshMs) return;
      void refresh();
    },
    feePayer(network: string): string | undefined {
      for (const endpoint of endpoints) {
        if (!isOn(endpoint.name)) continue;
        for (const kind of kinds.get(endpoint.name) ?? []) {
          const feePayer = kind.extra?.feePayer;
          if (kind.network === network && typeof feePayer === "string") return feePayer;
        }
      }
      return undefined;
    },
    names: endpoints.map((e) => e.name),
  });
}
