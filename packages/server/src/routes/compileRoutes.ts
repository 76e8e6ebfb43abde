import { invalidConfig } from "../config/invalidConfig.js";
import { pathForms } from "./normalisePath.js";

/** A route pattern compiled for matching. */
export type CompiledPattern<T> = Readonly<{
  /** The pattern as written: `"GET /v1/items/:id"`. */
  pattern: string;
  /** Upper-case method, or `undefined` for any method. */
  method: string | undefined;
  segments: readonly string[];
  value: T;
}>;

/** A matched route: its value and the path parameters (`:name` and `*`). */
export type RouteMatch<T> = Readonly<{
  pattern: string;
  value: T;
  params: Readonly<Record<string, string>>;
}>;

/** Request headers that some frameworks' middleware use to override the method; checked too. */
const methodOverrideHeaders = ["x-http-method-override", "x-http-method", "x-method-override"] as const;

const methodPattern = /^[A-Za-z]+$/;
const segmentPattern = /^(?::[A-Za-z_][A-Za-z0-9_]*|\*|[^/:*?#\s]+)$/;

/**
 * Compiles `"METHOD /path"` patterns: the method is optional (then any method, OPTIONS included: answer CORS
 * preflights before the paywall), `:name` matches one segment, `*` matches one segment, or everything that
 * follows when it is last. Literal segments match case-insensitively.
 *
 * @throws `SERVER__INVALID_CONFIG` for a malformed pattern.
 */
export function compileRoutes<T>(entries: readonly (readonly [string, T])[]): readonly CompiledPattern<T>[] {
  return entries.map(([pattern, value]) => {
    const trimmed = pattern.trim();
    const space = trimmed.search(/\s/);
    const method = space === -1 ? undefined : trimmed.slice(0, space);
    const path = space === -1 ? trimmed : trimmed.slice(space).trim();
    const invalid = (reason: string) => invalidConfig(`routes["${pattern}"]`, reason);
    if (method !== undefined && method !== "*" && !methodPattern.test(method))
      throw invalid("the method must be letters");
    if (!path.startsWith("/")) throw invalid('the path must start with "/"');
    const segments = path
      .split("/")
      .filter((s) => s !== "")
      .map((s) => (s.startsWith(":") ? s : s.toLowerCase()));
    for (const segment of segments) {
      if (!segmentPattern.test(segment)) throw invalid(`segment "${segment}" is not literal, :name or *`);
      if (segment === "." || segment === "..") throw invalid("dot segments are not allowed");
    }
    return {
      pattern,
      method: method === undefined || method === "*" ? undefined : method.toUpperCase(),
      segments,
      value,
    };
  });
}

function matchSegments(
  segments: readonly string[],
  parts: readonly string[],
): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (segment === "*" && last) {
      params["*"] = parts.slice(i).join("/");
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment === "*") continue;
    if (segment.startsWith(":")) params[segment.slice(1)] = part;
    else if (segment !== part.toLowerCase()) return undefined;
  }
  return parts.length === segments.length ? params : undefined;
}

/** Query parameters that method-override middleware reads (Express's `method-override("_method")`, Hono's). */
const methodOverrideQueryKeys = ["_method"] as const;

/**
 * The methods a request may be routed as: its own, GET for HEAD, and any method override (the usual headers, and
 * the `_method` query parameter when `query` is given). Every one of them is priced.
 */
export function requestMethods(
  method: string,
  headers: Readonly<{ get(name: string): string | null }>,
  query?: URLSearchParams,
): string[] {
  const methods = new Set<string>([method.toUpperCase()]);
  if (methods.has("HEAD")) methods.add("GET");
  const overrides = [
    ...methodOverrideHeaders.map((name) => headers.get(name)),
    ...methodOverrideQueryKeys.flatMap((key) => query?.getAll(key) ?? []),
  ];
  for (const value of overrides) {
    if (value) for (const v of value.split(",")) if (v.trim() !== "") methods.add(v.trim().toUpperCase());
  }
  return [...methods];
}

/** The methods, with HEAD where GET is (HEAD is read as GET), sorted: an `Allow` header's list. */
function withHead(methods: Iterable<string>): readonly string[] {
  const allow = new Set(methods);
  if (allow.has("GET")) allow.add("HEAD");
  return [...allow].sort();
}

/**
 * What a request is priced as: `none` (no priced route), `match` (one route under every reading), `ambiguous`
 * (different readings of the request, by method or by path form, reach different routes), or `unpriced_method`
 * (a priced path, but no route prices any of the request's methods; `allow` lists the methods that are priced).
 */
export type MatchRouteReturnType<T> =
  | Readonly<{ kind: "none" }>
  | Readonly<{
      kind: "match";
      match: RouteMatch<T>;
      /**
       * Set when the match is a route without a method that a route for the same path with another method came
       * before (`"GET /paid"` then `"/*"`, asked with POST), or when another reading of the request (a method
       * override, another path form) reaches a priced path under a method no route prices (`"GET /paid"` and
       * `"POST /paid"`, asked as POST with an override to PUT): the methods of those routes, to refuse the request
       * as an unpriced method of theirs, since a handler that routes on the path alone serves their content.
       */
      skippedMethods?: readonly string[];
    }>
  | Readonly<{ kind: "ambiguous"; patterns: readonly string[] }>
  | Readonly<{ kind: "unpriced_method"; patterns: readonly string[]; allow: readonly string[] }>;

