import { createKeyLock, type KeyLock } from "../request/createKeyLock.js";
import type { PaymentLedger } from "./ledger.js";

/** One lock per ledger object, whichever paying fetch uses it. */
const locks = new WeakMap<PaymentLedger, KeyLock>();

/**
 * The per-key lock of a ledger object: every paying fetch that records in this ledger runs the payment of one logical
 * request after the other, so two fetches sharing a ledger never both find no entry and both pay (a slow `confirm`
 * hook once let them). Fetches with different ledgers do not wait for each other.
 *
 * @example
 * ```ts
 * const withLock = ledgerLock(ledger);
 * await withLock(key, async () => payOnce());
 * ```
 */
export function ledgerLock(ledger: PaymentLedger): KeyLock {
  let lock = locks.get(ledger);
  if (lock === undefined) {
    lock = createKeyLock();
    locks.set(ledger, lock);
  }
  return lock;
}
