/** Parameters of `readBodyUpTo`. */
export type ReadBodyUpToParameters = Readonly<{
  /** A request's or response's body; `null` reads as empty. */
  body: ReadableStream<Uint8Array> | null;
  /** The most bytes to read. */
  limit: number;
}>;

/**
 * Reads a body from the network, at most `limit` bytes, without trusting `Content-Length`: the bytes, or
 * `undefined` when the body is longer (the rest is cancelled, never buffered). Bounds what a hostile peer can
 * make us hold in memory.
 *
 * @example
 * ```ts
 * import { readBodyUpTo } from "@tollgate/shared";
 * const bytes = await readBodyUpTo({ body: response.body, limit: 256 * 1024 });
 * if (bytes === undefined) throw new Error("too large");
 * ```
 */
export async function readBodyUpTo(parameters: ReadBodyUpToParameters): Promise<Uint8Array | undefined> {
  const { body, limit } = parameters;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}
