import type { SettleResponse } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { isSettleOutcomeUnknown } from "./settleRefusal.js";

const hash = `0x${"ab".repeat(32)}`;
const refusal = (errorReason: string, transaction = ""): SettleResponse => ({
  success: false,
  errorReason,
  transaction,
  network: "eip155:84532",
});

describe("isSettleOutcomeUnknown", () => {
  it.each([
    ["settlement_pending", ""],
    ["duplicate_settlement", ""],
    ["unexpected_settle_error", ""],
    ["unexpected_settle_error", hash],
    // x402 v1's answer for a Solana transfer sent but not confirmed in time.
    [
      "settle_exact_svm_transaction_confirmation_timed_out",
      "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW",
    ],
    ["invalid_payload", hash],
  ])("%s with transaction %j: unknown, ask the chain", (reason, transaction) => {
    expect(isSettleOutcomeUnknown(refusal(reason, transaction))).toBe(true);
  });

  it.each([
    ["invalid_payload", ""],
    ["invalid_exact_evm_nonce_already_used", ""],
    ["invalid_exact_evm_transaction_failed", hash],
    ["transaction_failed", hash],
    ["invalid_transaction_state", hash],
    ["execution_reverted", hash],
  ])("%s with transaction %j: definitive", (reason, transaction) => {
    expect(isSettleOutcomeUnknown(refusal(reason, transaction))).toBe(false);
  });

  it("takes a confirmation timeout for unknown even without a transaction", () => {
    expect(isSettleOutcomeUnknown(refusal("settle_exact_svm_transaction_confirmation_timed_out", ""))).toBe(
      true,
    );
  });
});
