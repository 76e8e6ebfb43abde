import type { Facilitator } from "@tollgate/server/facilitator";
import { type HttpHandler, http } from "msw";

/** Parameters of `facilitatorHandlers`. */
export type FacilitatorHandlersParameters = Readonly<{
  /** The public facilitator URL to stand in for, e.g. `https://facilitator.payai.network`. */
  baseUrl: string;
  /** The facilitator that answers in its place (e.g. `startLocalFacilitator(…).facilitator`). */
  facilitator: Facilitator;
  /** Sees each request before it is answered, e.g. to check an `Authorization` header. */
  onRequest?: (request: Request) => Response | undefined | Promise<Response | undefined>;
}>;

/**
 * msw handlers that answer a public facilitator's `/verify`, `/settle` and `/supported` with a real
 * facilitator in process, for code that must call a fixed public URL (PayAI's preset, say) in offline tests.
 *
 * @example
 * ```ts
 * import { setupServer } from "msw/node";
 * import { facilitatorHandlers, loopbackOnly } from "@tollgate/testing";
 * const server = setupServer(...facilitatorHandlers({ baseUrl: "https://facilitator.payai.network", facilitator }));
 * server.listen({ onUnhandledRequest: loopbackOnly });
 * ```
 */
export function facilitatorHandlers(parameters: FacilitatorHandlersParameters): HttpHandler[] {
  const { baseUrl, facilitator, onRequest } = parameters;
  const base = baseUrl.replace(/\/+$/, "");
  const answer = async ({ request }: { request: Request }) => {
    const early = await onRequest?.(request);
    return early ?? facilitator.fetch(request);
  };
  return [
    http.post(`${base}/verify`, answer),
    http.post(`${base}/settle`, answer),
    http.get(`${base}/supported`, answer),
  ];
}

/**
 * An msw `onUnhandledRequest` strategy: requests to loopback hosts pass through to the real servers, and any
 * other unhandled request is an error, so a test can never reach the network by accident.
 *
 * @example
 * ```ts
 * server.listen({ onUnhandledRequest: loopbackOnly });
 * ```
 */
export function loopbackOnly(request: Request, print: { error(): void }): void {
  const host = new URL(request.url).hostname;
  if (host === "127.0.0.1" || host === "localhost" || host === "[::1]" || host === "::1") return;
  print.error();
}
