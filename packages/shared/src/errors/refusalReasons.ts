/**
 * Why a facilitator refuses a payment, keyed by meaning, with the wire string each protocol generation
 * expects: `v2` as `@x402/evm` / `@x402/svm` 2.27 emit it, `v1` from `x402` 1.2.0's `ErrorReasons`.
 * A facilitator answers a v2 request with `v2` and a v1 request with `v1`; clients treat unknown strings
 * as opaque. This is the only copy of these strings in Tollgate.
 */
export const refusalReasons = {
  unsupported_scheme: { v2: "unsupported_scheme", v1: "unsupported_scheme" },
  invalid_x402_version: { v2: "invalid_x402_version", v1: "invalid_x402_version" },
  invalid_payload: { v2: "invalid_payload", v1: "invalid_payload" },
  invalid_payment_requirements: { v2: "invalid_payment_requirements", v1: "invalid_payment_requirements" },
  unsupported_network: { v2: "invalid_network", v1: "invalid_network" },
  duplicate_settlement: { v2: "duplicate_settlement", v1: "duplicate_settlement" },
  settlement_pending: { v2: "settlement_pending", v1: "settlement_pending" },
  unexpected_verify_error: { v2: "unexpected_verify_error", v1: "unexpected_verify_error" },
  unexpected_settle_error: { v2: "unexpected_settle_error", v1: "unexpected_settle_error" },
  /** The facilitator does not settle this asset (its configured `assets`, by default the registry's USDC). */
  asset_not_accepted: { v2: "unsupported_asset", v1: "invalid_payment_requirements" },
  /** The facilitator settles only for the payees its operator listed (`payees`). */
  payee_not_accepted: { v2: "unsupported_payee", v1: "invalid_payment_requirements" },
  /** The amount is below the facilitator's `minAmount` (zero is never settled). */
  amount_below_minimum: { v2: "amount_below_minimum", v1: "invalid_payment_requirements" },

  evm_scheme: { v2: "invalid_exact_evm_scheme", v1: "unsupported_scheme" },
  evm_network_mismatch: { v2: "invalid_exact_evm_network_mismatch", v1: "invalid_network" },
  evm_missing_eip712_domain: {
    v2: "invalid_exact_evm_missing_eip712_domain",
    v1: "invalid_payment_requirements",
  },
  evm_signature: { v2: "invalid_exact_evm_signature", v1: "invalid_exact_evm_payload_signature" },
  evm_recipient_mismatch: {
    v2: "invalid_exact_evm_recipient_mismatch",
    v1: "invalid_exact_evm_payload_recipient_mismatch",
  },
  evm_valid_before: {
    v2: "invalid_exact_evm_payload_authorization_valid_before",
    v1: "invalid_exact_evm_payload_authorization_valid_before",
  },
  evm_valid_after: {
    v2: "invalid_exact_evm_payload_authorization_valid_after",
    v1: "invalid_exact_evm_payload_authorization_valid_after",
  },
  evm_value_mismatch: {
    v2: "invalid_exact_evm_payload_authorization_value_mismatch",
    v1: "invalid_exact_evm_payload_authorization_value",
  },
  evm_nonce_already_used: { v2: "invalid_exact_evm_nonce_already_used", v1: "invalid_transaction_state" },
  evm_insufficient_balance: { v2: "invalid_exact_evm_insufficient_balance", v1: "insufficient_funds" },
  evm_token_name_mismatch: {
    v2: "invalid_exact_evm_token_name_mismatch",
    v1: "invalid_payment_requirements",
  },
  evm_token_version_mismatch: {
    v2: "invalid_exact_evm_token_version_mismatch",
    v1: "invalid_payment_requirements",
  },
  evm_eip3009_not_supported: {
    v2: "invalid_exact_evm_eip3009_not_supported",
    v1: "invalid_payment_requirements",
  },
  evm_simulation_failed: {
    v2: "invalid_exact_evm_transaction_simulation_failed",
    v1: "invalid_transaction_state",
  },
  evm_transaction_failed: { v2: "invalid_exact_evm_transaction_failed", v1: "invalid_transaction_state" },
  /** The settlement needs more gas than the facilitator's `maxGasPerSettlement`. */
  evm_gas_limit_exceeded: { v2: "invalid_exact_evm_gas_limit_exceeded", v1: "invalid_transaction_state" },

  svm_network_mismatch: { v2: "invalid_exact_svm_network_mismatch", v1: "invalid_network" },
  svm_missing_fee_payer: {
    v2: "invalid_exact_svm_payload_missing_fee_payer",
    v1: "invalid_payment_requirements",
  },
  svm_fee_payer_not_managed: {
    v2: "fee_payer_not_managed_by_facilitator",
    v1: "invalid_payment_requirements",
  },
  svm_transaction_undecodable: {
    v2: "invalid_exact_svm_payload_transaction_could_not_be_decoded",
    v1: "invalid_exact_svm_payload_transaction",
  },
  svm_instructions_length: {
    v2: "invalid_exact_svm_payload_transaction_instructions_length",
    v1: "invalid_exact_svm_payload_transaction_instructions_length",
  },
  svm_compute_limit_instruction: {
    v2: "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction",
    v1: "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction",
  },
  svm_compute_price_instruction: {
    v2: "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction",
    v1: "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction",
  },
  svm_compute_price_too_high: {
    v2: "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
    v1: "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
  },
  /** The fee the fee payer would pay (signatures plus limit × price) is over the facilitator's `maxFeeLamports`. */
  svm_fee_too_high: {
    v2: "invalid_exact_svm_payload_transaction_fee_too_high",
    v1: "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
  },
  svm_no_transfer_instruction: {
    v2: "invalid_exact_svm_payload_no_transfer_instruction",
    v1: "invalid_exact_svm_payload_transaction_instruction_not_spl_token_transfer_checked",
  },
  svm_fee_payer_transferring_funds: {
    v2: "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
    v1: "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
  },
  svm_fee_payer_in_instruction_accounts: {
    v2: "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
    v1: "invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts",
  },
  svm_mint_mismatch: {
    v2: "invalid_exact_svm_payload_mint_mismatch",
    v1: "invalid_exact_svm_payload_transaction_transfer_to_incorrect_ata",
  },
  svm_recipient_mismatch: {
    v2: "invalid_exact_svm_payload_recipient_mismatch",
    v1: "invalid_exact_svm_payload_transaction_transfer_to_incorrect_ata",
  },
  svm_amount_mismatch: {
    v2: "invalid_exact_svm_payload_amount_mismatch",
    v1: "invalid_exact_svm_payload_transaction_amount_mismatch",
  },
  svm_unknown_instruction: {
    v2: "invalid_exact_svm_payload_unknown_optional_instruction",
    v1: "invalid_exact_svm_payload_transaction_instructions",
  },
  svm_memo_count: {
    v2: "invalid_exact_svm_payload_memo_count",
    v1: "invalid_exact_svm_payload_transaction_instructions",
  },
  svm_memo_mismatch: {
    v2: "invalid_exact_svm_payload_memo_mismatch",
    v1: "invalid_exact_svm_payload_transaction_instructions",
  },
  svm_signature_invalid: {
    v2: "invalid_exact_svm_payload_signature_invalid",
    v1: "invalid_exact_svm_payload_transaction",
  },
  svm_sender_account_missing: {
    v2: "invalid_exact_svm_payload_transaction_sender_ata_not_found",
    v1: "invalid_exact_svm_payload_transaction_sender_ata_not_found",
  },
  svm_receiver_account_missing: {
    v2: "invalid_exact_svm_payload_transaction_receiver_ata_not_found",
    v1: "invalid_exact_svm_payload_transaction_receiver_ata_not_found",
  },
  svm_insufficient_balance: { v2: "invalid_exact_svm_insufficient_balance", v1: "insufficient_funds" },
  svm_simulation_failed: {
    v2: "transaction_simulation_failed",
    v1: "invalid_exact_svm_payload_transaction_simulation_failed",
  },
  svm_transaction_failed: { v2: "transaction_failed", v1: "invalid_transaction_state" },
  svm_signature: {
    v2: "invalid_exact_svm_payload_signature_invalid",
    v1: "invalid_exact_svm_payload_transaction",
  },
  svm_confirmation_timed_out: {
    v2: "settlement_pending",
    v1: "settle_exact_svm_transaction_confirmation_timed_out",
  },
} as const satisfies Record<string, Readonly<{ v1: string; v2: string }>>;

