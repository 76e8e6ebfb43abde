import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { invalidConfig } from "../config/invalidConfig.js";
import { jsonResponse } from "../respond/paymentRequired.js";

/** Why a node:http request cannot be read as a URL: its Host (or the origin built from it), or its target. */
export type RequestRefusalReason = "invalid_host" | "invalid_request_target";

/**
 * A node:http request read as a Web `Request`, or refused: `response` is the 400 to send (`{ error: reason }`),
 * before anything is priced or the handler runs.
 */
export type ReadRequestReturnType =
  | Readonly<{ ok: true; request: Request; target: string }>
  | Readonly<{ ok: false; reason: RequestRefusalReason; response: Response }>;

/** `host[:port]` as RFC 3986 writes it: a reg-name (no `%` escapes) or an IP literal, a port of digits. */
const hostPattern = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=-]+)(?::[0-9]{1,5})?$/;
const originPattern = /^(https?):\/\/([^/?#]*)\/?$/i;
const absoluteTargetPattern = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;

/** Whether `host` is a `host[:port]` that the WHATWG URL parser reads as exactly that authority. */
function isValidHost(host: string): boolean {
  if (!hostPattern.test(host)) return false;
  try {
    const url = new URL(`http://${host}`);
    return url.pathname === "/" && url.username === "" && url.password === "";
  } catch {
    return false; // A port above 65535, an IP literal that is not one, a forbidden host code point.
  }
}

/** `scheme://host[:port]` normalised, or `undefined` when `text` is not an http(s) origin with a valid host. */
function parseOrigin(text: string): string | undefined {
  const parts = originPattern.exec(text);
  if (!parts || !isValidHost(parts[2] as string)) return undefined;
  return new URL(`${(parts[1] as string).toLowerCase()}://${parts[2]}`).origin;
}

/**
 * Validates a configured public origin once, so a typo fails at start rather than refusing every request.
 * @throws `SERVER__INVALID_CONFIG` naming `option` when `origin` is not `http(s)://host[:port]`.
 */
export function assertOrigin(option: string, origin: string | undefined): void {
  if (origin !== undefined && parseOrigin(origin) === undefined) {
    throw invalidConfig(option, "must be http(s)://host[:port], without a path");
  }
}

/** The request's one Host header: `undefined` when absent, `null` when repeated or empty. */
function hostHeader(req: IncomingMessage): string | undefined | null {
  let found: string | undefined;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if ((req.rawHeaders[i] as string).toLowerCase() !== "host") continue;
    if (found !== undefined) return null;
    found = (req.rawHeaders[i + 1] as string).trim();
  }
  return found === "" ? null : found;
}

/**
 * The path and query of a raw request target, to append to the origin: an origin-form target as is, the part
 * after the authority of an absolute-form http(s) target (its authority must be valid, though the origin comes
 * from `Host` or the configured one, as the app reads it), `/*` for `OPTIONS *`; `undefined` for anything else.
 */
function pathAndQueryOf(target: string, method: string): string | undefined {
  if (target.startsWith("/")) return target;
  if (target === "*") return method === "OPTIONS" ? "/*" : undefined;
  const absolute = absoluteTargetPattern.exec(target);
  if (!absolute || !/^https?:/i.test(target) || !isValidHost(absolute[1] as string)) return undefined;
  const rest = target.slice(absolute[0].length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

function refusal(reason: RequestRefusalReason): ReadRequestReturnType {
  return { ok: false, reason, response: jsonResponse(400, { error: reason }) };
}

/** Parameters of `readNodeRequest`. */
export type ReadNodeRequestParameters = Readonly<{
  req: IncomingMessage;
  /** `scheme://host` of the public URL; @default `protocol` + `://` + the Host header */
  origin?: string | undefined;
  /** The scheme when no `origin` is given (Express's `req.protocol`); @default "http" */
  protocol?: string | undefined;
  /** The raw request target; @default req.url */
  target?: string | undefined;
  /** Whether the Web `Request` streams the body (never for GET and HEAD); @default false */
  body?: boolean;
}>;

/**
 * Reads a node:http request as a Web `Request` whose URL is the origin followed by the raw target's path and
 * query, never a URL resolved from the target (so `//host/path` stays a path, not another host). A repeated,
 * empty or malformed Host header (RFC 9112 §3.2 requires a 400), a missing one without a configured `origin`, an
 * origin that is not `http(s)://host[:port]`, or a target that is not origin-form, absolute-form http(s), or `*`
 * for OPTIONS, is refused: nothing is ever priced as another path.
 */
export function readNodeRequest(parameters: ReadNodeRequestParameters): ReadRequestReturnType {
  const { req, origin, protocol = "http", target = req.url ?? "", body = false } = parameters;
  const host = hostHeader(req);
  if (host === null || (host !== undefined && !isValidHost(host))) return refusal("invalid_host");
  const base = origin ?? (host === undefined ? undefined : `${protocol}://${host}`);
  const publicOrigin = base === undefined ? undefined : parseOrigin(base);
  if (publicOrigin === undefined) return refusal("invalid_host");
  const method = (req.method ?? "GET").toUpperCase();
  const pathAndQuery = pathAndQueryOf(target, method);
  if (pathAndQuery === undefined) return refusal("invalid_request_target");
  let url: URL;
  try {
    url = new URL(`${publicOrigin}${pathAndQuery}`);
  } catch {
    return refusal("invalid_request_target"); // Characters node's parser let through but a URL cannot hold.
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    try {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.set(name, value);
    } catch {
      // A header value the Fetch API refuses: left out, it cannot carry a valid proof either.
    }
  }
  const streamsBody = body && method !== "GET" && method !== "HEAD";
  const request = new Request(url, {
    method: req.method ?? "GET",
    headers,
    ...(streamsBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
  } as RequestInit);
  return { ok: true, request, target };
}

/** Parameters of `requestHead`. */
export type RequestHeadParameters = Readonly<{
  req: IncomingMessage;
  /**
   * `scheme://host` of the public URL.
   * @default `protocol` + `://` + the Host header
   */
  origin?: string;
  /**
   * The scheme of the public URL when no `origin` is given (Express: `req.protocol`).
   * @default "http"
   */
  protocol?: string;
  /**
   * The request target to use instead of `req.url` (Express: `req.originalUrl` inside a mounted router).
   * @default req.url
   */
  target?: string;
}>;

/**
 * A Web `Request` with the method, URL and headers of a node:http request but no body, so the body stays
 * unread for the handler (the paywall decides on headers and URL alone); or the 400 that refuses a request
 * whose Host or target cannot be read (`invalid_host`, `invalid_request_target`). Pass `target` on to
 * `paywall.handle`, so the raw target's forms are priced too.
 *
 * @example
 * ```ts
 * import { requestHead } from "@tollgate/server";
 * const head = requestHead({ req });
 * if (!head.ok) return sendWebResponse(res, head.response);
 * const decision = await paywall.handle(head.request, { target: head.target });
 * ```
 */
export function requestHead(parameters: RequestHeadParameters): ReadRequestReturnType {
  return readNodeRequest(parameters);
}
