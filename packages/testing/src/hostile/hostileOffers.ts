import { encodeHeaderJson, type PaymentRequirementsV1, type PaymentRequirementsV2 } from "@tollgate/shared";
import type { EvmChain } from "../evm/evmChain.js";
import type { SolanaBank } from "../svm/solanaBank.js";

/**
 * One way to pay that a hostile server offers in its 402s, on the kit's chains and their test USDC.
 * - `facilitator`: an `exact` EIP-3009 requirement, in one of the three places `payingFetch` reads: the v2
 *   `PAYMENT-REQUIRED` header (`header`), the v1 body's `accepts` (`v1_body`), or the hybrid body's facilitator
 *   `payment_options` entry (`payment_options`).
 * - `direct`: a hybrid `direct_transfer` option (the payer sends USDC on chain itself).
 * - `token`: a hybrid `prepaid_token` option.
 */
export type HostileOffer = Readonly<
  | {
      lane: "facilitator";
      /** Where the requirement appears. @default "header" */
      form?: "header" | "v1_body" | "payment_options";
      /** The chain to pay on: the EVM chain, or the Solana bank (its fee payer named in `extra`). @default "evm" */
      chain?: "evm" | "svm";
      /** Atomic USDC units. */
      amount: bigint;
      payTo: string;
      /** @default 60 */
      maxTimeoutSeconds?: number;
      /** The hybrid option's priority (sets the facilitator lane's priority for every form). @default 1 */
      priority?: number;
      /** The token to pay in. @default the chain's test USDC (the bank's mint on Solana) */
      asset?: string;
    }
  | {
      lane: "direct";
      /** The price, atomic USDC units. */
      amount: bigint;
      /** The least transfer accepted. @default amount */
      minAmount?: bigint;
      payTo: string;
      /** @default 1 */
      confirmations?: number;
      /** @default 2 */
      priority?: number;
      /** Whether the proof must carry a binding signature. @default false */
      bindingRequired?: boolean;
    }
  | { lane: "token" /** @default 3 */; priority?: number }
>;

/** What goes on the wire for a 402: the `PAYMENT-REQUIRED` header value (when any offer is in it) and the body. */
export type Hostile402 = Readonly<{ header?: string; body: Record<string, unknown> }>;

/** Parameters of `hostile402`. */
export type Hostile402Parameters = Readonly<{
  offers: readonly HostileOffer[];
  /** The chains offers name: the EVM chain, and the Solana bank for `chain: "svm"` offers. */
  chains: HostileChains;
  /** The URL of the resource being paid for. */
  url: string;
  /** The `error` of the 402. */
  error: string;
}>;

/** The chains a hostile server's offers name. */
export type HostileChains = Readonly<{ evm: EvmChain; bank?: SolanaBank }>;

/** The bank a Solana offer needs. @throws `Error` when the server was started without one */
function bankOf(chains: HostileChains): SolanaBank {
  if (chains.bank === undefined) throw new Error("a Solana offer needs startHostileServer({ bank })");
  return chains.bank;
}

/** The v2 requirement of a facilitator offer. */
export function requirementV2(
  offer: Extract<HostileOffer, { lane: "facilitator" }>,
  chains: HostileChains,
): PaymentRequirementsV2 {
  const { evm } = chains;
  if (offer.chain === "svm") {
    const bank = bankOf(chains);
    return {
      scheme: "exact",
      network: bank.network.caip2,
      amount: offer.amount.toString(),
      asset: offer.asset ?? bank.mint.toBase58(),
      payTo: offer.payTo,
      maxTimeoutSeconds: offer.maxTimeoutSeconds ?? 60,
      extra: { feePayer: bank.feePayer.publicKey.toBase58() },
    };
  }
  return {
    scheme: "exact",
    network: evm.network.caip2,
    amount: offer.amount.toString(),
    asset: offer.asset ?? evm.token,
    payTo: offer.payTo,
    maxTimeoutSeconds: offer.maxTimeoutSeconds ?? 60,
    extra: { name: evm.eip712Domain.name, version: evm.eip712Domain.version },
  };
}

