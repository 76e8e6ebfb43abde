import type { MiddlewareHandler } from "hono";
import type { Paywall } from "../paywall.js";

/** Parameters of `paywallMiddleware` for Hono. */
export type HonoPaywallMiddlewareParameters = Readonly<{
  paywall: Paywall;
}>;

/**
 * Hono 4 middleware: unpriced requests go on untouched; a priced request gets the hybrid 402 until it carries
 * a valid proof; a paid request runs the rest of the chain, then its response is settled and sent with its
 * receipt (or replaced by a 402, headers included, when settlement fails). With settlement `after` the whole
 * response, a streamed one included, is read before anything is settled: a body that fails half way, a handler
 * that threw, or a client that left (the request's signal, as `@hono/node-server` aborts it) is never charged.
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
    // A handler that threw reached Hono's error handler: whatever that answered, it is a failure, never charged.
    const failed = c.error !== undefined && c.res.status < 400;
    const final = await paywall.settle(
      decision,
      failed ? Response.json({ error: "internal_error" }, { status: 500 }) : c.res,
    );
    // Hono merges the old response's headers into a new one; drop the old one first so none leak.
    c.res = undefined;
    c.res = final;
  };
}
