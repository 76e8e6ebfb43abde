export {
  type CreateFacilitatorParameters,
  createFacilitator,
  type Facilitator,
  type FacilitatorAnswer,
  type FacilitatorEvent,
} from "./createFacilitator.js";
export type { FacilitatorPaymentPolicy } from "./paymentPolicy.js";
export type {
  FacilitatorPayment,
  FacilitatorScheme,
  SchemeCallContext,
  SettleOutcome,
  VerifyOutcome,
} from "./scheme.js";
export {
  type CreateMemorySettlementGuardParameters,
  createMemorySettlementGuard,
  type SettlementGuard,
} from "./settlementGuard.js";
