import { TollgateError } from "@tollgate/shared";

/** Parameters of `withChainTimeout`. */
export type WithChainTimeoutParameters = Readonly<{
  network: string;
  operation: string;
  timeoutMs: number;
  /** An outer signal; its abort also ends the wait. */
  signal?: AbortSignal;
}>;

/**
 * Runs one chain call with a deadline: resolves with its result, or rejects with `CHAIN__TIMEOUT` when the
 * deadline or the outer signal comes first, and wraps any other failure in `CHAIN__CALL_FAILED`.
 * The call itself cannot be cancelled (RPC clients rarely can); its late result is ignored.
 */
export async function withChainTimeout<T>(
  call: () => Promise<T>,
  parameters: WithChainTimeoutParameters,
): Promise<T> {
  const { network, operation, timeoutMs, signal } = parameters;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const fail = () =>
      reject(new TollgateError("CHAIN__TIMEOUT", { context: { network, operation, timeoutMs } }));
    timer = setTimeout(fail, timeoutMs);
    if (signal) {
      if (signal.aborted) fail();
      onAbort = fail;
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([
      call().catch((cause: unknown) => {
        if (cause instanceof TollgateError) throw cause;
        throw new TollgateError("CHAIN__CALL_FAILED", { context: { network, operation }, cause });
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    if (signal && onAbort) signal.removeEventListener("abort", onAbort);
  }
}