/**
 * The most methods a request is read as (its own, GET for HEAD, and its overrides) before `matchRoute` calls a
 * priced path `ambiguous` without trying each: the cost of matching grows with methods × path forms × routes.
 */
export const maxRequestMethods = 8;

/** Parameters of `matchRoute`. */
export type MatchRouteParameters = Readonly<{
  /** The methods the request may be routed as (`requestMethods`). */
  methods: readonly string[];
  /** The request URL's `pathname`. */
  pathname: string;
  /** The raw request target, when the framework routes on it (see `pathForms`). */
  target?: string;
  /** Further raw targets the app may route on (see `pathForms`). */
  otherTargets?: readonly string[];
}>;

/**
 * Matches a request against the routes under every reading a router might act on: each of its methods
 * (`requestMethods`) with each of its path forms (`pathForms`). Each reading takes the first route, in the
 * order given, that it matches, so a specific route before a catch-all still wins. When two readings reach
 * different routes, the request is `ambiguous`: the paywall cannot know which handler the app will run, and
 * pricing it by either would let a client pick the cheaper one. When no reading matches but a path form matches
 * a route of another method, it is `unpriced_method`. A request read as more than `maxRequestMethods` methods (a
 * header full of overrides) is `ambiguous` when any path form reaches a route, `none` otherwise.
 *
 * @example
 * ```ts
 * const routes = compileRoutes([["GET /v1/report", "cheap"], ["POST /v1/report", "dear"]]);
 * matchRoute(routes, { methods: ["POST", "GET"], pathname: "/v1/report" }); // { kind: "ambiguous", … }
 * matchRoute(routes, { methods: ["PUT"], pathname: "/v1/report" }); // { kind: "unpriced_method", allow: ["GET", "HEAD", "POST"], … }
 * ```
 */
export function matchRoute<T>(
  routes: readonly CompiledPattern<T>[],
  parameters: MatchRouteParameters,
): MatchRouteReturnType<T> {
  const { methods, pathname, target, otherTargets } = parameters;
  const forms = pathForms({
    pathname,
    ...(target === undefined ? {} : { target }),
    ...(otherTargets === undefined ? {} : { otherTargets }),
  });
  if (methods.length > maxRequestMethods) {
    // Every reading costs a pass over the routes: a 16 KiB header of overrides would cost thousands of them. No
    // app routes a request as that many methods, so a priced path asked so is ambiguous, without reading further.
    const reached = routes.filter((route) =>
      forms.some((form) => matchSegments(route.segments, form === "/" ? [] : form.slice(1).split("/"))),
    );
    return reached.length === 0
      ? { kind: "none" }
      : { kind: "ambiguous", patterns: reached.map((r) => r.pattern) };
  }
  const matches = new Map<CompiledPattern<T>, RouteMatch<T>>();
  const otherMethods = new Map<CompiledPattern<T>, string>();
  const skipped = new Set<string>();
  // Routes of a priced path that a reading (a method, a path form) passed over without finding its own route: a
  // handler routing on the path alone serves their content to that reading, whatever another reading matched.
  const passedByUnmatched = new Set<CompiledPattern<T>>();
  for (const form of forms) {
    const parts = form === "/" ? [] : form.slice(1).split("/");
    for (const method of methods) {
      const passed: CompiledPattern<T>[] = [];
      let found = false;
      for (const route of routes) {
        const params = matchSegments(route.segments, parts);
        if (params === undefined) continue;
        if (route.method !== undefined && route.method !== method) {
          passed.push(route);
          continue;
        }
        // The parsed pathname's forms come first, so a route's parameters are read from them.
        if (!matches.has(route)) matches.set(route, { pattern: route.pattern, value: route.value, params });
        if (route.method === undefined) for (const p of passed) skipped.add(p.method as string);
        found = true;
        break;
      }
      // HEAD is read as GET (`requestMethods` adds it): its own reading adds nothing.
      if (!found && !(method === "HEAD" && methods.includes("GET"))) {
        for (const p of passed) passedByUnmatched.add(p);
      }
    }
    if (matches.size === 0) {
      for (const route of routes) {
        if (route.method !== undefined && matchSegments(route.segments, parts) !== undefined) {
          otherMethods.set(route, route.method);
        }
      }
    }
  }
  const [first] = matches.values();
  if (first === undefined) {
    if (otherMethods.size === 0) return { kind: "none" };
    return {
      kind: "unpriced_method",
      patterns: [...otherMethods.keys()].map((route) => route.pattern),
      allow: withHead(otherMethods.values()),
    };
  }
  if (matches.size > 1) return { kind: "ambiguous", patterns: [...matches.values()].map((m) => m.pattern) };
  // Another reading reached a priced path under a method no route prices (an override, a path form of it): a
  // path-only handler would serve that path's routes for the price of the one matched.
  for (const route of passedByUnmatched) {
    if (!matches.has(route)) skipped.add(route.method as string);
  }
  if (skipped.size === 0) return { kind: "match", match: first };
  return { kind: "match", match: first, skippedMethods: withHead(skipped) };
}
