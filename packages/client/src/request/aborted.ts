import { TollgateError } from "@tollgate/shared";
import type { BufferedRequest } from "./bufferRequest.js";

/** `CLIENT__ABORTED` at `stage` when the request's signal has aborted (its reason as the cause), else `undefined`. */
export function aborted(
  request: BufferedRequest,
  stage: string,
): TollgateError<"CLIENT__ABORTED"> | undefined {
  if (request.signal?.aborted !== true) return undefined;
  return new TollgateError("CLIENT__ABORTED", {
    context: { url: request.url, stage },
    cause: request.signal.reason,
  });
}

/**
 * Throws `CLIENT__ABORTED` at `stage` when the request's signal has aborted.
 * @throws `CLIENT__ABORTED`
 */
export function throwIfAborted(request: BufferedRequest, stage: string): void {
  const error = aborted(request, stage);
  if (error) throw error;
}
