import type { FacilitatorOffer } from "@tollgate/shared";
import type { BufferedRequest } from "../request/bufferRequest.js";
import type { PaymentRequiredResponse } from "./readOffers.js";

/** Most routes the requirement cache remembers; the oldest is forgotten first. */
const maxCachedRequirements = 1024;

/** Parameters of `createRequirementCache`. */
export type CreateRequirementCacheParameters = Readonly<{
  /** When `false`, the cache remembers nothing and finds nothing. */
  enabled: boolean;
  now: () => number;
}>;

/** The facilitator-lane requirements of each route's last 402, kept for their `maxTimeoutSeconds`. */
export type RequirementCache = Readonly<{
  /** Remembers a 402's facilitator-lane offers for their shortest `maxTimeoutSeconds` (never other lanes). */
  remember(request: BufferedRequest, reading: PaymentRequiredResponse): void;
  /** The unexpired requirements remembered for the request's method, origin and path, if any. */
  find(request: BufferedRequest): PaymentRequiredResponse | undefined;
  /** Forgets the route's requirements (the server no longer takes them). */
  forget(request: BufferedRequest): void;
}>;

/** The route a request's requirements are remembered under: method, origin and path (not the query). */
function routeOf(request: BufferedRequest): string {
  const url = new URL(request.url);
  return `${request.method} ${url.origin}${url.pathname}`;
}

/**
 * A requirement cache in memory, for paying known routes with the first request (one round trip instead of two).
 * Holds at most 1024 routes.
 */
export function createRequirementCache(parameters: CreateRequirementCacheParameters): RequirementCache {
  const { enabled, now } = parameters;
  const cache = new Map<string, { reading: PaymentRequiredResponse; expiresAt: number }>();
  return Object.freeze({
    remember(request: BufferedRequest, reading: PaymentRequiredResponse) {
      if (!enabled) return;
      const offers = reading.offers.filter((o): o is FacilitatorOffer => o.lane === "facilitator");
      if (offers.length === 0) return;
      const ttlSeconds = Math.min(...offers.map((o) => o.maxTimeoutSeconds));
      if (!(ttlSeconds >= 1)) return;
      if (cache.size >= maxCachedRequirements) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      cache.set(routeOf(request), {
        reading: { ...reading, offers, problems: [] },
        expiresAt: now() + ttlSeconds * 1000,
      });
    },
    find(request: BufferedRequest) {
      if (!enabled) return undefined;
      const route = routeOf(request);
      const hit = cache.get(route);
      if (hit === undefined) return undefined;
      if (hit.expiresAt <= now()) {
        cache.delete(route);
        return undefined;
      }
      return hit.reading;
    },
    forget(request: BufferedRequest) {
      cache.delete(routeOf(request));
    },
  });
}
