import type { FetchClient } from "../adapters/node.js";
import { report } from "../analytics/report.js";
import { invalidConfig } from "../config/invalidConfig.js";
import type { RuntimeSwitches } from "../config/runtimeSwitches.js";
import { bufferUpTo } from "../internal/bufferUpTo.js";
import type { Store, StoreAdmin } from "../store/store.js";
import { tokenHash as hashOfToken } from "../verify/prepaidTokens.js";
import { bearerKey, createAdminKeyCheck } from "./adminKey.js";
import {
  defaultMaxReportRecords,
  pendingQuerySchema,
  reportQuerySchema,
  switchesBodySchema,
  tokenQuerySchema,
} from "./adminSchemas.js";
import { type CreateLockoutParameters, createLockout } from "./lockout.js";
import { listPendingSettlements, type PendingSettlementResolver } from "./pendingSettlements.js";

/** What the admin API reports: refused keys, lockouts and the changes an operator made. Never a key. */
export type AdminEvent =
  | Readonly<{ type: "admin_unauthorized"; address: string }>
  | Readonly<{
      type: "admin_locked_out";
      address: string;
      scope: "address" | "global";
      retryAfterSeconds: number;
    }>
  | Readonly<{ type: "admin_token_revoked"; tokenHash: string; known: boolean }>
  | Readonly<{
      type: "admin_switched";
      lanes: Readonly<Record<string, boolean>>;
      facilitators: Readonly<Record<string, boolean>>;
    }>
  | Readonly<{ type: "admin_error"; route: string; error: unknown }>;

/** Who sent a request, as the server that accepted it knows (`serveFetch` passes the socket's address). */
export type AdminClient = FetchClient;

/** Parameters of `createAdminApi`. */
export type CreateAdminApiParameters = Readonly<{
  /**
   * The key every request must present as `Authorization: Bearer <key>`: at least 32 characters, not a default or
   * placeholder (`openssl rand -base64 32`). Kept only as its SHA-256 digest.
   */
  key: string;
  /** The paywall's store: the reports, tokens and pending settlements are read from it. */
  store: Store & StoreAdmin;
  /**
   * The paywall's run-time switches (`createRuntimeSwitches`), turned by `POST /switches`.
   * @default none (`/switches` answers 404 `switches_not_configured`)
   */
  switches?: RuntimeSwitches;
  /**
   * By CAIP-2 network: how to ask the chain about a pending settlement, e.g. `createEvmPendingSettlementResolver`
   * of `@tollgate/server/evm`.
   * @default {} (every pending settlement `unresolvable`)
   */
  resolvers?: Readonly<Record<string, PendingSettlementResolver>>;
  /**
   * The path the API is mounted at (`"/admin"`); requests outside it answer 404. `""` when it has a server of its own.
   * @default ""
   */
  basePath?: string;
  /**
   * The client address failures are counted under. Behind a proxy, read its forwarded header here (only a header
   * the proxy sets, or a client picks its own address).
   * @default the address the server passes (`AdminClient.address`), else `"unknown"` (one count for everyone)
   */
  clientAddress?: (request: Request, client: AdminClient) => string | undefined;
  /**
   * Failed-key lockouts.
   * @default { maxFailures: 5, maxGlobalFailures: 50, windowMs: 60_000, lockoutMs: 900_000 }
   */
  lockout?: Omit<CreateLockoutParameters, "now">;
  /**
   * Most analytics records one report reads (a window with more is reported on its first ones, `truncated`).
   * @default 100_000
   */
  maxRecords?: number;
  /**
   * Deadline of one chain look-up of a pending settlement, in milliseconds.
   * @default 5_000
   */
  resolveTimeoutMs?: number;
  /**
   * The clock, in milliseconds since the epoch.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Receives every admin event; must not throw (a throw is ignored).
   * @default none
   */
  onEvent?: (event: AdminEvent) => void;
}>;

