import { z } from "zod";
import { isTollgateError } from "../errors/TollgateError.js";
import { quoteUntrusted, sanitizeUntrusted } from "../errors/untrustedText.js";
import { defaultNetworkRegistry, type NetworkRegistry } from "../networks/registry.js";
import { type DirectNetworkOption, hybridPaymentRequiredOf, paymentOptionSchema } from "../schemas/hybrid.js";
import { type PaymentRequirementsV1, paymentRequirementsV1Schema } from "../schemas/v1.js";
import {
  type PaymentRequirementsV2,
  paymentRequiredV2Of,
  paymentRequirementsV2Schema,
  type ResourceInfo,
} from "../schemas/v2.js";
import { decodeHeaderJson, parseWire, toWireIssues } from "./base64Json.js";
import { x402HeaderNames } from "./names.js";

/** Where an offer was read: the v2 header, the v1 body's `accepts`, or the hybrid `payment_options`. */
export type OfferSource = "header" | "body" | "payment_options";

/** A facilitator-lane offer: pay with a signed authorization (`PAYMENT-SIGNATURE` or `X-PAYMENT`). */
export type FacilitatorOffer = Readonly<{
  lane: "facilitator";
  /** The protocol generation to answer in: 2 for the header's offers, 1 for the body's. */
  x402Version: 1 | 2;
  scheme: string;
  /** CAIP-2 id when the registry knows the network, else the identifier as sent. */
  network: string;
  /** The v1 name, when known. */
  networkV1?: string;
  asset: string;
  payTo: string;
  /** Atomic units to pay. */
  amount: bigint;
  maxTimeoutSeconds: number;
  extra: Readonly<Record<string, unknown>>;
  /** Lower pays first; from the hybrid body's facilitator option, else 1. */
  priority: number;
  provider?: string;
  resource: ResourceInfo;
  /** The requirement verbatim, to echo as `accepted` (v2) or match by (v1). */
  requirement: PaymentRequirementsV2 | PaymentRequirementsV1;
  source: OfferSource;
}>;

/** A direct-transfer offer: send USDC on chain, then prove it with `X-PAYMENT-TX`. */
export type DirectOffer = Readonly<{
  lane: "direct";
  network: string;
  networkV1?: string;
  asset: string;
  payTo: string;
  /** The price in atomic units. */
  amount: bigint;
  /** The least transfer the server accepts; a transfer above the price buys a prepaid token. */
  minAmount: bigint;
  confirmations: number;
  maxAgeSeconds: number;
  bindingRequired: boolean;
  priority: number;
  provider?: string;
  headers: Readonly<{ tx: string; chain: string; signature: string }>;
  option: DirectNetworkOption;
}>;

/** A prepaid-token offer: spend a token bought earlier in the named header. */
export type TokenOffer = Readonly<{ lane: "token"; header: string; priority: number; provider?: string }>;

/** One normalised way to pay, whatever form of 402 it came from. */
export type Offer = FacilitatorOffer | DirectOffer | TokenOffer;

/** What `readPaymentRequired` found in a 402. */
export type PaymentRequiredReading = Readonly<{
  /** Every readable offer, de-duplicated (the v2 header wins over the v1 body), in the order found. */
  offers: readonly Offer[];
  /** Each part that could not be read, and why; the offers that could be read are still returned. */
  problems: readonly string[];
  /** The server's `error`, from the header or body. */
  error?: string;
  /** The resource being paid for. */
  resource?: ResourceInfo;
}>;

/** Parameters of `readPaymentRequired`. */
export type ReadPaymentRequiredParameters = Readonly<{
  /** The 402's headers (a `Headers` or anything with `get`). */
  headers: Readonly<{ get(name: string): string | null }>;
  /** The 402's body, parsed as JSON; `undefined` when it was empty or not JSON. */
  body: unknown;
  /** @default defaultNetworkRegistry */
  registry?: Pick<NetworkRegistry, "find">;
}>;

