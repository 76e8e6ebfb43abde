import {
  type DirectNetworkOption,
  type PaymentRequirementsV1,
  type PaymentRequirementsV2,
  parseUsd,
  type ResourceInfo,
} from "@tollgate/shared";
import { invalidConfig, parseRoutePrice } from "../config/invalidConfig.js";
import { payeeFor } from "../config/payeeFor.js";
import type { RouteContext } from "../config/paywallOptions.js";
import type { RouteSettings } from "../config/resolveRoutes.js";
import { maxBigint } from "../internal/bigint.js";
import { type FacilitatorRequirement, isV1Parsable, type RouteOffer } from "../respond/paymentRequired.js";
import type { DirectLaneSettings } from "../verify/direct/directLane.js";
import type { Failover } from "../verify/fallback/failover.js";

/**
 * Longest query string kept in the offer's `resource.url`, in characters. A longer one is left out: the URL
 * travels in the `PAYMENT-REQUIRED` header, which may not exceed 8 KiB, and the 402 must still be answered.
 */
const maxResourceQueryLength = 1024;

/**
 * The longest origin plus path a priced request may have: both go into the 402's `resource.url` (the origin from the
 * Host header), so a longer one is answered 414 `uri_too_long` rather than a 402 whose header would not fit.
 */
export const maxResourceUrlLength = 2048;

/** The paid resource's URL for the offer: origin, path and the query unless it is longer than `maxResourceQueryLength`. */
function resourceUrl(url: URL): string {
  const query = url.search.length > maxResourceQueryLength ? "" : url.search;
  return `${url.origin}${url.pathname}${query}`;
}

/** Parameters of `buildOffer`. */
export type BuildOfferParameters = Readonly<{
  /** The matched route. */
  route: RouteSettings;
  /** The request and the match, for price and payee functions. */
  context: RouteContext;
  /** The request's parsed URL. */
  url: URL;
  /** The facilitators: their names (the offer's `provider`) and the Solana fee payers they list. */
  failover: Pick<Failover, "feePayer" | "names">;
  /** The direct lane's chains and minimum amount. */
  direct: Pick<DirectLaneSettings, "networks" | "minAmount">;
}>;

/** The facilitator-lane requirements of a route for one request: one per network with a payee (and, on Solana, a fee payer). */
async function facilitatorRequirements(
  parameters: Readonly<{
    route: RouteSettings;
    context: RouteContext;
    priceText: string;
    resource: ResourceInfo;
    failover: Pick<Failover, "feePayer">;
  }>,
): Promise<FacilitatorRequirement[]> {
  const { route, context, priceText, resource, failover } = parameters;
  const requirements: FacilitatorRequirement[] = [];
  const payees = typeof route.payTo === "function" ? await route.payTo(context) : route.payTo;
  for (const network of route.networks) {
    const usdc = network.usdc;
    const payee = payeeFor(payees, network);
    if (usdc === undefined) continue;
    if (payee === undefined)
      throw invalidConfig(`routes["${context.route}"].payTo`, `no payee for ${network.caip2}`);
    let extra: Record<string, unknown>;
    if (network.family === "evm") {
      extra = { name: usdc.eip712?.name, version: usdc.eip712?.version };
    } else {
      const feePayer = failover.feePayer(network.caip2);
      if (feePayer === undefined) continue; // No facilitator has named its fee payer yet.
      extra = { feePayer };
    }
    const v2: PaymentRequirementsV2 = {
      scheme: "exact",
      network: network.caip2,
      amount: parseUsd(priceText, { decimals: usdc.decimals }).toString(),
      asset: usdc.address,
      payTo: payee,
      maxTimeoutSeconds: route.maxTimeoutSeconds,
      extra,
    };
    const v1: PaymentRequirementsV1 | undefined =
      network.v1Name === undefined
        ? undefined
        : {
            scheme: "exact",
            network: network.v1Name,
            maxAmountRequired: v2.amount,
            resource: resource.url,
            description: resource.description ?? "",
            mimeType: resource.mimeType ?? "",
            payTo: payee,
            maxTimeoutSeconds: route.maxTimeoutSeconds,
            asset: usdc.address,
            extra,
          };
    requirements.push({ network, v2, v1: v1 !== undefined && isV1Parsable(v1) ? v1 : undefined });
  }
  return requirements;
}

/** The direct-transfer terms of a route for one request: one per chain of the direct lane. */
function directOptions(
  parameters: Readonly<{
    route: RouteSettings;
    price: bigint;
    direct: Pick<DirectLaneSettings, "networks" | "minAmount">;
  }>,
): DirectNetworkOption[] {
  const { route, price, direct } = parameters;
  const minimum = maxBigint(price, direct.minAmount);
  return [...direct.networks.values()].map((net) => ({
    network: net.network.caip2,
    ...(net.network.v1Name === undefined ? {} : { network_v1: net.network.v1Name }),
    asset: net.asset,
    payTo: net.payTo,
    amount: price.toString(),
    min_amount: minimum.toString(),
    confirmations: net.confirmations,
    max_age_seconds: net.maxAgeSeconds,
    binding_required: route.bindingRequired,
  }));
}

/**
 * What a route offers for one request: its price (a function's answer for this request), the paid resource,
 * and the terms of every lane on for the route. The 402 is built from it and each lane checks proofs against it.
 * @throws `SERVER__INVALID_CONFIG` when a payee function names no payee for a network, or a price function
 * answers a malformed, zero or negative price.
 */
export async function buildOffer(parameters: BuildOfferParameters): Promise<RouteOffer> {
  const { route, context, url, failover, direct } = parameters;
  const { config } = route;
  const priceText = typeof config.price === "function" ? await config.price(context) : config.price;
  // A price function's answer is checked as the configured price is: zero or malformed fails closed.
  const price = parseRoutePrice(`routes["${context.route}"].price`, priceText);
  const resource: ResourceInfo = {
    url: resourceUrl(url),
    description: config.description ?? "",
    mimeType: config.mimeType ?? "application/json",
  };
  return {
    resource,
    endpoint: url.pathname,
    price,
    facilitator: route.lanes.facilitator
      ? await facilitatorRequirements({ route, context, priceText, resource, failover })
      : [],
    direct: route.lanes.direct ? directOptions({ route, price, direct }) : [],
    token: route.lanes.token,
    provider: failover.names[0] ?? "facilitator",
  };
}
