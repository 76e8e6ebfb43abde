import { TollgateError } from "@tollgate/shared";
import { networkMatches } from "../wallet.js";
import { createBudgetTracker, type Hold } from "./budgets.js";
import type { DirectFeeLimit } from "./policy.js";

/** What a direct transfer holds against the fee budgets of its network, until it is known what it paid. */
type FeeHold = readonly Readonly<{ tracker: number; hold: Hold }>[];

/** Parameters of `createFeeTracker`. */
export type CreateFeeTrackerParameters = Readonly<{
  /** `policy.direct.fees`. */
  limits: readonly DirectFeeLimit[];
  now: () => number;
}>;

/**
 * The fee (gas) limits of the direct lane, in native units per network: a cap per transfer and cumulative budgets.
 * `reserve` checks the cap and every matching budget and holds the fee of a transfer (by its id) in one synchronous
 * step (so concurrent transfers cannot overspend), `settle` replaces the held maximum by what the transfer paid,
 * `release` drops the hold of a transfer that was never broadcast or paid nothing.
 *
 * @example
 * ```ts
 * const fees = createFeeTracker({ limits: [{ network: "eip155:*", maxPerPayment: 10n ** 15n }], now: Date.now });
 * fees.reserve({ tx: "0xabc…", network: "eip155:8453", origin: "https://api.example.com", fee: 10n ** 14n });
 * fees.settle("0xabc…", 6n * 10n ** 13n);
 * ```
 */
export function createFeeTracker(parameters: CreateFeeTrackerParameters) {
  const { limits, now } = parameters;
  const trackers = limits.map((limit) => createBudgetTracker({ budgets: limit.budgets ?? [], now }));
  /** Holds of transfers whose fee is not known yet, by transaction id. */
  const held = new Map<string, FeeHold>();

  const matching = (network: string) =>
    limits.flatMap((limit, index) => (networkMatches(limit.network, network) ? [index] : []));

  return Object.freeze({
    /**
     * Holds `fee` against every limit of `network`; `fee` undefined (the wallet cannot tell) passes only when no limit
     * applies.
     * @throws `CLIENT__FEE_LIMIT_EXCEEDED`
     */
    reserve(p: Readonly<{ tx: string; network: string; origin: string; fee: bigint | undefined }>): void {
      const { tx, network, origin, fee } = p;
      const applying = matching(network);
      if (applying.length === 0) return;
      const exceeded = (limit: string, remaining: bigint) =>
        new TollgateError("CLIENT__FEE_LIMIT_EXCEEDED", {
          context: {
            network,
            fee: fee === undefined ? "unknown" : fee.toString(),
            limit,
            remaining: remaining.toString(),
          },
        });
      for (const index of applying) {
        const { maxPerPayment } = limits[index]!;
        if (maxPerPayment === undefined) continue;
        if (fee === undefined || fee > maxPerPayment) throw exceeded("maxPerPayment", maxPerPayment);
      }
      if (fee === undefined) {
        const budget = applying.map((i) => limits[i]!.budgets?.[0]).find((b) => b !== undefined);
        if (budget !== undefined) throw exceeded(budget.name ?? budget.window, 0n);
        return;
      }
      for (const index of applying) {
        const violation = trackers[index]!.check(fee, origin);
        if (violation !== undefined) throw exceeded(violation.budget, violation.remaining);
      }
      const holds = applying.map((index) => {
        const reservation = trackers[index]!.reserve(fee, origin);
        // Checked just above in the same synchronous step, so every reservation fits.
        if (!("hold" in reservation))
          throw exceeded(reservation.violation.budget, reservation.violation.remaining);
        return { tracker: index, hold: reservation.hold };
      });
      held.set(tx, holds);
    },
    /**
     * Counts what the transfer `tx` paid instead of its held maximum (a fee above the maximum, or an unknown one,
     * keeps the maximum).
     */
    settle(tx: string, paid: bigint | undefined): void {
      const feeHold = held.get(tx);
      held.delete(tx);
      if (feeHold === undefined || paid === undefined) return;
      for (const { tracker, hold } of feeHold) {
        if (paid >= hold.amount) continue;
        const budgets = trackers[tracker]!;
        budgets.release(hold);
        // Never fails: the released hold left at least `paid` of room in the same synchronous step.
        budgets.reserve(paid, hold.origin);
      }
    },
    /** Drops the hold of the transfer `tx`: it was never broadcast, or can never land and paid no fee. */
    release(tx: string): void {
      for (const { tracker, hold } of held.get(tx) ?? []) trackers[tracker]!.release(hold);
      held.delete(tx);
    },
  });
}

/** The fee limits of the direct lane. */
export type FeeTracker = ReturnType<typeof createFeeTracker>;