const bodyEnvelope = hybridPaymentRequiredOf(z.unknown(), z.unknown());
const headerEnvelope = paymentRequiredV2Of(z.unknown());

function describe(error: unknown): string {
  // Stryker disable next-line ConditionalExpression: equivalent, every error the header's decoding throws is typed.
  if (isTollgateError(error)) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}

function issuesText(error: z.ZodError): string {
  return toWireIssues(error)
    .slice(0, 3)
    .map((i) => `${i.path || "(root)"}: ${i.message}`)
    .join("; ");
}

function offerKey(o: {
  scheme: string;
  network: string;
  asset: string;
  payTo: string;
  amount: bigint;
}): string {
  // Stryker disable next-line MethodExpression: equivalent, upper-casing compares addresses case-blind as well.
  return `${o.scheme}|${o.network}|${o.asset.toLowerCase()}|${o.payTo.toLowerCase()}|${o.amount}`;
}

/**
 * Reads a 402 in any of its three forms into one normalised list of offers: the v2 `PAYMENT-REQUIRED`
 * header, a v1 JSON body, and the hybrid body's `payment_options`. Each part and each entry is parsed on
 * its own, so one malformed offer does not hide the others; what could not be read is listed in
 * `problems`. Never throws on any input.
 *
 * @example
 * ```ts
 * import { readPaymentRequired } from "@tollgate/shared";
 * const response = await fetch(url);
 * const body = await response.json().catch(() => undefined);
 * const { offers, problems } = readPaymentRequired({ headers: response.headers, body });
 * ```
 */
