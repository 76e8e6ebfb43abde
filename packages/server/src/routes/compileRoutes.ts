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

/** The methods a request may be routed as: its own, GET for HEAD, and any method-override header. */
export function requestMethods(
  method: string,
  headers: Readonly<{ get(name: string): string | null }>,
): string[] {
  const methods = new Set<string>([method.toUpperCase()]);
  if (methods.has("HEAD")) methods.add("GET");
  for (const name of methodOverrideHeaders) {
    const value = headers.get(name);
    if (value) for (const v of value.split(",")) methods.add(v.trim().toUpperCase());
  }
  return [...methods];
}

/**
 * Finds the first route, in the order given, that matches the request under any of its path forms
 * (`pathForms`) and any of its methods (`requestMethods`). The parsed pathname's forms are tried first.
 */
export function matchRoute<T>(
  routes: readonly CompiledPattern<T>[],
  parameters: Readonly<{ methods: readonly string[]; pathname: string; target?: string }>,
): RouteMatch<T> | undefined {
  const { methods, pathname, target } = parameters;
  for (const form of pathForms({ pathname, ...(target === undefined ? {} : { target }) })) {
    const parts = form === "/" ? [] : form.slice(1).split("/");
    for (const route of routes) {
      if (route.method !== undefined && !methods.includes(route.method)) continue;
      const params = matchSegments(route.segments, parts);
      if (params !== undefined) return { pattern: route.pattern, value: route.value, params };
    }
  }
  return undefined;
}