/** A refusal's meaning: a key of `refusalReasons`. */
export type RefusalReason = keyof typeof refusalReasons;

/**
 * The wire string of a refusal for the protocol generation of the request.
 *
 * @example
 * ```ts
 * import { refusalReasonFor } from "@tollgate/shared";
 * refusalReasonFor("evm_signature", 1); // "invalid_exact_evm_payload_signature"
 * ```
 */
export function refusalReasonFor(reason: RefusalReason, x402Version: 1 | 2): string {
  return refusalReasons[reason][x402Version === 1 ? "v1" : "v2"];
}

/**
 * The reasons a Tollgate paywall puts in the `error` of a 402 (or 400/409) body, with what each means.
 * Stable: clients may branch on them.
 */
export const paywallReasons = {
  payment_required:
    "No payment was presented; the body and the PAYMENT-REQUIRED header list the ways to pay.",
  malformed_payment: "A payment header could not be decoded or does not match its schema.",
  multiple_payment_proofs: "The request carries proofs of more than one lane; send exactly one.",
  ambiguous_route:
    "The request reaches different priced routes depending on how it is read (method-override header, HEAD as GET, path encoding or dot segments); send it in one unambiguous form (HTTP 400).",
  method_not_allowed:
    "The path is priced, but not for this method; the Allow header lists the methods it is sold for (HTTP 405).",
  invalid_host:
    "The Host header is missing, repeated or not a valid host[:port], or the public origin derived from the request is not http(s)://host[:port]; nothing was priced or served (HTTP 400).",
  invalid_request_target:
    "The request target is neither a path nor an absolute http(s) URL (nor * for OPTIONS); nothing was priced or served (HTTP 400).",
  uri_too_long: "The path of a priced request is too long to describe in an offer (HTTP 414).",
  no_matching_requirements: "The payment does not match any requirement this route currently offers.",
  facilitator_lane_disabled: "The facilitator lane is switched off on this server.",
  facilitator_unavailable:
    "No facilitator could be reached (or no chain RPC, to check a smart wallet's signature before the proof is taken); the proof was never sent to /settle and never will be by this request. Use another lane, or retry after Retry-After.",
  settlement_pending:
    "A settlement may be in flight, or the first request with this Idempotency-Key is still running; retry the same proof and key after Retry-After. Do not pay again.",
  settlement_failed: "The facilitator refused to settle the payment.",
  replayed_payment: "This proof was already used.",
  idempotency_key_conflict: "The Idempotency-Key was used with a different proof (HTTP 409).",
  idempotency_response_not_kept:
    "This Idempotency-Key already bought a response, too large to keep for replays; it is not run again (HTTP 409). Send a new key to buy it again.",
  direct_lane_disabled: "The direct-transfer lane is switched off on this server.",
  direct_chain_unsupported: "The direct transfer is on a chain this server does not accept.",
  direct_tx_malformed: "X-PAYMENT-TX is not a transaction hash or signature of that chain.",
  direct_tx_not_found: "The transfer was not found on chain (yet).",
  direct_tx_failed: "The transaction failed on chain.",
  direct_no_qualifying_transfer: "The transaction holds no transfer of the accepted asset to the payee.",
  direct_tx_relayed:
    "The transfer was submitted by someone other than its sender, on the sender's signed authorization (how a facilitator settles an x402 payment, which pays for that payment only); send the transfer yourself.",
  direct_insufficient_confirmations:
    "The transfer does not have the required confirmations yet; retry later.",
  direct_tx_too_old: "The transfer is older than the maximum age this server accepts.",
  direct_binding_missing: "X-PAYMENT-TX-SIG is required and absent.",
  direct_binding_invalid: "X-PAYMENT-TX-SIG does not bind the transfer's sender to this server.",
  direct_amount_below_minimum:
    "The transfer is below the price or the minimum; it was credited in full as a prepaid token.",
  token_lane_disabled: "The prepaid-token lane is switched off on this server.",
  token_unknown: "The prepaid token is not known to this server.",
  token_expired: "The prepaid token has expired.",
  token_insufficient_balance: "The prepaid token's balance is below the price.",
  internal_error: "The paywall failed; nothing was charged and nothing was served.",
  handler_failed:
    "The paid handler failed (HTTP 5xx, status kept); nothing was charged, and nothing it wrote was sent. The proof stays usable.",
  client_closed_request:
    "The client closed its connection before its paid response was ready; nothing was settled (HTTP 499, seen only in events and logs).",
  store_full:
    "The server's store is full of live payment claims; nothing was charged. Retry after Retry-After (HTTP 503).",
} as const;

/** A reason a paywall gives on the wire. */
export type PaywallReason = keyof typeof paywallReasons;
