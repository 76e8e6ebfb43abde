import { readBodyUpTo } from "@tollgate/shared";

/** One HTTP call to a facilitator. */
export type TransportRequest = Readonly<{
  /** Absolute URL: `https://facilitator.example/verify`. */
  url: string;
  method: "GET" | "POST";
  headers: Readonly<Record<string, string>>;
  /** JSON text of a POST body. */
  body?: string;
  /** Overall deadline of the call (connect, headers and body), in milliseconds. */
  timeoutMs: number;
  /**
   * The longest answer body to read, in bytes. A longer body (declared or streamed) is not read further: the
   * connection is dropped and the result is the `too_large` failure, so a hostile or broken facilitator cannot
   * make the paywall hold more than this in memory.
   * @default 65_536
   */
  maxBodyBytes?: number;
}>;

/** The default of `TransportRequest.maxBodyBytes`: far above any verify or settle answer (a few hundred bytes). */
export const defaultMaxBodyBytes = 65_536;

/**
 * What a transport got: an answer (any status), or a failure. `mayHaveArrived` is `false` only when the request
 * provably never reached the facilitator (the connection was refused or could not be made), so a `/settle`
 * that failed that way cannot have moved money. `too_large`: the answer's body was longer than `maxBodyBytes`
 * (its status is kept); the request arrived.
 */
export type TransportResult =
  | Readonly<{ ok: true; status: number; text: string }>
  | Readonly<{ ok: false; failure: "timeout" | "connect" | "network"; mayHaveArrived: boolean }>
  | Readonly<{ ok: false; failure: "too_large"; status: number; mayHaveArrived: true }>;

/**
 * How the paywall talks to facilitators. Never rejects: every failure is a `TransportResult`. A transport must not
 * follow redirects (a redirect could send a proof elsewhere): it returns the 3xx as the answer.
 * `createUndiciTransport` is the fast default on Node; `createFetchTransport` works on any runtime and with msw.
 */
export type FacilitatorTransport = (request: TransportRequest) => Promise<TransportResult>;

const connectCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_CONNECT",
]);

