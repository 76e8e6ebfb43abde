/** Parameters of `bufferUpTo`. */
export type BufferUpToParameters = Readonly<{
  /** A response's body; `null` reads as empty. */
  body: ReadableStream<Uint8Array> | null;
  /** The most bytes to hold. */
  limit: number;
}>;

/** What `bufferUpTo` read: the whole body, or (when longer than the limit) a stream of all of it. */
export type BufferUpToReturnType =
  | Readonly<{ complete: true; body: Uint8Array }>
  | Readonly<{ complete: false; stream: ReadableStream<Uint8Array> }>;

/**
 * Reads a body, holding at most `limit` bytes: the bytes when it fits, else a stream that replays what was read
 * and passes the rest through (unlike `readBodyUpTo`, which cancels the rest: this body is still served).
 */
export async function bufferUpTo(parameters: BufferUpToParameters): Promise<BufferUpToReturnType> {
  const { body: source, limit } = parameters;
  if (!source) return { body: new Uint8Array(), complete: true };
  const reader = source.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk);
        },
        async pull(controller) {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return { complete: false, stream };
    }
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { body, complete: true };
}
