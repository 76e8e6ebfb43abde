import { TollgateError } from "@tollgate/shared";
import type { ConfirmParameters, SpendingPolicy } from "./policy.js";

/** Parameters of `confirmPayment`. */
export type ConfirmPaymentParameters = ConfirmParameters & Readonly<{ policy: SpendingPolicy }>;

/**
 * Asks the owner's `confirm` hook about a new payment, when the policy has one; anything but `true` declines.
 * @throws `CLIENT__CONFIRM_DECLINED`
 */
export async function confirmPayment(parameters: ConfirmPaymentParameters): Promise<void> {
  const { policy, url, offer, amount } = parameters;
  if (policy.confirm === undefined) return;
  const ok = await policy.confirm({ url, offer, amount });
  if (ok !== true) throw new TollgateError("CLIENT__CONFIRM_DECLINED", { context: { url } });
}
