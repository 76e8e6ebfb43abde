/**
 * `@tollgate/server/admin`: the operator's admin API (stats and reports, token look-up and revocation, pending
 * settlements with their on-chain resolution, run-time switches of lanes and facilitators), behind a key compared
 * in constant time with lockouts on failures.
 * @packageDocumentation
 */

export type { ClaimKeyParts } from "../verify/facilitator/claimKeyParts.js";
export {
  adminKeyPlaceholder,
  assertStrongAdminKey,
  bearerKey,
  createAdminKeyCheck,
  minAdminKeyLength,
} from "./adminKey.js";
export {
  type AdminApi,
  type AdminClient,
  type AdminEvent,
  type CreateAdminApiParameters,
  createAdminApi,
} from "./createAdminApi.js";
export { type CreateLockoutParameters, createLockout, type Lockout, type LockoutVerdict } from "./lockout.js";
export type {
  PendingSettlement,
  PendingSettlementResolution,
  PendingSettlementResolver,
} from "./pendingSettlements.js";
