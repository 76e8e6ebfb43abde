import { TollgateError } from "@tollgate/shared";
import { untilAborted } from "../request/untilAborted.js";
import type { ConfirmParameters, SpendingPolicy } from "./policy.js";

/** Parameters of `confirmPayment`. */
export type ConfirmPaymentParameters = ConfirmParameters & Readonly<{ policy: SpendingPolicy }>;

/**
 * Asks the owner's `confirm` hook about a new payment, when the policy has one; anything but `true` declines. The hook
 * gets the caller's signal, and the wait for its answer ends as soon as the signal aborts.
 * @throws `CLIENT__CONFIRM_DECLINED`, `CLIENT__ABORTED`
 */
export async function confirmPayment(parameters: ConfirmPaymentParameters): Promise<void> {
  const { policy, url, requestUrl, offer, amount, signal } = parameters;
  if (policy.confirm === undefined) return;
  let ok: boolean;
  try {
    ok = await untilAborted(
      Promise.resolve(
        policy.confirm({ url, requestUrl, offer, amount, ...(signal === undefined ? {} : { signal }) }),
      ),
      signal,
    );
  } catch (cause) {
    if (signal?.aborted !== true) throw cause;
    throw new TollgateError("CLIENT__ABORTED", { context: { url: requestUrl, stage: "confirm" }, cause });
  }
  if (ok !== true) throw new TollgateError("CLIENT__CONFIRM_DECLINED", { context: { url } });
}