/** The v1 requirement of a facilitator offer. */
export function requirementV1(
  offer: Extract<HostileOffer, { lane: "facilitator" }>,
  chains: HostileChains,
  url: string,
): PaymentRequirementsV1 {
  const { evm } = chains;
  if (offer.chain === "svm") {
    const bank = bankOf(chains);
    return {
      scheme: "exact",
      network: bank.network.v1Name ?? bank.network.caip2,
      maxAmountRequired: offer.amount.toString(),
      resource: url,
      description: "hostile",
      mimeType: "application/json",
      payTo: offer.payTo,
      maxTimeoutSeconds: offer.maxTimeoutSeconds ?? 60,
      asset: offer.asset ?? bank.mint.toBase58(),
      extra: { feePayer: bank.feePayer.publicKey.toBase58() },
    };
  }
  return {
    scheme: "exact",
    network: evm.network.v1Name ?? evm.network.caip2,
    maxAmountRequired: offer.amount.toString(),
    resource: url,
    description: "hostile",
    mimeType: "application/json",
    payTo: offer.payTo,
    maxTimeoutSeconds: offer.maxTimeoutSeconds ?? 60,
    asset: offer.asset ?? evm.token,
    extra: { name: evm.eip712Domain.name, version: evm.eip712Domain.version },
  };
}

/**
 * Builds a 402 offering `offers`: a v2 header for `header` offers, and a v1 body whose `accepts` holds the `v1_body`
 * offers and whose `payment_options` hold the others (facilitator, direct, token).
 */
export function hostile402(parameters: Hostile402Parameters): Hostile402 {
  const { offers, chains, url, error } = parameters;
  const { evm } = chains;
  const headerAccepts: PaymentRequirementsV2[] = [];
  const bodyAccepts: PaymentRequirementsV1[] = [];
  const optionAccepts: PaymentRequirementsV1[] = [];
  const options: Record<string, unknown>[] = [];
  let facilitatorPriority = 1;
  for (const offer of offers) {
    if (offer.lane === "facilitator") {
      facilitatorPriority = offer.priority ?? facilitatorPriority;
      const form = offer.form ?? "header";
      if (form === "header") headerAccepts.push(requirementV2(offer, chains));
      else if (form === "v1_body") bodyAccepts.push(requirementV1(offer, chains, url));
      else optionAccepts.push(requirementV1(offer, chains, url));
    } else if (offer.lane === "direct") {
      options.push({
        provider: "hostile",
        type: "direct_transfer",
        priority: offer.priority ?? 2,
        networks: [
          {
            network: evm.network.caip2,
            asset: evm.token,
            payTo: offer.payTo,
            amount: offer.amount.toString(),
            min_amount: (offer.minAmount ?? offer.amount).toString(),
            confirmations: offer.confirmations ?? 1,
            max_age_seconds: 600,
            binding_required: offer.bindingRequired ?? false,
          },
        ],
        headers: { tx: "X-PAYMENT-TX", chain: "X-PAYMENT-CHAIN", signature: "X-PAYMENT-TX-SIG" },
      });
    } else {
      options.push({
        provider: "hostile",
        type: "prepaid_token",
        priority: offer.priority ?? 3,
        header: "X-PAYMENT-TOKEN",
      });
    }
  }
  if (optionAccepts.length > 0 || bodyAccepts.length > 0) {
    options.unshift({
      provider: "hostile",
      type: "facilitator",
      priority: facilitatorPriority,
      x402_standard: { x402Version: 1, accepts: optionAccepts },
    });
  }
  const body: Record<string, unknown> = {
    x402Version: 1,
    error,
    accepts: bodyAccepts,
    ...(options.length > 0 ? { payment_options: options } : {}),
  };
  if (headerAccepts.length === 0) return { body };
  const header = encodeHeaderJson({
    header: "PAYMENT-REQUIRED",
    value: {
      x402Version: 2,
      error,
      resource: { url, description: "hostile", mimeType: "application/json" },
      accepts: headerAccepts,
    },
  });
  return { header, body };
}