export function readPaymentRequired(parameters: ReadPaymentRequiredParameters): PaymentRequiredReading {
  const { headers, body, registry = defaultNetworkRegistry } = parameters;
  const offers: Offer[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  let error: string | undefined;
  let resource: ResourceInfo | undefined;

  const networkOf = (identifier: string) => {
    const known = registry.find(identifier);
    return known
      ? { network: known.caip2, ...(known.v1Name === undefined ? {} : { networkV1: known.v1Name }) }
      : { network: identifier };
  };

  // The hybrid body's options come first in reading, because they set the facilitator lane's priority.
  let facilitatorPriority = 1;
  let facilitatorProvider: string | undefined;
  const laterOffers: Offer[] = [];
  let bodyRequirements: { raw: unknown; source: OfferSource; where: string }[] = [];
  const bodyObject = typeof body === "object" && body !== null && !Array.isArray(body);
  const bodyVersion = bodyObject ? (body as { x402Version?: unknown }).x402Version : undefined;

  if (bodyObject && bodyVersion === 1) {
    const envelope = bodyEnvelope.safeParse(body);
    if (!envelope.success) {
      problems.push(`body: ${issuesText(envelope.error)}`);
    } else {
      error = envelope.data.error;
      bodyRequirements = envelope.data.accepts.map((raw, i) => ({
        raw,
        source: "body",
        where: `body.accepts.${i}`,
      }));
      for (const [index, raw] of (envelope.data.payment_options ?? []).entries()) {
        const option = paymentOptionSchema.safeParse(raw);
        if (!option.success) {
          problems.push(`payment_options.${index}: ${issuesText(option.error)}`);
          continue;
        }
        const o = option.data;
        const provider = o.provider;
        if (o.type === "facilitator") {
          facilitatorPriority = o.priority;
          facilitatorProvider = provider;
          for (const [i, req] of o.x402_standard.accepts.entries()) {
            bodyRequirements.push({
              raw: req,
              source: "payment_options",
              where: `payment_options.${index}.x402_standard.accepts.${i}`,
            });
          }
        } else if (o.type === "prepaid_token") {
          laterOffers.push({ lane: "token", header: o.header, priority: o.priority, provider });
        } else {
          for (const n of o.networks) {
            laterOffers.push({
              lane: "direct",
              ...networkOf(n.network),
              asset: n.asset,
              payTo: n.payTo,
              amount: BigInt(n.amount),
              minAmount: BigInt(n.min_amount),
              confirmations: n.confirmations,
              maxAgeSeconds: n.max_age_seconds,
              bindingRequired: n.binding_required,
              priority: o.priority,
              provider,
              headers: { tx: o.headers.tx, chain: o.headers.chain, signature: o.headers.signature },
              option: n,
            });
          }
        }
      }
    }
  } else if (bodyObject && bodyVersion !== undefined && bodyVersion !== 2) {
    const version = typeof bodyVersion === "number" ? bodyVersion : quoteUntrusted(String(bodyVersion), 32);
    problems.push(`body: unsupported x402Version ${version}`);
  }

  const addV2 = (requirements: readonly unknown[], res: ResourceInfo, where: "header" | "body") => {
    for (const [index, raw] of requirements.entries()) {
      const parsed = paymentRequirementsV2Schema.safeParse(raw);
      if (!parsed.success) {
        problems.push(`${where}.accepts.${index}: ${issuesText(parsed.error)}`);
        continue;
      }
      const r = parsed.data;
      const offer: FacilitatorOffer = {
        lane: "facilitator",
        x402Version: 2,
        scheme: r.scheme,
        ...networkOf(r.network),
        asset: r.asset,
        payTo: r.payTo,
        amount: BigInt(r.amount),
        maxTimeoutSeconds: r.maxTimeoutSeconds,
        extra: r.extra ?? {},
        priority: facilitatorPriority,
        ...(facilitatorProvider === undefined ? {} : { provider: facilitatorProvider }),
        resource: res,
        requirement: r,
        source: where,
      };
      const key = offerKey(offer);
      if (seen.has(key)) continue;
      seen.add(key);
      offers.push(offer);
    }
  };

  const headerValue = headers.get(x402HeaderNames.paymentRequired);
  if (headerValue !== null) {
    try {
      const envelope = parseWire({
        what: x402HeaderNames.paymentRequired,
        schema: headerEnvelope,
        value: decodeHeaderJson({ header: x402HeaderNames.paymentRequired, value: headerValue }),
      });
      error = envelope.error ?? error;
      resource = envelope.resource;
      addV2(envelope.accepts, envelope.resource, "header");
    } catch (e) {
      problems.push(`header: ${describe(e)}`);
    }
  }
  if (bodyObject && bodyVersion === 2) {
    const envelope = headerEnvelope.safeParse(body);
    if (envelope.success) {
      error = error ?? envelope.data.error;
      resource = resource ?? envelope.data.resource;
      addV2(envelope.data.accepts, envelope.data.resource, "body");
    } else {
      problems.push(`body: ${issuesText(envelope.error)}`);
    }
  }

  for (const { raw, source, where } of bodyRequirements) {
    const parsed = paymentRequirementsV1Schema.safeParse(raw);
    if (!parsed.success) {
      problems.push(`${where}: ${issuesText(parsed.error)}`);
      continue;
    }
    const r = parsed.data;
    const res: ResourceInfo = { url: r.resource, description: r.description, mimeType: r.mimeType };
    resource = resource ?? res;
    const offer: FacilitatorOffer = {
      lane: "facilitator",
      x402Version: 1,
      scheme: r.scheme,
      ...networkOf(r.network),
      asset: r.asset,
      payTo: r.payTo,
      amount: BigInt(r.maxAmountRequired),
      maxTimeoutSeconds: r.maxTimeoutSeconds,
      extra: r.extra ?? {},
      priority: facilitatorPriority,
      ...(facilitatorProvider === undefined ? {} : { provider: facilitatorProvider }),
      resource: res,
      requirement: r,
      source,
    };
    const key = offerKey(offer);
    if (seen.has(key)) continue;
    seen.add(key);
    offers.push(offer);
  }

  offers.push(...laterOffers);
  return {
    offers,
    // What they say comes partly from the server (values it sent): no control character reaches a log.
    problems: problems.map((p) => sanitizeUntrusted(p, 512)),
    ...(error === undefined ? {} : { error }),
    ...(resource === undefined ? {} : { resource }),
  };
}
