import { parseUsd, TollgateError } from "@tollgate/shared";

/** The `SERVER__INVALID_CONFIG` error of one option, e.g. `invalidConfig("routes[\"GET /\"].price", "…")`. */
export function invalidConfig(option: string, reason: string): TollgateError<"SERVER__INVALID_CONFIG"> {
  return new TollgateError("SERVER__INVALID_CONFIG", { context: { option, reason } });
}

/**
 * Parses a configured decimal USD amount (`"$0.01"`) into atomic USDC units.
 * @throws `SERVER__INVALID_CONFIG` naming `option`, with the `MONEY__*` error as its cause.
 */
export function parseConfigUsd(option: string, price: string): bigint {
  try {
    return parseUsd(price);
  } catch (cause) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option, reason: `"${price}" is not a decimal USD amount` },
      cause,
    });
  }
}

/**
 * Parses a route's price: a decimal USD amount above zero (a free route is one left out of `routes`).
 * @throws `SERVER__INVALID_CONFIG` naming `option` for a malformed, zero or negative price.
 */
export function parseRoutePrice(option: string, price: string): bigint {
  const atomic = parseConfigUsd(option, price);
  if (atomic <= 0n)
    throw invalidConfig(option, `"${price}" is not above zero; leave a free route out of routes`);
  return atomic;
}
