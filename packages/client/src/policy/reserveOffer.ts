import { TollgateError } from "@tollgate/shared";
import type { OfferRejection } from "../events.js";
import type { PaymentContext } from "../paymentContext.js";
import { isWalletReason, noPayableOfferError } from "../select/noPayableOfferError.js";
import { type Candidate, type Selection, summarize } from "../select/selectOffers.js";
import type { BudgetViolation, Hold } from "./budgets.js";

const budgetExhausted = "budget_exhausted:";

/** Parameters of `reserveOffer`. */
export type ReserveOfferParameters = Readonly<{
  context: Pick<PaymentContext, "budgets" | "maxPerRequest" | "emit">;
  /** The request being paid for, for events and errors. */
  url: string;
  /** The origin being paid. */
  origin: string;
  /** The payable offers, best first, and the others with their reasons (`selectOffers`). */
  selection: Selection;
}>;

/** The offer to pay, its amount held against the budgets, and every offer not taken with its reason. */
export type ReservedOffer = Readonly<{
  candidate: Candidate;
  hold: Hold;
  rejected: readonly OfferRejection[];
}>;

/**
 * Holds the amount of the best candidate that every budget has room for (checked and held in one atomic step);
 * the candidates before it are rejected as `budget_exhausted:<budget>`. When none fits, says why: a budget (reported
 * as `budget.exceeded`) when budgets are the only policy reason, else the per-request limit or every offer's reason.
 *
 * @throws `CLIENT__BUDGET_EXHAUSTED`, `CLIENT__AMOUNT_EXCEEDS_MAX`, `CLIENT__NO_PAYABLE_OFFER`
 */
export async function reserveOffer(parameters: ReserveOfferParameters): Promise<ReservedOffer> {
  const { context, url, origin, selection } = parameters;
  const { budgets, maxPerRequest, emit } = context;
  const rejected = [...selection.rejected];
  let violation: (BudgetViolation & { amount: bigint }) | undefined;
  for (const candidate of selection.candidates) {
    const reservation = await budgets.reserve(candidate.amount, origin);
    if ("hold" in reservation) return { candidate, hold: reservation.hold, rejected };
    violation ??= { ...reservation.violation, amount: candidate.amount };
    rejected.push({
      offer: summarize(candidate.offer),
      reason: `${budgetExhausted}${reservation.violation.budget}`,
    });
  }
  const budgetRejection = rejected.find((r) => r.reason.startsWith(budgetExhausted));
  const onlyBudget = rejected
    .filter((r) => !isWalletReason(r.reason))
    .every((r) => r === budgetRejection || r.reason.startsWith(budgetExhausted));
  if (budgetRejection !== undefined && onlyBudget) {
    const amount = violation?.amount ?? budgetRejection.offer.amount ?? 0n;
    const budget = violation?.budget ?? budgetRejection.reason.slice(budgetExhausted.length);
    const remaining =
      violation?.remaining ?? (await budgets.room(origin)).check(amount, origin)?.remaining ?? 0n;
    emit({ type: "budget.exceeded", url, budget, amount, remaining });
    throw new TollgateError("CLIENT__BUDGET_EXHAUSTED", {
      context: { budget, amount: amount.toString(), remaining: remaining.toString() },
    });
  }
  throw noPayableOfferError({ url, rejections: rejected, maxPerRequest });
}
