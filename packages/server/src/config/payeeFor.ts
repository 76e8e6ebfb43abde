import type { NetworkInfo } from "@tollgate/shared";
import type { Payees } from "./paywallOptions.js";

/** The payee of `network` among `payees`: the one address, or the entry for its CAIP-2 id or v1 name. */
export function payeeFor(payees: Payees | undefined, network: NetworkInfo): string | undefined {
  if (payees === undefined) return undefined;
  if (typeof payees === "string") return payees;
  return payees[network.caip2] ?? (network.v1Name === undefined ? undefined : payees[network.v1Name]);
}