/** The admin API: a Web `fetch` handler, and whether a request is its to answer. */
export type AdminApi = Readonly<{
  /** Answers one request (never rejects). */
  fetch(request: Request, client?: AdminClient): Promise<Response>;
  /** Whether `request`'s path is under `basePath` (for mounting beside an app). */
  owns(request: Request): boolean;
}>;

/** A JSON answer, never cached; money (`bigint`) as decimal strings of atomic units. */
function jsonResponse(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Response {
  const text = JSON.stringify(body, (_name, value: unknown) =>
    typeof value === "bigint" ? value.toString() : value,
  );
  return new Response(text, {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}

/** Largest request body read, in bytes. */
const maxBodyBytes = 4_096;

type Reply = Response | Promise<Response>;

/**
 * Creates the operator's admin API (issue 13): stats and reports, token look-up and revocation, pending
 * settlements with their on-chain resolution, and the run-time switches of lanes and facilitators. Every request
 * must carry `Authorization: Bearer <key>`; the key is compared as a SHA-256 digest with `crypto.timingSafeEqual`,
 * and `maxFailures` failures from one address (or `maxGlobalFailures` from all) within a window answer 429 with
 * `Retry-After` for the lockout, good key or not. The key is never logged, thrown, emitted or answered.
 *
 * Routes (under `basePath`): `GET /stats`, `GET /report` (`?since=&until=` in Unix ms, `?format=markdown` or
 * `Accept: text/markdown`), `POST /tokens/lookup` and `POST /tokens/revoke` (`{"token"}` or `{"tokenHash"}`),
 * `GET /settlements/pending?limit=`, `GET /switches` and `POST /switches` (`{"lanes":{…},"facilitators":{…}}`).
 *
 * @example
 * ```ts
 * import { createPaywall, createRuntimeSwitches, serveFetch } from "@tollgate/server";
 * import { createAdminApi } from "@tollgate/server/admin";
 * const switches = createRuntimeSwitches();
 * const paywall = createPaywall({ …, store, switches });
 * const admin = createAdminApi({ key: process.env.TOLLGATE_ADMIN_KEY ?? "", store, switches });
 * await serveFetch({ fetch: admin.fetch, port: 9402 }); // loopback only by default
 * ```
 * @throws `SERVER__WEAK_ADMIN_KEY` for a key that is empty, shorter than 32 characters or a known default.
 * @throws `SERVER__INVALID_CONFIG` for a `basePath` that is not a path, a `maxRecords` or lockout limit that is not
 * a positive integer.
 */
export function createAdminApi(parameters: CreateAdminApiParameters): AdminApi {
  const {
    key,
    store,
    switches,
    resolvers = {},
    basePath = "",
    clientAddress = (_request: Request, client: AdminClient) => client.address,
    maxRecords = defaultMaxReportRecords,
    resolveTimeoutMs = 5_000,
    now = Date.now,
    onEvent,
  } = parameters;
  const keyMatches = createAdminKeyCheck(key);
  const lockout = createLockout({ ...parameters.lockout, now });
  if (basePath !== "" && !/^\/[A-Za-z0-9._~\-/]*$/.test(basePath)) {
    throw invalidConfig("basePath", 'must be "" or a path starting with /');
  }
  if (!Number.isSafeInteger(maxRecords) || maxRecords < 1) {
    throw invalidConfig("maxRecords", "must be a positive integer");
  }
  const base = basePath.replace(/\/+$/, "");
  const emit = (event: AdminEvent) => {
    try {
      onEvent?.(event);
    } catch {
      // An observer's failure must not change an answer.
    }
  };
  const fail = (status: number, error: string, headers: Record<string, string> = {}) =>
    jsonResponse(status, { error }, headers);
  const locked = (retryAfterSeconds: number) =>
    fail(429, "too_many_failures", { "retry-after": String(retryAfterSeconds) });

  const owns = (request: Request): boolean => {
    const { pathname } = new URL(request.url);
    return base === "" || pathname === base || pathname.startsWith(`${base}/`);
  };

  /** The JSON body, at most `maxBodyBytes`; a `Response` refusing it otherwise. */
  async function readJson(request: Request): Promise<unknown | Response> {
    const read = await bufferUpTo({ body: request.body, limit: maxBodyBytes });
    if (!read.complete) {
      await read.stream.cancel().catch(() => undefined);
      return fail(413, "body_too_large");
    }
    try {
      return JSON.parse(new TextDecoder().decode(read.body)) as unknown;
    } catch {
      return fail(400, "malformed_json");
    }
  }

  const invalid = (issues: readonly { path: PropertyKey[] }[]) =>
    jsonResponse(400, { error: "invalid_request", paths: issues.map((i) => i.path.map(String).join(".")) });

  /** The report's window: `until` (exclusive) defaults to just after now, `since` to a day before it. */
  async function windowReport(url: URL) {
    const parsed = reportQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) return { ok: false, response: invalid(parsed.error.issues) } as const;
    const until = parsed.data.until ?? now() + 1;
    const since = parsed.data.since ?? Math.max(0, until - 86_400_000);
    if (since > until) return { ok: false, response: fail(400, "invalid_window") } as const;
    const records = await store.readRecords({ since, until, limit: maxRecords });
    return {
      ok: true,
      report: report({ records, since, until }),
      truncated: records.length >= maxRecords,
      format: parsed.data.format,
    } as const;
  }

  const wantsMarkdown = (request: Request, format: string | undefined) =>
    format === "markdown" ||
    (format === undefined && (request.headers.get("accept") ?? "").includes("text/markdown"));

  async function stats(url: URL): Promise<Response> {
    const result = await windowReport(url);
    if (!result.ok) return result.response;
    const { report: r, truncated } = result;
    return jsonResponse(200, {
      since: r.since,
      until: r.until,
      truncated,
      total: r.total,
      byLane: r.byLane,
      facilitatorSplit: r.facilitatorSplit,
      failovers: r.failovers,
      ...(switches === undefined ? {} : { switches: switches.state() }),
    });
  }

  async function fullReport(request: Request, url: URL): Promise<Response> {
    const result = await windowReport(url);
    if (!result.ok) return result.response;
    const { markdown, ...data } = result.report;
    if (wantsMarkdown(request, result.format)) {
      return new Response(markdown, {
        status: 200,
        headers: { "content-type": "text/markdown; charset=utf-8", "cache-control": "no-store" },
      });
    }
    return jsonResponse(200, { ...data, truncated: result.truncated });
  }

  /** The token hash a lookup or revocation names, or the `Response` refusing its body. */
  async function tokenOf(request: Request): Promise<string | Response> {
    const body = await readJson(request);
    if (body instanceof Response) return body;
    const parsed = tokenQuerySchema.safeParse(body);
    if (!parsed.success) return invalid(parsed.error.issues);
    return "token" in parsed.data ? hashOfToken(parsed.data.token) : parsed.data.tokenHash;
  }

  async function lookupToken(request: Request): Promise<Response> {
    const hash = await tokenOf(request);
    if (hash instanceof Response) return hash;
    const token = await store.getToken(hash);
    if (token === undefined) return fail(404, "token_unknown");
    return jsonResponse(200, {
      tokenHash: hash,
      balance: token.balance.toString(),
      expiresAt: token.expiresAt,
      expired: token.expiresAt <= Math.floor(now() / 1000),
    });
  }

  async function revokeToken(request: Request): Promise<Response> {
    const hash = await tokenOf(request);
    if (hash instanceof Response) return hash;
    const known = await store.revokeToken(hash);
    emit({ type: "admin_token_revoked", tokenHash: hash, known });
    return jsonResponse(
      known ? 200 : 404,
      known ? { tokenHash: hash, revoked: true } : { error: "token_unknown" },
    );
  }

  async function pending(url: URL): Promise<Response> {
    const parsed = pendingQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) return invalid(parsed.error.issues);
    const result = await listPendingSettlements({
      store,
      limit: parsed.data.limit,
      resolvers,
      nowSeconds: Math.floor(now() / 1000),
      timeoutMs: resolveTimeoutMs,
    });
    return jsonResponse(200, result);
  }

  async function setSwitches(request: Request, on: RuntimeSwitches): Promise<Response> {
    const body = await readJson(request);
    if (body instanceof Response) return body;
    const parsed = switchesBodySchema.safeParse(body);
    if (!parsed.success) return invalid(parsed.error.issues);
    const { lanes = {}, facilitators = {} } = parsed.data;
    const known = on.state().facilitators;
    const unknown = Object.keys(facilitators).filter((name) => !(name in known));
    // All or nothing: a typo in one name changes nothing.
    if (unknown.length > 0) return jsonResponse(404, { error: "unknown_facilitator", facilitators: unknown });
    for (const [lane, value] of Object.entries(lanes)) on.setLane(lane as keyof typeof lanes, value);
    for (const [name, value] of Object.entries(facilitators)) on.setFacilitator(name, value);
    emit({ type: "admin_switched", lanes, facilitators });
    return jsonResponse(200, on.state());
  }

  /** The handler of an authorised request. */
  function route(request: Request, url: URL): Reply {
    const path = url.pathname.slice(base.length) || "/";
    const method = request.method.toUpperCase();
    const routes: Record<string, Partial<Record<string, () => Reply>>> = {
      "/stats": { GET: () => stats(url) },
      "/report": { GET: () => fullReport(request, url) },
      "/tokens/lookup": { POST: () => lookupToken(request) },
      "/tokens/revoke": { POST: () => revokeToken(request) },
      "/settlements/pending": { GET: () => pending(url) },
      "/switches": {
        GET: () =>
          switches === undefined ? fail(404, "switches_not_configured") : jsonResponse(200, switches.state()),
        POST: () =>
          switches === undefined ? fail(404, "switches_not_configured") : setSwitches(request, switches),
      },
    };
    const methods = routes[path];
    if (methods === undefined) return fail(404, "not_found");
    const run = methods[method];
    if (run === undefined) return fail(405, "method_not_allowed", { allow: Object.keys(methods).join(", ") });
    return run();
  }

  /** Authenticates a request under `basePath`, then routes it. */
  async function answer(request: Request, client: AdminClient, url: URL): Promise<Response> {
    const address = clientAddress(request, client) ?? "unknown";
    const before = lockout.check(address);
    // Locked out: not even a good key is looked at, so guessing stops until the lockout ends.
    if (before.locked) return locked(before.retryAfterSeconds);
    const presented = bearerKey(request.headers.get("authorization"));
    // The digest comparison runs for a missing key too, so its absence takes no less time.
    const authorised = keyMatches(presented ?? "") && presented !== undefined;
    if (!authorised) {
      emit({ type: "admin_unauthorized", address });
      const after = lockout.fail(address);
      if (after.locked) {
        emit({
          type: "admin_locked_out",
          address,
          scope: after.scope,
          retryAfterSeconds: after.retryAfterSeconds,
        });
        return locked(after.retryAfterSeconds);
      }
      return fail(401, "unauthorized", { "www-authenticate": 'Bearer realm="tollgate-admin"' });
    }
    return route(request, url);
  }

  async function fetch(request: Request, client: AdminClient = {}): Promise<Response> {
    const url = new URL(request.url);
    if (!owns(request)) return fail(404, "not_found");
    try {
      return await answer(request, client, url);
    } catch (error) {
      emit({ type: "admin_error", route: url.pathname, error });
      return fail(500, "internal_error");
    }
  }

  return Object.freeze({ fetch, owns });
}
