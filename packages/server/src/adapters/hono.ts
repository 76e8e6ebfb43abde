import type { MiddlewareHandler } from "hono";
import type { Paywall } from "../paywall.js";

/** Parameters of `paywallMiddleware` for Hono. */
export type HonoPaywallMiddlewareParameters = Readonly<{
  paywall: Paywall;
}>;

/**
 * Hono 4 middleware: unpriced requests go on untouched; a priced request gets the hybrid 402 until it carries
 * a valid proof; a paid request runs the rest of the chain, then its response is settled and sent with its
 * receipt (or replaced by a 402, headers included, when settlement fails).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createPaywall } from "@tollgate/server";
 * import { paywallMiddleware } from "@tollgate/server/hono";
 * const app = new Hono();
 * app.use(paywallMiddleware({ paywall: createPaywall({ routes: { "GET /paid": "$0.01" }, … }) }));
 * app.get("/paid", (c) => c.json({ ok: true }));
 * ```
 */
export function paywallMiddleware(parameters: HonoPaywallMiddlewareParameters): MiddlewareHandler {
  const { paywall } = parameters;
  return async function tollgatePaywall(c, next) {
    const decision = await paywall.handle(c.req.raw);
    if (decision.action === "pass") {
      await next();
      return;
    }
    if (decision.action === "respond") return decision.response;
    await next();
    const final = await paywall.settle(decision, c.res);
    // Hono merges the old response's headers into a new one; drop the old one first so none leak.
    c.res = undefined;
    c.res = final;
  };
}
