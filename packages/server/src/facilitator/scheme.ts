import type { RefusalReason } from "@tollgate/shared";

/**
 * A payment checked by a facilitator scheme, whatever protocol generation it arrived in: the requirement
 * in its v2 form (v1 requests are converted), and the scheme's payload still unparsed.
 */
export type FacilitatorPayment = Readonly<{
  /** The generation of the request, which picks the wire names of refusal reasons. */
  x402Version: 1 | 2;
  /** The requirement being paid, v2 form; `network` is CAIP-2. */
  requirement: Readonly<{
    scheme: string;
    network: string;
    amount: bigint;
    asset: string;
    payTo: string;
    maxTimeoutSeconds: number;
    extra: Readonly<Record<string, unknown>>;
  }>;
  /** The network the payer says it paid on: v2 `accepted.network`, v1 `paymentPayload.network`, as CAIP-2. */
  paidNetwork: string;
  /** The scheme the payer says it paid with: v2 `accepted.scheme`, v1 `paymentPayload.scheme`. */
  paidScheme: string;
  /** The scheme's `payload` object, to be parsed by the scheme. */
  payload: Readonly<Record<string, unknown>>;
}>;

/** What a scheme's `verify` found: valid with the payer, or refused with a reason. */
export type VerifyOutcome =
  | Readonly<{ ok: true; payer: string }>
  | Readonly<{ ok: false; reason: RefusalReason; payer?: string; message?: string }>;

/** What a scheme's `settle` did: the transaction, or a refusal (with the transaction when one was sent). */
export type SettleOutcome =
  | Readonly<{ ok: true; payer: string; transaction: string }>
  | Readonly<{ ok: false; reason: RefusalReason; payer?: string; transaction?: string; message?: string }>;

/** The context of one verify or settle call. */
export type SchemeCallContext = Readonly<{
  /** Aborted when the facilitator's overall deadline for this call passes. */
  signal: AbortSignal;
  /** The current time in Unix seconds (injectable for tests). */
  nowSeconds: number;
}>;

/**
 * One payment scheme on one chain family, as our facilitator runs it: the `exact` scheme on EVM
 * (EIP-3009) or on Solana (co-signed SPL transfer). A readonly capability object, built by a factory.
 */
export type FacilitatorScheme = Readonly<{
  /** Always `"exact"` for now. */
  scheme: string;
  /** The CAIP-2 networks this scheme settles on. */
  networks: readonly string[];
  /** Signer addresses by CAIP-2 family pattern (`"eip155:*"`, `"solana:*"`) for `/supported`. */
  signers: Readonly<Record<string, readonly string[]>>;
  /** The `extra` of this network's `/supported` kind (Solana: `{ feePayer }`). */
  supportedExtra?: (network: string) => Readonly<Record<string, unknown>> | undefined;
  /**
   * The key under which a payment may be settled at most once (EVM: network + payer + nonce;
   * Solana: the transaction message hash), or `undefined` when the payload is too malformed to have one.
   */
  settlementKey(payment: FacilitatorPayment): string | undefined;
  /** Checks a payment without moving money. Never throws for a bad payment: returns a refusal. */
  verify(payment: FacilitatorPayment, context: SchemeCallContext): Promise<VerifyOutcome>;
  /** Verifies again, then moves the money on chain and waits for it to land. */
  settle(payment: FacilitatorPayment, context: SchemeCallContext): Promise<SettleOutcome>;
}>;
