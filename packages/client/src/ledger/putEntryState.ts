import type { LedgerEntry, LedgerEntryState, PaymentLedger } from "./ledger.js";

/** Parameters of `putEntryState`. */
export type PutEntryStateParameters = Readonly<{
  ledger: PaymentLedger;
  now: () => number;
  entry: LedgerEntry;
  state: LedgerEntryState;
}>;

/** Records that a proof's entry moved to `state` (settled, refused, consumed), stamped with the time. */
export async function putEntryState(parameters: PutEntryStateParameters): Promise<void> {
  const { ledger, now, entry, state } = parameters;
  await ledger.put({ ...entry, state, updatedAt: now() });
}
