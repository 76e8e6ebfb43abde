import {
  type DirectNetworkOption,
  directHeaderNames,
  encodeHeaderJson,
  formatDecimalAmount,
  type HybridPaymentRequired,
  type NetworkInfo,
  type PaymentOption,
  type PaymentRequirementsV1,
  type PaymentRequirementsV2,
  type ResourceInfo,
  tokenHeaderNames,
  x402HeaderNames,
} from "@tollgate/shared";

/** One facilitator-lane requirement of a route, in both generations (`v1` only when a v1 client can parse it). */
export type FacilitatorRequirement = Readonly<{
  network: NetworkInfo;
  v2: PaymentRequirementsV2;
  v1: PaymentRequirementsV1 | undefined;
}>;

/** What a route offers for one request: the price and every enabled lane's terms. */
export type RouteOffer = Readonly<{
  /** The paid resource: absolute URL, description, MIME type. */
  resource: ResourceInfo;
  /** The request's path, as the body's `endpoint`. */
  endpoint: string;
  /** The price in atomic USDC units (6 decimals). */
  price: bigint;
  /** Facilitator-lane requirements; empty when the lane is off. */
  facilitator: readonly FacilitatorRequirement[];
  /** Direct-transfer terms per chain; empty when the lane is off. */
  direct: readonly DirectNetworkOption[];
  /** Whether the prepaid-token lane is on. */
  token: boolean;
  /** The name shown as the facilitator option's `provider`. */
  provider: string;
}>;

/**
 * The network names `x402` 1.2.0's `PaymentRequirementsSchema` accepts. `x402-fetch` parses every `accepts`
 * entry with it and throws on the first that fails, so the v1 body lists only requirements on these.
 */
const x402V1Networks = new Set([
  "abstract",
  "abstract-testnet",
  "base-sepolia",
  "base",
  "avalanche-fuji",
  "avalanche",
  "iotex",
  "solana-devnet",
  "solana",
  "sei",
  "sei-testnet",
  "polygon",
  "polygon-amoy",
  "peaq",
  "story",
  "educhain",
  "skale-base-sepolia",
]);
const evmAddress = /^0x[0-9a-fA-F]{40}$/;
const svmAddress = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;
/** An absolute http(s) URL with a host, as zod's `url()` in x402 1.2.0 requires (ours come from `URL.origin`). */
const absoluteHttpUrl = /^https?:\/\/[^\s/?#]+(?:[/?#]\S*)?$/;

/** Whether a v1 requirement passes `x402` 1.2.0's `PaymentRequirementsSchema` (checked again by a golden test). */
export function isV1Parsable(requirement: PaymentRequirementsV1): boolean {
  if (!x402V1Networks.has(requirement.network)) return false;
  if (!evmAddress.test(requirement.payTo) && !svmAddress.test(requirement.payTo)) return false;
  if (!Number.isInteger(requirement.maxTimeoutSeconds)) return false;
  return absoluteHttpUrl.test(requirement.resource);
}

/** The hybrid body (a v1 body with `payment_options`) of a route's 402. */
export function hybridBody(offer: RouteOffer, error: string): HybridPaymentRequired {
  const v1 = offer.facilitator.flatMap((r) => (r.v1 === undefined ? [] : [r.v1]));
  const options: PaymentOption[] = [];
  if (offer.facilitator.length > 0) {
    options.push({
      provider: offer.provider,
      type: "facilitator",
      priority: 1,
      recommended: true,
      x402_standard: { x402Version: 1, accepts: v1 },
    });
  }
  if (offer.direct.length > 0) {
    options.push({
      provider: "direct",
      type: "direct_transfer",
      priority: 2,
      recommended: false,
      networks: [...offer.direct],
      headers: {
        tx: directHeaderNames.tx,
        chain: directHeaderNames.chain,
        signature: directHeaderNames.signature,
      },
    });
  }
  if (offer.token) {
    options.push({
      provider: "direct",
      type: "prepaid_token",
      priority: 3,
      recommended: false,
      header: tokenHeaderNames.token,
    });
  }
  return {
    x402Version: 1,
    error,
    accepts: v1,
    payment_required: true,
    endpoint: offer.endpoint,
    amount_usdc: formatDecimalAmount(offer.price, { decimals: 6 }),
    payment_options: options,
  };
}

/** Parameters of `paymentRequiredResponse`. */
export type PaymentRequiredResponseParameters = Readonly<{
  offer: RouteOffer;
  /** The stable reason, also the body's and the header's `error`. */
  error: string;
  /** @default 402 */
  status?: number;
  /** Seconds, as `Retry-After`. */
  retryAfterSeconds?: number;
  /** Further headers (receipts, token balances). */
  headers?: Readonly<Record<string, string>>;
  /** A HEAD request gets no body. */
  method: string;
}>;

/**
 * The hybrid 402 (or 400/409 with the same body): the v2 `PAYMENT-REQUIRED` header with every facilitator-lane
 * requirement, and a JSON body that is a valid x402 v1 body and lists every enabled lane in `payment_options`.
 */
export function paymentRequiredResponse(parameters: PaymentRequiredResponseParameters): Response {
  const { offer, error, status = 402, retryAfterSeconds, headers = {}, method } = parameters;
  const out = new Headers({ "content-type": "application/json", "cache-control": "no-store", ...headers });
  if (offer.facilitator.length > 0) {
    out.set(
      x402HeaderNames.paymentRequired,
      encodeHeaderJson({
        header: x402HeaderNames.paymentRequired,
        value: {
          x402Version: 2,
          error,
          resource: offer.resource,
          accepts: offer.facilitator.map((r) => r.v2),
        },
      }),
    );
  }
  if (retryAfterSeconds !== undefined) out.set("retry-after", String(retryAfterSeconds));
  const body = method === "HEAD" ? null : JSON.stringify(hybridBody(offer, error));
  return new Response(body, { status, headers: out });
}

/** A small JSON answer without offers (internal errors). */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}

/**
 * `response` with `headers` added: in place when its headers are mutable (a handler's own `Response`), else on
 * a copy (a `fetch()` answer's headers are immutable). The body is passed through, not read.
 */
export function withHeaders(response: Response, headers: Readonly<Record<string, string>>): Response {
  try {
    for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    return response;
  } catch {
    // Immutable headers: copy below.
  }
  const out = new Headers(response.headers);
  for (const [name, value] of Object.entries(headers)) out.set(name, value);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: out,
  });
}

/** Discards a response body the client must not see (a failed settlement). */
export function discardBody(response: Response): void {
  response.body?.cancel().catch(() => undefined);
}
