import { TollgateError } from "../errors/TollgateError.js";

/** Parameters of `readBodyUpTo`. */
export type ReadBodyUpToParameters = Readonly<{
  /** A request's or response's body; `null` reads as empty. */
  body: ReadableStream<Uint8Array> | null;
  /** The most bytes to read. */
  limit: number;
  /**
   * The most time the whole read may take, in milliseconds (a slow drip of bytes does not extend it).
   * @default undefined (no limit: the caller bounds it)
   */
  timeoutMs?: number;
  /** What is being read, for the timeout error. @default "body" */
  what?: string;
}>;

/**
 * Reads a body from the network, at most `limit` bytes within `timeoutMs`, without trusting `Content-Length`: the
 * bytes, or `undefined` when the body is longer (the rest is cancelled, never buffered). Bounds what a hostile peer
 * can make us hold in memory, and for how long.
 *
 * @example
 * ```ts
 * import { readBodyUpTo } from "@tollgate/shared";
 * const bytes = await readBodyUpTo({ body: response.body, limit: 256 * 1024, timeoutMs: 10_000 });
 * if (bytes === undefined) throw new Error("too large");
 * ```
 * @throws `WIRE__READ_TIMEOUT` (the body was cancelled), or the stream's own error
 */
export async function readBodyUpTo(parameters: ReadBodyUpToParameters): Promise<Uint8Array | undefined> {
  const { body, limit, timeoutMs, what = "body" } = parameters;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired =
    timeoutMs === undefined
      ? undefined
      : new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new TollgateError("WIRE__READ_TIMEOUT", { context: { what, timeoutMs } })),
            timeoutMs,
          );
        });
  expired?.catch(() => undefined);
  try {
    for (;;) {
      const { done, value } = await (expired === undefined
        ? reader.read()
        : Promise.race([reader.read(), expired]));
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}
