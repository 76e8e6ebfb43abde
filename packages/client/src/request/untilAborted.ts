/**
 * Resolves as `promise` does, or rejects with the signal's reason as soon as `signal` aborts (the work behind
 * `promise` is left to finish on its own). For waits on calls that take no signal, such as viem's actions.
 *
 * @example
 * ```ts
 * const receipt = await untilAborted(getTransactionReceipt(client, { hash }), request.signal);
 * ```
 * @throws the signal's reason
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
