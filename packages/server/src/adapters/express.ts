import type { RequestHandler } from "express";
import type { Paywall } from "../paywall.js";
import { requestHead, runWithPaywall, withClientGoneSignal } from "./paywallNode.js";

/** Parameters of `paywallMiddleware` for Express. */
export type ExpressPaywallMiddlewareParameters = Readonly<{
  paywall: Paywall;
  /**
   * `scheme://host` of the public URL.
   * @default `req.protocol` + `://` + the Host header (honours Express's `trust proxy`)
   */
  origin?: string;
}>;

/**
 * Express 5 middleware: unpriced requests go on untouched; a priced request gets the hybrid 402 until it
 * carries a valid proof; a paid request's response is held until the payment settles, then sent with its
 * receipt (or replaced by a 402 when settlement fails). The request body is left for the app's parsers.
 *
 * @example
 * ```ts
 * import express from "express";
 * import { createPaywall } from "@tollgate/server";
 * import { paywallMiddleware } from "@tollgate/server/express";
 * const app = express();
 * app.use(paywallMiddleware({ paywall: createPaywall({ routes: { "GET /paid": "$0.01" }, … }) }));
 * app.get("/paid", (_req, res) => res.json({ ok: true }));
 * ```
 */
export function paywallMiddleware(parameters: ExpressPaywallMiddlewareParameters): RequestHandler {
  const { paywall, origin } = parameters;
  return function tollgatePaywall(req, res, next) {
    const base = origin ?? `${req.protocol}://${req.get("host") ?? "localhost"}`;
    void (async () => {
      const head = requestHead({ req, origin: base, target: req.originalUrl });
      const decision = await paywall.handle(withClientGoneSignal(head, res), { target: req.originalUrl });
      await runWithPaywall({ paywall, res, decision, next: () => next() });
    })().catch(next);
  };
}
