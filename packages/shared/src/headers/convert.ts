import { TollgateError } from "../errors/TollgateError.js";
import { defaultNetworkRegistry, type NetworkRegistry } from "../networks/registry.js";
import type { PaymentPayloadV1, PaymentRequirementsV1 } from "../schemas/v1.js";
import type { PaymentPayloadV2, PaymentRequirementsV2, ResourceInfo } from "../schemas/v2.js";

/** Options shared by the converters: which registry maps v1 names to CAIP-2 and back. */
export type ConvertOptions = Readonly<{
  /** @default defaultNetworkRegistry */
  registry?: Pick<NetworkRegistry, "get">;
}>;

/**
 * Converts a v1 requirement to v2: `maxAmountRequired` becomes `amount`, the v1 network name its CAIP-2 id,
 * and `resource`/`description`/`mimeType` move to the v2 `resource` object. Unknown keys are kept.
 *
 * @example
 * ```ts
 * import { requirementV1ToV2 } from "@tollgate/shared";
 * const { requirement, resource } = requirementV1ToV2(v1Requirement);
 * ```
 * @throws `NETWORK__UNKNOWN`
 */
export function requirementV1ToV2(
  requirement: PaymentRequirementsV1,
  options: ConvertOptions = {},
): { requirement: PaymentRequirementsV2; resource: ResourceInfo } {
  const { registry = defaultNetworkRegistry } = options;
  const {
    maxAmountRequired,
    resource,
    description,
    mimeType,
    outputSchema: _outputSchema,
    network,
    ...rest
  } = requirement;
  return {
    requirement: { ...rest, network: registry.get(network).caip2, amount: maxAmountRequired },
    resource: { url: resource, description, mimeType },
  };
}

/**
 * Converts a v2 requirement to v1 for the resource it belongs to. The network must have a v1 name.
 *
 * @example
 * ```ts
 * import { requirementV2ToV1 } from "@tollgate/shared";
 * const v1 = requirementV2ToV1(requirement, { url: "https://api.example.com/x", description: "", mimeType: "" });
 * ```
 * @throws `NETWORK__UNKNOWN` (also when the network has no v1 name)
 */
export function requirementV2ToV1(
  requirement: PaymentRequirementsV2,
  resource: ResourceInfo,
  options: ConvertOptions = {},
): PaymentRequirementsV1 {
  const { registry = defaultNetworkRegistry } = options;
  const { amount, network, extra, ...rest } = requirement;
  const v1Name = registry.get(network).v1Name;
  if (v1Name === undefined) throw new TollgateError("NETWORK__UNKNOWN", { context: { network } });
  return {
    ...rest,
    network: v1Name,
    maxAmountRequired: amount,
    resource: resource.url,
    description: resource.description ?? "",
    mimeType: resource.mimeType ?? "",
    ...(extra == null ? {} : { extra }),
  };
}

/**
 * Converts a v1 `X-PAYMENT` payload to a v2 `PAYMENT-SIGNATURE` payload, given the v2 form of the
 * requirement it pays (which v1 does not carry).
 *
 * @example
 * ```ts
 * import { paymentPayloadV1ToV2 } from "@tollgate/shared";
 * const v2 = paymentPayloadV1ToV2(xPayment, { accepted, resource });
 * ```
 */
export function paymentPayloadV1ToV2(
  payload: PaymentPayloadV1,
  context: Readonly<{ accepted: PaymentRequirementsV2; resource?: ResourceInfo }>,
): PaymentPayloadV2 {
  return {
    x402Version: 2,
    ...(context.resource === undefined ? {} : { resource: context.resource }),
    accepted: context.accepted,
    payload: payload.payload,
  };
}

/**
 * Converts a v2 `PAYMENT-SIGNATURE` payload to a v1 `X-PAYMENT` payload: scheme and network come from
 * `accepted`, the network as its v1 name.
 *
 * @example
 * ```ts
 * import { paymentPayloadV2ToV1 } from "@tollgate/shared";
 * const xPayment = paymentPayloadV2ToV1(paymentSignature);
 * ```
 * @throws `NETWORK__UNKNOWN` (also when the network has no v1 name)
 */
export function paymentPayloadV2ToV1(
  payload: PaymentPayloadV2,
  options: ConvertOptions = {},
): PaymentPayloadV1 {
  const { registry = defaultNetworkRegistry } = options;
  const network = payload.accepted.network;
  const v1Name = registry.get(network).v1Name;
  if (v1Name === undefined) throw new TollgateError("NETWORK__UNKNOWN", { context: { network } });
  return { x402Version: 1, scheme: payload.accepted.scheme, network: v1Name, payload: payload.payload };
}
