/** What `fetch` accepts as its first argument. */
export type FetchInput = string | URL | Request;

/** A request read once, so it can be sent again unchanged: the paid retry replays the same bytes. */
export type BufferedRequest = Readonly<{
  url: string;
  method: string;
  /** The request's headers, including a `content-type` the runtime derived from the body (FormData boundary). */
  headers: Headers;
  /** The body bytes, or `undefined` when the request has none. */
  body: Uint8Array<ArrayBuffer> | undefined;
  signal: AbortSignal | undefined;
  /** The request options that are neither method, headers, body nor signal, passed through as given. */
  rest: Omit<RequestInit, "method" | "headers" | "body" | "signal">;
}>;

const passThrough = [
  "cache",
  "credentials",
  "integrity",
  "keepalive",
  "mode",
  "redirect",
  "referrer",
  "referrerPolicy",
  "priority",
  "dispatcher",
] as const;

/**
 * Reads a `fetch` input once into bytes (strings, `Uint8Array`, `Blob`, `FormData`, `URLSearchParams` and streams
 * alike), so the same request can be sent unpaid and then paid.
 */
export async function bufferRequest(
  input: FetchInput,
  init: RequestInit | undefined,
): Promise<BufferedRequest> {
  const request = new Request(
    input,
    init?.body instanceof ReadableStream ? { ...init, duplex: "half" } : init,
  );
  const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
  const rest: Record<string, unknown> = {};
  for (const key of passThrough) {
    const value = (init as Record<string, unknown> | undefined)?.[key];
    if (value !== undefined) rest[key] = value;
  }
  const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
  return {
    url: request.url,
    method: request.method,
    headers: new Headers(request.headers),
    body,
    signal: signal ?? undefined,
    rest: rest as BufferedRequest["rest"],
  };
}

/** Builds the `RequestInit` of one send of a buffered request, with extra headers. */
export function requestInit(
  request: BufferedRequest,
  extraHeaders: Readonly<Record<string, string>> = {},
): RequestInit {
  const headers = new Headers(request.headers);
  for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
  return {
    ...request.rest,
    method: request.method,
    headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  };
}
