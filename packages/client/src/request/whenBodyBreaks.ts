/** Parameters of `whenBodyBreaks`. */
export type WhenBodyBreaksParameters = Readonly<{
  /** The paid answer, whose body may break on its way (a connection cut mid-way). */
  response: Response;
  /** Runs when reading the body fails, before the reader sees the failure (which a failure of it replaces). */
  onBroken: () => Promise<void>;
}>;

/**
 * The same response, streaming as before, whose body runs `onBroken` when it fails to arrive in full: the paying
 * fetch then puts the proof back to pending, since its outcome was not fully received, and the caller's retry re-sends
 * the same proof (the server replays its answer) instead of paying again. A body read to the end, cancelled by the
 * caller or never read changes nothing. `url` and `redirected` are kept.
 *
 * @example
 * ```ts
 * const watched = whenBodyBreaks({ response, onBroken: () => markPending(entry) });
 * await watched.text(); // rejects after markPending ran, if the connection was cut
 * ```
 */
export function whenBodyBreaks(parameters: WhenBodyBreaksParameters): Response {
  const { response, onBroken } = parameters;
  if (response.body === null) return response;
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        await onBroken();
        throw cause;
      }
      if (chunk.done) controller.close();
      else controller.enqueue(chunk.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  const watched = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(watched, "url", { value: response.url });
  Object.defineProperty(watched, "redirected", { value: response.redirected });
  return watched;
}
