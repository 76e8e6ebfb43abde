import { createPaywall, type Paywall, type Store } from "@tollgate/server";

/**
 * The paywall of the store benches: `GET /paid` at $0.01 on the facilitator lane (the facilitator at
 * `facilitatorUrl`) and the token lane, on `store`, analytics on (the default queue) or off (`maxQueue: 0`: every
 * record dropped before it is built or written).
 */
export function benchPaywall(
  parameters: Readonly<{ store: Store; analytics: boolean; facilitatorUrl: string; payTo: string }>,
): Paywall {
  const { store, analytics, facilitatorUrl, payTo } = parameters;
  return createPaywall({
    routes: { "GET /paid": { price: "$0.01", description: "paid" } },
    networks: ["eip155:84532"],
    payTo,
    settlementChecks: { "base-sepolia": false },
    facilitators: [{ url: facilitatorUrl }],
    lanes: { direct: false },
    store,
    ...(analytics ? {} : { analytics: { maxQueue: 0 } }),
  });
}
