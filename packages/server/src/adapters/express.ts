import type { RequestHandler } from "express";
import type { Paywall } from "../paywall.js";
import { sendWebResponse } from "./node.js";
import { runWithPaywall, withClientGoneSignal } from "./paywallNode.js";
import { assertOrigin, requestHead } from "./requestHead.js";

/** Parameters of `paywallMiddleware` for Express. */
export type ExpressPaywallMiddlewareParameters = Readonly<{
  paywall: Paywall;
  /**
   * `scheme://host` of the public URL.
   * @default `req.protocol` + `://` + the Host header (the scheme honours Express's `trust proxy`)
   */
  origin?: string;
}>;

/**
 * Express 5 middleware: unpriced requests go on untouched; a priced request gets the hybrid 402 until it
 * carries a valid proof; a paid request's response is held until the payment settles, then sent with its
 * receipt (or replaced by a 402 when settlement fails). The request body is left for the app's parsers.
 *
 * It prices every target Express may route on: `req.originalUrl` as received, and `req.baseUrl + req.path`,
 * which differs when a middleware before it rewrote `req.url` (`/v2/*` to `/*`); rewrites after it are not
 * seen, so mount it after them. A request whose Host or target cannot be read is refused 400 (`invalid_host`,
 * `invalid_request_target`), and a priced path's unpriced method 405 (`unpricedMethods`).
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
 * @throws `SERVER__INVALID_CONFIG` when `origin` is not `http(s)://host[:port]`.
 */
export function paywallMiddleware(parameters: ExpressPaywallMiddlewareParameters): RequestHandler {
  const { paywall, origin } = parameters;
  assertOrigin("paywallMiddleware.origin", origin);
  return function tollgatePaywall(req, res, next) {
    void (async () => {
      const head = requestHead({
        req,
        target: req.originalUrl,
        ...(origin === undefined ? { protocol: req.protocol } : { origin }),
      });
      if (!head.ok) {
        await sendWebResponse(res, head.response);
        return;
      }
      // Where Express routes this request now: differs from originalUrl after a rewrite of req.url.
      const routed = `${req.baseUrl}${req.path}`;
      const decision = await paywall.handle(withClientGoneSignal(head.request, res), {
        target: head.target,
        ...(routed === head.target ? {} : { otherTargets: [routed] }),
      });
      await runWithPaywall({ paywall, res, decision, next: () => next() });
    })().catch(next);
  };
}
