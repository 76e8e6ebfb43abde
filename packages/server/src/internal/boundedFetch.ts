import { TollgateError } from "@tollgate/shared";

/** Parameters of `createBoundedFetch`. */
export type CreateBoundedFetchParameters = Readonly<{
  /**
   * The longest response body passed on, in bytes. A longer one (declared by `Content-Length` or streamed) fails
   * the read with `WIRE__TOO_LARGE` and the download is cancelled, so memory stays bounded.
   * @default 4_194_304 (4 MiB)
   */
  maxBodyBytes?: number;
  /**
   * The `fetch` to wrap.
   * @default globalThis.fetch
   */
  fetch?: typeof globalThis.fetch;
}>;

/**
 * A `fetch` whose response bodies are bounded: for the JSON-RPC clients a server builds (viem's
 * `http(url, { fetchFn })`, `@solana/web3.js`'s `new Connection(url, { fetch })`), which read whole answers
 * otherwise. A body over the bound errors while it is read (`response.json()` rejects with `WIRE__TOO_LARGE`) and
 * the rest is never downloaded.
 *
 * @example
 * ```ts
 * import { createBoundedFetch } from "@tollgate/server";
 * import { createPublicClient, http } from "viem";
 * import { base } from "viem/chains";
 * const fetchFn = createBoundedFetch({ maxBodyBytes: 4 * 1024 * 1024 });
 * const publicClient = createPublicClient({ chain: base, transport: http(rpcUrl, { fetchFn }) });
 * // Solana: new Connection(rpcUrl, { commitment: "confirmed", fetch: fetchFn })
 * ```
 * @throws `SERVER__INVALID_CONFIG` when `maxBodyBytes` is not a positive integer; the returned fetch's bodies
 * error with `WIRE__TOO_LARGE`.
 */
export function createBoundedFetch(parameters: CreateBoundedFetchParameters = {}): typeof globalThis.fetch {
  const { maxBodyBytes = 4_194_304, fetch: inner } = parameters;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "maxBodyBytes", reason: "must be a positive integer" },
    });
  }
  const tooLarge = (size: number) =>
    new TollgateError("WIRE__TOO_LARGE", { context: { what: "a response body", size, limit: maxBodyBytes } });

  const bounded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await (inner ?? globalThis.fetch)(input, init);
    const declared = response.headers.get("content-length");
    if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBodyBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge(Number(declared));
    }
    if (response.body === null) return response;
    let size = 0;
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          size += chunk.byteLength;
          // Erroring the pipe cancels the source: the rest of the body is not downloaded.
          if (size > maxBodyBytes) controller.error(tooLarge(size));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
  return bounded as typeof globalThis.fetch;
}