/** Finds a Node or undici error code anywhere in an error's cause chain. */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) current = errors[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const tooLarge = (status: number): TransportResult => ({
  ok: false,
  failure: "too_large",
  status,
  mayHaveArrived: true,
});

/** Whether a declared `Content-Length` is already over the limit (then not a byte is read). */
function declaredOver(contentLength: string | string[] | null | undefined, limit: number): boolean {
  const value = Array.isArray(contentLength) ? contentLength[0] : contentLength;
  if (value === null || value === undefined || !/^\d+$/.test(value)) return false;
  return Number(value) > limit;
}

const utf8 = new TextDecoder("utf-8");

function classify(error: unknown, timedOut: boolean): TransportResult {
  if (timedOut) return { ok: false, failure: "timeout", mayHaveArrived: true };
  const code = errorCode(error);
  if (code !== undefined && connectCodes.has(code)) {
    return { ok: false, failure: "connect", mayHaveArrived: false };
  }
  return { ok: false, failure: "network", mayHaveArrived: true };
}

/** Parameters of `createFetchTransport`. */
export type CreateFetchTransportParameters = Readonly<{
  /**
   * The `fetch` to call (msw intercepts the global one).
   * @default globalThis.fetch
   */
  fetch?: typeof globalThis.fetch;
}>;

/**
 * A facilitator transport over `fetch`: any runtime, and interceptable by msw in tests. The answer is read
 * incrementally up to `maxBodyBytes`; past it the body is cancelled and the request aborted (`too_large`).
 * Redirects are not followed (`redirect: "manual"`): a 3xx is returned as the answer, which the paywall counts as
 * that facilitator being unavailable (malformed, and it may have arrived).
 *
 * @example
 * ```ts
 * import { createFetchTransport, createPaywall } from "@tollgate/server";
 * const paywall = createPaywall({ …, transport: createFetchTransport() });
 * ```
 */
export function createFetchTransport(parameters: CreateFetchTransportParameters = {}): FacilitatorTransport {
  const { fetch: fetchImpl } = parameters;
  return async (request) => {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, request.timeoutMs);
    try {
      const response = await (fetchImpl ?? globalThis.fetch)(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: controller.signal,
        // A redirect is never followed: it could send the proof elsewhere, or loop. The 3xx is the answer.
        redirect: "manual",
      });
      if (response.type === "opaqueredirect") {
        // Browsers and some runtimes hide a manual redirect's status (0) and body: report it as a redirect.
        controller.abort();
        return { ok: true, status: 302, text: "" };
      }
      const limit = request.maxBodyBytes ?? defaultMaxBodyBytes;
      const bytes = declaredOver(response.headers.get("content-length"), limit)
        ? undefined
        : await readBodyUpTo({ body: response.body, limit });
      if (bytes === undefined) {
        // Stop the download: cancelling the reader may leave the connection open on some runtimes.
        await response.body?.cancel().catch(() => undefined);
        controller.abort();
        return tooLarge(response.status);
      }
      return { ok: true, status: response.status, text: utf8.decode(bytes) };
    } catch (error) {
      return classify(error, timedOut);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Parameters of `createUndiciTransport`. */
export type CreateUndiciTransportParameters = Readonly<{
  /**
   * Connections kept per facilitator origin.
   * @default 32
   */
  connections?: number;
  /**
   * How long an idle keep-alive connection stays open, in milliseconds.
   * @default 30_000
   */
  keepAliveTimeoutMs?: number;
}>;

/** A transport that also closes its connection pools. */
export type ClosableTransport = FacilitatorTransport & Readonly<{ close(): Promise<void> }>;

type UndiciModule = typeof import("undici");
type UndiciPool = InstanceType<UndiciModule["Pool"]>;

/**
 * A facilitator transport over one undici `Pool` per facilitator origin (keep-alive, `request`): the cheapest
 * path on Node, about a third of the CPU of `fetch` per call. undici is loaded on the first call. The answer is
 * read chunk by chunk up to `maxBodyBytes`; past it the body is destroyed, which closes that connection
 * (`too_large`). A `Pool` does not follow redirects: a 3xx is returned as the answer.
 *
 * @example
 * ```ts
 * import { createUndiciTransport, createPaywall } from "@tollgate/server";
 * const transport = createUndiciTransport({ connections: 64 });
 * const paywall = createPaywall({ …, transport });
 * // on shutdown: await transport.close();
 * ```
 */
export function createUndiciTransport(parameters: CreateUndiciTransportParameters = {}): ClosableTransport {
  const { connections = 32, keepAliveTimeoutMs = 30_000 } = parameters;
  let undici: Promise<UndiciModule> | undefined;
  const pools = new Map<string, UndiciPool>();

  async function poolFor(origin: string): Promise<UndiciPool> {
    const existing = pools.get(origin);
    if (existing) return existing;
    undici ??= import("undici");
    const { Pool } = await undici;
    const again = pools.get(origin);
    if (again) return again;
    const pool = new Pool(origin, { connections, keepAliveTimeout: keepAliveTimeoutMs, pipelining: 1 });
    pools.set(origin, pool);
    return pool;
  }

  const transport: FacilitatorTransport = async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch (error) {
      return classify(error, false);
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, request.timeoutMs);
    try {
      const pool = await poolFor(url.origin);
      const response = await pool.request({
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: controller.signal,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      });
      const limit = request.maxBodyBytes ?? defaultMaxBodyBytes;
      const body = response.body;
      if (declaredOver(response.headers["content-length"], limit)) {
        body.destroy();
        return tooLarge(response.statusCode);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of body) {
        const bytes = chunk as Buffer;
        size += bytes.byteLength;
        if (size > limit) {
          body.destroy();
          return tooLarge(response.statusCode);
        }
        chunks.push(bytes);
      }
      return { ok: true, status: response.statusCode, text: utf8.decode(Buffer.concat(chunks, size)) };
    } catch (error) {
      const code = errorCode(error);
      const timeout = timedOut || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT";
      return classify(error, timeout);
    } finally {
      clearTimeout(timer);
    }
  };

  return Object.assign(transport, {
    async close(): Promise<void> {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.close()));
    },
  });
}
