/** What `holdResponse` read: the whole response in memory, or why it could not be read to its end. */
export type HeldResponse =
  | Readonly<{ ok: true; response: Response }>
  | Readonly<{ ok: false; reason: "body_failed"; error: unknown }>
  | Readonly<{ ok: false; reason: "client_gone" }>;

/** Parameters of `holdResponse`. */
export type HoldResponseParameters = Readonly<{
  response: Response;
  /** Aborts when the client has gone: reading stops and the body is cancelled. */
  signal: AbortSignal;
}>;

const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

/**
 * Reads a handler's response to its end before anything is settled or sent (settlement `after`): a body stream
 * that errors half way is a failed handler (never charged, nothing of it sent), and only a whole response is
 * paid for. Stops, cancelling the body, when `signal` aborts (the client left). The returned response carries
 * the same status and headers over an in-memory body.
 *
 * @example
 * ```ts
 * const held = await holdResponse({ response: await handler(request), signal: request.signal });
 * if (!held.ok) return internalError();
 * ```
 */
export async function holdResponse(parameters: HoldResponseParameters): Promise<HeldResponse> {
  const { response, signal } = parameters;
  if (signal.aborted) {
    response.body?.cancel().catch(() => undefined);
    return { ok: false, reason: "client_gone" };
  }
  if (response.body === null) return { ok: true, response };
  const reader = response.body.getReader();
  const onAbort = () => {
    reader.cancel().catch(() => undefined);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (signal.aborted) return { ok: false, reason: "client_gone" };
      if (done) break;
      chunks.push(value);
      length += value.byteLength;
    }
  } catch (error) {
    if (signal.aborted) return { ok: false, reason: "client_gone" };
    return { ok: false, reason: "body_failed", error };
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const status = response.status;
  return {
    ok: true,
    response: new Response(nullBodyStatuses.has(status) ? null : bytes, {
      status,
      statusText: response.statusText,
      headers: response.headers,
    }),
  };
}
